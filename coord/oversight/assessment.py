"""Assessment (考核, policy §六 "纳入考核体系"): the office's indicators with weights, versioned and
audited, and the per-period table of each enforcement agency's indicators, score and rank.

An indicator gives a fraction between 0 and 1 (a rate, or the share of the two lists published on
time); its score is weight × fraction. An indicator without data (no leads to reply to, no visits,
no ratings yet) scores 0: a period with no data gives zeros, not errors. Scores are rounded to two
decimals; equal scores share a rank (1, 2, 2, 4).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from coord import events
from coord.accounts.scoping import require_office
from coord.agencies.models import Agency
from coord.audit import services as audit
from coord.dbtypes import write_lock
from coord.errors import DomainError
from coord.extensions import db
from coord.lang import N_, _
from coord.oversight import queries
from coord.oversight.models import AssessmentRules
from coord.timeutil import local_datetime, local_today

# The indicators the office can weight: key -> (label, what it counts)
CATALOGUE: dict[str, tuple[str, str]] = {
    "lists_published": (N_("两张清单按时编制公布"), N_("正面、负面清单于规定日期前发布的比例（两张各占一半）")),
    "ack_on_time_rate": (N_("线索按时签收率"), N_("按时签收件数 ÷ 已签收件数（期间内收到的线索）")),
    "reply_on_time_rate": (N_("线索按时回复率"), N_("按时回复件数 ÷ 已回复件数（期间内收到的线索）")),
    "follow_ups_rectified": (N_("回访整改率"), N_("回访已整改件数 ÷ 期间内回访件数")),
    "party_satisfaction": (N_("当事人满意度"), N_("当事人评价中办事流程、工作人员作风均为 4 分以上的件数 ÷ 评价件数")),
}
DEFAULT_RULES: dict[str, Any] = {
    "total": 100,
    "indicators": [
        {"key": "lists_published", "weight": 10, "params": {"due": "03-31"}},
        {"key": "ack_on_time_rate", "weight": 20},
        {"key": "reply_on_time_rate", "weight": 30},
        {"key": "follow_ups_rectified", "weight": 20},
        {"key": "party_satisfaction", "weight": 20},
    ],
    "note": "示例规则：清单按时公布 10 分，按时签收率 × 20，按时回复率 × 30，回访整改率 × 20，当事人满意度 × 20。",
}


# --- the rules ------------------------------------------------------------------------------------

def current_rules() -> AssessmentRules | None:
    return db.session.execute(sa.select(AssessmentRules).order_by(AssessmentRules.version.desc()).limit(1)
                              ).scalar_one_or_none()


def rules_version(version: Any) -> AssessmentRules:
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise DomainError(_("规则版本应为整数。"), field="version") from None
    rules = db.session.execute(sa.select(AssessmentRules).where(AssessmentRules.version == number)).scalar_one_or_none()
    if rules is None:
        raise DomainError(_("没有第 %(number)s 版考核规则。", number=number), field="version")
    return rules


def history() -> list[AssessmentRules]:
    return list(db.session.execute(sa.select(AssessmentRules).order_by(AssessmentRules.version.desc())).scalars())


def _number(value: Any, field: str, label: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DomainError(_("%(label)s应为数字。", label=_(label)), field=field) from None
    if not math.isfinite(number) or number < 0:
        raise DomainError(_("%(label)s应为不小于 0 的数字。", label=_(label)), field=field)
    return number


def _due(value: Any) -> str:
    """A list deadline within the period's year, as MM-DD (a year is assessed as a whole)."""
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        date.fromisoformat(f"2024-{text}")  # a leap year accepts 02-29
    except ValueError:
        raise DomainError(_("清单公布期限应写作 MM-DD，如 03-31。"), field="due") from None
    return text


