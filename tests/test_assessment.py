"""Assessment (考核): scores computed by hand for a small case, ranks, versioned and audited rules,
weights that do not add up refused, scoping, XLSX and the official PDF report."""
from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from coord.audit.models import AuditEntry
from coord.extensions import db
from coord.interviews import services as interviews
from coord.lists.models import ListVersion
from coord.measures import services as measures
from coord.oversight.assessment import ranks
from coord.oversight.models import AssessmentRules
from coord.referrals import services as referrals
from coord.timeutil import local_today
from tests import pdf_tools
from tests.conftest import login, user_by_name
from tests.interview_fixtures import agency_id
from tests.measures_fixtures import measure_data
from tests.referrals_fixtures import lead_data

SH = ZoneInfo("Asia/Shanghai")
JUNE = "from=2026-06-01&to=2026-06-30"
URL = f"/api/v1/oversight/assessment?{JUNE}"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def _published(code: str, kind: str, when: str) -> None:
    version = db.session.execute(sa.select(ListVersion).where(
        ListVersion.agency_id == agency_id(code), ListVersion.kind == kind, ListVersion.state == "published")).scalar_one()
    version.published_at = at(when)
    db.session.commit()


def june() -> None:
    """区市场监管局: both lists published by 31 March; 4 leads received in June — acknowledged on time 2 of 3,
    replied on time 1 of 2; 3 visits, 2 rectified. 区城市管理局: one list on time, one late; 1 lead
    acknowledged and replied on time; no visits."""
    scjg, cgj = user_by_name("scjg_officer"), user_by_name("cgj_officer")
    _published("scjgj", "positive", "2026-03-15T10:00")
    _published("scjgj", "negative", "2026-03-31T18:00")
    _published("cgj", "positive", "2026-04-10T10:00")
    _published("cgj", "negative", "2026-03-20T10:00")
    leads = [referrals.refer(user_by_name("cgj_coord"), lead_data("scjgj", party_name=f"六月{i}号公司"),
                             now=at("2026-06-01T09:00")) for i in range(4)]
    a, b, c, _d = leads
    referrals.acknowledge(scjg, a.id, now=at("2026-06-01T10:00"))  # on time (due 2 June)
    referrals.acknowledge(scjg, b.id, now=at("2026-06-01T10:00"))  # on time
    referrals.acknowledge(scjg, c.id, now=at("2026-06-10T10:00"))  # late
    referrals.reply(scjg, a.id, {"outcome": "not_opened", "note": "查无违法"}, now=at("2026-06-03T10:00"))  # on time
    referrals.reply(scjg, b.id, {"outcome": "not_opened", "note": "查无违法"}, now=at("2026-06-30T10:00"))  # late
    e = referrals.refer(user_by_name("scjg_coord"), lead_data("cgj", party_name="六月城管公司"), now=at("2026-06-01T09:00"))
    referrals.acknowledge(cgj, e.id, now=at("2026-06-01T10:00"))
    referrals.reply(cgj, e.id, {"outcome": "not_opened", "note": "查无违法"}, now=at("2026-06-02T10:00"))
    for i, result in enumerate(("rectified", "rectified", "not_rectified")):
        m = measures.create(scjg, measure_data("notice_advice", date="2026-06-01", correction_deadline="2026-06-05",
                                               party={"kind": "person", "name": f"个体户{i}"}))
        interviews.record_visit(scjg, m.observation_visit_id, result, "已核实" if result == "rectified" else "未改正",
                                now=at("2026-06-15T10:00"))
    db.session.expire_all()
    lead = db.session.get(type(a), a.id)
    assert (lead.ack_on_time, lead.reply_on_time) == (True, True)
    assert db.session.get(type(b), b.id).reply_on_time is False and db.session.get(type(c), c.id).ack_on_time is False


