"""The register (柔性执法台账): one row per application of a flexible measure.

Common fields for every measure, then the fields of its kind in their own columns (typed and
queryable rather than a JSON bag): persuasion (behaviour, result), notice and advice (channel,
content), interview (the interview), mediation (other parties, agreement), follow-up (the visit).
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from coord.agencies.models import Agency
from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db
from coord.interviews.models import FOLLOW_UP_RESULTS, FollowUp, Interview
from coord.lang import N_, _
from coord.parties.models import Party

# The five flexible measures of policy §四, in its order (the codes the lists and leads use).
KINDS: dict[str, str] = {
    "persuasion": N_("劝导"),
    "notice_advice": N_("告知建议"),
    "interview": N_("约谈告诫"),
    "mediation": N_("调解纠错"),
    "follow_up": N_("回访"),
}
KIND_TITLES: dict[str, str] = {
    "persuasion": N_("行政劝导"),
    "notice_advice": N_("行政告知建议"),
    "interview": N_("行政约谈告诫"),
    "mediation": N_("行政调解纠错"),
    "follow_up": N_("行政回访"),
}
PERSUASION_RESULTS: dict[str, str] = {"stopped": N_("已停止"), "corrected": N_("已改正"), "refused": N_("拒不改正")}
CHANNELS: dict[str, str] = {
    "written": N_("书面送达"), "in_person": N_("当面告知"),
    "phone": N_("电话告知"), "sms": N_("短信"), "online": N_("政务平台或网络"),
    "other": N_("其他方式"),
}
VISIT_RESULTS = FOLLOW_UP_RESULTS
SOURCES: dict[str, str] = {
    "manual": N_("人工登记"), "lead": N_("线索回复自动登记"),
    "interview": N_("约谈自动登记"), "visit": N_("回访任务自动登记"),
}
# The documents each kind can produce (coord.documents.numbering kinds).
DOCUMENTS: dict[str, tuple[str, ...]] = {
    "notice_advice": ("prompt_letter",),
    "mediation": ("mediation_agreement", "correction_order"),
}


class Measure(db.Model):
    __tablename__ = "measure"
    __table_args__ = (
        # The oversight figures count measures per agency, period and kind from this index alone.
        sa.Index("ix_measure_agency_kind_on", "agency_id", "kind", "measure_on"),
        sa.Index("ix_measure_on", "measure_on"),
        sa.CheckConstraint(
            "kind IN ('persuasion', 'notice_advice', 'interview', 'mediation', 'follow_up')", name="ck_measure_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(30), unique=True)  # TZ2026000001
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    source: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="manual")
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("party.id"), nullable=False, index=True)
    measure_on: Mapped[date] = mapped_column(sa.Date, nullable=False)  # the date the measure was applied
    place: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    matter: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    list_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("list_item.id"), index=True)
    circumstances: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    legal_basis: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    outcome: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    # 纠错观察期: its deadline and what is to be corrected; the visit it created.
    correction_deadline: Mapped[date | None] = mapped_column(sa.Date)
    observation_requirement: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    observation_visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("follow_up.id"), unique=True)
    undertaking: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")  # the party's 承诺, if any
    # persuasion
    behaviour: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    result: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")  # persuasion or follow-up
    # notice and advice
    channel: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    content: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    # interview: the interview itself (one entry per interview)
    interview_id: Mapped[int | None] = mapped_column(sa.ForeignKey("interview.id"), unique=True)
    # mediation and correction
    other_parties: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    agreement_reached: Mapped[bool | None] = mapped_column(sa.Boolean)
    agreement_terms: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    # follow-up: the visit this entry records (one entry per visit)
    follow_up_id: Mapped[int | None] = mapped_column(sa.ForeignKey("follow_up.id"), unique=True)
    # where an automatic entry came from
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lead.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    agency: Mapped[Agency] = relationship(lazy="joined")
    party: Mapped[Party] = relationship(lazy="joined")
    list_item = relationship("ListItem")
    interview: Mapped[Interview | None] = relationship(foreign_keys=[interview_id])
    follow_up: Mapped[FollowUp | None] = relationship(foreign_keys=[follow_up_id])
    # The observation period's visit; the visit finds its measure as `observed_measure` (the
    # follow-up list shows both kinds of visit without interviews knowing about the register).
    observation_visit: Mapped[FollowUp | None] = relationship(
        foreign_keys=[observation_visit_id], backref=backref("observed_measure", uselist=False))
    lead = relationship("Lead")
    created_by = relationship("User")
    officers = relationship("MeasureOfficer", back_populates="measure", cascade="all, delete-orphan",
                            order_by="MeasureOfficer.id")
    files = relationship("MeasureFile", back_populates="measure", order_by="MeasureFile.id")

    @property
    def kind_label(self) -> str:
        return _(KINDS.get(self.kind, self.kind))

    @property
    def kind_title(self) -> str:
        return _(KIND_TITLES.get(self.kind, self.kind))

    @property
    def source_label(self) -> str:
        return _(SOURCES.get(self.source, self.source))

    @property
    def result_label(self) -> str:
        table = PERSUASION_RESULTS if self.kind == "persuasion" else VISIT_RESULTS
        return _(table[self.result]) if self.result in table else ""

    @property
    def channel_label(self) -> str:
        return _(CHANNELS[self.channel]) if self.channel in CHANNELS else ""

    @property
    def officer_names(self) -> list[str]:
        return [o.user.display_name for o in self.officers]

    @property
    def documents(self) -> tuple[str, ...]:
        return DOCUMENTS.get(self.kind, ())

    def snapshot(self) -> dict:
        keys = ("number", "kind", "source", "agency_id", "party_id", "measure_on", "place", "matter", "list_item_id",
                "circumstances", "legal_basis", "outcome", "correction_deadline", "observation_requirement",
                "observation_visit_id", "undertaking", "behaviour", "result", "channel", "content", "interview_id",
                "other_parties", "agreement_reached", "agreement_terms", "follow_up_id", "lead_id")
        data = {k: getattr(self, k) for k in keys}
        data["officer_ids"] = [o.user_id for o in self.officers]
        return data


class MeasureOfficer(db.Model):
    """An officer who applied the measure (of the measure's agency)."""

    __tablename__ = "measure_officer"
    __table_args__ = (sa.UniqueConstraint("measure_id", "user_id", name="uq_measure_officer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(sa.ForeignKey("measure.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)

    measure = relationship("Measure", back_populates="officers")
    user = relationship("User", lazy="joined")


class MeasureFile(db.Model):
    """An attachment; the bytes live at instance/files/<sha256> (the referrals' storage rules)."""

    __tablename__ = "measure_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(sa.ForeignKey("measure.id"), nullable=False, index=True)
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    measure = relationship("Measure", back_populates="files")
