from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db
from coord.parties.models import Party
from coord.timeutil import to_local

PROBLEM_KINDS: dict[str, str] = {"regional": "区域性问题", "sector": "行业性问题"}
# The five flexible measures of the policy (柔性执法方式).
MEASURES: dict[str, str] = {
    "persuasion": "劝导",
    "notice_advice": "告知建议",
    "interview": "约谈告诫",
    "mediation": "调解纠错",
    "follow_up": "回访",
}
STATUSES: dict[str, str] = {"draft": "草稿", "scheduled": "已排期", "held": "已约谈", "cancelled": "已取消"}
AGENCY_ROLES: dict[str, str] = {"lead": "牵头单位（约谈方）", "co": "协办单位"}
CONFIRMATIONS: dict[str, str] = {"pending": "待确认", "confirmed": "已确认", "declined": "已拒绝"}
FOLLOW_UP_STATUSES: dict[str, str] = {"pending": "待回访", "done": "已回访"}
FOLLOW_UP_RESULTS: dict[str, str] = {"rectified": "已整改", "not_rectified": "未整改"}


def new_uid() -> str:
    """The stable iCalendar UID of an interview, fixed at creation."""
    return f"{uuid.uuid4()}@coord"


class Interview(db.Model):
    """联合约谈 / 约谈告诫. The lead agency organises; co-organising agencies confirm."""

    __tablename__ = "interview"
    __table_args__ = (sa.Index("ix_interview_lead_status_start", "lead_agency_id", "status", "start_at"),)  # 0011
    # ix_interview_start_order (start_at DESC NULLS LAST, id DESC): the lists' order, made per dialect in 0018.

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(120), unique=True, nullable=False, default=new_uid)
    # iCalendar SEQUENCE: raised (bump_sequence) on every change that is sent out.
    sequence: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    problem_kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    region_agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"))  # town / sub-district
    sector: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"), nullable=False, index=True)
    lead_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False, index=True)
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("room.id"), index=True)
    duration_minutes: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=90)
    matter: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    legal_basis: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    measure: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="interview")
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="draft", index=True)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    # The published list item (a row of one published version; its `uid` follows it across versions)
    # that the matter concerns: one of the lead agency's positive or negative list.
    list_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("list_item.id"), index=True)
    # Set when a calendar change made the scheduled day a day off (the interview is flagged, not moved).
    off_day: Mapped[date | None] = mapped_column(sa.Date)
    off_day_note: Mapped[str] = mapped_column(sa.String(80), nullable=False, default="", server_default="")

    party = relationship(Party, lazy="joined")
    lead_agency = relationship("Agency", foreign_keys=[lead_agency_id])
    region_agency = relationship("Agency", foreign_keys=[region_agency_id])
    room = relationship("Room")
    created_by = relationship("User")
    agencies = relationship("InterviewAgency", back_populates="interview", cascade="all, delete-orphan",
                            order_by="InterviewAgency.id")
    participants = relationship("InterviewParticipant", back_populates="interview", cascade="all, delete-orphan",
                                order_by="InterviewParticipant.id")
    attendees = relationship("PartyAttendee", back_populates="interview", cascade="all, delete-orphan",
                             order_by="PartyAttendee.id")
    items = relationship("RectificationItem", back_populates="interview", order_by="RectificationItem.id")
    list_item = relationship("ListItem")

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def measure_label(self) -> str:
        return MEASURES.get(self.measure, self.measure)

    @property
    def problem_label(self) -> str:
        return PROBLEM_KINDS.get(self.problem_kind, self.problem_kind)

    @property
    def agency_ids(self) -> list[int]:
        return [a.agency_id for a in self.agencies]

    @property
    def off_day_warning(self) -> str:
        """Why the interview is flagged: still scheduled on a day the calendar now says is off."""
        if self.off_day is None or self.status != "scheduled" or self.start_at is None:
            return ""
        if to_local(self.start_at).date() != self.off_day:
            return ""  # rescheduled since: the flag no longer applies
        why = f"（{self.off_day_note}）" if self.off_day_note else ""
        # Shown, never stored: in the reader's language (Chinese outside a request).
        return gettext("约谈日期 %(day)s 已调整为休息日%(why)s，请改期或确认照常举行。",
                       day=self.off_day.isoformat(), why=why)

    def snapshot(self) -> dict:
        return {
            "title": self.title, "problem_kind": self.problem_kind, "region_agency_id": self.region_agency_id,
            "sector": self.sector, "party_id": self.party_id, "lead_agency_id": self.lead_agency_id,
            "room_id": self.room_id, "duration_minutes": self.duration_minutes, "matter": self.matter,
            "legal_basis": self.legal_basis, "measure": self.measure, "status": self.status,
            "start_at": self.start_at.isoformat() if self.start_at else None,
            "end_at": self.end_at.isoformat() if self.end_at else None,
            "cancel_reason": self.cancel_reason, "sequence": self.sequence,
            "agencies": sorted(a.agency_id for a in self.agencies),
            "participants": sorted(p.user_id for p in self.participants),
            "list_item_id": self.list_item_id,
        }


