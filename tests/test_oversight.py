"""Oversight figures: they agree with counts made here from the rows themselves, each number's
drill-down lists exactly the records it counts, months follow Beijing time, scoping, empty periods."""
from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from coord.audit.models import AuditEntry
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import FollowUp, Interview, InterviewAgency
from coord.measures import services as measures
from coord.measures.models import KINDS, Measure
from coord.referrals import services as referrals
from coord.referrals.models import Lead, Supervision
from coord.timeutil import local_today
from tests.conftest import login, user_by_name
from tests.interview_fixtures import agency_id
from tests.measures_fixtures import held_interview, measure_data
from tests.referrals_fixtures import lead_data

SH = ZoneInfo("Asia/Shanghai")
START, END = date(2026, 1, 1), date(2026, 10, 31)  # before the demo data (seeded "now")
FIG = f"/api/v1/oversight/figures?from={START}&to={END}"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def _measure(user: str, kind: str, on: str, code: str = "scjgj", **extra) -> Measure:
    officer = user_by_name(user)
    data = measure_data(kind, date=on, agency_id=agency_id(code), officer_ids=[officer.id], **extra)
    if code != "scjgj":
        data["matter"] = "占道经营"
    return measures.create(officer, data)


def story() -> dict:
    """Leads, measures, an interview and visits spread over 2026, for 区市场监管局 and 区城市管理局."""
    scjg, cgj = user_by_name("scjg_officer"), user_by_name("cgj_officer")
    # L1: acknowledged and replied at once (a flexible reply makes a register entry in January).
    l1 = referrals.refer(user_by_name("cgj_coord"), lead_data("scjgj", party_name="甲公司"), now=at("2026-01-05T10:00"))
    referrals.acknowledge(scjg, l1.id, now=at("2026-01-05T11:00"))
    referrals.reply(scjg, l1.id, {"outcome": "flexible", "measure": "persuasion", "note": "已劝导"},
                    now=at("2026-01-07T10:00"))
    # L2: referred 00:30 Beijing time on 1 February (still 31 January in UTC), acknowledged late.
    l2 = referrals.refer(user_by_name("cgj_coord"), lead_data("scjgj", party_name="乙公司"), now=at("2026-02-01T00:30"))
    referrals.acknowledge(scjg, l2.id, now=at("2026-02-10T09:00"))
    # L3: never acknowledged (overdue now).
    referrals.refer(user_by_name("cgj_coord"), lead_data("scjgj", party_name="丙公司"), now=at("2026-03-02T09:00"))
    # L4: returned by 区市场监管局, then redirected by its sender to 区城市管理局.
    l4 = referrals.refer(user_by_name("sthj_coord"), lead_data("scjgj", party_name="丁公司"), now=at("2026-03-03T09:00"))
    referrals.return_lead(scjg, l4.id, "不属于本单位职责", now=at("2026-03-04T09:00"))
    referrals.redirect(user_by_name("sthj_coord"), l4.id, agency_id("cgj"), now=at("2026-03-05T09:00"))
    referrals.acknowledge(cgj, l4.id, now=at("2026-03-05T10:00"))
    # L5: supervised by the office.
    l5 = referrals.refer(user_by_name("cgj_coord"), lead_data("scjgj", party_name="戊公司"), now=at("2026-04-01T09:00"))
    referrals.acknowledge(scjg, l5.id, now=at("2026-04-01T10:00"))
    referrals.supervise(user_by_name("admin"), l5.id, "请加快办理", now=at("2026-04-10T09:00"))
    # L6: to 区城市管理局, replied case opened; L7 merged into it (not counted).
    l6 = referrals.refer(user_by_name("scjg_coord"), lead_data("cgj", party_name="己公司"), now=at("2026-05-06T09:00"))
    referrals.acknowledge(cgj, l6.id, now=at("2026-05-06T10:00"))
    l7 = referrals.refer(user_by_name("scjg_coord"), lead_data("cgj", party_name="己公司"), now=at("2026-05-06T11:00"))
    referrals.merge(user_by_name("cgj_officer"), l7.id, l6.id, now=at("2026-05-06T12:00"))
    referrals.reply(cgj, l6.id, {"outcome": "case_opened", "case_number": "沙城管立〔2026〕1号", "note": "已立案"},
                    now=at("2026-05-25T10:00"))
    # Measures of both agencies in several months; one outside the period.
    _measure("scjg_officer", "persuasion", "2026-01-20")
    _measure("scjg_officer", "notice_advice", "2026-03-10", correction_deadline="2026-03-20")
    _measure("scjg_officer", "mediation", "2026-03-31", correction_deadline="2026-04-10")
    _measure("cgj_officer", "persuasion", "2026-05-01", code="cgj")
    _measure("cgj_officer", "persuasion", "2026-11-05", code="cgj")
    # An interview held in September (区市场监管局 lead, 区城市管理局 co), a visit rectified in October.
    interview = held_interview()
    rect = interviews.add_item(user_by_name("scjg_coord"), interview.id, "安装油烟净化设施", date(2026, 9, 30),
                               today=date(2026, 9, 24))
    interviews.record_visit(scjg, rect.follow_ups[0].id, "rectified", "已安装", now=at("2026-10-08T15:00"))
    # The observation visits of the two measures with deadlines: one not rectified in April.
    visits = db.session.execute(sa.select(FollowUp).where(FollowUp.interview_id.is_(None)).order_by(FollowUp.id)
                                ).scalars().all()
    interviews.record_visit(scjg, visits[0].id, "not_rectified", "仍未改正", now=at("2026-04-02T10:00"))
    return {"l2": l2}


