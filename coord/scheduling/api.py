"""Slots, rooms and busy blocks under /api/v1 (the same services as the pages)."""
from __future__ import annotations

from datetime import datetime

from marshmallow import Schema, ValidationError, fields

from coord.api import api_blueprint, current_api_user, read_only
from coord.calendar.fields import FeedUrl
from coord.interviews import services as interviews
from coord.scheduling import services
from coord.timeutil import isoformat_local, parse_iso, to_local
from coord.workdays.services import calendar_url, is_provisional

blp = api_blueprint("scheduling", "", "排期 Scheduling: slots, rooms, busy blocks")


class LocalDateTime(fields.Field):
    """ISO 8601; without an offset the time is read as Asia/Shanghai local time."""

    def __init__(self, **kwargs) -> None:
        # Documented as an RFC 3339 string, which it always accepts (and answers with).
        kwargs["metadata"] = {"type": "string", "format": "date-time", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        if not isinstance(value, str):
            raise ValidationError("时间应为 ISO 8601 字符串，如 2026-12-01T09:00:00+08:00。")
        try:
            return parse_iso(value)
        except ValueError as err:
            raise ValidationError("时间格式不正确，应为 ISO 8601，如 2026-12-01T09:00:00+08:00。") from err

    def _serialize(self, value, attr, obj, **kwargs):
        return isoformat_local(value)


class SlotQuery(Schema):
    participant_ids = fields.List(fields.Int(), load_default=list)
    room_id = fields.Int(load_default=None, allow_none=True)
    duration_minutes = fields.Int(load_default=90)
    window_start = LocalDateTime(required=True)
    window_end = LocalDateTime(required=True)
    limit = fields.Int(load_default=10)
    exclude_interview_id = fields.Int(load_default=None, allow_none=True)


class SlotSchema(Schema):
    start = LocalDateTime()
    end = LocalDateTime()
    # On a day of a provisional year (statutory holidays only, until the State Council's notice).
    provisional = fields.Function(lambda s: is_provisional(to_local(s.start).date()))


class BlockerSchema(Schema):
    resource = fields.Str()
    label = fields.Str()


class NearMissSchema(Schema):
    start = LocalDateTime()
    end = LocalDateTime()
    blockers = fields.List(fields.Nested(BlockerSchema))


class SlotResult(Schema):
    slots = fields.List(fields.Nested(SlotSchema))
    earliest_day = fields.Date()
    days_scanned = fields.Int()
    near_misses = fields.List(fields.Nested(NearMissSchema))
    calendar_gap = fields.Date(allow_none=True)
    calendar_url = fields.Str(allow_none=True)
    message = fields.Str()


class RoomSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    location = fields.Str()
    capacity = fields.Int()
    email = fields.Str()
    agency_id = fields.Int(allow_none=True)
    active = fields.Bool()
    feed_url = FeedUrl("room")


class BusyInput(Schema):
    start = LocalDateTime(required=True)
    end = LocalDateTime(required=True)
    reason = fields.Str(load_default="")


class BusySchema(Schema):
    id = fields.Int()
    user_id = fields.Int()
    start = LocalDateTime(attribute="start_at")
    end = LocalDateTime(attribute="end_at")
    reason = fields.Str()
    source = fields.Str()
    active = fields.Bool()


@blp.post("/slots/search")
@read_only
@blp.arguments(SlotQuery)
@blp.response(200, SlotResult)
@blp.doc(security=[{"bearerAuth": []}])
def search_slots(args):
    """The earliest slots where every participant and the room are free (working days and hours,
    notice period, buffer). Fewer than `limit`: `near_misses` names who blocks the best candidates."""
    exclude = args["exclude_interview_id"]
    if exclude:
        interviews.get(current_api_user(), exclude)  # only one's own interviews
    result, labels = interviews.suggest(
        current_api_user(), args["participant_ids"], args["room_id"], args["duration_minutes"],
        args["window_start"], args["window_end"], args["limit"], exclude_interview_id=exclude)
    message = result.calendar_message
    if not result.slots:
        message = "窗口内没有所有人员和会议室都空闲的时段。" + message
    return {
        "slots": result.slots, "earliest_day": result.earliest_day, "days_scanned": result.days_scanned,
        "near_misses": [{"start": c.start, "end": c.end,
                         "blockers": [{"resource": r, "label": labels.get(r, r)} for r in c.blockers]}
                        for c in result.near_misses],
        "calendar_gap": result.calendar_gap, "message": message,
        "calendar_url": calendar_url(result.calendar_gap.year) if result.calendar_gap else None,
    }


@blp.get("/rooms")
@blp.response(200, RoomSchema(many=True))
@blp.doc(security=[{"bearerAuth": []}])
def list_rooms():
    """Active meeting rooms."""
    return services.list_rooms()


@blp.post("/users/<int:user_id>/busy")
@blp.arguments(BusyInput)
@blp.response(201, BusySchema)
@blp.doc(security=[{"bearerAuth": []}])
def add_busy(args, user_id: int):
    """Record that an official is unavailable (leave, training, another meeting)."""
    return services.add_busy(current_api_user(), user_id, args["start"], args["end"], args["reason"])


class BusyQuery(Schema):
    from_ = LocalDateTime(data_key="from", required=True)
    to = LocalDateTime(required=True)


@blp.get("/users/<int:user_id>/busy")
@blp.arguments(BusyQuery, location="query")
@blp.response(200, BusySchema(many=True))
@blp.doc(security=[{"bearerAuth": []}])
def list_busy(args, user_id: int):
    """An official's busy blocks in a range (people of one's own agency; the office: everyone)."""
    from coord.accounts.scoping import may_see
    from coord.accounts.services import get_user
    from coord.errors import NotFound

    user = get_user(user_id)
    if not may_see(current_api_user(), user.agency_id):
        raise NotFound("人员不存在或您无权查看。")
    return services.busy_of(user.id, args["from_"], args["to"])
