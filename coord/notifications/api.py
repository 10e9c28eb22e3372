"""`GET /api/v1/me/notifications[?unread=1]` and `POST /api/v1/me/notifications/read`."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates_schema

from coord.api import api_blueprint, current_api_user
from coord.notifications import services
from coord.timeutil import isoformat_local

blp = api_blueprint("notifications", "/me", "通知 Notifications")


class NotificationQuery(Schema):
    unread = fields.Bool(load_default=False, metadata={"description": "1: only unread ones"})
    limit = fields.Int(load_default=services.PAGE_SIZE)
    before = fields.Int(load_default=None, metadata={"description": "older than this id (paging)"})


class NotificationSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    title = fields.Str(attribute="shown_title", metadata={"description": "in the caller's language (?lang=en)"})
    url = fields.Str()
    created_at = fields.Function(lambda n: isoformat_local(n.created_at))
    read = fields.Bool()
    record = fields.Function(lambda n: {"type": n.record_type, "id": n.record_id} if n.record_type else None)


class NotificationsSchema(Schema):
    notifications = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Int()


class ReadInput(Schema):
    ids = fields.List(fields.Int(), load_default=None)
    all = fields.Bool(load_default=False)

    @validates_schema
    def one_of(self, data, **kwargs):
        if not data.get("all") and not data.get("ids"):
            raise ValidationError("请提供 ids（通知编号列表）或 all: true。", "ids")


class ReadResult(Schema):
    marked = fields.Int()
    unread = fields.Int()


@blp.get("/notifications")
@blp.arguments(NotificationQuery, location="query")
@blp.response(200, NotificationsSchema)
@blp.doc(security=[{"bearerAuth": []}])
def list_notifications(args):
    """The caller's notifications, newest first, and how many are unread."""
    user = current_api_user()
    limit = max(1, min(args["limit"], 200))
    rows = services.list_for(user, unread_only=args["unread"], limit=limit, before_id=args["before"])
    return {"notifications": rows, "unread": services.unread_count(user)}


@blp.post("/notifications/read")
@blp.arguments(ReadInput)
@blp.response(200, ReadResult)
@blp.doc(security=[{"bearerAuth": []}])
def mark_read(data):
    """Mark notifications read: `{"ids": [...]}` (the caller's own; others are ignored) or `{"all": true}`."""
    user = current_api_user()
    marked = services.mark_read(user, data.get("ids"), everything=bool(data.get("all")))
    return {"marked": marked, "unread": services.unread_count(user)}
