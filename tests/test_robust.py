"""No input gives a 500 (issue 11, point 1) and the OpenAPI document tells the truth (point 6).

Each test is one defect that was found by probing main: it answered 500, or the document said
something the API did not do.
"""
from __future__ import annotations

import io

import pytest

from tests.conftest import csrf_token, login
from tests.referrals_fixtures import TXT, make_lead

HUGE = 99999999999


# --- ids past 32 bits --------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    f"/public/lists/{HUGE}/positive",
    f"/cal/feed/user/{HUGE}/x.ics",
    f"/api/v1/interviews/{HUGE}",
    "/api/v1/interviews/139453648362633258267049984/minutes.pdf",
])
def test_an_id_past_32_bits_is_not_found(client, api, path):
    assert client.get(path).status_code == 404
    assert api("admin").get(path).status_code == 404


def test_an_id_past_32_bits_is_404_whatever_the_method(api):
    # werkzeug would answer 405 here, from the URL's GET rule, if the converter only failed to match.
    resp = api("admin").patch("/api/v1/interviews/2147483648", json={"title": "x"})
    assert resp.status_code == 404 and resp.json["message"]


def test_page_numbers_and_ids_past_32_bits_in_api_queries_are_refused(api):
    admin = api("admin")
    resp = admin.get("/api/v1/leads?page=8031822716780381184")
    assert resp.status_code == 422 and "page" in resp.json["errors"]["query"]
    assert admin.get("/api/v1/lists?agency=-10244087474171674322010112").status_code == 422
    body = admin.post("/api/v1/leads", json={"to_agency_id": HUGE, "facts": "x"})
    assert body.status_code == 422 and "to_agency_id" in body.json["errors"]["json"]


def test_ids_past_32_bits_in_page_queries_and_forms(client):
    login(client, "cgj_coord")
    for path in (f"/interviews/?agency_id={HUGE}", f"/leads/?page={HUGE}", f"/audit/?page={HUGE}",
                 f"/calendar/?year={HUGE}", f"/lists/item-choices?agency_id={HUGE}&q=x"):
        assert client.get(path).status_code < 500, path
    resp = client.post("/leads/new", data={"csrf_token": csrf_token(client, "/leads/new"), "to_agency_id": str(HUGE),
                                           "party_name": "某公司", "facts": "事实", "matter": "事项"})
    assert resp.status_code == 400 and "接收单位" in resp.get_data(as_text=True)


def test_lead_agency_abc_on_the_interview_form_re_renders_it(client):
    login(client, "scjg_coord")
    resp = client.post("/interviews/new", data={"csrf_token": csrf_token(client, "/interviews/new"),
                                                "lead_agency_id": "abc", "title": ""})
    assert resp.status_code in (200, 400) and "约谈" in resp.get_data(as_text=True)


# --- control characters ------------------------------------------------------------------------

def test_nul_in_api_json_is_refused_by_field(api):
    resp = api("cgj_coord").post("/api/v1/leads", json={"to_agency_id": 1, "facts": "事实\x00", "matter": "a"})
    assert resp.status_code == 422
    assert resp.json["errors"]["json"]["facts"] == ["不能包含控制字符（如 U+0000）。"]
    lone_surrogate = b'{"to_agency_id": 1, "facts": "\\ud800"}'
    resp = api("cgj_coord").post("/api/v1/leads", data=lone_surrogate, content_type="application/json")
    assert resp.status_code == 422


def test_nul_in_a_query_string_or_form_is_refused_in_chinese(client, api):
    assert api("admin").get("/api/v1/agencies?q=%00").status_code == 400
    login(client, "cgj_coord")
    page = client.get("/leads/?q=%00")
    assert page.status_code == 400 and "控制字符" in page.get_data(as_text=True)
    token = csrf_token(client, "/leads/new")
    resp = client.post("/leads/new", data={"csrf_token": token, "party_name": "某\x00公司"})
    assert resp.status_code == 400 and "控制字符" in resp.get_data(as_text=True)
    # Line breaks and tabs are text, not control characters to refuse.
    assert client.get("/leads/?q=a%0Ab%09c").status_code == 200


