"""Joint interviews under /api/v1/interviews (the same services as the pages)."""
from __future__ import annotations

from marshmallow import Schema, fields

from coord.api import api_blueprint, current_api_user
from coord.interviews import services
from coord.lists import services as lists
from coord.mailin import queries as answers
from coord.party import queries as party_queries
from coord.scheduling.api import LocalDateTime
from coord.workdays.services import provisional_span

blp = api_blueprint("interviews", "/interviews", "联合约谈 Joint interviews")


class PartyInput(Schema):
    kind = fields.Str(load_default=None)
    name = fields.Str(load_default="")
    credit_code = fields.Str(load_default="")
    id_number = fields.Str(load_default="")
    address = fields.Str(load_default="")
    contact_phone = fields.Str(load_default="")
    on_match = fields.Str(load_default=None, allow_none=True, metadata={"description": (
        "When the credit code (or ID number) matches a stored party whose details differ: "
        "'stored' uses the stored record, 'update' updates it with these values (audited). "
        "Without it such a request is refused (400, errors.party_choice, stored_party).")})


class AttendeeSchema(Schema):
    name = fields.Str(load_default="")
    post = fields.Str(load_default="")
    email = fields.Str(load_default="")
    phone = fields.Str(load_default="")


class InterviewInput(Schema):
    """Only types are checked here; the service explains missing or wrong values in Chinese."""

    title = fields.Str(load_default="")
    problem_kind = fields.Str(load_default="")
    region_agency_id = fields.Int(load_default=None, allow_none=True)
    sector = fields.Str(load_default="")
    party = fields.Nested(PartyInput, load_default=None, allow_none=True)
    attendees = fields.List(fields.Nested(AttendeeSchema), load_default=list)
    lead_agency_id = fields.Int(load_default=None, allow_none=True)
    agency_ids = fields.List(fields.Int(), load_default=list)
    participant_ids = fields.List(fields.Int(), load_default=list)
    room_id = fields.Int(load_default=None, allow_none=True)
    duration_minutes = fields.Int(load_default=90)
    matter = fields.Str(load_default="")
    legal_basis = fields.Str(load_default="")
    measure = fields.Str(load_default="interview")
    list_item_id = fields.Int(load_default=None, allow_none=True)
    start = LocalDateTime(load_default=None, allow_none=True)


class InterviewPatch(Schema):
    title = fields.Str()
    problem_kind = fields.Str()
    region_agency_id = fields.Int(allow_none=True)
    sector = fields.Str()
    attendees = fields.List(fields.Nested(AttendeeSchema))
    agency_ids = fields.List(fields.Int())
    participant_ids = fields.List(fields.Int())
    room_id = fields.Int(allow_none=True)
    duration_minutes = fields.Int()
    matter = fields.Str()
    legal_basis = fields.Str()
    measure = fields.Str()
    list_item_id = fields.Int(allow_none=True)


class AgencyRowSchema(Schema):
    agency_id = fields.Int()
    name = fields.Function(lambda r: r.agency.name)
    role = fields.Str()
    confirmation = fields.Str()
    reason = fields.Str()
    responded_at = LocalDateTime(allow_none=True)


class ParticipantSchema(Schema):
    user_id = fields.Int()
    name = fields.Function(lambda p: p.user.display_name)
    agency_id = fields.Int()


class PartySchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    name = fields.Str()
    credit_code = fields.Str()
    address = fields.Str()


