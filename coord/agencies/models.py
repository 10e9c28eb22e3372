from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from coord.extensions import db

# Kinds of agency in annex 2 (plus towns and sub-districts, which it names only as a group).
AGENCY_KINDS: dict[str, str] = {
    "committee_office": "区委工作机关挂牌机构",
    "government_department": "区政府组成部门",
    "city_branch": "市驻区直属机构",
    "town": "镇人民政府",
    "subdistrict": "街道办事处",
    "authorised_org": "法律法规规章授权组织",
}

# How pickers group the directory (the order people look in), with short group names.
PICKER_GROUPS: dict[str, str] = {
    "committee_office": "区委工作机关挂牌机构",
    "government_department": "区政府组成部门",
    "city_branch": "市驻区直属机构",
    "town": "镇",
    "subdistrict": "街道",
    "authorised_org": "授权组织",
}


def grouped(agencies) -> list[tuple[str, list]]:
    """Agencies grouped by kind for a picker, in PICKER_GROUPS order (each group in the given order)."""
    groups: dict[str, list] = {kind: [] for kind in PICKER_GROUPS}
    other: list = []
    for agency in agencies:
        groups.get(agency.kind, other).append(agency)
    out = [(PICKER_GROUPS[kind], items) for kind, items in groups.items() if items]
    return out + ([("其他", other)] if other else [])


AGENCY_ROLES: dict[str, str] = {
    "is_sector_authority": "行业主管部门",
    "is_enforcement": "行政执法部门",
    "is_police": "公安机关",
}


class Agency(db.Model):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True, nullable=False)
    # The full official name that documents carry (重庆市沙坪坝区市场监督管理局 beside 区市场监管局).
    full_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    # The agency's prefix in document numbers (文号), e.g. 沙市监 in 沙市监约〔2026〕3号.
    doc_prefix: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    code: Mapped[str] = mapped_column(sa.String(40), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    is_sector_authority: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    is_enforcement: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    is_police: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False, default="")
    phone: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    address: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    # 统一社会信用代码 of the agency itself (used by matter codes on the two lists).
    credit_code: Mapped[str] = mapped_column(sa.String(18), nullable=False, default="")
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    sort_order: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    @property
    def official_name(self) -> str:
        """The name an official document uses: the full name, or the short one until it is entered."""
        return self.full_name or self.name

    @property
    def kind_label(self) -> str:
        return AGENCY_KINDS.get(self.kind, self.kind)

    @property
    def role_labels(self) -> list[str]:
        return [label for attr, label in AGENCY_ROLES.items() if getattr(self, attr)]

    @property
    def is_regional(self) -> bool:
        return self.kind in ("town", "subdistrict")

    def snapshot(self) -> dict:
        return {
            "name": self.name,
            "full_name": self.full_name,
            "doc_prefix": self.doc_prefix,
            "code": self.code,
            "kind": self.kind,
            "is_sector_authority": self.is_sector_authority,
            "is_enforcement": self.is_enforcement,
            "is_police": self.is_police,
            "email": self.email,
            "phone": self.phone,
            "address": self.address,
            "credit_code": self.credit_code,
            "active": self.active,
        }
