from __future__ import annotations

from datetime import date, timedelta

from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validates_schema

from coord.api import api_blueprint, current_api_user
from coord.errors import Forbidden
from coord.workdays import services

blp = api_blueprint("calendar", "/calendar", "工作日历 Working-day calendar")


class DaySchema(Schema):
    date = fields.Date(attribute="day")
    is_workday = fields.Bool()
    note = fields.Str()
    source = fields.Str()


class DaysSchema(Schema):
    days = fields.List(fields.Nested(DaySchema))


class RangeQuery(Schema):
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)

    @validates_schema
    def check(self, data, **_kw):
        if data["to"] < data["from_"]:
            raise ValidationError("结束日期不能早于开始日期。", "to")
        if data["to"] - data["from_"] > timedelta(days=3700):
            raise ValidationError("查询范围不能超过十年。", "to")


class DayUpdate(Schema):
    is_workday = fields.Bool(required=True)
    note = fields.Str(load_default="")


@blp.get("/days")
@blp.arguments(RangeQuery, location="query")
@blp.response(200, DaysSchema)
@blp.doc(security=[{"bearerAuth": []}])
def list_days(args):
    """Days of the working-day calendar in a range (inclusive)."""
    return {"days": services.days(args["from_"], args["to"])}


@blp.put("/days/<day>")
@blp.arguments(DayUpdate)
@blp.response(200, DaySchema)
@blp.doc(security=[{"bearerAuth": []}])
def put_day(args, day: str):
    """The admin marks a day as workday or not."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(400, message="日期格式应为 YYYY-MM-DD。")
    if not current_api_user().is_office:
        raise Forbidden("仅领导小组办公室可修改工作日历。")
    return services.set_day(current_api_user(), parsed, args["is_workday"], args["note"])
