"""The party's part in the API: the interview's personal links (organisers) and the ratings (office)."""
from __future__ import annotations

from marshmallow import Schema, fields

from coord.accounts.scoping import require_office
from coord.api import api_blueprint, current_api_user
from coord.errors import Forbidden
from coord.interviews import services as interviews
from coord.lang import _
from coord.party import links, queries, services
from coord.party.models import PartyLink
from coord.scheduling.api import LocalDateTime

blp = api_blueprint("party", "", "当事人参与 The party takes part")
SECURITY = [{"bearerAuth": []}]


class LinkSchema(Schema):
    id = fields.Int()
    kind = fields.Str(metadata={"description": "personal (an attendee's) or notice (printed as QR code)"})
    attendee = fields.Str(allow_none=True)
    attendee_id = fields.Int(allow_none=True)
    url = fields.Str(allow_none=True)
    code = fields.Str(allow_none=True, metadata={"description": "8-character access code for /p/ (XXXX-XXXX)"})
    expires_at = LocalDateTime(allow_none=True, metadata={"description": "null while the case is open"})
    revoked = fields.Bool()
    revoked_at = LocalDateTime(allow_none=True)
    sent_at = LocalDateTime(allow_none=True)
    replaced_by_id = fields.Int(allow_none=True)


class LinksSchema(Schema):
    links = fields.List(fields.Nested(LinkSchema))


class RevokeInput(Schema):
    reason = fields.Str(load_default="")


class RatingsQuery(Schema):
    agency_id = fields.Int(load_default=None)
    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")


class StageRatingSchema(Schema):
    label = fields.Str()
    count = fields.Int()
    process_avg = fields.Float(allow_none=True)
    conduct_avg = fields.Float(allow_none=True)


class AgencyRatingSchema(Schema):
    agency_id = fields.Int()
    agency = fields.Str()
    count = fields.Int()
    process_avg = fields.Float(allow_none=True)
    conduct_avg = fields.Float(allow_none=True)
    integrity_reports = fields.Int()
    stages = fields.Dict(keys=fields.Str(), values=fields.Nested(StageRatingSchema))


class RatingsSchema(Schema):
    date_from = fields.Date(allow_none=True, data_key="from")
    date_to = fields.Date(allow_none=True, data_key="to")
    agencies = fields.List(fields.Nested(AgencyRatingSchema))


def _link(link: PartyLink, interview) -> dict:
    live = not link.revoked
    return {
        "id": link.id, "kind": link.kind, "attendee": link.attendee_name or None, "attendee_id": link.attendee_id,
        "url": links.url_for_link(link) if live else None,
        "code": links.format_code(links.code_for(link)) if live else None,
        "expires_at": link.revoked_at if link.revoked else links.expires_at(interview),
        "revoked": link.revoked, "revoked_at": link.revoked_at, "sent_at": link.sent_at,
        "replaced_by_id": link.replaced_by_id,
    }


def _organised(interview_id: int):
    user = current_api_user()
    interview = interviews.get(user, interview_id)
    if not interviews.is_organiser(user, interview):
        raise Forbidden(_("只有牵头单位的联络员或领导小组办公室可以查看当事人访问链接。"))
    return interview


@blp.get("/interviews/<int:interview_id>/party-links")
@blp.response(200, LinksSchema)
@blp.doc(security=SECURITY)
def list_links(interview_id: int):
    """The interview's links (organisers): each attendee's personal link and the notice's QR link."""
    interview = _organised(interview_id)
    return {"links": [_link(lk, interview) for lk in links.all_links(interview.id)]}


@blp.post("/interviews/<int:interview_id>/party-links")
@blp.response(200, LinksSchema)
@blp.doc(security=SECURITY)
def issue_links(interview_id: int):
    """Issue the missing links and send the unsent ones (e-mail and SMS through the outbox)."""
    services.issue_links(current_api_user(), interview_id)
    interview = _organised(interview_id)
    return {"links": [_link(lk, interview) for lk in links.all_links(interview.id)]}


@blp.post("/interviews/<int:interview_id>/party-links/<int:link_id>/revoke")
@blp.arguments(RevokeInput)
@blp.response(201, LinkSchema)
@blp.doc(security=SECURITY)
def revoke(args, interview_id: int, link_id: int):
    """Revoke a link; a new one is issued for the same attendee (and sent) and returned."""
    successor = services.revoke_link(current_api_user(), interview_id, link_id, args["reason"])
    return _link(successor, _organised(interview_id))


@blp.get("/feedback")
@blp.arguments(RatingsQuery, location="query")
@blp.response(200, RatingsSchema)
@blp.doc(security=SECURITY)
def ratings(args):
    """The party's ratings per agency and period (leading-group office only)."""
    require_office(current_api_user())
    return {"date_from": args["date_from"], "date_to": args["date_to"],
            "agencies": queries.ratings(args["agency_id"], args["date_from"], args["date_to"])}
