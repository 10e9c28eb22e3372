"""Account and token operations. Each change writes its audit entry in the same transaction."""
from __future__ import annotations

import hashlib
import re
import secrets
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from coord.accounts import permissions, sessions
from coord.accounts.models import ApiToken, User
from coord.accounts.passwords import check_password_strength as _check_strength
from coord.accounts.scoping import require_writer
from coord.agencies.models import Agency
from coord.audit import services as audit
from coord.dbtypes import utcnow, write_lock
from coord.errors import DomainError, Forbidden, NotFound, too_long
from coord.extensions import db
from coord.lang import LANGUAGES

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,60}$")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def check_password_strength(password: str, username: str = "") -> None:
    """GB/T 22239-2019 level 3 rules: see coord/accounts/passwords.py."""
    _check_strength(password, username=username)


@cache
def dummy_hash() -> str:
    """A hash to check against when the user does not exist, so both answers take as long.
    Made on first use, not at import: scrypt is deliberately slow."""
    return generate_password_hash("timing-equaliser", method="scrypt")


def _validate(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if creating:
        username = (data.get("username") or "").strip().lower()
        if not USERNAME_RE.match(username):
            raise DomainError("用户名须为 3–60 位小写字母、数字或 . _ -。", field="username")
        if db.session.execute(sa.select(User.id).where(User.username == username)).first():
            raise DomainError("该用户名已被使用。", field="username")
        clean["username"] = username
    name = (data.get("name") or "").strip()
    if not name:
        raise DomainError("请填写姓名。", field="name")
    if len(name) > 60:  # refused, never cut
        raise DomainError(too_long("姓名", 60, len(name)), field="name")
    clean["name"] = name
    role = data.get("role")
    if role not in permissions.assignable_roles():
        raise DomainError("请选择有效的角色。", field="role")
    clean["role"] = role
    try:
        agency_id = int(data.get("agency_id") or 0)
    except (TypeError, ValueError):
        agency_id = 0
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        raise DomainError("请选择有效的单位。", field="agency_id")
    clean["agency_id"] = agency.id
    for key, limit in (("email", 254), ("phone", 40), ("post", 60), ("cert_number", 40)):
        clean[key] = (data.get(key) or "").strip()[:limit]
    if clean["email"] and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", clean["email"]):
        raise DomainError("电子邮箱格式不正确。", field="email")
    return clean


def create_user(actor: Any, data: dict[str, Any], password: str) -> User:
    """A new account; its first login asks for a new password (the admin knows this one)."""
    permissions.require(actor, "accounts.manage")
    clean = _validate(data, creating=True)
    check_password_strength(password, clean["username"])
    user = User(**clean, password_hash=hash_password(password), active=True, must_change_password=True)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", "user", user.id, agencies=[user.agency_id],
                 summary=f"创建账号 {user.username}", after=user.snapshot())
    db.session.commit()
    return user


def update_user(actor: Any, user_id: int, data: dict[str, Any]) -> User:
    permissions.require(actor, "accounts.manage")
    user = get_user(user_id)
    before = user.snapshot()
    clean = _validate(data, creating=False)
    if user.id == actor.id and clean["role"] != user.role:
        raise DomainError("不能修改自己的角色。", field="role")
    for key, value in clean.items():
        setattr(user, key, value)
    audit.record(actor, "user.update", "user", user.id, agencies=[before["agency_id"], user.agency_id],
                 summary=f"修改账号 {user.username}", before=before, after=user.snapshot())
    db.session.commit()
    return user


def set_active(actor: Any, user_id: int, active: bool) -> User:
    permissions.require(actor, "accounts.manage")
    user = get_user(user_id)
    if user.id == actor.id and not active:
        raise DomainError("不能停用自己的账号。")
    before = user.snapshot()
    user.active = active
    user.session_version += 1
    if not active:
        sessions.end_all(user.id, "deactivated")
        for token in user_tokens(user.id):
            token.revoked_at = token.revoked_at or utcnow()
    audit.record(actor, "user.activate" if active else "user.deactivate", "user", user.id,
                 agencies=[user.agency_id], summary=f"{'启用' if active else '停用'}账号 {user.username}",
                 before=before, after=user.snapshot())
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> str:
    """Set a new password and end every session of the user, this one too; returns the token of
    a fresh session for the browser that asked (so a copied cookie of the old one is dead)."""
    if not check_password_hash(user.password_hash, current):
        raise DomainError("当前密码不正确。", field="current_password")
    if new == current:
        raise DomainError("新密码不能与当前密码相同。", field="new_password")
    try:
        check_password_strength(new, user.username)
    except DomainError as err:
        raise DomainError(err.message, field="new_password") from None
    user.password_hash = hash_password(new)
    user.session_version += 1
    user.must_change_password = False
    user.password_changed_at = utcnow()
    sessions.end_all(user.id, "password")
    token = sessions.start(user)
    audit.record(user, "user.password", "user", user.id, agencies=[user.agency_id], summary="修改密码")
    db.session.commit()
    return token


