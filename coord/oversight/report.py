"""柔性执法工作情况通报: the office's official report of an assessment, through coord.documents."""
from __future__ import annotations

from datetime import time
from typing import Any

import sqlalchemy as sa

from coord.agencies.models import Agency
from coord.documents import numbering, render_pdf
from coord.errors import DomainError
from coord.extensions import db
from coord.lang import _
from coord.oversight.assessment import Assessment
from coord.timeutil import local_datetime, local_today


def _office(actor: Any) -> Agency:
    """The leading-group office's agency (区司法局): the author of the report."""
    agency = db.session.get(Agency, actor.agency_id) if getattr(actor, "agency_id", None) else None
    if agency is None:
        agency = db.session.execute(sa.select(Agency).where(Agency.code == "sfj")).scalar_one_or_none()
    if agency is None:
        raise DomainError(_("找不到领导小组办公室所在单位。"))
    return agency


def context(result: Assessment, office: Agency, number: str) -> dict[str, Any]:
    today = local_today()
    rows = result.rows
    scored = [r for r in rows if r.score > 0]
    return {
        "document_title": _("柔性执法工作情况通报（%(period)s）", period=result.period.label()),
        "document_date": local_datetime(today, time(0)),
        "author": office.official_name,
        "number": number,
        "office": office.official_name,
        "period": result.period,
        "version": result.version,
        "total": result.rules["total"],
        "indicators": result.rules["indicators"],
        "rows": rows,
        "assessed": len(rows),
        "scored": len(scored),
        "top": [r for r in rows if r.rank <= 3 and r.score > 0],
        "issued_on": today,
    }


def report_pdf(actor: Any, result: Assessment) -> tuple[str, bytes]:
    """The report of one period; its 文号 (沙司通〔2026〕1号) is given once per period and rules version."""
    office = _office(actor)
    entity = f"{result.period.start.isoformat()}~{result.period.end.isoformat()}~v{result.version or 0}"
    number = numbering.number_for(office, "report", "assessment", entity, local_today().year, actor=actor)
    data = render_pdf("assessment_report.html", context(result, office, number))
    db.session.commit()
    return _("柔性执法工作情况通报-%(start)s至%(end)s.pdf", start=result.period.start.isoformat(),
             end=result.period.end.isoformat()), data
