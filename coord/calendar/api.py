"""API: the invite of an interview, .ics import of busy blocks."""
from __future__ import annotations

from flask import request
from marshmallow import Schema, fields

from coord.api import api_blueprint, current_api_user, file_response
from coord.calendar import services
from coord.calendar.views import calendar_response
from coord.errors import DomainError
from coord.extensions import db

blp = api_blueprint("invites", "", "日程邀请与订阅 Invites and feeds")


@blp.get("/interviews/<int:interview_id>/invite.ics")
@blp.alt_response(409, description="The interview is not scheduled yet: there is no invite.")
@blp.doc(security=[{"bearerAuth": []}], responses={"200": file_response(
    "iCalendar: METHOD:REQUEST, or METHOD:CANCEL once cancelled", "text/calendar")})
def invite(interview_id: int):
    """The interview's current invite as iCalendar (the same UID and SEQUENCE as the e-mails)."""
    data, method, interview = services.get_invite(current_api_user(), interview_id)
    return calendar_response(data, f"interview-{interview.id}.ics", method)


class BusyImportResultSchema(Schema):
    added = fields.Int()
    updated = fields.Int()
    removed = fields.Int()
    skipped = fields.List(fields.Str())
    message = fields.Str()


@blp.post("/users/<int:user_id>/busy/import")
@blp.response(200, BusyImportResultSchema)
@blp.doc(security=[{"bearerAuth": []}], description=(
    "Upload an .ics file (multipart field `file`, or the raw body as text/calendar). Its events, "
    "recurring ones expanded, replace the user's earlier imported busy blocks."))
def import_busy(user_id: int):
    """Import busy blocks from an .ics file."""
    upload = request.files.get("file")
    data, name = (upload.read(), upload.filename or "") if upload else (request.get_data(), "")
    try:
        result = services.import_busy(current_api_user(), user_id, data, name)
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return result
