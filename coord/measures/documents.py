"""The register's official documents through `coord.documents`: 提示函 (notice and advice), 调解协议书
and 责令改正通知书 (mediation and correction). Each gets its 文号 the first time it is produced."""
from __future__ import annotations

from datetime import time
from typing import Any

from coord.documents import numbering, render_pdf
from coord.errors import DomainError, NotFound
from coord.extensions import db
from coord.lang import _
from coord.measures import services
from coord.measures.models import Measure
from coord.timeutil import local_datetime

TEMPLATES: dict[str, str] = {
    "prompt_letter": "prompt_letter.html",
    "mediation_agreement": "mediation_agreement.html",
    "correction_order": "correction_order.html",
}
# URL slugs of the documents (pages and API).
SLUGS: dict[str, str] = {"prompt-letter": "prompt_letter", "mediation-agreement": "mediation_agreement",
                         "correction-order": "correction_order"}


def _party(measure: Measure) -> dict[str, Any]:
    party = measure.party
    return {"name": party.name, "credit_code": party.credit_code, "address": party.address,
            "is_organisation": party.kind == "organisation"}


def _contact(measure: Measure) -> dict[str, str]:
    officer = next((o.user for o in measure.officers if o.user.phone), None)
    phone = officer.phone if officer else measure.agency.phone
    if not phone:
        raise DomainError(_("文书须写明联系人的联系电话：请先在执法人员账号或单位名录（%(name)s）中登记联系电话。",
                            name=measure.agency.name), field="phone")
    name = officer.display_name if officer else (measure.officer_names[0] if measure.officers else "")
    return {"name": name or measure.agency.official_name, "phone": phone}


def _check(measure: Measure, kind: str) -> None:
    if kind not in measure.documents:
        raise NotFound(_("%(kind_label)s措施没有该文书。", kind_label=measure.kind_label))
    if kind == "mediation_agreement" and not measure.agreement_reached:
        raise DomainError(_("未达成调解协议，不能制作调解协议书。"))
    if kind == "correction_order" and measure.correction_deadline is None:
        raise DomainError(_("责令改正通知书须写明改正期限：请登记纠错期限后再制作。"))


def context(measure: Measure, kind: str, number: str) -> dict[str, Any]:
    base = {
        "number": number, "party": _party(measure), "agency": measure.agency.official_name,
        "issued_on": measure.measure_on, "matter": measure.matter, "circumstances": measure.circumstances,
        "legal_basis": measure.legal_basis, "document_date": local_datetime(measure.measure_on, time(0)),
    }
    if kind == "prompt_letter":
        return {**base, "document_title": f"提示函（{measure.party.name}）", "content": measure.content,
                "deadline": measure.correction_deadline, "requirement": measure.observation_requirement,
                "contact": _contact(measure)}
    if kind == "mediation_agreement":
        others = [line.strip() for line in measure.other_parties.splitlines() if line.strip()]
        return {**base, "document_title": f"调解协议书（{measure.party.name}）", "others": others,
                "place": measure.place, "terms": [t.strip() for t in measure.agreement_terms.splitlines() if t.strip()],
                "mediators": measure.officer_names}
    return {**base, "document_title": f"责令改正通知书（{measure.party.name}）",
            "deadline": measure.correction_deadline,
            "requirement": measure.observation_requirement or measure.outcome, "contact": _contact(measure)}


def document_pdf(actor: Any, measure_id: Any, slug: str) -> tuple[str, bytes]:
    """(file name, PDF) of one of a measure's documents; the 文号 is given once and kept."""
    measure = services.get(actor, measure_id)
    kind = SLUGS.get(slug)
    if kind is None:
        raise NotFound(_("文书不存在。"))
    _check(measure, kind)
    if kind != "mediation_agreement":
        _contact(measure)  # refuse before a number is given
    number = numbering.number_for(measure.agency, kind, "measure", measure.id, measure.measure_on.year, actor=actor)
    data = render_pdf(TEMPLATES[kind], context(measure, kind, number))
    db.session.commit()
    return f"{_(numbering.KINDS[kind][1])}-{measure.number}.pdf", data