class InterviewAgency(db.Model):
    """An agency taking part: the lead (organiser) or a co-organiser, with its confirmation."""

    __tablename__ = "interview_agency"
    __table_args__ = (
        sa.UniqueConstraint("interview_id", "agency_id", name="uq_interview_agency"),
        sa.Index("ix_interview_agency_pending", "agency_id", "confirmation", "role"),  # the worklist (0011)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False, index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="co")
    confirmation: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="pending")
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    interview = relationship("Interview", back_populates="agencies")
    agency = relationship("Agency", lazy="joined")

    @property
    def role_label(self) -> str:
        return AGENCY_ROLES.get(self.role, self.role)

    @property
    def confirmation_label(self) -> str:
        return CONFIRMATIONS.get(self.confirmation, self.confirmation)


class InterviewParticipant(db.Model):
    """An official attending for one of the interview's agencies."""

    __tablename__ = "interview_participant"
    __table_args__ = (sa.UniqueConstraint("interview_id", "user_id", name="uq_interview_participant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False)

    interview = relationship("Interview", back_populates="participants")
    user = relationship("User", lazy="joined")


class PartyAttendee(db.Model):
    """Someone attending for the party (legal representative, manager, ...)."""

    __tablename__ = "party_attendee"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    post: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False, default="")
    phone: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")

    interview = relationship("Interview", back_populates="attendees")


class RectificationItem(db.Model):
    """整改要求 with its deadline (整改期限); each one gets a follow-up visit task."""

    __tablename__ = "rectification_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False, index=True)
    requirement: Mapped[str] = mapped_column(sa.Text, nullable=False)
    deadline: Mapped[date] = mapped_column(sa.Date, nullable=False)
    source: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="interview")  # interview | minutes
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    interview = relationship("Interview", back_populates="items")
    follow_ups = relationship("FollowUp", back_populates="item", order_by="FollowUp.id")


class FollowUp(db.Model):
    """回访: the lead agency visits after the deadline and records whether the party rectified.

    A visit comes from an interview's rectification item (`item_id`, `interview_id`) or from the
    observation period (纠错观察期) of a measure in the register (`coord.measures`, which links the
    visit from its side and adds `observed_measure`); then item and interview are None.
    """

    __tablename__ = "follow_up"
    __table_args__ = (sa.Index("ix_follow_up_agency_status_due", "agency_id", "status", "due"),)  # the worklist (0011)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rectification_item.id"), index=True)
    interview_id: Mapped[int | None] = mapped_column(sa.ForeignKey("interview.id"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False, index=True)
    due: Mapped[date] = mapped_column(sa.Date, nullable=False, index=True)
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="pending")
    result: Mapped[str | None] = mapped_column(sa.String(20))
    notes: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    visited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    escalated: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # The lead created by escalating a "not rectified" visit (at most one per visit).
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lead.id"), unique=True)

    item = relationship("RectificationItem", back_populates="follow_ups")
    interview = relationship("Interview")
    agency = relationship("Agency")
    lead = relationship("Lead")

    @property
    def status_label(self) -> str:
        return FOLLOW_UP_STATUSES.get(self.status, self.status)

    @property
    def result_label(self) -> str:
        return FOLLOW_UP_RESULTS.get(self.result or "", "")

    # A visit comes from an interview's rectification item or from a measure's observation period
    # (coord.measures adds `observed_measure`); these read the same for both.
    @property
    def deadline(self) -> date:
        return self.item.deadline if self.item_id else self.observed_measure.correction_deadline

    @property
    def requirement(self) -> str:
        if self.item_id:
            return self.item.requirement
        measure = self.observed_measure
        return measure.observation_requirement or measure.matter

    @property
    def subject(self) -> str:
        """What the visit is about, for lists and messages."""
        if self.interview_id:
            return self.interview.title
        measure = self.observed_measure
        return f"{measure.kind_label}：{measure.matter}"

    @property
    def record_url(self) -> str:
        return f"/interviews/{self.interview_id}" if self.interview_id else f"/measures/{self.observed_measure.id}"