def validate(data: dict[str, Any]) -> dict[str, Any]:
    """Checked rules: known indicators, each once, weights adding up to the stated total."""
    total = _number(data.get("total"), "total", "总分")
    if total <= 0:
        raise DomainError(_("总分应大于 0。"), field="total")
    rows = data.get("indicators")
    if not isinstance(rows, list) or not rows:
        raise DomainError(_("请至少设置一项考核指标。"), field="indicators")
    seen: set[str] = set()
    indicators = []
    for row in rows:
        if not isinstance(row, dict):
            raise DomainError(_("考核指标格式不正确。"), field="indicators")
        key = str(row.get("key") or "")
        if key not in CATALOGUE:
            raise DomainError(_("未知的考核指标“%(key)s”。", key=key), field="indicators")
        if key in seen:
            raise DomainError(_("考核指标“%(CATALOGUE)s”重复。", CATALOGUE=_(CATALOGUE[key][0])),
                              field="indicators")
        seen.add(key)
        weight = _number(row.get("weight"), "weight", _("“%(CATALOGUE)s”的分值", CATALOGUE=_(CATALOGUE[key][0])))
        params = row.get("params") if isinstance(row.get("params"), dict) else {}
        clean_params = {"due": _due(params.get("due"))} if key == "lists_published" else {}
        indicators.append({"key": key, "label": str(row.get("label") or CATALOGUE[key][0])[:60], "weight": weight,
                           "params": clean_params})
    weights = sum(i["weight"] for i in indicators)
    if not math.isclose(weights, total, abs_tol=1e-9):
        raise DomainError(_("各项指标分值合计为 %(weights)s 分，与规定的总分 %(total)s 分不符，请调整后再保存。",
                            weights=format(weights, "g"), total=format(total, "g")),
                          field="weight", details={"sum": weights, "total": total})
    note = str(data.get("note") or "").strip()
    if len(note) > 2000:
        raise DomainError(_("说明不能超过 2000 个字符。"), field="note")
    return {"total": total, "indicators": indicators, "note": note}


def save_rules(actor: Any, data: dict[str, Any]) -> AssessmentRules:
    """A new version of the rules (earlier versions are kept and stay usable for past periods)."""
    require_office(actor)
    clean = validate(data)
    write_lock(db.session)
    current = current_rules()
    if current is not None and current.snapshot() | {"version": 0} == clean | {"version": 0}:
        raise DomainError(_("考核规则没有变化。"))
    rules = AssessmentRules(version=(current.version if current else 0) + 1, created_by_id=getattr(actor, "id", None),
                            **clean)
    db.session.add(rules)
    db.session.flush()
    parts = "，".join(f"{i['label']} {i['weight']:g} 分" for i in clean["indicators"])
    audit.record(actor, "assessment.rules", "assessment_rules", rules.version,
                 summary=f"考核规则第 {rules.version} 版：{parts}（总分 {clean['total']:g}）",
                 before=current.snapshot() if current else None, after=rules.snapshot())
    events.announce(events.assessment_rules_changed, rules.version, actor=actor)
    db.session.commit()
    return rules


def seed_default() -> int:
    """Demo: the example rules of the issue as version 1, when the office has none."""
    if current_rules() is not None:
        return 0
    save_rules(_System(), DEFAULT_RULES)
    return 1


class _System:
    """The seeder acts as the office."""

    id = None
    is_office = True
    display_name = "system"
    role = "admin"


audit.register_entity("assessment_rules", "考核规则", lambda user, _id: bool(user.is_office))


# --- scoring ------------------------------------------------------------------------------------

@dataclass
class Indicator:
    key: str
    label: str
    weight: float
    value: float | None  # the fraction 0..1, None without data
    score: float
    numerator: int | None = None
    denominator: int | None = None
    metric: str | None = None  # the figure the numerator counts (for the drill-down link)

    def api(self) -> dict[str, Any]:
        return {"label": self.label, "weight": self.weight, "value": self.value, "score": self.score,
                "numerator": self.numerator, "denominator": self.denominator}