def test_scores_and_ranks_as_computed_by_hand(api):
    june()
    body = api("admin").get(URL).json
    assert body["rules"]["version"] == 1 and body["rules"]["total"] == 100  # the demo rules, as the example
    rows = {r["agency_id"]: r for r in body["rows"]}
    scjg, cgj = rows[agency_id("scjgj")], rows[agency_id("cgj")]
    # 区市场监管局: lists 2/2 × 10 = 10; ack 2/3 × 20 = 13.33; reply 1/2 × 30 = 15; visits 2/3 × 20 = 13.33;
    # satisfaction (no ratings in June) 0 → 51.66.
    ind = scjg["indicators"]
    assert (ind["lists_published"]["numerator"], ind["lists_published"]["score"]) == (2, 10.0)
    assert (ind["ack_on_time_rate"]["numerator"], ind["ack_on_time_rate"]["denominator"]) == (2, 3)
    assert ind["ack_on_time_rate"]["score"] == 13.33
    assert (ind["reply_on_time_rate"]["numerator"], ind["reply_on_time_rate"]["denominator"]) == (1, 2)
    assert ind["reply_on_time_rate"]["score"] == 15.0
    assert (ind["follow_ups_rectified"]["numerator"], ind["follow_ups_rectified"]["denominator"]) == (2, 3)
    assert ind["follow_ups_rectified"]["score"] == 13.33
    assert ind["party_satisfaction"]["value"] is None and ind["party_satisfaction"]["score"] == 0
    assert scjg["score"] == 51.66
    # 区城市管理局: lists 1/2 × 10 = 5; ack 1/1 × 20 = 20; reply 1/1 × 30 = 30; no visits 0 → 55.
    assert cgj["score"] == 55.0 and cgj["indicators"]["follow_ups_rectified"]["value"] is None
    assert (cgj["rank"], scjg["rank"]) == (1, 2)
    # Everyone else has no data: 0 points, sharing rank 3.
    others = [r for a, r in rows.items() if a not in (agency_id("scjgj"), agency_id("cgj"))]
    assert others and all(r["score"] == 0 and r["rank"] == 3 for r in others)
    assert [r["rank"] for r in body["rows"]] == sorted(r["rank"] for r in body["rows"])


def test_equal_scores_share_a_rank():
    assert ranks([50.0, 70.0, 50.0, 10.0]) == [2, 1, 2, 4]
    assert ranks([0.0, 0.0]) == [1, 1]


def test_rules_are_versioned_audited_and_must_add_up(api):
    june()
    office = api("admin")
    refused = office.post("/api/v1/oversight/assessment/rules", json={"total": 100, "indicators": [
        {"key": "ack_on_time_rate", "weight": 40}, {"key": "reply_on_time_rate", "weight": 50}]})
    assert refused.status_code == 400 and refused.json["field"] == "weight"
    assert "90" in refused.json["message"] and "100" in refused.json["message"]
    assert db.session.execute(sa.select(sa.func.count()).select_from(AssessmentRules)).scalar_one() == 1
    for bad in ({"total": 100, "indicators": [{"key": "bribes", "weight": 100}]},
                {"total": 100, "indicators": [{"key": "ack_on_time_rate", "weight": -10},
                                              {"key": "reply_on_time_rate", "weight": 110}]},
                {"total": 100, "indicators": [{"key": "ack_on_time_rate", "weight": 50},
                                              {"key": "ack_on_time_rate", "weight": 50}]},
                {"total": 0, "indicators": [{"key": "ack_on_time_rate", "weight": 0}]}):
        assert office.post("/api/v1/oversight/assessment/rules", json=bad).status_code == 400, bad
    saved = office.post("/api/v1/oversight/assessment/rules", json={"total": 100, "note": "只看签收和回复", "indicators": [
        {"key": "ack_on_time_rate", "weight": 40}, {"key": "reply_on_time_rate", "weight": 60}]})
    assert saved.status_code == 201 and saved.json["version"] == 2
    now = {r["agency_id"]: r for r in office.get(URL).json["rows"]}
    assert now[agency_id("scjgj")]["score"] == round(40 * 2 / 3, 2) + 30.0  # 26.67 + 30
    assert set(now[agency_id("scjgj")]["indicators"]) == {"ack_on_time_rate", "reply_on_time_rate"}
    old = {r["agency_id"]: r for r in office.get(f"{URL}&version=1").json["rows"]}
    assert old[agency_id("scjgj")]["score"] == 51.66  # an earlier version still applies to its period
    entries = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "assessment.rules")
                                 .order_by(AuditEntry.id)).scalars().all()
    assert [e.entity_id for e in entries] == ["1", "2"] and "签收" in entries[-1].summary
    # Only the office defines the rules.
    rules = {k: v for k, v in saved.json.items() if k != "version"}
    assert api("scjg_coord").post("/api/v1/oversight/assessment/rules", json=rules).status_code == 403


