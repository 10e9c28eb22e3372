"""Who may administer accounts, read the login log and read the whole audit trail.

By default the leading-group office's admin does all of it. With `COORD_SEPARATION_OF_DUTIES=1`
(三员分立, GB/T 22239-2019 level 3) the duties go to three roles that cannot hold each other's
rights: the system administrator (系统管理员) keeps the accounts, the security administrator
(安全管理员) reads the login log, unlocks accounts and ends sessions, and the audit administrator
(审计管理员) reads the whole audit trail and the login log. The office admin then keeps its
business oversight (every agency's records) but no longer administers accounts.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext

from coord.errors import Forbidden

PERMISSIONS: dict[str, str] = {
    "accounts.manage": "账号管理",
    "security.logins": "查看和导出登录日志",
    "security.unlock": "解锁账号、强制下线",
    "audit.all": "查看全部操作记录",
}
SEPARATED: dict[str, set[str]] = {
    "accounts.manage": {"sysadmin"},
    "security.logins": {"secadmin", "auditadmin"},
    "security.unlock": {"secadmin"},
    "audit.all": {"auditadmin"},
}


def separated() -> bool:
    return bool(has_app_context() and current_app.config.get("SEPARATION_OF_DUTIES"))


def can(user: Any, permission: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if separated():
        return user.role in SEPARATED[permission]
    return user.role == "admin"


def require(user: Any, permission: str) -> None:
    if not can(user, permission):
        raise Forbidden(gettext("您的角色无权%(PERMISSIONS)s。", PERMISSIONS=gettext(PERMISSIONS[permission])))


def assignable_roles() -> dict[str, str]:
    from coord.accounts.models import ALL_ROLES, ROLES

    return dict(ALL_ROLES) if separated() else dict(ROLES)
