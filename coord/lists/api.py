"""/api/v1/lists: published items (public), import into the caller's draft, submit, review."""
from __future__ import annotations

from flask import request
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from coord.agencies.models import Agency
from coord.api import api_blueprint, current_api_user, public
from coord.extensions import db
from coord.lists import services
from coord.lists.models import KINDS, ListItem, ListVersion
from coord.lists.rules import COLUMNS
from coord.lists.sheets import ImportRejected, SheetError
from coord.timeutil import isoformat_local

blp = api_blueprint("lists", "/lists", "两张清单 The two lists (positive and negative)")

KIND_FIELD = {"validate": validate.OneOf(list(KINDS)), "metadata": {"description": "positive | negative"}}


def _annex(item: ListItem) -> dict[str, str | int]:
    """The item as the annex row: Chinese column header → cell text."""
    row: dict[str, str | int] = {}
    for field, header in COLUMNS[item.kind]:
        row[header] = "、".join(item.measure_names) if field == "measures" else getattr(item, field)
    return row


class ListItemSchema(Schema):
    id = fields.Int()
    agency_id = fields.Function(lambda i: i.version.agency_id)
    agency_name = fields.Function(lambda i: i.version.agency.name)
    kind = fields.Str()
    version = fields.Function(lambda i: i.version.number)
    published_at = fields.Function(lambda i: isoformat_local(i.version.published_at))
    position = fields.Int(metadata={"description": "序号"})
    matter = fields.Str(metadata={"description": "事项名称 / 事项"})
    matter_code = fields.Str(metadata={"description": "事项编码"})
    circumstances = fields.Str(metadata={"description": "情形 (negative: one graded level a line)"})
    levels = fields.List(fields.Str(), metadata={"description": "negative: the graded levels of 情形"})
    legal_basis = fields.Str(metadata={"description": "依据"})
    measures = fields.Function(lambda i: i.measure_codes, metadata={"description": "柔性执法方式 (codes)"})
    measure_names = fields.List(fields.Str(), metadata={"description": "柔性执法方式 (Chinese)"})
    remarks = fields.Str(metadata={"description": "备注"})
    annex = fields.Function(_annex, metadata={"description": "the annex columns, header → text"})


class ListVersionSchema(Schema):
    id = fields.Int()
    agency_id = fields.Int()
    agency_name = fields.Function(lambda v: v.agency.name)
    kind = fields.Str()
    number = fields.Int()
    state = fields.Str()
    state_label = fields.Str()
    review_comment = fields.Str()
    changed_at = fields.Function(lambda v: isoformat_local(v.changed_at))
    submitted_at = fields.Function(lambda v: isoformat_local(v.submitted_at))
    published_at = fields.Function(lambda v: isoformat_local(v.published_at))
    items = fields.Function(lambda v: len(v.items))


class ListQuery(Schema):
    agency = fields.Int(load_default=None, metadata={"description": "agency id"})
    kind = fields.Str(load_default=None, **KIND_FIELD)
    q = fields.Str(load_default="", metadata={"description": "search matter, matter code or agency name"})


class ImportQuery(Schema):
    kind = fields.Str(required=True, **KIND_FIELD)


class SubmitQuery(Schema):
    kind = fields.Str(load_default=None, **KIND_FIELD)


class ReviewBody(Schema):
    decision = fields.Str(required=True, validate=validate.OneOf(["approve", "return"]))
    comment = fields.Str(load_default="")
    kind = fields.Str(load_default=None, **KIND_FIELD)


class ListImportResultSchema(Schema):
    version = fields.Nested(ListVersionSchema)
    items = fields.List(fields.Nested(ListItemSchema))
    warnings = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))
    added = fields.Int()
    changed = fields.Int()
    removed = fields.Int()


class VersionsSchema(Schema):
    versions = fields.List(fields.Nested(ListVersionSchema))


@blp.get("")
@public
@blp.arguments(ListQuery, location="query")
@blp.response(200, ListItemSchema(many=True))
def list_items(args):
    """Published items of every agency's lists (no login needed)."""
    if args["agency"] is not None and db.session.get(Agency, args["agency"]) is None:
        abort(404, message="单位不存在。")
    return services.search_published(args["q"], agency_id=args["agency"], kind=args["kind"], limit=5000)


@blp.post("/import")
@blp.arguments(ImportQuery, location="query")
@blp.response(200, ListImportResultSchema)
@blp.alt_response(400, description="{code, message, errors: [{row, column, message}]}; nothing saved")
@blp.doc(security=[{"bearerAuth": []}], requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}})
def import_list(args):
    """Replace the items of the caller's agency's draft with an annex-layout XLSX (field `file`)."""
    user = current_api_user()
    upload = request.files.get("file")
    if upload is None:
        raise ImportRejected([SheetError(None, None, "请以 multipart/form-data 上传文件，字段名为 file。")])
    result = services.import_sheet(user, user.agency_id, args["kind"], upload.read())
    agency = result.version.agency
    return {
        "version": result.version,
        "items": result.items,
        "warnings": {str(i.id): w for i in result.items if (w := services.warnings_for(i, agency))},
        "added": len(result.diff.added),
        "changed": len(result.diff.changed),
        "removed": len(result.diff.removed),
    }


@blp.post("/<int:agency_id>/submit")
@blp.arguments(SubmitQuery, location="query")
@blp.response(200, VersionsSchema)
@blp.doc(security=[{"bearerAuth": []}])
def submit(args, agency_id: int):
    """The agency's coordinator submits its draft(s) for review (`kind` optional: both drafts with items)."""
    return {"versions": services.submit_open(current_api_user(), agency_id, args["kind"])}


@blp.post("/<int:agency_id>/review")
@blp.arguments(ReviewBody)
@blp.response(200, VersionsSchema)
@blp.doc(security=[{"bearerAuth": []}])
def review(body, agency_id: int):
    """The leading-group office approves (publishes) or returns with comments the submitted version(s)."""
    versions: list[ListVersion] = services.review_open(current_api_user(), agency_id, body["decision"],
                                                       body["comment"], body["kind"])
    return {"versions": versions}
