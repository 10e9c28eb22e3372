"""Oversight under /api/v1/oversight: figures per agency and the assessment (the same reads as the pages)."""
from __future__ import annotations

from marshmallow import Schema, fields

from coord.api import api_blueprint, current_api_user
from coord.oversight import assessment, queries

blp = api_blueprint("oversight", "/oversight", "监督考核 Oversight figures and assessment")
SECURITY = [{"bearerAuth": []}]


class FiguresQuery(Schema):
    date_from = fields.Str(load_default=None, data_key="from")
    date_to = fields.Str(load_default=None, data_key="to")
    agency_id = fields.Int(load_default=None)
    agency_kind = fields.Str(load_default="")


class AssessmentQuery(Schema):
    period = fields.Str(load_default=None)
    date_from = fields.Str(load_default=None, data_key="from")
    date_to = fields.Str(load_default=None, data_key="to")
    version = fields.Int(load_default=None)


class IndicatorInput(Schema):
    key = fields.Str(required=True)
    label = fields.Str(load_default="")
    weight = fields.Raw(required=True, metadata={"type": "number"})
    params = fields.Dict(load_default=dict)


class RulesInput(Schema):
    total = fields.Raw(required=True, metadata={"type": "number"})
    indicators = fields.List(fields.Nested(IndicatorInput), required=True)
    note = fields.Str(load_default="")


class LeadFiguresSchema(Schema):
    received = fields.Int()
    ack_on_time = fields.Int()
    reply_on_time = fields.Int()
    returned = fields.Int()
    overdue = fields.Int()
    supervised = fields.Int()


class FollowUpFiguresSchema(Schema):
    rectified = fields.Int()
    not_rectified = fields.Int()


class PartyFiguresSchema(Schema):
    rated = fields.Int(metadata={"description": "Ratings the party gave (per agency taking part)."})
    satisfied = fields.Int(metadata={"description": "Of them, both marks at 4 or 5 of 5."})


class AgencyFiguresSchema(Schema):
    agency_id = fields.Int()
    measures = fields.Dict(keys=fields.Str(), values=fields.Int(), metadata={
        "description": "entries by measure: persuasion, notice_advice, interview, mediation, follow_up"})
    leads = fields.Nested(LeadFiguresSchema)
    interviews_held = fields.Int()
    follow_ups = fields.Nested(FollowUpFiguresSchema)
    party = fields.Nested(PartyFiguresSchema)


class FiguresSchema(Schema):
    from_ = fields.Str(data_key="from", metadata={"description": "first day of the period (YYYY-MM-DD)"})
    to = fields.Str(metadata={"description": "last day of the period (YYYY-MM-DD)"})
    agencies = fields.List(fields.Nested(AgencyFiguresSchema))


class IndicatorSchema(Schema):
    label = fields.Str()
    weight = fields.Float()
    value = fields.Float(allow_none=True, metadata={"description": "the rate, 0–1 (null: nothing to count)"})
    score = fields.Float()
    numerator = fields.Int(allow_none=True)
    denominator = fields.Int(allow_none=True)


class AssessmentRowSchema(Schema):
    agency_id = fields.Int()
    score = fields.Float()
    rank = fields.Int()
    indicators = fields.Dict(keys=fields.Str(), values=fields.Nested(IndicatorSchema))


class RulesSchema(Schema):
    version = fields.Int(allow_none=True)
    total = fields.Float()
    note = fields.Str()
    indicators = fields.List(fields.Dict())


class AssessmentSchema(Schema):
    from_ = fields.Str(data_key="from")
    to = fields.Str()
    rules = fields.Nested(RulesSchema)
    rows = fields.List(fields.Nested(AssessmentRowSchema))


def _rules(spec: dict) -> dict:
    return {"version": spec.get("version"), "total": spec["total"], "note": spec.get("note", ""),
            "indicators": spec["indicators"]}


@blp.get("/figures")
@blp.arguments(FiguresQuery, location="query")
@blp.response(200, FiguresSchema)
@blp.doc(security=SECURITY)
def figures(args):
    """Per agency over `from`..`to` (dates; default this year): measures by kind, leads (received,
    acknowledged and replied on time, returned, overdue, supervised), interviews held and follow-ups.

    The office gets every active agency (or `agency_id`, or one `agency_kind`); anyone else their own
    agency only. A period with no data gives zeros.
    """
    user = current_api_user()
    period = queries.parse_period(None, args["date_from"], args["date_to"])
    agency_id = args["agency_id"] if user.is_office else None
    agencies = queries.agencies_for(user, agency_id, args["agency_kind"] if user.is_office else "")
    result = queries.compute(agencies, period, scoped=not user.is_office or bool(agency_id or args["agency_kind"]))
    return {"from_": period.start.isoformat(), "to": period.end.isoformat(),
            "agencies": [row.api() for row in result.agencies]}


@blp.get("/assessment")
@blp.arguments(AssessmentQuery, location="query")
@blp.response(200, AssessmentSchema)
@blp.doc(security=SECURITY)
def get_assessment(args):
    """The assessment of a period (`period=YYYY`, or `from`/`to`) by the current rules (or `version`):
    `rules` and `rows` of {agency_id, score, rank, indicators}. The office gets every enforcement
    agency; anyone else their own row (ranked among all)."""
    user = current_api_user()
    period = queries.parse_period(args["period"], args["date_from"], args["date_to"])
    rules = assessment.rules_version(args["version"]) if args["version"] else None
    result = assessment.assess(period, rules)
    return {"from_": period.start.isoformat(), "to": period.end.isoformat(), "rules": _rules(result.rules),
            "rows": [row.api() for row in assessment.visible_rows(user, result)]}


@blp.post("/assessment/rules")
@blp.arguments(RulesInput)
@blp.response(201, RulesSchema)
@blp.doc(security=SECURITY)
def save_rules(args):
    """A new version of the rules (office only): `total` and `indicators` [{key, weight, params}]; weights
    must add up to the total (else 400). Keys: lists_published (params.due MM-DD), ack_on_time_rate,
    reply_on_time_rate, follow_ups_rectified, party_satisfaction."""
    rules = assessment.save_rules(current_api_user(), args)
    return _rules(rules.snapshot())