# --- counted here, from the rows --------------------------------------------------------------

def _in(value, start: date = START, end: date = END) -> bool:
    if value is None:
        return False
    if isinstance(value, datetime):
        value = value.astimezone(SH).date()
    return start <= value <= end


def expected(start: date = START, end: date = END) -> dict[int, dict]:
    today = local_today()
    out: dict[int, dict] = {}

    def row(agency: int) -> dict:
        return out.setdefault(agency, {"measures": dict.fromkeys(KINDS, 0), "leads": dict.fromkeys(
            ("received", "ack_on_time", "reply_on_time", "returned", "overdue", "supervised"), 0),
            "interviews_held": 0, "follow_ups": {"rectified": 0, "not_rectified": 0}})

    for m in db.session.execute(sa.select(Measure)).scalars():
        if _in(m.measure_on, start, end):
            row(m.agency_id)["measures"][m.kind] += 1
    for lead in db.session.execute(sa.select(Lead)).scalars():
        if lead.state == "merged" or not _in(lead.referred_at, start, end):
            continue
        leads = row(lead.to_agency_id)["leads"]
        leads["received"] += 1
        leads["ack_on_time"] += lead.ack_on_time is True
        leads["reply_on_time"] += lead.reply_on_time is True
        leads["overdue"] += bool(lead.late or (lead.due_on is not None and lead.due_on < today))
    # Returns: the audit trail names the agency that returned the lead; the lead keeps when (each lead
    # here is returned once).
    for entry in db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "lead.return")).scalars():
        if _in(db.session.get(Lead, int(entry.entity_id)).returned_at, start, end):
            row(json.loads(entry.after)["to_agency_id"])["leads"]["returned"] += 1
    for s in db.session.execute(sa.select(Supervision)).scalars():
        if _in(s.created_at, start, end):
            row(db.session.get(Lead, s.lead_id).to_agency_id)["leads"]["supervised"] += 1
    for link in db.session.execute(sa.select(InterviewAgency)).scalars():
        interview = db.session.get(Interview, link.interview_id)
        if interview.status == "held" and _in(interview.start_at, start, end):
            row(link.agency_id)["interviews_held"] += 1
    for v in db.session.execute(sa.select(FollowUp)).scalars():
        if v.status == "done" and _in(v.visited_at, start, end):
            row(v.agency_id)["follow_ups"][v.result] += 1
    return out


def _zero(api_row: dict) -> bool:
    return not any([*api_row["measures"].values(), *api_row["leads"].values(), api_row["interviews_held"],
                    *api_row["follow_ups"].values()])


def test_figures_agree_with_counts_made_from_the_rows(api):
    story()
    body = api("admin").get(FIG).json
    assert body["from"] == str(START) and body["to"] == str(END)
    rows = {r["agency_id"]: r for r in body["agencies"]}
    want = expected()
    assert want[agency_id("scjgj")]["leads"]["received"] == 4  # L1, L2, L3, L5 (L4 went on to 区城市管理局)
    assert want[agency_id("scjgj")]["leads"]["returned"] == 1 and want[agency_id("cgj")]["leads"]["returned"] == 0
    for agency, counts in want.items():
        got = {k: rows[agency][k] for k in ("measures", "leads", "interviews_held", "follow_ups")}
        assert got == counts, agency
    assert all(_zero(r) for a, r in rows.items() if a not in want)
    assert set(rows[agency_id("scjgj")]) == {"agency_id", "measures", "leads", "interviews_held", "follow_ups", "party"}
    assert set(rows[agency_id("scjgj")]["measures"]) == set(KINDS)


