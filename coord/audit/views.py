from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from coord.audit import services
from coord.web.pagecache import cacheable

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 50


@bp.get("/")
@cacheable
@login_required
def index():
    page = max(request.args.get("page", 1, type=int), 1)
    entries = services.recent_for(current_user, limit=PAGE, offset=(page - 1) * PAGE)
    return render_template("audit/index.html", entries=entries, page=page, page_size=PAGE,
                           label=services.entity_label)


@bp.get("/<entity_type>/<entity_id>")
@login_required
def history(entity_type: str, entity_id: str):
    if not services.can_see(current_user, entity_type, entity_id):
        abort(404)
    entries = services.history(entity_type, entity_id)
    template = "audit/_timeline.html" if request.headers.get("HX-Request") else "audit/history.html"
    return render_template(template, entries=entries, entity_type=entity_type, entity_id=entity_id,
                           label=services.entity_label(entity_type), loads=services.loads)
