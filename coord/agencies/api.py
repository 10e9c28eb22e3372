from __future__ import annotations

from flask_smorest import abort
from marshmallow import Schema, fields

from coord.agencies import services
from coord.api import api_blueprint
from coord.calendar.fields import FeedUrl

blp = api_blueprint("agencies", "/agencies", "单位名录 Agency directory")


class AgencySchema(Schema):
    id = fields.Int()
    name = fields.Str()
    full_name = fields.Str()
    doc_prefix = fields.Str()
    code = fields.Str()
    kind = fields.Str()
    kind_label = fields.Str()
    is_sector_authority = fields.Bool()
    is_enforcement = fields.Bool()
    is_police = fields.Bool()
    email = fields.Str()
    phone = fields.Str()
    address = fields.Str()
    credit_code = fields.Str()
    active = fields.Bool()
    feed_url = FeedUrl("agency")


class AgencyQuery(Schema):
    q = fields.Str(load_default="")
    kind = fields.Str(load_default="")
    role = fields.Str(load_default="")


@blp.get("")
@blp.arguments(AgencyQuery, location="query")
@blp.response(200, AgencySchema(many=True))
@blp.doc(security=[{"bearerAuth": []}])
def list_agencies(args):
    """All active agencies, searchable by name."""
    return services.search(args["q"], args["kind"], args["role"])


@blp.get("/<int:agency_id>")
@blp.response(200, AgencySchema)
@blp.doc(security=[{"bearerAuth": []}])
def get_agency(agency_id: int):
    """One agency."""
    agency = services.get(agency_id) if agency_id > 0 else None
    if agency is None:
        abort(404)
    return agency
