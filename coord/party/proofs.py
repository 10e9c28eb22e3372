"""After the interview: the party sends proof of rectification for an item; the visit's officer reviews it.

Files follow the attachment rules of leads (`coord.referrals.storage`: SHA-256, type recognised from the
content, size limit, kept once under instance/files/<sha256>); only photos (JPG, PNG) and PDF are taken,
and photos lose their location data before they are kept (`coord.party.images`). Every file is checked
before the first one is written: a refused file means nothing of the submission is saved.
"""
from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import sqlalchemy as sa

from coord import events
from coord.audit import services as audit
from coord.dbtypes import utcnow
from coord.errors import DomainError, Forbidden, NotFound
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import FollowUp, RectificationItem
from coord.lang import _
from coord.party import images, links
from coord.party.models import PartyLink, PartyProof, PartyProofFile
from coord.party.services import open_link, party_actor, party_audit, tell_party
from coord.referrals import storage
from coord.workdays.services import CalendarMissing, workday_map

PROOF_TYPES = {"pdf", "jpg", "png"}
MAX_FILES = 10
MAX_NOTE = 2000


def item_of(interview_id: int, item_id: Any) -> RectificationItem:
    """The interview's item; any other id (another interview's, unknown) is 404 alike."""
    try:
        item = db.session.get(RectificationItem, int(item_id))
    except (TypeError, ValueError):
        item = None
    if item is None or item.interview_id != interview_id:
        raise NotFound(_("整改事项不存在。"))
    return item


def pending_visit(item: RectificationItem) -> FollowUp | None:
    return next((v for v in item.follow_ups if v.status == "pending"), None)


def working_days_left(deadline: date, today: date) -> int | None:
    """Working days from tomorrow up to the deadline (0 on the deadline itself or after); None when the
    calendar does not cover the days (never guessed)."""
    if deadline <= today:
        return 0
    try:
        days = workday_map(today, deadline)
    except CalendarMissing:
        return None
    return sum(1 for d, work in days.items() if work and today < d <= deadline)


def proofs_of_item(item_id: int) -> list[PartyProof]:
    return list(db.session.execute(sa.select(PartyProof).where(PartyProof.item_id == item_id)
                                   .order_by(PartyProof.id)).scalars())


def _checked(uploads: list[storage.Upload]) -> list[dict]:
    """Every file checked and cleaned, nothing written yet."""
    files = [u for u in uploads if u.filename or u.data]
    if not files:
        raise DomainError(_("请选择至少一个整改材料文件（照片或 PDF）。"), field="files")
    if len(files) > MAX_FILES:
        raise DomainError(_("一次最多上传 %(MAX_FILES)s 个文件。", MAX_FILES=MAX_FILES), field="files")
    out = []
    for upload in files:
        name, mime, original = storage.check(upload)  # name, size, type from content
        kind = storage.sniff(upload.data)
        if kind not in PROOF_TYPES:
            raise DomainError(_("文件“%(name)s”的类型不能作为整改材料（仅限照片 JPG、PNG 或 PDF）。", name=name),
                              field="files")
        data, removed = images.strip_location(upload.data, kind, name)
        out.append({"name": name, "mime": mime, "data": data, "original": original,
                    "sha256": hashlib.sha256(data).hexdigest(), "removed": removed})
    return out


def upload(token: str, ip: str, item_id: Any, uploads: list[storage.Upload], note: str = "") -> PartyProof:
    access = open_link(token, for_update=True)
    interview = access.interview
    item = item_of(interview.id, item_id)
    if interview.status != "held":
        raise DomainError(_("约谈结束后才能提交整改材料。"))
    visit = pending_visit(item)
    if visit is None:
        raise DomainError(_("该整改事项已回访确认，无需再提交材料；如有疑问请联系约谈单位。"))
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DomainError(_("说明不能超过 %(MAX_NOTE)s 字。", MAX_NOTE=MAX_NOTE), field="note")
    files = _checked(uploads)
    fingerprint = hashlib.sha256("\x1f".join([note, *sorted(f["original"] for f in files)]).encode()).hexdigest()
    last = db.session.execute(sa.select(PartyProof).where(PartyProof.item_id == item.id)
                              .order_by(PartyProof.id.desc()).limit(1)).scalar_one_or_none()
    if last is not None and last.fingerprint == fingerprint and last.status == "submitted":
        db.session.rollback()
        return last  # the same files and note again: counted once
    for f in files:
        storage.save(f["data"], f["sha256"])  # content-addressed: an orphan after a rollback is harmless
    proof = PartyProof(interview_id=interview.id, item_id=item.id, follow_up_id=visit.id, link_id=access.link.id,
                       note=note, fingerprint=fingerprint, status="submitted")
    proof.files = [PartyProofFile(filename=f["name"], content_type=f["mime"], size=len(f["data"]), sha256=f["sha256"],
                                  original_sha256=f["original"], stripped=f["removed"][:200]) for f in files]
    db.session.add(proof)
    db.session.flush()
    actor = party_actor(access, ip)
    party_audit(actor, interview, "party.proof", f"提交整改材料（{item.requirement[:40]}）{len(files)} 个文件",
                action="提交整改材料", proof_id=proof.id, item_id=item.id,
                files=[{"name": f["name"], "sha256": f["sha256"], "removed": f["removed"]} for f in files])
    events.announce(events.party_proof_uploaded, interview.id, proof_id=proof.id, item_id=item.id,
                    follow_up_id=visit.id)
    db.session.commit()
    return proof


