"""One timeline per party: search by name, credit code or ID number; every record about the party in
time order; each agency sees only what it may see, the office everything."""
from __future__ import annotations

from datetime import date

from coord.interviews import services as interviews
from coord.referrals import services as referrals
from tests.conftest import login, user_by_name
from tests.interview_fixtures import VALID_CREDIT_CODE, agency_id
from tests.measures_fixtures import held_interview, item
from tests.referrals_fixtures import lead_data

PARTY_NAME = "重庆某某餐饮管理有限公司"  # the party of interview_data()
PERSON_ID = "11010519491231002X"


def _story(api) -> dict:
    """An interview (区市场监管局 lead, 区城市管理局 co) with a rectification visit; a measure of each of the two
    agencies; a lead from 区生态环境局 to 区城市管理局 about the party; a measure about another party."""
    interview = held_interview()
    rect = interviews.add_item(user_by_name("scjg_coord"), interview.id, "安装油烟净化设施", date(2026, 9, 30),
                               today=date(2026, 9, 24))
    ads = item("scjgj", "positive", "绝对化用语")
    party = {"kind": "organisation", "name": PARTY_NAME, "credit_code": VALID_CREDIT_CODE}
    scjg = api("scjg_officer").post("/api/v1/measures", json={
        "kind": "notice_advice", "party": party, "officer_ids": [user_by_name("scjg_officer").id], "date": "2026-10-12",
        "matter": "广告中使用绝对化用语", "list_item_id": ads.id, "channel": "written", "content": "请删除“最佳”等用语。",
        "undertaking": "十日内撤下相关广告"}).json
    cgj = api("cgj_officer").post("/api/v1/measures", json={
        "kind": "persuasion", "party": party, "agency_id": agency_id("cgj"), "officer_ids": [user_by_name("cgj_officer").id],
        "date": "2026-10-20", "matter": "占道经营", "behaviour": "门前摆放桌椅", "result": "stopped"}).json
    lead = referrals.refer(user_by_name("sthj_coord"), lead_data("cgj", party_name=PARTY_NAME,
                                                                 party_credit_code=VALID_CREDIT_CODE,
                                                                 matter="油烟扰民"))
    person = api("scjg_officer").post("/api/v1/measures", json={
        "kind": "persuasion", "party": {"kind": "person", "name": "王某某", "id_number": PERSON_ID},
        "officer_ids": [user_by_name("scjg_officer").id], "date": "2026-11-02", "matter": "未按规定明码标价",
        "behaviour": "未标价", "result": "corrected"}).json
    return {"interview": interview, "visit": rect.follow_ups[0], "scjg": scjg, "cgj": cgj, "lead": lead,
            "person": person, "party_id": scjg["party"]["id"]}


def _timeline(api, user: str, party_id: int):
    return api(user).get(f"/api/v1/parties/{party_id}/timeline")


def test_the_office_sees_every_record_in_time_order(api):
    story = _story(api)
    resp = _timeline(api, "admin", story["party_id"])
    assert resp.status_code == 200
    body = resp.json
    assert body["party"]["name"] == PARTY_NAME and body["party"]["credit_code"] == VALID_CREDIT_CODE
    events = body["events"]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert all(set(e) == {"at", "type", "title", "url", "agency"} for e in events)
    types = [e["type"] for e in events]
    for expected in ("interview", "follow_up", "measure", "undertaking", "list_item", "lead"):
        assert expected in types, expected
    titles = " ".join(e["title"] for e in events)
    assert story["scjg"]["number"] in titles and story["cgj"]["number"] in titles and story["lead"].number in titles
    assert "安装油烟净化设施" in titles and "十日内撤下相关广告" in titles and "绝对化用语" in titles
    assert story["person"]["number"] not in titles  # another party
    urls = {e["url"] for e in events}
    assert f"/measures/{story['scjg']['id']}" in urls and f"/leads/{story['lead'].id}" in urls
    assert f"/interviews/{story['interview'].id}" in urls


def test_each_agency_sees_only_its_records(api):
    story = _story(api)
    scjg = _timeline(api, "scjg_officer", story["party_id"]).json["events"]
    titles = " ".join(e["title"] for e in scjg)
    assert story["scjg"]["number"] in titles and story["cgj"]["number"] not in titles
    assert story["lead"].number not in titles  # a lead between two other agencies
    assert any(e["type"] == "interview" for e in scjg)
    cgj = " ".join(e["title"] for e in _timeline(api, "cgj_officer", story["party_id"]).json["events"])
    assert story["cgj"]["number"] in cgj and story["lead"].number in cgj  # its own measure, the lead it received
    assert story["scjg"]["number"] not in cgj
    assert "约谈" in cgj  # a co-organiser sees the interview
    sthj = " ".join(e["title"] for e in _timeline(api, "sthj_coord", story["party_id"]).json["events"])
    assert story["lead"].number in sthj and "约谈" not in sthj and story["cgj"]["number"] not in sthj
    # An agency with no record about the party does not see it at all.
    assert _timeline(api, "gafj_officer", story["party_id"]).status_code == 404
    assert api("gafj_officer").get(f"/api/v1/parties?q={PARTY_NAME}").json == []
    assert _timeline(api, "admin", 999999).status_code == 404


def test_search_by_name_credit_code_or_id_number(api):
    story = _story(api)
    office = api("admin")
    assert [p["id"] for p in office.get("/api/v1/parties?q=餐饮管理").json] == [story["party_id"]]
    assert [p["id"] for p in office.get(f"/api/v1/parties?q={VALID_CREDIT_CODE[:10]}").json] == [story["party_id"]]
    by_id = office.get(f"/api/v1/parties?q={PERSON_ID.lower()}").json
    assert [p["name"] for p in by_id] == ["王某某"]
    # Scoped: 区城市管理局 finds the party it has records about, not the person only 区市场监管局 met.
    cgj = api("cgj_officer")
    assert [p["id"] for p in cgj.get(f"/api/v1/parties?q={VALID_CREDIT_CODE}").json] == [story["party_id"]]
    assert cgj.get(f"/api/v1/parties?q={PERSON_ID}").json == []
    assert _timeline(api, "cgj_officer", story["person"]["party"]["id"]).status_code == 404


def test_the_timeline_pages(api, client):
    story = _story(api)
    login(client, "scjg_officer")
    page = client.get(f"/parties/?q={VALID_CREDIT_CODE}").get_data(as_text=True)
    assert f'href="/parties/{story["party_id"]}"' in page
    rows = client.get("/parties/?q=王某", headers={"HX-Request": "true", "HX-Target": "party-rows"}).get_data(as_text=True)
    assert "王某某" in rows and "<html" not in rows
    show = client.get(f"/parties/{story['party_id']}").get_data(as_text=True)
    assert 'id="party-timeline"' in show and story["scjg"]["number"] in show and story["cgj"]["number"] not in show
    login(client, "gafj_officer")
    assert client.get(f"/parties/{story['party_id']}").status_code == 404