@dataclass
class Row:
    agency: Agency
    score: float
    rank: int
    indicators: list[Indicator]

    def api(self) -> dict[str, Any]:
        return {"agency_id": self.agency.id, "score": self.score, "rank": self.rank,
                "indicators": {i.key: i.api() for i in self.indicators}}


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _lists_fraction(status: dict[str, Any], due_at: datetime) -> tuple[float, int]:
    on_time = sum(1 for kind in ("positive", "negative")
                  if status[kind]["first_published_at"] is not None and status[kind]["first_published_at"] < due_at)
    return on_time / 2, on_time


def _indicator(spec: dict[str, Any], totals: dict[str, int], lists: dict[str, Any], period: queries.Period
               ) -> Indicator:
    key, weight = spec["key"], float(spec["weight"])
    label = spec.get("label") or CATALOGUE[key][0]
    num = den = None
    metric = None
    if key == "lists_published":
        due = spec.get("params", {}).get("due") or ""
        due_day = date.fromisoformat(f"{period.end.year}-{due}") if due else period.end
        # Published before the end of the due day (Beijing time).
        value, num = _lists_fraction(lists, local_datetime(due_day + timedelta(days=1), time(0)))
        den = 2
    elif key == "ack_on_time_rate":
        num, den, metric = totals["leads.ack_on_time"], totals["leads.acknowledged"], "leads.ack_on_time"
        value = _rate(num, den)
    elif key == "reply_on_time_rate":
        num, den, metric = totals["leads.reply_on_time"], totals["leads.replied"], "leads.reply_on_time"
        value = _rate(num, den)
    elif key == "follow_ups_rectified":
        num = totals["follow_ups.rectified"]
        den = num + totals["follow_ups.not_rectified"]
        metric = "follow_ups.rectified"
        value = _rate(num, den)
    else:  # party_satisfaction: the party's ratings from its portal (#16)
        num, den, metric = totals["party.satisfied"], totals["party.rated"], "party.satisfied"
        value = _rate(num, den)
    score = round(weight * value, 2) if value is not None else 0.0
    return Indicator(key, label, weight, None if value is None else round(value, 4), score, num, den, metric)


def ranks(scores: list[float]) -> list[int]:
    """Competition ranking: equal scores share a rank, the next rank skips (1, 2, 2, 4)."""
    order = sorted(scores, reverse=True)
    return [order.index(s) + 1 for s in scores]


@dataclass
class Assessment:
    period: queries.Period
    rules: dict[str, Any]
    version: int | None
    rows: list[Row]


def assess(period: queries.Period, rules: AssessmentRules | None = None, *, today: date | None = None) -> Assessment:
    """Every active enforcement agency over the period, by the given rules (default: the current)."""
    rules = rules or current_rules()
    spec = rules.snapshot() if rules else {**validate(DEFAULT_RULES), "version": None}
    agencies = list(db.session.execute(sa.select(Agency).where(Agency.active.is_(True), Agency.is_enforcement.is_(True))
                                       .order_by(Agency.sort_order, Agency.id)).scalars())
    figures = queries.compute(agencies, period, today=today or local_today(), scoped=False)
    built = []
    for row in figures.agencies:
        indicators = [_indicator(s, row.total, figures.lists[row.agency.id], period) for s in spec["indicators"]]
        built.append((row.agency, round(sum(i.score for i in indicators), 2), indicators))
    rank_of = ranks([score for _, score, _ in built])
    rows = [Row(agency, score, rank, indicators)
            for (agency, score, indicators), rank in zip(built, rank_of, strict=True)]
    rows.sort(key=lambda r: (r.rank, r.agency.sort_order, r.agency.id))
    return Assessment(period, spec, spec.get("version"), rows)


def visible_rows(actor: Any, result: Assessment) -> list[Row]:
    """The office sees every agency; an agency sees its own row (with its rank among all)."""
    return result.rows if actor.is_office else [r for r in result.rows if r.agency.id == actor.agency_id]