class InterviewSchema(Schema):
    id = fields.Int()
    uid = fields.Str()
    sequence = fields.Int()
    title = fields.Str()
    problem_kind = fields.Str()
    region_agency_id = fields.Int(allow_none=True)
    sector = fields.Str()
    party = fields.Nested(PartySchema)
    attendees = fields.List(fields.Nested(AttendeeSchema))
    lead_agency_id = fields.Int()
    agencies = fields.List(fields.Nested(AgencyRowSchema))
    participants = fields.List(fields.Nested(ParticipantSchema))
    room = fields.Function(lambda i: {"id": i.room.id, "name": i.room.name} if i.room else None)
    duration_minutes = fields.Int()
    matter = fields.Str()
    legal_basis = fields.Str()
    measure = fields.Str()
    status = fields.Str()
    start = LocalDateTime(attribute="start_at", allow_none=True)
    end = LocalDateTime(attribute="end_at", allow_none=True)
    cancel_reason = fields.Str()
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    list_item_id = fields.Int(allow_none=True)
    list_item = fields.Function(lambda i: lists.item_summary(i.list_item))
    # For the lead agency; an interview is itself a flexible measure, so this flags, never refuses.
    eligibility = fields.Function(lambda i: lists.eligibility_brief(i.lead_agency_id, i.matter, i.list_item_id)
                                  if i.list_item_id or i.matter else None)
    # The party's answer to the current time (coord.party): status confirmed | reschedule_requested, or null.
    party_response = fields.Function(party_queries.party_response)


class InterviewDetailSchema(InterviewSchema):
    # Each invitee's answer to the invitation (iMIP or answer link); NEEDS-ACTION until they answer.
    responses = fields.Function(lambda i: answers.response_dicts(i), metadata={
        "description": "[{email, name, partstat, comment, at, sequence, stale}]: stale = answered an older SEQUENCE"})
    # A calendar change made the scheduled day a day off: flagged, not moved (null otherwise).
    off_day_warning = fields.Function(lambda i: i.off_day_warning or None)


class ListQuery(Schema):
    status = fields.Str(load_default="")
    agency_id = fields.Int(load_default=None)
    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")
    party = fields.Str(load_default="")


class StartInput(Schema):
    start = LocalDateTime(load_default=None, allow_none=True)
    reason = fields.Str(load_default="")


class ReasonInput(Schema):
    reason = fields.Str(load_default="")


class ResponseInput(Schema):
    decision = fields.Str(required=True)
    reason = fields.Str(load_default="")


class ItemInput(Schema):
    requirement = fields.Str(load_default="")
    deadline = fields.Date(load_default=None, allow_none=True)


class VisitInput(Schema):
    result = fields.Str(load_default="")
    notes = fields.Str(load_default="")


class FollowUpSchema(Schema):
    id = fields.Int()
    item_id = fields.Int(allow_none=True)  # null for a measure's observation period (coord.measures)
    interview_id = fields.Int(allow_none=True)
    agency_id = fields.Int()
    due = fields.Date()
    due_provisional = fields.Function(lambda f: provisional_span(f.deadline, f.due))
    status = fields.Str()
    result = fields.Str(allow_none=True)
    notes = fields.Str()
    visited_at = LocalDateTime(allow_none=True)
    escalated = fields.Bool()
    escalated_at = LocalDateTime(allow_none=True)
    requirement = fields.Function(lambda f: f.requirement)
    deadline = fields.Function(lambda f: f.deadline.isoformat())
    lead_id = fields.Int(allow_none=True)
    lead = fields.Function(lambda f: {"id": f.lead.id, "number": f.lead.number, "state": f.lead.state,
                                      "to_agency_id": f.lead.to_agency_id} if f.lead else None)


class EscalateInput(Schema):
    """The lead to create; fields left out are prefilled from the interview and the visit."""

    to_agency_id = fields.Int(load_default=None, allow_none=True)
    list_item_id = fields.Int(load_default=None, allow_none=True)
    kind_id = fields.Int(load_default=None, allow_none=True)
    party_name = fields.Str(load_default=None)
    party_credit_code = fields.Str(load_default=None)
    facts = fields.Str(load_default=None)
    matter = fields.Str(load_default=None)
    legal_basis = fields.Str(load_default=None)
    place = fields.Str(load_default=None)
    occurred_on = fields.Str(load_default=None)
    urgency = fields.Str(load_default=None)


SECURITY = [{"bearerAuth": []}]


