"""The referral letter (涉嫌犯罪案件移送书) as an official PDF, through `coord.documents`."""
from __future__ import annotations

from typing import Any

from coord.documents import numbering, render_pdf
from coord.extensions import db
from coord.referrals import police
from coord.referrals.models import PoliceReferral, ReferralFile
from coord.referrals.storage import Upload
from coord.timeutil import to_local


def letter_context(item: PoliceReferral, number: str | None = None) -> dict[str, Any]:
    issued = item.approved_at or item.reported_at
    facts = item.facts.rstrip("。") + "。"
    materials = [{"label": f.category_label, "filename": f.filename} for f in police.files_of(item)
                 if f.category != "letter"]
    return {
        "document_title": "涉嫌犯罪案件移送书",
        "document_date": to_local(issued).replace(microsecond=0),
        "author": item.agency.official_name,
        "number": number or numbering.issued("police_referral", "police_referral", item.id) or "",
        "police_agency": item.police_agency.official_name,
        "party": item.party_name,
        "crime": item.suspected_crime,
        "facts": facts,
        "materials": materials,
        "agency": item.agency.official_name,
        "issued_on": to_local(issued).date(),
    }


def letter_pdf(user: Any, referral_id: int) -> tuple[PoliceReferral, bytes]:
    """The letter; its 文号 (沙市监移〔2026〕1号) is given the first time it is produced, and kept."""
    item = police.get_referral(user, referral_id)
    issued = item.approved_at or item.reported_at
    number = numbering.number_for(item.agency, "police_referral", "police_referral", item.id,
                                  to_local(issued).year, actor=user)
    data = render_pdf("police_referral.html", letter_context(item, number))
    db.session.commit()
    return item, data


def attach_letter(user: Any, referral_id: int) -> ReferralFile:
    """Generate the letter and keep it as the art. 6 referral letter among the materials."""
    item, data = letter_pdf(user, referral_id)
    [row] = police.add_materials(user, item.id, [Upload(f"涉嫌犯罪案件移送书-{item.number}.pdf", data, "letter")])
    return row

