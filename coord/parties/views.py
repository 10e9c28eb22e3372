"""当事人档案: search the party directory and read one party's timeline."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from coord.extensions import htmx
from coord.parties import queries

bp = Blueprint("parties", __name__, url_prefix="/parties")


@bp.get("/")
@login_required
def index():
    q = request.args.get("q", "").strip()[:100]
    rows = queries.search(current_user, q) if q else queries.search(current_user, "", limit=20)
    if htmx and htmx.target == "party-rows":
        return render_template("parties/_rows.html", parties=rows, q=q)
    return render_template("parties/index.html", parties=rows, q=q)


@bp.get("/<int:party_id>")
@login_required
def show(party_id: int):
    party = queries.get(current_user, party_id)
    return render_template("parties/show.html", party=party, events=queries.timeline(current_user, party),
                           types=queries.TYPES)
