"""The register under /api/v1/measures (the same services as the pages)."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, g, request
from marshmallow import Schema, fields

from coord.api import API_PREFIX, api_blueprint, current_api_user
from coord.documents import document_locale
from coord.interviews.api import PartyInput
from coord.lang import request_locale
from coord.lists import services as lists
from coord.measures import documents, services
from coord.referrals import storage
from coord.timeutil import isoformat_local

blp = api_blueprint("measures", "/measures", "柔性执法台账 Register of flexible measures")
SECURITY = [{"bearerAuth": []}]


class MeasureInput(Schema):
    """Only types are checked here; the service explains missing or wrong values in Chinese."""

    kind = fields.Str(load_default="")
    party = fields.Nested(PartyInput, load_default=None, allow_none=True)
    agency_id = fields.Int(load_default=None, allow_none=True)
    officer_ids = fields.List(fields.Int(), load_default=list)
    date = fields.Str(load_default="")
    place = fields.Str(load_default="")
    matter = fields.Str(load_default="")
    list_item_id = fields.Int(load_default=None, allow_none=True)
    legal_basis = fields.Str(load_default="")
    circumstances = fields.Str(load_default="")
    outcome = fields.Str(load_default="")
    correction_deadline = fields.Str(load_default=None, allow_none=True)
    observation_requirement = fields.Str(load_default="")
    undertaking = fields.Str(load_default="")
    # persuasion
    behaviour = fields.Str(load_default="")
    result = fields.Str(load_default="")
    # notice and advice
    channel = fields.Str(load_default="")
    content = fields.Str(load_default="")
    # interview / follow-up
    interview_id = fields.Int(load_default=None, allow_none=True)
    follow_up_id = fields.Int(load_default=None, allow_none=True)
    # mediation
    other_parties = fields.Str(load_default="")
    agreement_reached = fields.Raw(load_default=None, allow_none=True, metadata={"type": "boolean"})
    agreement_terms = fields.Str(load_default="")


class MeasureQuery(Schema):
    agency_id = fields.Int(load_default=None)
    kind = fields.Str(load_default="")
    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")
    party_id = fields.Int(load_default=None)
    source = fields.Str(load_default="")
    page = fields.Int(load_default=1)
    per_page = fields.Int(load_default=50)


class MeasurePartySchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    name = fields.Str()
    credit_code = fields.Str()


def _file(f) -> dict:
    return {"id": f.id, "filename": f.filename, "content_type": f.content_type, "size": f.size, "sha256": f.sha256,
            "uploaded_at": isoformat_local(f.uploaded_at), "url": f"{API_PREFIX}/measures/files/{f.id}"}


def _visit(visit) -> dict | None:
    if visit is None:
        return None
    return {"id": visit.id, "due": visit.due.isoformat(), "status": visit.status, "result": visit.result}


class MeasureSchema(Schema):
    id = fields.Int()
    number = fields.Str()
    kind = fields.Str()
    kind_label = fields.Str()
    source = fields.Str()
    agency_id = fields.Int()
    agency = fields.Function(lambda m: m.agency.name)
    party = fields.Nested(MeasurePartySchema)
    officer_ids = fields.Function(lambda m: [o.user_id for o in m.officers])
    officers = fields.Function(lambda m: m.officer_names)
    date = fields.Function(lambda m: m.measure_on.isoformat())
    place = fields.Str()
    matter = fields.Str()
    list_item_id = fields.Int(allow_none=True)
    list_item = fields.Function(lambda m: lists.item_summary(m.list_item))
    circumstances = fields.Str()
    legal_basis = fields.Str()
    outcome = fields.Str()
    correction_deadline = fields.Function(
        lambda m: m.correction_deadline.isoformat() if m.correction_deadline else None)
    observation_requirement = fields.Str()
    observation_visit = fields.Function(lambda m: _visit(m.observation_visit))
    undertaking = fields.Str()
    behaviour = fields.Str()
    result = fields.Str()
    channel = fields.Str()
    content = fields.Str()
    interview_id = fields.Int(allow_none=True)
    follow_up_id = fields.Int(allow_none=True)
    other_parties = fields.Str()
    agreement_reached = fields.Bool(allow_none=True)
    agreement_terms = fields.Str()
    lead_id = fields.Int(allow_none=True)
    files = fields.Function(lambda m: [_file(f) for f in m.files])
    documents = fields.Function(lambda m: {kind: f"{API_PREFIX}/measures/{m.id}/{slug}.pdf"
                                           for slug, kind in documents.SLUGS.items() if kind in m.documents})
    created_at = fields.Function(lambda m: isoformat_local(m.created_at))


@blp.post("")
@blp.arguments(MeasureInput)
@blp.response(201, MeasureSchema)
@blp.doc(security=SECURITY)
def create_measure(args):
    """Enter a measure in the register: `kind` persuasion | notice_advice | interview | mediation | follow_up.

    Common fields: `party` (as for interviews; for `interview` and `follow_up` it comes from the
    interview or visit), `agency_id` (default: the caller's), `officer_ids` (of that agency), `date`,
    `place`, `matter`, `list_item_id`, `legal_basis`, `circumstances`, `outcome`, and an observation
    period: `correction_deadline` with `observation_requirement` (creates a follow-up visit). Per kind:
    persuasion `behaviour`, `result` (stopped|corrected|refused); notice_advice `channel`, `content`;
    interview `interview_id`; mediation `other_parties`, `agreement_reached`, `agreement_terms`;
    follow_up `follow_up_id`, `result` (rectified|not_rectified). A matter the lists or the policy
    exclude from flexible enforcement is refused (400, field `matter`, with `reasons`).
    """
    return services.create(current_api_user(), args)


@blp.get("")
@blp.arguments(MeasureQuery, location="query")
@blp.response(200, MeasureSchema(many=True))
@blp.doc(security=SECURITY)
def list_measures(args):
    """The register, newest first, filtered by agency, kind, period (`from`, `to`: dates) and party.

    Only the caller's agency unless the caller is the office. The total is in `X-Total-Count`.
    """
    page, per_page = args.pop("page"), args.pop("per_page")
    rows, total = services.list_measures(current_api_user(), services.Filters(**args), page=page,
                                         per_page=min(max(per_page, 1), 200))
    g.total_count = total
    return rows


@blp.after_request
def total_header(resp: Response) -> Response:
    if "total_count" in g:
        resp.headers["X-Total-Count"] = str(g.total_count)
    return resp


@blp.get("/<int:measure_id>")
@blp.response(200, MeasureSchema)
@blp.doc(security=SECURITY)
def get_measure(measure_id: int):
    """One entry (404 outside the caller's agency, unless the office)."""
    return services.get(current_api_user(), measure_id)


class MeasureFilesForm(Schema):
    """multipart/form-data: one or more parts named `files`."""

    files = fields.Raw(metadata={"type": "array", "items": {"type": "string", "format": "binary"}})


@blp.post("/<int:measure_id>/files")
@blp.arguments(MeasureFilesForm, location="files")
@blp.response(200, MeasureSchema)
@blp.doc(security=SECURITY)
def add_files(_args, measure_id: int):
    """Attach files (multipart `files`; PDF, JPG, PNG, DOCX, XLSX, TXT recognised by content)."""
    limit = storage.max_bytes()
    uploads = [storage.Upload(f.filename or "", f.read(limit + 1)) for f in request.files.getlist("files")]
    user = current_api_user()
    services.add_files(user, measure_id, uploads)
    return services.get(user, measure_id)


@blp.get("/files/<int:file_id>")
@blp.doc(security=SECURITY)
def download(file_id: int):
    """Download an attachment (scoped like its entry)."""
    from flask import abort, send_file

    row = services.file_for(current_api_user(), file_id)
    path = storage.path_for(row.sha256)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename,
                     etag=row.sha256, max_age=0)


@blp.get("/<int:measure_id>/<any('prompt-letter','mediation-agreement','correction-order'):slug>.pdf")
@blp.doc(security=SECURITY, responses={"200": {"description": "PDF", "content": {"application/pdf": {}}}})
def document(measure_id: int, slug: str):
    """提示函 (notice_advice), 调解协议书 and 责令改正通知书 (mediation), with their 文号."""
    with document_locale(request_locale()):  # ?lang=en: the English reading copy
        name, data = documents.document_pdf(current_api_user(), measure_id, slug)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response
