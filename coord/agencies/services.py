"""Directory queries and the admin's edits."""
from __future__ import annotations

import re
import threading
import time
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import current_app

from coord.accounts.scoping import require_office
from coord.agencies.models import AGENCY_KINDS, Agency
from coord.audit import services as audit
from coord.errors import DomainError, NotFound, too_long
from coord.extensions import db

# The agencies a filter offers (the office's lead list and register): ~60 rows that change a few times a
# year, cached per process so a list page costs no query for them. A change made here is seen at once by
# this process; other workers see it within this many seconds (a filter option, never a permission).
CHOICES_SECONDS = 60.0
_choices_lock = threading.Lock()


class Choice(NamedTuple):
    id: int
    name: str


def filter_choices(*, enforcement_only: bool = False) -> list[Choice]:
    """Active agencies (enforcement agencies only, if asked) in directory order, as (id, name)."""
    cache = _choices()
    hit = cache.get(enforcement_only)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    stmt = sa.select(Agency.id, Agency.name).where(Agency.active.is_(True)).order_by(Agency.sort_order, Agency.id)
    if enforcement_only:
        stmt = stmt.where(Agency.is_enforcement.is_(True))
    rows = [Choice(*row) for row in db.session.execute(stmt)]
    with _choices_lock:
        cache[enforcement_only] = (time.monotonic() + CHOICES_SECONDS, rows)
    return rows


def _choices() -> dict[bool, tuple[float, list[Choice]]]:
    """One cache per app (two apps never share rows: tests make one per database)."""
    return current_app.extensions.setdefault("coord_agency_choices", {})


def forget_choices() -> None:
    with _choices_lock:
        _choices().clear()

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def search(q: str = "", kind: str = "", role: str = "", include_inactive: bool = False) -> list[Agency]:
    stmt = sa.select(Agency).order_by(Agency.sort_order, Agency.id)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(sa.or_(Agency.name.ilike(like), Agency.code.ilike(like), Agency.email.ilike(like)))
    if kind in AGENCY_KINDS:
        stmt = stmt.where(Agency.kind == kind)
    if role in ("is_sector_authority", "is_enforcement", "is_police"):
        stmt = stmt.where(getattr(Agency, role).is_(True))
    if not include_inactive:
        stmt = stmt.where(Agency.active.is_(True))
    return list(db.session.execute(stmt).scalars())


def get(agency_id: int) -> Agency:
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        raise NotFound("单位不存在。")
    return agency


def by_name(name: str) -> Agency | None:
    return db.session.execute(sa.select(Agency).where(Agency.name == name)).scalar_one_or_none()


def _validate(data: dict[str, Any], agency: Agency | None) -> dict[str, Any]:
    name = (data.get("name") or "").strip()
    if not name:
        raise DomainError("请填写单位名称。", field="name")
    clash = db.session.execute(sa.select(Agency.id).where(Agency.name == name)).scalar_one_or_none()
    if clash is not None and (agency is None or clash != agency.id):
        raise DomainError("已有同名单位。", field="name")
    kind = data.get("kind")
    if kind not in AGENCY_KINDS:
        raise DomainError("请选择有效的单位类别。", field="kind")
    email = (data.get("email") or "").strip()
    if email and not EMAIL_RE.match(email):
        raise DomainError("联系邮箱格式不正确。", field="email")
    full_name = (data.get("full_name") or "").strip()
    if len(full_name) > 200:
        raise DomainError("单位全称不能超过 200 个字符。", field="full_name")
    prefix = (data.get("doc_prefix") or "").strip()
    if len(prefix) > 20:
        raise DomainError("文号代字不能超过 20 个字符。", field="doc_prefix")
    if any(ch in prefix for ch in "〔〕[]()（）号 "):
        raise DomainError("文号代字只写机关代字（如“沙市监”），不含括号、年份或“号”。", field="doc_prefix")
    credit = (data.get("credit_code") or "").strip().upper()
    if credit and len(credit) != 18:
        raise DomainError("统一社会信用代码应为 18 位。", field="credit_code")
    for key, label, limit in (("name", "单位名称", 120), ("phone", "联系电话", 40), ("address", "地址", 200)):
        text = (data.get(key) or "").strip()
        if len(text) > limit:  # refused beside the field, never cut
            raise DomainError(too_long(label, limit, len(text)), field=key)
    return {
        "name": name,
        "full_name": full_name,
        "doc_prefix": prefix,
        "kind": kind,
        "email": email,
        "phone": (data.get("phone") or "").strip(),
        "address": (data.get("address") or "").strip(),
        "credit_code": credit,
        "is_sector_authority": bool(data.get("is_sector_authority")),
        "is_enforcement": bool(data.get("is_enforcement")),
        "is_police": bool(data.get("is_police")),
        "active": bool(data.get("active", True)),
    }


def update(actor: Any, agency_id: int, data: dict[str, Any]) -> Agency:
    require_office(actor)
    agency = get(agency_id)
    before = agency.snapshot()
    for key, value in _validate(data, agency).items():
        setattr(agency, key, value)
    audit.record(actor, "agency.update", "agency", agency.id, agencies=[agency.id],
                 summary=f"修改单位 {agency.name}", before=before, after=agency.snapshot())
    db.session.commit()
    forget_choices()
    return agency


def create(actor: Any, data: dict[str, Any]) -> Agency:
    require_office(actor)
    clean = _validate(data, None)
    count = db.session.scalar(sa.select(sa.func.count(Agency.id))) or 0
    code = (data.get("code") or "").strip().lower() or f"org{count + 1}"
    if db.session.execute(sa.select(Agency.id).where(Agency.code == code)).first():
        raise DomainError("单位代码已被使用。", field="code")
    max_order = db.session.scalar(sa.select(sa.func.max(Agency.sort_order))) or 0
    agency = Agency(code=code, sort_order=max_order + 1, **clean)
    db.session.add(agency)
    db.session.flush()
    audit.record(actor, "agency.create", "agency", agency.id, agencies=[agency.id],
                 summary=f"新增单位 {agency.name}", after=agency.snapshot())
    db.session.commit()
    forget_choices()
    return agency


# Agencies are a public directory inside the platform: every signed-in user may read them.
audit.register_entity("agency", "单位", lambda user, _id: True)
