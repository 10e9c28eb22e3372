"""Inbound mail under /api/v1/mail: the quarantine (office) and the organiser's counter decisions."""
from __future__ import annotations

from marshmallow import Schema, fields

from coord.api import api_blueprint, current_api_user
from coord.mailin import services
from coord.scheduling.api import LocalDateTime

blp = api_blueprint("mail", "/mail", "收件 Inbound mail (calendar answers)")
SECURITY = [{"bearerAuth": []}]


class QuarantinedSchema(Schema):
    id = fields.Int()
    received_at = LocalDateTime()
    source = fields.Str()
    from_addr = fields.Str(data_key="from")
    subject = fields.Str()
    reason = fields.Str()
    method = fields.Str()
    uid = fields.Str()
    interview_id = fields.Int(allow_none=True)
    size = fields.Int()


class DecisionInput(Schema):
    decision = fields.Str(required=True, metadata={"description": "accepted (采纳) | declined (不采纳)"})
    comment = fields.Str(load_default="")


class CounterSchema(Schema):
    id = fields.Int()
    interview_id = fields.Int()
    email = fields.Str()
    name = fields.Str()
    proposed_start = LocalDateTime()
    proposed_end = LocalDateTime()
    comment = fields.Str()
    status = fields.Str()
    decided_at = LocalDateTime(allow_none=True)


@blp.get("/quarantine")
@blp.response(200, QuarantinedSchema(many=True))
@blp.doc(security=SECURITY)
def quarantine():
    """Messages the reply mailbox received but did not apply (forged sender, unknown UID, not
    iMIP, ...), newest first. Office only (403 otherwise)."""
    return services.quarantined(current_api_user())


@blp.post("/counters/<int:counter_id>/decide")
@blp.arguments(DecisionInput)
@blp.response(200, CounterSchema)
@blp.alt_response(409, description="Decided already, or the proposed time is taken (`alternatives`).")
@blp.doc(security=SECURITY)
def decide(args, counter_id: int):
    """The organiser accepts a counter-proposal (the interview is rescheduled, new invitations go
    out) or declines it (the proposer gets a DECLINECOUNTER)."""
    return services.decide_counter(current_api_user(), counter_id, args["decision"], args["comment"])
