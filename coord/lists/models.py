from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.accounts.models import User
from coord.agencies.models import Agency
from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

KINDS: dict[str, str] = {"positive": "正面清单", "negative": "负面清单"}
KIND_TITLES: dict[str, str] = {
    "positive": "柔性执法事项正面清单",
    "negative": "柔性执法事项负面清单",
}
KIND_DESCRIPTIONS: dict[str, str] = {
    "positive": "轻微违法行为依法免予处罚（强制）清单",
    "negative": "依法应当从重处罚事项",
}

# The five flexible measures of policy §四, in the policy's order.
MEASURES: dict[str, str] = {
    "persuasion": "劝导",
    "notice_advice": "告知建议",
    "interview": "约谈告诫",
    "mediation": "调解纠错",
    "follow_up": "回访",
}

STATES: dict[str, str] = {
    "draft": "草稿",
    "submitted": "待审核",
    "returned": "已退回",
    "published": "已发布",
    "superseded": "已被新版本取代",
}
EDITABLE_STATES = ("draft", "returned")
OPEN_STATES = ("draft", "submitted", "returned")


class ListVersion(db.Model):
    """One version of one agency's positive or negative list."""

    __tablename__ = "list_version"
    __table_args__ = (
        sa.UniqueConstraint("agency_id", "kind", "number", name="uq_list_version_number"),
        sa.CheckConstraint("kind IN ('positive', 'negative')", name="ck_list_version_kind"),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'returned', 'published', 'superseded')", name="ck_list_version_state"
        ),
        # At most one version being worked on, and one published, per agency and kind.
        sa.Index(
            "uq_list_version_open", "agency_id", "kind", unique=True,
            sqlite_where=sa.text("state IN ('draft', 'submitted', 'returned')"),
            postgresql_where=sa.text("state IN ('draft', 'submitted', 'returned')"),
        ),
        sa.Index(
            "uq_list_version_published", "agency_id", "kind", unique=True,
            sqlite_where=sa.text("state = 'published'"),
            postgresql_where=sa.text("state = 'published'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    number: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    state: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="draft")
    based_on_id: Mapped[int | None] = mapped_column(sa.ForeignKey("list_version.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    review_comment: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped[Agency] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    items: Mapped[list[ListItem]] = relationship(
        back_populates="version", order_by="(ListItem.position, ListItem.id)", cascade="all, delete-orphan"
    )

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]

    @property
    def state_label(self) -> str:
        return STATES.get(self.state, self.state)

    @property
    def editable(self) -> bool:
        return self.state in EDITABLE_STATES

    @property
    def is_public(self) -> bool:
        return self.state in ("published", "superseded")

    def snapshot(self) -> dict:
        return {
            "agency_id": self.agency_id,
            "kind": self.kind,
            "number": self.number,
            "state": self.state,
            "review_comment": self.review_comment,
        }


class ListItem(db.Model):
    """One row of a list, in the annex columns. Items of a published version never change."""

    __tablename__ = "list_item"
    __table_args__ = (sa.CheckConstraint("kind IN ('positive', 'negative')", name="ck_list_item_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("list_version.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    # Stable across versions (copied into the next draft, matched on import): the diff follows it.
    uid: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False)  # 序号
    matter: Mapped[str] = mapped_column(sa.String(300), nullable=False)  # 事项名称 / 事项
    matter_code: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")  # 事项编码
    circumstances: Mapped[str] = mapped_column(sa.Text, nullable=False)  # 情形 (negative: one level a line)
    legal_basis: Mapped[str] = mapped_column(sa.Text, nullable=False)  # 依据
    measures: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")  # codes, comma-separated
    remarks: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")  # 备注

    version: Mapped[ListVersion] = relationship(back_populates="items")

    @property
    def measure_codes(self) -> list[str]:
        return [m for m in self.measures.split(",") if m]

    @property
    def measure_names(self) -> list[str]:
        return [MEASURES[m] for m in self.measure_codes if m in MEASURES]

    @property
    def levels(self) -> list[str]:
        """The graded levels of a negative item's 情形: one a line."""
        return [line.strip() for line in self.circumstances.splitlines() if line.strip()]

    def content(self) -> dict:
        """The annex columns (what a diff compares and what the audit trail keeps)."""
        return {
            "position": self.position,
            "matter": self.matter,
            "matter_code": self.matter_code,
            "circumstances": self.circumstances,
            "legal_basis": self.legal_basis,
            "measures": self.measure_codes,
            "remarks": self.remarks,
        }
