"""The worklist on the home page, its htmx refresh, quick actions, and the nav badges (same queries).

The home page part refreshes itself with htmx: on a short poll (`COORD_WORKLIST_POLL_SECONDS`, 30)
and on `coord:changed`, which every successful htmx request that changed something triggers
(`HX-Trigger`), so an item done elsewhere leaves the list without a reload.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from coord.dbtypes import utcnow
from coord.errors import DomainError
from coord.extensions import db, htmx
from coord.interviews import services as interviews
from coord.referrals import services as referrals
from coord.web import HOME_PARTS, NAV, NAV_BADGES
from coord.worklist import cache, listeners, queries  # noqa: F401 - listeners connect on import

bp = Blueprint("worklist", __name__, url_prefix="/worklist")

CHANGED_EVENT = "coord:changed"

# Actions that need no input, done from the worklist itself: name -> (button label, fn(user, record id)).
QUICK_ACTIONS: dict[str, tuple[str, Callable[[Any, int], Any]]] = {
    "lead_acknowledge": ("签收", lambda user, rid: referrals.acknowledge(user, rid)),
    "interview_confirm": ("确认参加", lambda user, rid: interviews.respond(user, rid, "confirmed")),
}


def worklist_for(user: Any) -> queries.Worklist:
    """The user's worklist, from the cache while nothing that concerns them has changed (and computed at
    most once per request, however many badges ask)."""
    memo = g.setdefault("coord_worklist", {})
    if user.id not in memo:
        memo[user.id] = cache.cached(user, "worklist", lambda: queries.compute(user))
    return memo[user.id]


def poll_seconds() -> int:
    return int(current_app.config.get("WORKLIST_POLL_SECONDS", 30))


def part_context(user: Any, error: str = "") -> dict[str, Any]:
    return {"wl": worklist_for(user), "now": utcnow(), "poll": poll_seconds(), "quick": QUICK_ACTIONS,
            "wl_error": error}


HOME_PARTS.append(("worklist/_worklist.html", part_context))


@bp.get("/")
@login_required
def partial():
    return render_template("worklist/_worklist.html", **part_context(current_user))


@bp.post("/<kind>/<int:record_id>")
@login_required
def act(kind: str, record_id: int):
    """A quick action from the worklist; answers the refreshed worklist (and tells the page it changed)."""
    label, fn = QUICK_ACTIONS.get(kind, (None, None))
    if fn is None:
        return Response(status=404)
    error = ""
    try:
        fn(current_user, record_id)
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        error = err.message
    if htmx:
        return render_template("worklist/_worklist.html", **part_context(current_user, error))
    flash(error or f"已{label}。", "error" if error else "success")
    return redirect(url_for("web.home"), 303)


@bp.before_app_request
def _fresh_memo() -> None:
    g.pop("coord_worklist", None)  # an app context may outlive a request (the test client reuses one)


@bp.after_app_request
def announce_change(resp: Response) -> Response:
    """After an htmx request that changed something, tell the page (worklist, bell) to refresh."""
    if htmx and resp.status_code < 400 and _changing():
        existing = resp.headers.get("HX-Trigger")
        if not existing:
            resp.headers["HX-Trigger"] = CHANGED_EVENT
        elif CHANGED_EVENT not in existing and not existing.lstrip().startswith("{"):
            resp.headers["HX-Trigger"] = f"{existing}, {CHANGED_EVENT}"
    return resp


def _changing() -> bool:
    return request.method not in ("GET", "HEAD", "OPTIONS")


def _badge(endpoint: str) -> Callable[[Any], int]:
    return lambda user: worklist_for(user).nav_count(endpoint)


# Every nav entry counts the sections that name it (a section added later counts without more code). The home
# entry shows none: the worklist it opens shows its own counts.
for _endpoint, _label, _who in NAV:
    NAV_BADGES[_endpoint] = _badge(_endpoint)
