"""Domain errors carry a message fit to show the user (in Chinese)."""
from __future__ import annotations

from flask_babel import gettext as _


class DomainError(ValueError):
    """A rule was broken; nothing was changed. `status` is the HTTP status the API uses."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    """Several fields are wrong at once: `errors` maps each field to its message, so a form can show
    every one beside its field (and the API returns them all in `errors`)."""

    def __init__(self, errors: dict[str, str], details: dict | None = None):
        field, first = next(iter(errors.items()))
        message = first if len(errors) == 1 else _("有 %(n)s 处需要修改：",
                                                   n=len(errors)) + _("；").join(errors.values())
        super().__init__(message, field=field, details={"errors": dict(errors), **(details or {})})
        self.errors = dict(errors)


class Errors:
    """Collects the rule messages of one input so they are reported together, not one per try."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}
        self.details: dict = {}

    def add(self, field: str, message: str) -> None:
        self.found.setdefault(field, message)

    def check(self) -> _Check:
        """`with errors.check(): ...` keeps a 400 DomainError's message (by its field) and goes on."""
        return _Check(self)

    def __bool__(self) -> bool:
        return bool(self.found)

    def raise_if_any(self) -> None:
        if self.found:
            raise Invalid(self.found, self.details)


class _Check:
    def __init__(self, errors: Errors) -> None:
        self.errors = errors

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, _tb) -> bool:
        if error is None or not isinstance(error, DomainError) or error.status != 400:
            return False
        if isinstance(error, Invalid):
            for field, message in error.errors.items():
                self.errors.add(field, message)
            self.errors.details.update({k: v for k, v in error.details.items() if k != "errors"})
        else:
            self.errors.add(error.field or "_", error.message)
            self.errors.details.update(error.details)
        return True


def too_long(label: str, limit: int, length: int) -> str:
    """The message for text over its limit: refused, never cut (the user keeps what was typed)."""
    return _("%(label)s不能超过 %(limit)s 个字符（现有 %(length)s 个），请删减后再保存。", label=_(label), limit=limit,
             length=length)