def test_the_rules_page_refuses_weights_that_do_not_add_up(client):
    login(client, "admin")
    from tests.conftest import csrf_token

    data = {"csrf_token": csrf_token(client, "/oversight/assessment/rules"), "total": "100",
            "use_ack_on_time_rate": "1", "weight_ack_on_time_rate": "30", "use_reply_on_time_rate": "1",
            "weight_reply_on_time_rate": "30"}
    resp = client.post("/oversight/assessment/rules", data=data)
    assert resp.status_code == 400 and "合计为 60 分" in resp.get_data(as_text=True)
    data.update(weight_ack_on_time_rate="40", weight_reply_on_time_rate="60")
    assert client.post("/oversight/assessment/rules", data=data).status_code == 303
    assert "第 2 版" in client.get("/oversight/assessment/rules").get_data(as_text=True)


def test_an_agency_sees_its_own_row_and_numbers_link_to_records(api, client):
    june()
    mine = api("scjg_officer").get(URL).json["rows"]
    assert [(r["agency_id"], r["rank"]) for r in mine] == [(agency_id("scjgj"), 2)]
    login(client, "scjg_officer")
    page = client.get(f"/oversight/assessment?{JUNE}").get_data(as_text=True)
    assert "51.66" in page and "区城市管理局" not in page.split('id="assessment"')[1]
    link = f'/oversight/records?metric=leads.ack_on_time&amp;agency_id={agency_id("scjgj")}&amp;from=2026-06-01&amp;to=2026-06-30'
    assert link in page
    records = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "共 2 条" in records
    assert client.get(f"/oversight/assessment.pdf?{JUNE}").status_code == 403
    assert api("scjg_officer").get("/api/v1/oversight/assessment?period=20x6").status_code == 400


def test_a_period_with_no_data_scores_zero(api):
    body = api("admin").get("/api/v1/oversight/assessment?period=2020").json
    assert body["from"] == "2020-01-01" and body["to"] == "2020-12-31"
    assert body["rows"] and all(r["score"] == 0 and r["rank"] == 1 for r in body["rows"])
    assert all(i["value"] is None for r in body["rows"] for k, i in r["indicators"].items() if k != "lists_published")


def test_xlsx_export_and_the_official_report(api, client):
    from openpyxl import load_workbook

    june()
    login(client, "admin")
    xlsx = client.get(f"/oversight/assessment.xlsx?{JUNE}")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    by_name = {r[1]: r for r in rows}
    assert by_name["区市场监管局"][0] == 2 and by_name["区市场监管局"][2] == 51.66
    assert by_name["区城市管理局"][0] == 1 and by_name["区城市管理局"][2] == 55
    assert "线索按时签收率" in " ".join(str(c) for c in next(sheet.iter_rows(min_row=2, max_row=2, values_only=True)))
    pdf = client.get(f"/oversight/assessment.pdf?{JUNE}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_tools.compact(pdf_tools.text(pdf.data))
    year = local_today().year
    for expected in ("柔性执法工作情况通报", f"沙司通〔{year}〕1号", "2026年6月1日至2026年6月30日",
                     "重庆市沙坪坝区城市管理局（55.00分）", "柔性执法工作考核得分排名表", "51.66"):
        assert expected in text, expected
    for font in pdf_tools.fonts(pdf.data):
        assert font["emb"] == "yes" and font["sub"] == "yes"
    # The same period and rules: the same 文号.
    again = pdf_tools.compact(pdf_tools.text(client.get(f"/oversight/assessment.pdf?{JUNE}").data))
    assert f"沙司通〔{year}〕1号" in again
