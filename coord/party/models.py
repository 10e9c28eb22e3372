"""What the party does through its personal link, and the links themselves."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db
from coord.lang import N_, _

ANSWERS: dict[str, str] = {"confirmed": N_("确认参加"), "reschedule_requested": N_("申请改期")}
# A reschedule request is open until the organiser accepts a time or declines; a confirmation is noted.
ANSWER_STATUSES: dict[str, str] = {"open": N_("待答复"), "accepted": N_("已同意改期"), "declined": N_("不同意改期"),
                                   "noted": N_("已确认"), "withdrawn": N_("已撤回")}
PROOF_STATUSES: dict[str, str] = {
    "submitted": N_("待审核"), "accepted": N_("已通过（已整改）"), "more_requested": N_("需补充材料"),
}
STAGES: dict[str, str] = {"interview": N_("约谈后"), "follow_up": N_("回访后")}


class PartyLink(db.Model):
    """A personal link to the party's pages (`/p/<token>`) with its 8-character access code.

    The token and the code are derived from `nonce` with the app's SECRET_KEY (HMAC), so the server
    can print them again (notice PDF, link list) while the database alone reveals neither: it keeps
    only their hashes, by which a request is looked up. `attendee_id` is empty for the notice's link
    (printed as a QR code on the interview notice); the attendee's name and contacts are kept as sent.
    """

    __tablename__ = "party_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False, index=True)
    attendee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party_attendee.id", ondelete="SET NULL"),
                                                    index=True)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="personal")  # personal | notice
    attendee_name: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False, default="")
    phone: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    nonce: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    revoke_reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party_link.id"))

    interview = relationship("Interview")
    attendee = relationship("PartyAttendee")

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def label(self) -> str:
        return self.attendee_name or "约谈通知书二维码"


class PartyResponse(db.Model):
    """The party's answer to one scheduled time: 确认参加, or 申请改期 with a reason and up to three times."""

    __tablename__ = "party_response"
    __table_args__ = (sa.Index("ix_party_response_interview", "interview_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False)
    link_id: Mapped[int] = mapped_column(sa.ForeignKey("party_link.id"), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(25), nullable=False)  # confirmed | reschedule_requested
    for_start_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)  # the time answered
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    starts: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)  # ISO 8601, +08:00
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False, index=True)
    decision_reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    chosen_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    link = relationship("PartyLink")
    decided_by = relationship("User")

    @property
    def kind_label(self) -> str:
        return _(ANSWERS.get(self.kind, self.kind))

    @property
    def status_label(self) -> str:
        return _(ANSWER_STATUSES.get(self.status, self.status))

    @property
    def start_instants(self) -> list[datetime]:
        return [datetime.fromisoformat(s) for s in self.starts or []]


class PartyProof(db.Model):
    """Proof of rectification the party sent for one item: files and a note, reviewed by the visit's officer."""

    __tablename__ = "party_proof"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("rectification_item.id"), nullable=False, index=True)
    follow_up_id: Mapped[int | None] = mapped_column(sa.ForeignKey("follow_up.id"), index=True)
    link_id: Mapped[int] = mapped_column(sa.ForeignKey("party_link.id"), nullable=False)
    note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    # SHA-256 of the note and the files' hashes: the same submission twice is kept once.
    fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="submitted", index=True)
    review_reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    item = relationship("RectificationItem")
    link = relationship("PartyLink")
    reviewed_by = relationship("User")
    files = relationship("PartyProofFile", back_populates="proof", order_by="PartyProofFile.id",
                         cascade="all, delete-orphan", lazy="selectin")

    @property
    def status_label(self) -> str:
        return _(PROOF_STATUSES.get(self.status, self.status))


class PartyProofFile(db.Model):
    """One file of a proof, kept under instance/files/<sha256> (photos with location data removed)."""

    __tablename__ = "party_proof_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    proof_id: Mapped[int] = mapped_column(sa.ForeignKey("party_proof.id"), nullable=False, index=True)
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)  # of the bytes kept
    original_sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)  # of the bytes received
    stripped: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")  # what was removed

    proof = relationship("PartyProof", back_populates="files")


class PartyUndertaking(db.Model):
    """保证承诺书 of an interview: signed by the party (the signed PDF, kept unchanged) or refused (by
    the organiser, with the reason). One per interview; the database refuses changes and deletions."""

    __tablename__ = "party_undertaking"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # signed | refused
    link_id: Mapped[int | None] = mapped_column(sa.ForeignKey("party_link.id"))
    signer_name: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    minutes_revision: Mapped[int | None] = mapped_column(sa.Integer)
    unsigned_sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    signature_png: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    pdf: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    refusal_reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    recorded_by = relationship("User")


class PartyFeedback(db.Model):
    """The party's rating of one stage (1–5 for the process and the officials' conduct), once per stage.
    Nothing here says which attendee or link gave it; only the leading-group office reads it."""

    __tablename__ = "party_feedback"
    __table_args__ = (sa.UniqueConstraint("interview_id", "stage", name="uq_party_feedback_stage"),
                      sa.Index("ix_party_feedback_created", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False)
    stage: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # interview | follow_up
    process_rating: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    conduct_rating: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    comment: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    interview = relationship("Interview")

    @property
    def stage_label(self) -> str:
        return _(STAGES.get(self.stage, self.stage))


class IntegrityReport(db.Model):
    """廉洁情况反映: kept apart from the ratings and read by the leading-group office only."""

    __tablename__ = "party_integrity_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False, index=True)
    stage: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)

    interview = relationship("Interview")

    @property
    def stage_label(self) -> str:
        return _(STAGES.get(self.stage, self.stage))
