"""The leads API under /api/v1/leads: the same services as the pages.

Every action answers the lead as JSON with its `state` and deadlines (ISO 8601, +08:00);
deadline days are shown as the last instant of that day in Asia/Shanghai.
"""
from __future__ import annotations

from flask import Response
from marshmallow import Schema, fields

from coord.api import API_PREFIX, api_blueprint, current_api_user, file_response
from coord.lists import services as lists
from coord.referrals import queries, services, storage
from coord.referrals.models import Lead
from coord.timeutil import isoformat_local, local_today
from coord.workdays.services import provisional_span

blp = api_blueprint("leads", "/leads", "线索移交与回复 Lead referral")


class AgencyRef(Schema):
    id = fields.Int()
    name = fields.Str()


class LeadSchema(Schema):
    id = fields.Int()
    number = fields.Str()
    state = fields.Str()
    state_label = fields.Str()
    kind = fields.Function(lambda lead: {"id": lead.kind.id, "code": lead.kind.code, "name": lead.kind.name})
    from_agency = fields.Nested(AgencyRef)
    to_agency = fields.Nested(AgencyRef)
    party_name = fields.Str()
    party_credit_code = fields.Str()
    facts = fields.Str()
    place = fields.Str()
    occurred_on = fields.Date(allow_none=True)
    matter = fields.Str()
    legal_basis = fields.Str()
    urgency = fields.Str()
    referred_at = fields.Function(lambda lead: isoformat_local(lead.referred_at))
    acknowledged_at = fields.Function(lambda lead: isoformat_local(lead.acknowledged_at))
    replied_at = fields.Function(lambda lead: isoformat_local(lead.replied_at))
    closed_at = fields.Function(lambda lead: isoformat_local(lead.closed_at))
    ack_due = fields.Function(lambda lead: _deadline(lead.ack_due))
    return_due = fields.Function(lambda lead: _deadline(lead.return_due))
    reply_due = fields.Function(lambda lead: _deadline(lead.reply_due))
    extended_days = fields.Int()
    deadline = fields.Function(lambda lead: _clock(lead))
    outcome = fields.Str(allow_none=True)
    note = fields.Str(attribute="reply_note")
    case_number = fields.Str()
    measure = fields.Str()
    return_reason = fields.Str()
    merged_into_id = fields.Int(allow_none=True)
    supervised = fields.Bool()
    ack_on_time = fields.Bool(allow_none=True)
    reply_on_time = fields.Bool(allow_none=True)
    pending_extension = fields.Function(lambda lead: _pending(lead))
    files = fields.Function(lambda lead: [_file(f) for f in services.files_of(lead)])
    list_item_id = fields.Int(allow_none=True)
    list_item = fields.Function(lambda lead: lists.item_summary(lead.list_item))
    eligibility = fields.Function(lambda lead: lists.eligibility_brief(lead.to_agency_id, lead.matter,
                                                                       lead.list_item_id))
    source = fields.Function(lambda lead: _source(lead))


def _source(lead: Lead) -> dict | None:
    """Where the lead came from when it was not referred directly: an escalated follow-up visit."""
    visit = services.source_of(lead)
    if visit is None:
        return None
    return {"kind": "follow_up", "follow_up_id": visit.id, "interview_id": visit.interview_id,
            "requirement": visit.item.requirement}


def _file(f) -> dict:
    return {"id": f.id, "filename": f.filename, "content_type": f.content_type, "size": f.size,
            "sha256": f.sha256, "step": f.step, "uploaded_at": isoformat_local(f.uploaded_at),
            "url": f"{API_PREFIX}/leads/files/{f.id}"}


def _deadline(day):
    return None if day is None else isoformat_local(services.end_of_day(day))


def _clock(lead: Lead) -> dict | None:
    """The running clock: deadline, working days left, overdue (red) and warning (yellow)."""
    if lead.due_on is None:
        return None
    sig = services.signal(lead, local_today())
    return {"clock": lead.clock, "due": _deadline(lead.due_on), "due_date": lead.due_on.isoformat(),
            "warn_from": lead.warn_on.isoformat() if lead.warn_on else None,
            "working_days_left": sig.days_left, "overdue": sig.overdue, "warning": sig.warning,
            # counted over a day of a provisional year: corrected when the State Council's notice is imported
            "provisional": provisional_span(lead.clock_start, lead.due_on)}