@blp.get("")
@blp.arguments(ListQuery, location="query")
@blp.response(200, InterviewSchema(many=True))
@blp.doc(security=SECURITY)
def list_interviews(args):
    """Interviews the caller's agency takes part in (the office: all), newest first."""
    return services.list_interviews(current_api_user(), status=args["status"], agency_id=args["agency_id"],
                                    date_from=args["date_from"], date_to=args["date_to"], party=args["party"])


@blp.post("")
@blp.arguments(InterviewInput)
@blp.response(201, InterviewSchema)
@blp.doc(security=SECURITY)
def create(args):
    """Create an interview (draft; scheduled at once when `start` is given)."""
    return services.create(current_api_user(), args)


@blp.get("/<int:interview_id>")
@blp.response(200, InterviewDetailSchema)
@blp.doc(security=SECURITY)
def get(interview_id: int):
    return services.get(current_api_user(), interview_id)


@blp.patch("/<int:interview_id>")
@blp.arguments(InterviewPatch)
@blp.response(200, InterviewSchema)
@blp.doc(security=SECURITY)
def update(args, interview_id: int):
    """Change details, people or room (a scheduled interview keeps its time; the new people must be free)."""
    return services.update(current_api_user(), interview_id, args)


@blp.post("/<int:interview_id>/schedule")
@blp.arguments(StartInput)
@blp.response(200, InterviewSchema)
@blp.alt_response(409, description="The slot is taken: `conflicts` and fresh `alternatives`.")
@blp.doc(security=SECURITY)
def schedule(args, interview_id: int):
    return services.schedule(current_api_user(), interview_id, args["start"])


@blp.post("/<int:interview_id>/reschedule")
@blp.arguments(StartInput)
@blp.response(200, InterviewSchema)
@blp.alt_response(409, description="The slot is taken: `conflicts` and fresh `alternatives`.")
@blp.doc(security=SECURITY)
def reschedule(args, interview_id: int):
    return services.reschedule(current_api_user(), interview_id, args["start"], args["reason"])


@blp.post("/<int:interview_id>/cancel")
@blp.arguments(ReasonInput)
@blp.response(200, InterviewSchema)
@blp.doc(security=SECURITY)
def cancel(args, interview_id: int):
    return services.cancel(current_api_user(), interview_id, args["reason"])


@blp.post("/<int:interview_id>/held")
@blp.response(200, InterviewSchema)
@blp.doc(security=SECURITY)
def held(interview_id: int):
    return services.mark_held(current_api_user(), interview_id)


@blp.post("/<int:interview_id>/respond")
@blp.arguments(ResponseInput)
@blp.response(200, InterviewSchema)
@blp.doc(security=SECURITY)
def respond(args, interview_id: int):
    """A co-organising agency confirms (`confirmed`) or declines (`declined`, with `reason`)."""
    services.respond(current_api_user(), interview_id, args["decision"], args["reason"])
    return services.get(current_api_user(), interview_id)


@blp.post("/<int:interview_id>/items")
@blp.arguments(ItemInput)
@blp.response(201, FollowUpSchema)
@blp.doc(security=SECURITY)
def add_item(args, interview_id: int):
    """A rectification item with its deadline; returns the follow-up visit task it creates."""
    item = services.add_item(current_api_user(), interview_id, args["requirement"], args["deadline"])
    return item.follow_ups[0]


@blp.post("/follow-ups/<int:follow_up_id>/visit")
@blp.arguments(VisitInput)
@blp.response(200, FollowUpSchema)
@blp.doc(security=SECURITY)
def visit(args, follow_up_id: int):
    return services.record_visit(current_api_user(), follow_up_id, args["result"], args["notes"])


@blp.post("/follow-ups/<int:follow_up_id>/escalate")
@blp.arguments(EscalateInput)
@blp.response(200, FollowUpSchema)
@blp.doc(security=SECURITY)
def escalate(args, follow_up_id: int):
    """Escalate a "not rectified" visit: a lead from the lead agency to `to_agency_id` (an enforcement
    agency), linked to the visit (`lead_id`); 409 if it was escalated already."""
    return services.escalate(current_api_user(), follow_up_id, args)