def test_ics_summary_with_nul_is_imported_clean(api):
    from coord.extensions import db
    from coord.scheduling.models import BusyBlock
    from coord.timeutil import local_today
    from tests.conftest import user_by_name

    day = local_today().strftime("%Y%m%d")
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//\r\nBEGIN:VEVENT\r\nUID:nul-1\r\n"
           f"DTSTART:{day}T010000Z\r\nDTEND:{day}T020000Z\r\nSUMMARY:培训\x00会议\x01\r\nEND:VEVENT\r\n"
           "END:VCALENDAR\r\n")
    me = user_by_name("scjg_officer")
    resp = api("scjg_officer").post(f"/api/v1/users/{me.id}/busy/import",
                                    data={"file": (io.BytesIO(ics.encode()), "cal.ics")})
    assert resp.status_code == 200, resp.json
    block = db.session.query(BusyBlock).filter_by(user_id=me.id, import_key="nul-1").one()
    assert block.reason == "培训会议"


# --- what the OpenAPI document says -------------------------------------------------------------

def _spec(client) -> dict:
    return client.get("/api/v1/openapi.json").json


def test_error_schema_names_the_keys_errors_carry(client, api):
    error = _spec(client)["components"]["schemas"]["Error"]
    assert {"code", "message", "field", "state", "errors", "conflicts", "alternatives",
            "current_revision", "changes", "missing"} <= set(error["properties"])
    assert error["additionalProperties"] is False
    lead = make_lead()
    resp = api("scjg_coord").post(f"/api/v1/leads/{lead.id}/reply", json={"outcome": "case"})
    assert resp.status_code == 409 and set(resp.json) <= set(error["properties"])


def test_operations_list_their_statuses_without_a_catch_all(client):
    spec = _spec(client)
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method == "parameters":
                continue
            assert "default" not in op["responses"], (method, path)
            assert {"400", "404"} <= set(op["responses"]), (method, path)
    public = spec["paths"]["/api/v1/lists"]["get"]["responses"]
    assert "401" not in public
    assert "401" in spec["paths"]["/api/v1/leads"]["get"]["responses"]
    assert "409" in spec["paths"]["/api/v1/interviews/{interview_id}/invite.ics"]["get"]["responses"]


def test_downloads_are_documented_with_their_media_types(client):
    paths = _spec(client)["paths"]

    def media(path):
        return set(paths[path]["get"]["responses"]["200"]["content"])

    assert media("/api/v1/interviews/{interview_id}/minutes.pdf") == {"application/pdf"}
    assert media("/api/v1/interviews/{interview_id}/invite.ics") == {"text/calendar"}
    assert {"application/pdf", "image/png", "text/plain"} <= media("/api/v1/leads/files/{file_id}")
    assert "application/json" not in media("/api/v1/leads/files/{file_id}")


def test_integers_and_strings_are_documented_with_their_bounds(client):
    params = {p["name"]: p["schema"] for p in _spec(client)["paths"]["/api/v1/leads"]["get"]["parameters"]}
    assert params["page"]["maximum"] == 2**31 - 1
    assert params["state"]["pattern"].startswith("^[^\\x00")
    path = _spec(client)["paths"]["/api/v1/interviews/{interview_id}"]["parameters"][0]["schema"]
    assert path["maximum"] == 2**31 - 1


def test_405_names_the_allowed_methods(client, api):
    resp = api("admin").open("/api/v1/agencies", method="TRACE")
    assert resp.status_code == 405 and set(resp.headers["Allow"].split(", ")) >= {"GET"}
    page = client.open("/healthz", method="DELETE")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


def test_a_text_file_has_one_charset(api):
    lead = make_lead()
    sender = api("cgj_coord")
    upload = sender.post(f"/api/v1/leads/{lead.id}/files", data={"files": [(io.BytesIO(TXT), "记录.txt")]},
                         content_type="multipart/form-data")
    assert upload.status_code == 200, upload.json
    file_id = upload.json["files"][0]["id"]
    resp = sender.get(f"/api/v1/leads/files/{file_id}")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/plain; charset=utf-8"
