"""监督看板 and 考核: the office sees every agency, an agency its own figures; every number links to its records."""
from __future__ import annotations

import io
import json
from datetime import date
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from coord.agencies.models import AGENCY_KINDS
from coord.documents import document_locale
from coord.errors import DomainError
from coord.extensions import db
from coord.lang import _, request_locale
from coord.measures.models import KINDS as MEASURE_KINDS
from coord.oversight import assessment, export, queries, report
from coord.oversight.queries import LABELS, LEAD_METRICS, drill_url
from coord.timeutil import local_today

bp = Blueprint("oversight", __name__, url_prefix="/oversight")

TREND_LINES = ("leads.received", "interviews_held", "follow_ups.rectified", "follow_ups.not_rectified")


def _selection(args) -> dict[str, Any]:
    period = queries.parse_period(args.get("period"), args.get("from"), args.get("to"))
    agency_id = args.get("agency_id", "") if current_user.is_office else ""
    agency_kind = args.get("agency_kind", "") if current_user.is_office else ""
    agencies = queries.agencies_for(current_user, agency_id or None, agency_kind)
    if agency_id and not agencies:
        abort(404)
    return {"period": period, "agency_id": int(agency_id) if agency_id else None, "agency_kind": agency_kind,
            "agencies": agencies}


def _month_url(metric: str, sel: dict, start: date, end: date) -> str:
    agency_id = sel["agency_id"] or (current_user.agency_id if not current_user.is_office else None)
    return drill_url(metric, agency_id, start, end, sel["agency_kind"])


def _charts(figures: queries.Figures, sel: dict) -> dict[str, Any]:
    """The data of each chart (ECharts options are built in oversight.js), with a drill URL per point."""
    period, months = figures.period, figures.period.months()
    by_month = figures.month_totals()
    trend = {
        "categories": [m[0] for m in months],
        "bars": [{"name": _(MEASURE_KINDS[k]), "data": [row[f"measures.{k}"] for row in by_month],
                  "urls": [_month_url(f"measures.{k}", sel, m[1], m[2]) for m in months]} for k in MEASURE_KINDS],
        "lines": [{"name": _(LABELS[key]), "data": [row[key] for row in by_month],
                   "urls": [_month_url(key, sel, m[1], m[2]) for m in months]} for key in TREND_LINES],
    }
    busy = [r for r in figures.agencies if any(r.total.values())] or figures.agencies[:1]
    ids = [r.agency.id for r in busy]

    def per_agency(keys: list[str]) -> dict[str, Any]:
        # One link pattern per series (head + agency id + tail), not a URL per bar: oversight.js joins them.
        return {"categories": [r.agency.name for r in busy], "ids": ids,
                "bars": [{"name": _(LABELS[k]), "data": [r.total[k] for r in busy],
                          "link": queries.drill_link(k, period.start, period.end)} for k in keys]}

    return {
        "trend": trend,
        "measures": per_agency([f"measures.{k}" for k in MEASURE_KINDS]),
        "leads": per_agency([f"leads.{k}" for k in LEAD_METRICS]),
        "follow_ups": per_agency(["interviews_held", "follow_ups.rectified", "follow_ups.not_rectified"]),
    }


@bp.get("/")
@login_required
def dashboard():
    sel = _selection(request.args)
    figures = queries.compute(sel["agencies"], sel["period"], scoped=bool(sel["agency_id"] or sel["agency_kind"]
                                                                          or not current_user.is_office))
    charts = _charts(figures, sel)
    totals = figures.totals()
    return render_template(
        "oversight/dashboard.html", figures=figures, sel=sel, charts_json=json.dumps(charts, ensure_ascii=False),
        charts=charts, kinds=MEASURE_KINDS, lead_metrics=LEAD_METRICS, labels=LABELS, drill=drill_url,
        links={m: queries.drill_link(m, sel["period"].start, sel["period"].end)
               for m in (*queries.METRICS, "measures.all")},
        month_url=_month_url, agency_kinds=AGENCY_KINDS, all_agencies=queries.agencies_for(current_user),
        today=local_today(), totals=totals, by_month=figures.month_totals(),
        measures_total=sum(totals[f"measures.{k}"] for k in MEASURE_KINDS))


