from __future__ import annotations

from marshmallow import Schema, fields

from coord.accounts import services
from coord.api import api_blueprint, current_api_user
from coord.calendar.fields import FeedUrl

blp = api_blueprint("accounts", "", "账号 Accounts")


class UserSchema(Schema):
    id = fields.Int()
    username = fields.Str()
    name = fields.Str()
    agency_id = fields.Int()
    agency = fields.Function(lambda u: {"id": u.agency.id, "name": u.agency.name})
    role = fields.Str()
    post = fields.Str()
    active = fields.Bool()


class MeSchema(UserSchema):
    email = fields.Str()
    cert_number = fields.Str()
    is_office = fields.Bool()
    feed_url = FeedUrl("user")


class UserQuery(Schema):
    agency_id = fields.Int(load_default=None)
    q = fields.Str(load_default="")


@blp.get("/users")
@blp.arguments(UserQuery, location="query")
@blp.response(200, UserSchema(many=True))
@blp.doc(security=[{"bearerAuth": []}])
def list_users(args):
    """Active accounts, e.g. to choose interview participants (filter by `agency_id`)."""
    rows = services.list_users(current_api_user(), agency_id=args["agency_id"], q=args["q"])
    return [u for u in rows if u.active]


@blp.get("/me")
@blp.response(200, MeSchema)
@blp.doc(security=[{"bearerAuth": []}])
def me():
    """The account the token belongs to."""
    return current_api_user()