def _pending(lead: Lead) -> dict | None:
    ext = services.pending_extension(lead)
    return None if ext is None else {"id": ext.id, "days": ext.days, "reason": ext.reason,
                                     "requested_at": isoformat_local(ext.requested_at)}


class LeadCreate(Schema):
    to_agency_id = fields.Int(required=True)
    party_name = fields.Str(required=True)
    facts = fields.Str(required=True)
    matter = fields.Str(required=True)
    party_credit_code = fields.Str(load_default="")
    urgency = fields.Str(load_default="normal")
    kind_id = fields.Int(load_default=None, allow_none=True)
    place = fields.Str(load_default="")
    occurred_on = fields.Date(load_default=None, allow_none=True)
    legal_basis = fields.Str(load_default="")
    list_item_id = fields.Int(load_default=None, allow_none=True)


class LeadQuery(Schema):
    box = fields.Str(load_default=None)
    state = fields.Str(load_default="")
    overdue = fields.Str(load_default="")
    agency_id = fields.Int(load_default=None)
    page = fields.Int(load_default=1)
    per_page = fields.Int(load_default=queries.PAGE_SIZE)


class ReturnBody(Schema):
    reason = fields.Str(load_default="")


class ReplyBody(Schema):
    outcome = fields.Str(load_default="")
    note = fields.Str(load_default="")
    case_number = fields.Str(load_default="")
    measure = fields.Str(load_default="")


class ExtensionBody(Schema):
    days = fields.Raw(load_default=None)
    reason = fields.Str(load_default="")


class DecideBody(Schema):
    approve = fields.Raw(load_default=None)
    note = fields.Str(load_default="")


class NoteBody(Schema):
    note = fields.Str(load_default="")


class MergeBody(Schema):
    into_id = fields.Raw(load_default=None)


class RedirectBody(Schema):
    to_agency_id = fields.Raw(load_default=None)
    list_item_id = fields.Int(load_default=None, allow_none=True)


class AnswerBody(Schema):
    answer = fields.Str(load_default="")


SECURITY = [{"bearerAuth": []}]


@blp.post("")
@blp.arguments(LeadCreate)
@blp.response(201, LeadSchema)
@blp.doc(security=SECURITY)
def create_lead(args):
    """Refer a lead to an enforcement agency (sector authority coordinator).

    `list_item_id` (optional) names the item of the receiver's published lists the matter concerns;
    the answer's `eligibility` says whether the receiver may handle it flexibly.
    """
    return services.refer(current_api_user(), args)


@blp.get("")
@blp.arguments(LeadQuery, location="query")
@blp.response(200, LeadSchema(many=True))
@blp.doc(security=SECURITY)
def list_leads(args):
    """The caller's inbox or outbox (the office: any agency's, or all); `overdue=1` keeps overdue ones.

    The total count is in the `X-Total-Count` header.
    """
    from flask import g

    user = current_api_user()
    today = local_today()
    box = queries.resolve_box(user, args["box"], args["agency_id"])
    per_page = min(max(args["per_page"], 1), 200)
    rows, total = queries.list_leads(box, today, state=args["state"], overdue=args["overdue"] in ("1", "true"),
                                     page=max(args["page"], 1), per_page=per_page)
    g.total_count = total
    return [r.lead for r in rows]


@blp.after_request
def total_header(resp: Response) -> Response:
    from flask import g

    if "total_count" in g:
        resp.headers["X-Total-Count"] = str(g.total_count)
    return resp


@blp.get("/<int:lead_id>")
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def get_lead(lead_id: int):
    """One lead (404 unless the caller's agency sent or received it, or the caller is the office)."""
    return services.get_lead(current_api_user(), lead_id)


@blp.post("/<int:lead_id>/acknowledge")
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def acknowledge(lead_id: int):
    """签收 (receiver)."""
    return services.acknowledge(current_api_user(), lead_id)


