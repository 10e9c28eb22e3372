"""`GET /api/v1/me/tasks`: the caller's worklist as JSON (the same queries as the home page)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from coord.api import api_blueprint, current_api_user
from coord.dbtypes import utcnow
from coord.timeutil import isoformat_local
from coord.worklist import queries

blp = api_blueprint("worklist", "/me", "工作台 Worklist")


class TasksQuery(Schema):
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200),
                       metadata={"description": "Most urgent tasks returned per kind; `counts` are totals."})
    kind = fields.List(fields.Str(), load_default=None, metadata={"description": "Only these kinds."})


class RecordSchema(Schema):
    type = fields.Str()
    id = fields.Raw()


class TaskSchema(Schema):
    kind = fields.Str()
    title = fields.Str()
    url = fields.Str()
    due = fields.Str(allow_none=True, metadata={"description": "ISO 8601 (+08:00); a day's deadline is its end"})
    state = fields.Str(metadata={"description": "overdue | warning | ok"})
    days_left = fields.Int(allow_none=True, metadata={"description": "working days left (day deadlines)"})
    record = fields.Nested(RecordSchema)


class TasksSchema(Schema):
    tasks = fields.List(fields.Nested(TaskSchema))
    counts = fields.Dict(keys=fields.Str(), values=fields.Int())


@blp.get("/tasks")
@blp.arguments(TasksQuery, location="query")
@blp.response(200, TasksSchema)
@blp.doc(security=[{"bearerAuth": []}])
def tasks(args):
    """What needs the caller: tasks most urgent first, with their clock, and counts per kind."""
    user, now = current_api_user(), utcnow()
    kinds = set(args["kind"]) if args["kind"] else None
    worklist = queries.compute(user, limit=args["limit"], now=now, kinds=kinds)
    out = []
    for result in worklist.ordered(now):
        for task in result.tasks:
            out.append({
                "kind": task.kind, "title": task.title, "url": task.url,
                "due": isoformat_local(task.due_instant()), "state": task.state(worklist.today, now),
                "days_left": task.days_left, "record": {"type": task.record_type, "id": task.record_id},
            })
    return {"tasks": out, "counts": worklist.counts}
