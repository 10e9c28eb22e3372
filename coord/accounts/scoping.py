"""Agency scoping: every query for agency-owned records goes through these helpers.

The leading-group office (role admin) sees every agency; everyone else sees only records that
involve their own agency. A record outside the caller's scope is reported as absent (404), so
its existence is not revealed.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from coord.errors import Forbidden, NotFound


def may_see(user: Any, *agency_ids: int | None) -> bool:
    return bool(user.is_office or user.agency_id in agency_ids)


def scope_query(stmt: sa.Select, user: Any, *agency_columns: Any) -> sa.Select:
    """Restrict a select to rows where any of the given agency columns is the user's agency."""
    if user.is_office:
        return stmt
    return stmt.where(sa.or_(*(col == user.agency_id for col in agency_columns)))


def require_visible(obj: Any, user: Any, *agency_ids: int | None) -> Any:
    if obj is None or not may_see(user, *agency_ids):
        raise NotFound("记录不存在或您无权查看。")
    return obj


def require_role(user: Any, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden("您的角色无权执行此操作。")


def require_office(user: Any) -> None:
    if not user.is_office:
        raise Forbidden("仅领导小组办公室（管理员）可执行此操作。")


def require_writer(user: Any) -> None:
    """The viewer role is read-only everywhere (also enforced for every request in coord/security.py)."""
    if getattr(user, "role", None) == "viewer":
        raise Forbidden("只读用户不能修改数据。")
