from __future__ import annotations

from datetime import date, timedelta

from flask import jsonify
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validates_schema

from coord.api import api_blueprint, current_api_user
from coord.errors import Forbidden
from coord.timeutil import isoformat_local
from coord.workdays import imports, services
from coord.workdays.notice import NoticeError

blp = api_blueprint("calendar", "/calendar", "工作日历 Working-day calendar")


class DaySchema(Schema):
    date = fields.Date(attribute="day")
    is_workday = fields.Bool()
    note = fields.Str()
    source = fields.Str()
    provisional = fields.Function(lambda d: services.is_provisional(d.day),
                                  metadata={"description": "the day's year is provisional (statutory holidays only)"})


class DaysSchema(Schema):
    days = fields.List(fields.Nested(DaySchema))


class YearSchema(Schema):
    year = fields.Int()
    status = fields.Str(metadata={"description": "official | provisional"})
    source = fields.Str()
    version = fields.Int()
    updated_at = fields.Function(lambda y: isoformat_local(y.updated_at))


class YearsSchema(Schema):
    years = fields.List(fields.Nested(YearSchema))
    years_ahead = fields.Int()


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


class NoticeBody(Schema):
    text = fields.Str(required=True, metadata={"description": "the notice as published (pasted text)"})
    apply = fields.Bool(load_default=False)
    version = fields.Int(load_default=None, allow_none=True,
                         metadata={"description": "the year's version from the preview; a stale one is 409"})


@blp.get("/days")
@blp.arguments(RangeQuery, location="query")
@blp.response(200, DaysSchema)
@blp.doc(security=[{"bearerAuth": []}])
def list_days(args):
    """Days of the working-day calendar in a range (inclusive); `provisional` for years not yet official."""
    return {"days": services.days(args["from_"], args["to"])}


@blp.get("/years")
@blp.response(200, YearsSchema)
@blp.doc(security=[{"bearerAuth": []}])
def list_years():
    """The calendar's years: official (the State Council's arrangement) or provisional."""
    return {"years": services.years(), "years_ahead": services.years_ahead()}


@blp.put("/days/<day>")
@blp.arguments(DayUpdate)
@blp.response(200, DaySchema)
@blp.doc(security=[{"bearerAuth": []}])
def put_day(args, day: str):
    """The office marks a day as workday or not."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(400, message="日期格式应为 YYYY-MM-DD。")
    if not current_api_user().is_office:
        raise Forbidden("仅领导小组办公室可修改工作日历。")
    return services.set_day(current_api_user(), parsed, args["is_workday"], args["note"])


@blp.post("/notice")
@blp.arguments(NoticeBody)
@blp.doc(security=[{"bearerAuth": []}])
def post_notice(args):
    """Preview (`apply: false`) or apply a State Council holiday notice; 400 with `line` when unreadable."""
    user = current_api_user()
    if not user.is_office:
        raise Forbidden("仅领导小组办公室可导入放假安排通知。")
    try:
        if args["apply"]:
            result = imports.apply(user, args["text"], version=args["version"])
        else:
            result = imports.preview(user, args["text"])
    except NoticeError as err:
        return jsonify({"code": 400, "message": err.message, "line": err.line}), 400
    return jsonify(result.as_json())