# --- the visit's officer reviews --------------------------------------------------------------

def may_review(actor: Any, visit: FollowUp | None) -> bool:
    return visit is not None and (actor.is_office or (actor.agency_id == visit.agency_id and actor.role != "viewer"))


def get_proof(actor: Any, proof_id: Any) -> PartyProof:
    try:
        proof = db.session.get(PartyProof, int(proof_id))
    except (TypeError, ValueError):
        proof = None
    if proof is None:
        raise NotFound(_("整改材料不存在或您无权查看。"))
    interviews.get(actor, proof.interview_id)  # 404 outside the interview's agencies
    return proof


def review(actor: Any, proof_id: Any, decision: str, reason: str = "") -> PartyProof:
    """Accept (the item is rectified: the follow-up visit is recorded) or ask for more, with a reason
    the party sees."""
    proof = get_proof(actor, proof_id)
    interview = interviews.get(actor, proof.interview_id, for_update=True)
    db.session.refresh(proof)
    item = proof.item
    visit = pending_visit(item)
    if not may_review(actor, visit or db.session.get(FollowUp, proof.follow_up_id)):
        raise Forbidden(_("整改材料由回访单位审核。"))
    if proof.status != "submitted":
        raise DomainError(_("该整改材料已审核（%(status_label)s）。", status_label=proof.status_label))
    if visit is None:
        raise DomainError(_("该整改事项已登记回访结果。"))
    reason = (reason or "").strip()[:2000]
    proof.reviewed_at, proof.reviewed_by_id, proof.review_reason = utcnow(), actor.id, reason
    if decision == "accept":
        proof.status = "accepted"
        audit.record(actor, "party.proof_accept", "interview", interview.id, agencies=interview.agency_ids,
                     summary=f"审核通过当事人整改材料（{item.requirement[:40]}）",
                     after={"proof_id": proof.id, "follow_up_id": visit.id, "reason": reason})
        events.announce(events.party_proof_reviewed, interview.id, actor=actor, proof_id=proof.id, decision=decision)
        notes = "当事人提交的整改材料审核通过" + (f"：{reason}" if reason else "。")
        try:
            interviews.record_visit(actor, visit.id, "rectified", notes)  # commits the whole change
        except DomainError:
            db.session.rollback()
            raise
        return proof
    if decision != "more":
        raise DomainError(_("请选择审核通过或要求补充材料。"), field="decision")
    if not reason:
        raise DomainError(_("要求补充材料时须填写原因，当事人可以看到。"), field="reason")
    proof.status = "more_requested"
    audit.record(actor, "party.proof_more", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"要求当事人补充整改材料（{item.requirement[:40]}）：{reason[:100]}",
                 after={"proof_id": proof.id, "reason": reason})
    link = db.session.get(PartyLink, proof.link_id)
    tell_party(interview, f"party-proof-more:{proof.id}", f"【补充整改材料】{interview.title}",
                f"您提交的整改材料（{item.requirement[:40]}）需要补充：{reason}", only=link)
    events.announce(events.party_proof_reviewed, interview.id, actor=actor, proof_id=proof.id, decision=decision)
    db.session.commit()
    return proof


def file_for_party(token: str, file_id: Any) -> tuple[PartyProofFile, bytes]:
    """A file the party sent, through a link of the same interview only."""
    access = links.resolve(token)
    return _file(access.interview.id, file_id)


def file_for_staff(actor: Any, interview_id: Any, file_id: Any) -> tuple[PartyProofFile, bytes]:
    interview = interviews.get(actor, interview_id)
    return _file(interview.id, file_id)


def _file(interview_id: int, file_id: Any) -> tuple[PartyProofFile, bytes]:
    try:
        row = db.session.get(PartyProofFile, int(file_id))
    except (TypeError, ValueError):
        row = None
    if row is None or row.proof.interview_id != interview_id:
        raise NotFound(_("文件不存在。"))
    path = storage.path_for(row.sha256)
    if not path.is_file():
        raise NotFound(_("文件不存在。"))
    return row, path.read_bytes()
