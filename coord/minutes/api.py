"""约谈笔录 API: read and save (with the revision being edited), finalise, correct, PDFs."""
from __future__ import annotations

from typing import Any

from flask import Response, url_for
from marshmallow import EXCLUDE, Schema, fields

from coord.api import api_blueprint, current_api_user
from coord.minutes import services
from coord.timeutil import isoformat_local

blp = api_blueprint("minutes", "/interviews", "约谈笔录 Interview minutes")
SECURITY = [{"bearerAuth": []}]


class MinutesTurnSchema(Schema):
    q = fields.Str(load_default="", metadata={"description": "问"})
    a = fields.Str(load_default="", metadata={"description": "答"})


class MinutesRectificationSchema(Schema):
    requirement = fields.Str(load_default="")
    # Kept as text so the service answers a bad date in Chinese.
    deadline = fields.Str(allow_none=True, load_default=None, metadata={"description": "YYYY-MM-DD"})


class MinutesAttendeeSchema(Schema):
    name = fields.Str(load_default="")
    post = fields.Str(load_default="")


class MinutesInSchema(Schema):
    """Fields left out keep their saved values; `revision` is the one being edited (0 first)."""

    revision = fields.Raw(load_default=None, metadata={"description": "所编辑的版本号，首次保存为 0"})
    started_at = fields.Str(allow_none=True, metadata={"description": "ISO 8601, e.g. 2026-03-05T09:30:00+08:00"})
    ended_at = fields.Str(allow_none=True)
    place = fields.Str(allow_none=True)
    matter = fields.Str(allow_none=True)
    interviewer_ids = fields.List(fields.Int(), metadata={"description": "约谈人（用户编号）"})
    recorder_id = fields.Int(allow_none=True, metadata={"description": "记录人（用户编号）"})
    attendees = fields.List(fields.Nested(MinutesAttendeeSchema))
    turns = fields.List(fields.Nested(MinutesTurnSchema))
    statement = fields.Str(allow_none=True)
    rectifications = fields.List(fields.Nested(MinutesRectificationSchema))
    undertaking = fields.Bool()
    refused_to_sign = fields.Str(allow_none=True)


class CorrectionInSchema(MinutesInSchema):
    reason = fields.Str(load_default="", metadata={"description": "更正原因"})


class FinalizeInSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    revision = fields.Raw(load_default=None)


class MinutesRevisionSchema(Schema):
    number = fields.Int()
    kind = fields.Str()
    kind_label = fields.Str()
    reason = fields.Str()
    author = fields.Str()
    created_at = fields.Str()
    pdf_url = fields.Str()


class MinutesOutSchema(MinutesInSchema):
    interview_id = fields.Int()
    status = fields.Str()
    status_label = fields.Str()
    revision = fields.Int()
    finalized_at = fields.Str(allow_none=True)
    revisions = fields.List(fields.Nested(MinutesRevisionSchema))
    pdf_url = fields.Str(allow_none=True)
    notice_url = fields.Str()


def _out(interview_id: int) -> dict[str, Any]:
    interview, minutes = services.get(current_api_user(), interview_id)
    body = services.current_content(interview, minutes)
    body.update(
        interview_id=interview.id,
        status=minutes.status if minutes else "draft",
        status_label=minutes.status_label if minutes else "未填写",
        revision=services.revision_count(minutes),
        finalized_at=isoformat_local(minutes.finalized_at) if minutes else None,
        revisions=[{
            "number": r.number, "kind": r.kind, "kind_label": r.kind_label, "reason": r.reason,
            "author": r.author.display_name if r.author else "", "created_at": isoformat_local(r.created_at),
            "pdf_url": url_for("api_minutes.minutes_pdf", interview_id=interview.id, revision=r.number),
        } for r in (minutes.revisions if minutes else [])],
        pdf_url=url_for("api_minutes.minutes_pdf", interview_id=interview.id) if minutes else None,
        notice_url=url_for("api_minutes.notice_pdf", interview_id=interview.id),
    )
    return body


def _pdf(name: str, data: bytes) -> Response:
    from urllib.parse import quote

    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@blp.get("/<int:interview_id>/minutes")
@blp.response(200, MinutesOutSchema)
@blp.doc(security=SECURITY)
def get_minutes(interview_id: int):
    """The current minutes (revision 0 and a prefilled draft before the first save)."""
    return _out(interview_id)


@blp.put("/<int:interview_id>/minutes")
@blp.arguments(MinutesInSchema)
@blp.response(200, MinutesOutSchema)
@blp.alt_response(409, description="`revision` is stale: body has `current_revision` and `changes`")
@blp.doc(security=SECURITY)
def put_minutes(data: dict, interview_id: int):
    """Save a draft revision. A stale `revision` gets 409 with what changed since."""
    revision = data.pop("revision", None)
    services.save(current_api_user(), interview_id, data, revision)
    return _out(interview_id)


@blp.post("/<int:interview_id>/minutes/finalize")
@blp.arguments(FinalizeInSchema)
@blp.response(200, MinutesOutSchema)
@blp.doc(security=SECURITY)
def finalize(data: dict, interview_id: int):
    """Lock the minutes, issue the PDFs, create the rectification items and follow-up visits."""
    services.finalize(current_api_user(), interview_id, data.get("revision"))
    return _out(interview_id)


@blp.post("/<int:interview_id>/minutes/corrections")
@blp.arguments(CorrectionInSchema)
@blp.response(200, MinutesOutSchema)
@blp.doc(security=SECURITY)
def correct(data: dict, interview_id: int):
    """Correct final minutes: a new revision with a reason; earlier PDFs stay retrievable."""
    revision, reason = data.pop("revision", None), data.pop("reason", "")
    services.correct(current_api_user(), interview_id, data, revision, reason)
    return _out(interview_id)


class MinutesPdfQuery(Schema):
    revision = fields.Int(load_default=None, allow_none=True, metadata={"description": "版本号（默认现行版本）"})
    archive = fields.Bool(load_default=False, metadata={"description": "PDF/A-2b 存档版"})


@blp.get("/<int:interview_id>/minutes.pdf")
@blp.arguments(MinutesPdfQuery, location="query")
@blp.doc(security=SECURITY, responses={"200": {"description": "PDF", "content": {"application/pdf": {}}}})
def minutes_pdf(args: dict, interview_id: int):
    """The minutes PDF (as issued for final revisions; a draft is marked 草稿)."""
    return _pdf(*services.minutes_pdf(current_api_user(), interview_id, args["revision"], archive=args["archive"]))


@blp.get("/<int:interview_id>/notice.pdf")
@blp.doc(security=SECURITY, responses={"200": {"description": "PDF", "content": {"application/pdf": {}}}})
def notice_pdf(interview_id: int):
    """The interview notice (约谈通知书) to the party."""
    return _pdf(*services.notice_pdf(current_api_user(), interview_id))


@blp.get("/<int:interview_id>/undertaking.pdf")
@blp.doc(security=SECURITY, responses={"200": {"description": "PDF", "content": {"application/pdf": {}}}})
def undertaking_pdf(interview_id: int):
    """The undertaking (保证承诺书), when the minutes record one."""
    return _pdf(*services.undertaking_pdf(current_api_user(), interview_id))