@blp.post("/<int:lead_id>/return")
@blp.arguments(ReturnBody)
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def return_lead(args, lead_id: int):
    """退回 with a reason (receiver, within the return clock)."""
    return services.return_lead(current_api_user(), lead_id, args["reason"])


@blp.post("/<int:lead_id>/redirect")
@blp.arguments(RedirectBody)
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def redirect_lead(args, lead_id: int):
    """改派 a returned lead to another agency (sender)."""
    return services.redirect(current_api_user(), lead_id, args["to_agency_id"], list_item_id=args["list_item_id"])


@blp.post("/<int:lead_id>/reply")
@blp.arguments(ReplyBody)
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def reply(args, lead_id: int):
    """回复处理情况: outcome case_opened (case_number), not_opened, flexible (measure) or police; note."""
    return services.reply(current_api_user(), lead_id, args)


@blp.post("/<int:lead_id>/extension")
@blp.arguments(ExtensionBody)
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def extension(args, lead_id: int):
    """延期申请 before the reply deadline (receiver): days, reason."""
    user = current_api_user()
    services.request_extension(user, lead_id, args["days"], args["reason"])
    return services.get_lead(user, lead_id)


@blp.post("/<int:lead_id>/extension/decide")
@blp.arguments(DecideBody)
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def extension_decide(args, lead_id: int):
    """Approve (`approve: true`) or refuse the pending extension (sender or office)."""
    return services.decide_extension(current_api_user(), lead_id, args["approve"], args["note"])


@blp.post("/<int:lead_id>/accept")
@blp.arguments(NoteBody)
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def accept(args, lead_id: int):
    """Accept the reply and close the lead (sender)."""
    return services.accept(current_api_user(), lead_id, args["note"])


@blp.post("/<int:lead_id>/send-back")
@blp.arguments(NoteBody)
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def send_back(args, lead_id: int):
    """Send the reply back for more work (sender); a new reply clock starts."""
    return services.send_back(current_api_user(), lead_id, args["note"])


@blp.post("/<int:lead_id>/merge")
@blp.arguments(MergeBody)
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def merge(args, lead_id: int):
    """Merge this lead, a duplicate, into `into_id` (same receiver); history is kept."""
    return services.merge(current_api_user(), lead_id, args["into_id"])


@blp.post("/<int:lead_id>/supervise")
@blp.arguments(NoteBody)
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def supervise(args, lead_id: int):
    """督办 (office) with a note the receiver must answer."""
    user = current_api_user()
    services.supervise(user, lead_id, args["note"])
    return services.get_lead(user, lead_id)


@blp.post("/<int:lead_id>/supervision/answer")
@blp.arguments(AnswerBody)
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def answer_supervision(args, lead_id: int):
    """Answer the open supervision (receiver)."""
    user = current_api_user()
    services.answer_supervision(user, lead_id, args["answer"])
    return services.get_lead(user, lead_id)


class FilesForm(Schema):
    """multipart/form-data: one or more parts named `files`."""

    files = fields.Raw(metadata={"type": "array", "items": {"type": "string", "format": "binary"}})


@blp.post("/<int:lead_id>/files")
@blp.arguments(FilesForm, location="files")
@blp.response(200, LeadSchema)
@blp.doc(security=SECURITY)
def add_files(_args, lead_id: int):
    """Attach files (multipart `files`): the sender before acknowledgement, the receiver while verifying.

    Files are recognised by their content (PDF, JPG, PNG, DOCX, XLSX, TXT) within the size limit.
    """
    from flask import request

    limit = storage.max_bytes()
    uploads = [storage.Upload(f.filename or "", f.read(limit + 1)) for f in request.files.getlist("files")]
    user = current_api_user()
    services.add_files(user, lead_id, uploads)
    return services.get_lead(user, lead_id)


@blp.get("/files/<int:file_id>")
@blp.doc(security=SECURITY, responses={"200": file_response(
    "The file as uploaded (its type was recognised from the content)",
    *sorted({mime.split(";")[0] for _, mime in storage.TYPES.values()}))})
def download(file_id: int):
    """Download a file (404 unless the caller may see its lead or police referral)."""
    return storage.download(services.file_for(current_api_user(), file_id))