@bp.get("/records")
@login_required
def records():
    """The records behind one number of the dashboard or the assessment."""
    args = request.args
    sel = _selection(args)
    metric = args.get("metric", "")
    if metric.startswith("measures."):
        if metric.split(".", 1)[1] not in (*MEASURE_KINDS, "all"):
            abort(404)
        return redirect(drill_url(metric, sel["agency_id"], sel["period"].start, sel["period"].end,
                                  sel["agency_kind"]))
    if current_user.is_office and not sel["agency_id"] and not sel["agency_kind"]:
        agency_ids = None
    else:
        agency_ids = [a.id for a in sel["agencies"]]
    rows, total = queries.records(current_user, metric, agency_ids, sel["period"])
    return render_template("oversight/records.html", rows=rows, total=total, metric=metric,
                           label=_(LABELS[metric]) if metric in LABELS else metric, sel=sel)


# --- assessment -----------------------------------------------------------------------------------

def _assessment(args) -> tuple[assessment.Assessment, list[assessment.Row]]:
    period = queries.parse_period(args.get("period"), args.get("from"), args.get("to"))
    rules = assessment.rules_version(args.get("version")) if args.get("version") else None
    result = assessment.assess(period, rules)
    return result, assessment.visible_rows(current_user, result)


@bp.get("/assessment")
@login_required
def assessment_page():
    args = request.args
    try:
        result, rows = _assessment(args)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("oversight.assessment_page"))
    return render_template("oversight/assessment.html", result=result, rows=rows, args=args, drill=drill_url,
                           catalogue=assessment.CATALOGUE, versions=assessment.history())


@bp.get("/assessment.xlsx")
@login_required
def assessment_xlsx():
    result, rows = _assessment(request.args)
    data = export.assessment_xlsx(result, rows)
    return _download(data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     _("柔性执法考核-%(start)s至%(end)s.xlsx", start=result.period.start.isoformat(),
                       end=result.period.end.isoformat()), "xlsx")


@bp.get("/assessment.pdf")
@login_required
def assessment_pdf():
    if not current_user.is_office:
        abort(403)  # the 通报 is the office's document about every agency
    result, _rows = _assessment(request.args)
    with document_locale(request_locale()):
        name, data = report.report_pdf(current_user, result)
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=name)


def _download(data: bytes, mimetype: str, name: str, ext: str) -> Response:
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f"attachment; filename=\"assessment.{ext}\"; filename*=UTF-8''{quote(name)}"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/assessment/rules", methods=["GET", "POST"])
@login_required
def rules():
    if not current_user.is_office:
        abort(403)
    current = assessment.current_rules()
    spec = current.snapshot() if current else assessment.validate(assessment.DEFAULT_RULES)
    error = None
    if request.method == "POST":
        form = request.form
        data = {"total": form.get("total", ""), "note": form.get("note", ""), "indicators": [
            {"key": key, "weight": form.get(f"weight_{key}", ""), "label": form.get(f"label_{key}", ""),
             "params": {"due": form.get(f"due_{key}", "")}}
            for key in assessment.CATALOGUE if form.get(f"use_{key}")]}
        try:
            saved = assessment.save_rules(current_user, data)
        except DomainError as err:
            db.session.rollback()
            error = err
            spec = {**data, "indicators": [{**i, "params": i["params"]} for i in data["indicators"]]}
        else:
            flash(_("已保存第 %(version)s 版考核规则。", version=saved.version), "success")
            return redirect(url_for("oversight.rules"), 303)
    used = {i["key"]: i for i in spec["indicators"]}
    return render_template("oversight/rules.html", spec=spec, used=used, catalogue=assessment.CATALOGUE,
                           versions=assessment.history(), error=error), (error.status if error else 200)
