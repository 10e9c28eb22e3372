"""The party directory under /api/v1/parties: search and one party's timeline (scoped)."""
from __future__ import annotations

from marshmallow import Schema, fields

from coord.api import api_blueprint, current_api_user
from coord.parties import queries

blp = api_blueprint("parties", "/parties", "当事人 Parties and their timeline")
SECURITY = [{"bearerAuth": []}]


class PartyQuery(Schema):
    q = fields.Str(load_default="")


class PartyOutSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    kind_label = fields.Str()
    name = fields.Str()
    credit_code = fields.Str()
    id_number = fields.Str()
    address = fields.Str()
    contact_phone = fields.Str()


class EventSchema(Schema):
    at = fields.Str()
    type = fields.Str()
    title = fields.Str()
    url = fields.Str()
    agency = fields.Str()


class TimelineSchema(Schema):
    party = fields.Nested(PartyOutSchema)
    events = fields.List(fields.Nested(EventSchema))


@blp.get("")
@blp.arguments(PartyQuery, location="query")
@blp.response(200, PartyOutSchema(many=True))
@blp.doc(security=SECURITY)
def search(args):
    """Parties by name, credit code or ID number (up to 50) that the caller's agency has a record about."""
    return queries.search(current_api_user(), args["q"])


@blp.get("/<int:party_id>/timeline")
@blp.response(200, TimelineSchema)
@blp.doc(security=SECURITY)
def timeline(party_id: int):
    """Every interview, lead, measure, follow-up, undertaking and list item about the party, oldest first;
    only what the caller's agency may see (the office: everything). 404 for a party outside the scope."""
    user = current_api_user()
    party = queries.get(user, party_id)
    return {"party": party, "events": [e.as_dict() for e in queries.timeline(user, party)]}