def unlock(actor: Any, user_id: int) -> User:
    """The security administrator lifts a lockout before it runs out."""
    permissions.require(actor, "security.unlock")
    user = get_user(user_id)
    if not user.is_locked() and not user.failed_logins:
        raise DomainError("该账号未被锁定。")
    user.locked_until, user.failed_logins = None, 0
    audit.record(actor, "user.unlock", "user", user.id, agencies=[user.agency_id], summary=f"解锁账号 {user.username}")
    db.session.commit()
    return user


def end_sessions(actor: Any, user_id: int) -> int:
    """Log a user out everywhere (the security administrator, e.g. after a lost device)."""
    permissions.require(actor, "security.unlock")
    user = get_user(user_id)
    count = sessions.end_all(user.id, "admin")
    audit.record(actor, "user.sessions_end", "user", user.id, agencies=[user.agency_id],
                 summary=f"强制下线账号 {user.username}（{count} 个会话）")
    db.session.commit()
    return count


def set_language(actor: Any, code: str) -> Any:
    """The user's own language (the language switch): of the pages, and of every e-mail to them."""
    if code not in LANGUAGES:
        raise DomainError("请选择简体中文或 English。", field="language")
    write_lock(db.session)
    before = db.session.execute(sa.select(User.language).where(User.id == actor.id)).scalar_one()
    if before != code:
        # Not through the ORM: a language is no part of the directory that feeds and invitations show.
        db.session.execute(sa.update(User).where(User.id == actor.id).values(language=code)
                           .execution_options(synchronize_session=False))
        audit.record(actor, "user.language", "user", actor.id, agencies=[actor.agency_id],
                     summary=f"语言改为：{LANGUAGES[code]}", before={"language": before}, after={"language": code})
        db.session.commit()
    set_committed_value(actor, "language", code)
    return actor


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("账号不存在。")
    return user


def list_users(actor: Any, agency_id: int | None = None, q: str = "") -> list[User]:
    stmt = sa.select(User).join(User.agency).order_by(Agency.sort_order, Agency.id, User.username)
    if agency_id:
        stmt = stmt.where(User.agency_id == agency_id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(sa.or_(User.username.ilike(like), User.name.ilike(like)))
    return list(db.session.execute(stmt).scalars())


# --- API tokens -----------------------------------------------------------------------------

def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(actor: Any, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the clear token (shown once)."""
    if actor is not None:
        require_writer(actor)  # a viewer's token would act beyond what the viewer may do
    if actor is not None and actor.id != user.id and not actor.is_office:
        raise Forbidden("只能为自己创建令牌。")
    clear = "coord_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=(name or "API").strip()[:80],
                     token_hash=_token_digest(clear), prefix=clear[:12])
    db.session.add(token)
    db.session.flush()
    audit.record(actor or user, "token.create", "user", user.id, agencies=[user.agency_id],
                 summary=f"创建 API 令牌 {token.prefix}…")
    db.session.commit()
    return token, clear


def revoke_token(actor: Any, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.id and not actor.is_office):
        raise NotFound("令牌不存在。")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(actor, "token.revoke", "user", token.user_id, agencies=[token.user.agency_id],
                     summary=f"吊销 API 令牌 {token.prefix}…")
        db.session.commit()
    return token


def user_tokens(user_id: int) -> list[ApiToken]:
    stmt = sa.select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    return list(db.session.execute(stmt).scalars())


def user_for_token(clear: str) -> User | None:
    token = db.session.execute(
        sa.select(ApiToken).where(ApiToken.token_hash == _token_digest(clear), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if token is None or not token.user.active:
        return None
    return token.user


def can_see_user(viewer: Any, user_id: str) -> bool:
    user = db.session.get(User, int(user_id))
    return user is not None and (viewer.is_office or viewer.agency_id == user.agency_id or viewer.id == user.id)


audit.register_entity("user", "账号", can_see_user)
