"""Leads, their files, extension requests, supervision, and police referrals.

Deadlines are stored as columns (`due_on`, `warn_on` for the running working-day clock of a lead;
`due_at`, `warn_at` for the police clocks) so that "overdue" and the 80% warning are plain SQL
comparisons with today's date or the current instant, never a Python loop over rows.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.agencies.models import Agency
from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

LEAD_STATES: dict[str, str] = {
    "referred": "待签收",
    "acknowledged": "核查中",
    "returned": "已退回",
    "replied": "已回复待确认",
    "closed": "已办结",
    "merged": "已合并",
}
OPEN_STATES = ("referred", "acknowledged")  # the receiver's clock runs

OUTCOMES: dict[str, str] = {
    "case_opened": "已立案",
    "not_opened": "不予立案",
    "flexible": "采取柔性执法方式处理",
    "police": "涉嫌犯罪，已移送公安机关",
}

# The five flexible measures of the policy (§四).
MEASURES: dict[str, str] = {
    "persuasion": "劝导示范",
    "notice_advice": "告知建议",
    "interview": "约谈告诫",
    "mediation": "调解纠错",
    "follow_up": "行政回访",
}

URGENCY: dict[str, str] = {"normal": "一般", "urgent": "紧急"}

CLOCKS: dict[str, str] = {"ack": "签收", "reply": "回复"}

POLICE_STATES: dict[str, str] = {
    "reported": "待负责人审批",
    "approved": "已批准待移送",
    "not_approved": "不批准移送",
    "handed_over": "已移送待回执",
    "received": "公安已签回执",
    "case_opened": "公安已立案",
    "not_opened": "公安不予立案",
    "reconsideration": "复议中",
    "final": "复议维持不予立案",
}
POLICE_CLOCKS: dict[str, str] = {
    "approve": "负责人审批（3日）",
    "handover": "移送（24小时）",
    "decide": "公安审查决定（3日）",
    "reconsider_request": "提请复议（3日）",
    "reconsider": "复议决定（3日）",
}

# Art. 6 materials; the first two are required before handing over.
MATERIALS: dict[str, str] = {
    "letter": "涉嫌犯罪案件移送书",
    "report": "涉嫌犯罪案件调查报告",
    "items": "涉案物品清单",
    "expert": "检验报告或鉴定结论",
    "other": "其他有关涉嫌犯罪的材料",
}
REQUIRED_MATERIALS = ("letter", "report")


class LeadKind(db.Model):
    """A kind of lead and its clocks in working days (defaults from DESIGN.md, editable by the office)."""

    __tablename__ = "lead_kind"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    ack_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    reply_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=5)
    extension_max_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=10)
    return_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=2)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    sort_order: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    def snapshot(self) -> dict:
        return {k: getattr(self, k) for k in (
            "code", "name", "ack_days", "reply_days", "extension_max_days", "return_days", "active")}


class Lead(db.Model):
    __tablename__ = "lead"
    __table_args__ = (
        # Covering indexes: the inbox counts and the per-agency figures read only the index.
        sa.Index("ix_lead_to_state_due", "to_agency_id", "state", "late", "reply_on_time", "ack_on_time", "due_on",
                 "warn_on"),
        sa.Index("ix_lead_from_state_due", "from_agency_id", "state", "due_on", "warn_on"),
        sa.Index("ix_lead_to_id", "to_agency_id", "id"),
        sa.Index("ix_lead_from_id", "from_agency_id", "id"),
        sa.Index("ix_lead_due_on", "due_on", "to_agency_id", "from_agency_id", "late"),  # overdue now; reminders
        # The oversight figures: leads received per agency and period, read from the index alone.
        sa.Index("ix_lead_oversight", "to_agency_id", "referred_at", "state", "late", "ack_on_time", "reply_on_time",
                 "due_on"),
        # The worklist (migration 0011): an inbox state in deadline order; open supervisions.
        sa.Index("ix_lead_to_state_due_on", "to_agency_id", "state", "due_on"),
        sa.Index("ix_lead_supervised", "to_agency_id", sqlite_where=sa.text("supervised = 1"),
                 postgresql_where=sa.text("supervised")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(30), unique=True)
    kind_id: Mapped[int] = mapped_column(sa.ForeignKey("lead_kind.id"), nullable=False)
    from_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False)
    to_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    party_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    party_credit_code: Mapped[str] = mapped_column(sa.String(18), nullable=False, default="")
    facts: Mapped[str] = mapped_column(sa.Text, nullable=False)
    place: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    occurred_on: Mapped[date | None] = mapped_column(sa.Date)
    matter: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    legal_basis: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    urgency: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="normal")
    # The receiver's published list item the matter concerns (a row of one published version).
    list_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("list_item.id"), index=True)

    state: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="referred")
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # The running clock of the receiver: NULL when no clock runs (returned, replied, closed, merged).
    clock: Mapped[str | None] = mapped_column(sa.String(10))
    clock_start: Mapped[date | None] = mapped_column(sa.Date)
    due_on: Mapped[date | None] = mapped_column(sa.Date)  # last day to act (inclusive)
    warn_on: Mapped[date | None] = mapped_column(sa.Date)  # first day of the 80% warning
    # Each clock's deadline, kept for display and the figures.
    ack_due: Mapped[date | None] = mapped_column(sa.Date)
    return_due: Mapped[date | None] = mapped_column(sa.Date)
    reply_due: Mapped[date | None] = mapped_column(sa.Date)
    extended_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_on_time: Mapped[bool | None] = mapped_column(sa.Boolean)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_on_time: Mapped[bool | None] = mapped_column(sa.Boolean)
    late: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)  # any clock missed
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    case_number: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    measure: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    reply_note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    send_back_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    send_back_note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lead.id"))
    supervised: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)  # open 督办
    # Reminders already queued, "<clock>:<due_on>:<before|overdue>" joined by ";", so each is sent once.
    reminders_sent: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")

    kind: Mapped[LeadKind] = relationship(lazy="joined")
    from_agency: Mapped[Agency] = relationship(foreign_keys=[from_agency_id], lazy="joined")
    to_agency: Mapped[Agency] = relationship(foreign_keys=[to_agency_id], lazy="joined")
    list_item = relationship("ListItem")

    @property
    def state_label(self) -> str:
        return LEAD_STATES.get(self.state, self.state)

    @property
    def outcome_label(self) -> str:
        return OUTCOMES.get(self.outcome or "", "")

    @property
    def measure_label(self) -> str:
        return MEASURES.get(self.measure, "")

    @property
    def urgency_label(self) -> str:
        return URGENCY.get(self.urgency, self.urgency)

    @property
    def clock_label(self) -> str:
        return CLOCKS.get(self.clock or "", "")

    def snapshot(self) -> dict:
        keys = ("number", "state", "from_agency_id", "to_agency_id", "party_name", "party_credit_code", "matter",
                "urgency", "clock", "due_on", "ack_due", "reply_due", "extended_days", "outcome", "case_number",
                "measure", "reply_note", "return_reason", "merged_into_id", "supervised", "list_item_id")
        return {k: getattr(self, k) for k in keys}


class ReferralFile(db.Model):
    """An uploaded file; the bytes live at instance/files/<sha256> (one copy per content)."""

    __tablename__ = "referral_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lead.id"), index=True)
    police_referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("police_referral.id"), index=True)
    step: Mapped[str] = mapped_column(sa.String(20), nullable=False)  # referral, reply, material, decision
    category: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")  # art. 6 material
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    @property
    def category_label(self) -> str:
        return MATERIALS.get(self.category, "")


class ExtensionRequest(db.Model):
    __tablename__ = "lead_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("lead.id"), nullable=False, index=True)
    days: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False)
    state: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="pending")  # approved, refused
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")

    @property
    def state_label(self) -> str:
        return {"pending": "待审批", "approved": "已同意", "refused": "未同意"}.get(self.state, self.state)


class Supervision(db.Model):
    """督办 by the leading-group office; the receiver must answer."""

    __tablename__ = "lead_supervision"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("lead.id"), nullable=False, index=True)
    note: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    answer: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PoliceReferral(db.Model):
    """Referral of a suspected crime to the police (国务院令第310号 arts. 5–9)."""

    __tablename__ = "police_referral"
    __table_args__ = (
        sa.Index("ix_police_agency_state", "agency_id", "state"),
        sa.Index("ix_police_police_state", "police_agency_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(30), unique=True)
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lead.id"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False)
    police_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    party_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    suspected_crime: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    facts: Mapped[str] = mapped_column(sa.Text, nullable=False)
    state: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="reported")
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receipt_number: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(sa.String(20))  # case_opened | not_opened
    decision_reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    police_case_number: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    files_returned: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    reconsideration_reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    reconsideration_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconsidered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The running clock (instants: the 24-hour clock needs the hour).
    clock: Mapped[str | None] = mapped_column(sa.String(20))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id], lazy="joined")
    police_agency: Mapped[Agency] = relationship(foreign_keys=[police_agency_id], lazy="joined")

    @property
    def state_label(self) -> str:
        return POLICE_STATES.get(self.state, self.state)

    @property
    def clock_label(self) -> str:
        return POLICE_CLOCKS.get(self.clock or "", "")

    def snapshot(self) -> dict:
        keys = ("number", "state", "agency_id", "police_agency_id", "party_name", "suspected_crime", "clock",
                "due_at", "receipt_number", "decision", "decision_reason", "police_case_number", "files_returned",
                "reconsideration_reason")
        return {k: getattr(self, k) for k in keys}
