"""Domain errors carry a message fit to show the user (in Chinese)."""
from __future__ import annotations


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