def test_each_number_drills_down_to_the_records_it_counts(api, client):
    story()
    rows = {r["agency_id"]: r for r in api("admin").get(FIG).json["agencies"]}
    login(client, "admin")
    checked = 0
    for code in ("scjgj", "cgj"):
        row = rows[agency_id(code)]
        metrics = [(f"leads.{k}", n) for k, n in row["leads"].items()] + [("interviews_held", row["interviews_held"])]
        metrics += [(f"follow_ups.{k}", n) for k, n in row["follow_ups"].items()]
        for metric, n in metrics:
            page = client.get(f"/oversight/records?metric={metric}&agency_id={agency_id(code)}&from={START}&to={END}")
            html = page.get_data(as_text=True)
            assert f"共 {n} 条" in html, (code, metric)
            assert html.count('<td><a href="') == n, (code, metric)
            checked += 1
        for kind, n in row["measures"].items():
            resp = client.get(f"/oversight/records?metric=measures.{kind}&agency_id={agency_id(code)}&from={START}&to={END}")
            assert resp.status_code == 302
            assert f"共 {n} 条" in client.get(resp.headers["Location"]).get_data(as_text=True), (code, kind)
    assert checked == 18


def test_months_follow_beijing_time_and_add_up(api, client):
    story()
    login(client, "scjg_officer")
    page = client.get(f"/oversight/?from={START}&to={END}").get_data(as_text=True)
    trend = page.split('id="table-trend"')[1].split("</table>")[0]
    feb = trend.split("<th scope=\"row\">2026-02</th>")[1].split("</tr>")[0]
    jan = trend.split("<th scope=\"row\">2026-01</th>")[1].split("</tr>")[0]
    # The "收到线索" column (after the five measure kinds): L2 was referred on 1 February, Beijing time.
    cells = lambda row: re.findall(r"<td>(?:<a [^>]*>)?(\d+)", row)  # noqa: E731
    assert cells(jan)[5] == "1" and cells(feb)[5] == "1"
    # Twelve months in the year's figures, ten in January–October; the months add up to the totals.
    body = api("scjg_officer").get(FIG).json
    [row] = body["agencies"]
    total_rows = re.findall(r'<th scope="row">2026-\d\d</th>', trend)
    assert len(total_rows) == 10
    month_rows = [r for r in trend.split("</tr>") if 'scope="row"' in r]
    assert sum(int(cells(r)[5]) for r in month_rows) == row["leads"]["received"]


def test_each_agency_sees_its_own_figures_the_office_all(api, client):
    story()
    mine = api("scjg_officer").get(f"{FIG}&agency_id={agency_id('cgj')}").json["agencies"]
    assert [r["agency_id"] for r in mine] == [agency_id("scjgj")]  # agency_id is the office's filter
    office = api("admin").get(FIG).json["agencies"]
    assert len(office) > 50  # every active agency
    one = api("admin").get(f"{FIG}&agency_id={agency_id('cgj')}").json["agencies"]
    assert [r["agency_id"] for r in one] == [agency_id("cgj")]
    towns = api("admin").get(f"{FIG}&agency_kind=town").json["agencies"]
    assert len(towns) == 7
    login(client, "cgj_officer")
    # Asking for another agency's records shows one's own: 区市场监管局's lead 丙公司 stays hidden.
    records = client.get(f"/oversight/records?metric=leads.received&agency_id={agency_id('scjgj')}"
                         f"&from={START}&to={END}").get_data(as_text=True)
    assert "丙公司" not in records and "丁公司" in records
    page = client.get(f"/oversight/?from={START}&to={END}").get_data(as_text=True)
    assert "区城市管理局" in page and "区市场监管局</th>" not in page


def test_a_period_without_data_gives_zeros_and_bad_periods_are_refused(api):
    body = api("admin").get("/api/v1/oversight/figures?from=2020-01-01&to=2020-12-31").json
    assert body["agencies"] and all(_zero(r) for r in body["agencies"])
    bad = api("admin").get("/api/v1/oversight/figures?from=2026-05-01&to=2026-01-01")
    assert bad.status_code == 400 and bad.json["field"] == "to"
    assert api("admin").get("/api/v1/oversight/figures?from=tomorrow").status_code == 400
    assert api("admin").get("/api/v1/oversight/figures?from=2020-01-01&to=2026-12-31").status_code == 400  # > 36 months


def test_the_dashboard_page_has_each_chart_with_its_table(client):
    story()
    login(client, "admin")
    resp = client.get(f"/oversight/?from={START}&to={END}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    for chart in ("trend", "measures", "leads", "follow_ups"):
        assert f'data-chart="{chart}"' in page
    for table in ("table-trend", "table-measures", "table-leads", "table-followups", "table-lists"):
        assert f'id="{table}"' in page
    assert 'id="oversight-charts"' in page and "echarts.min.js" in page
    assert "当事人评价" in page  # the ratings themselves: tests/test_party.py
    assert client.get("/oversight/?from=2026-13-01").status_code == 400


@pytest.mark.parametrize("user", ["scjg_officer", "viewer"])
def test_non_office_users_get_their_own_agency(client, user):
    login(client, user)
    page = client.get("/oversight/").get_data(as_text=True)
    assert user_by_name(user).agency.name in page
    assert Counter(re.findall(r'<tr><th scope="row">([^<]+)</th>', page.split('id="table-measures"')[1].split("</table>")[0])) \
        == Counter([user_by_name(user).agency.name])

