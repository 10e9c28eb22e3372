"""The two lists: import, warnings, editing, review and publication, versions and diff, public page,
API, XLSX download, scoping and the eligibility service."""
from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.exc import IntegrityError

from coord.audit.models import AuditEntry
from coord.credit_code import check_digit, credit_code_error, is_valid_credit_code
from coord.extensions import db
from coord.lists import services
from coord.lists.models import ListItem, ListVersion
from coord.lists.rules import matter_code_warning
from tests.conftest import csrf_token, login, user_by_name
from tests.lists_fixtures import (
    NEGATIVE_HEADER,
    POSITIVE_HEADER,
    POSITIVE_ROWS,
    agency_id,
    make_xlsx,
    upload,
    versions_of,
)

HX = {"HX-Request": "true"}


def _import_web(client, code: str, kind: str, data: bytes, filename: str = "清单.xlsx", htmx: bool = True):
    token = csrf_token(client, f"/lists/agency/{agency_id(code)}")
    headers = {"X-CSRFToken": token, **(HX if htmx else {})}
    return upload(client, f"/lists/agency/{agency_id(code)}/{kind}/import", data, filename, headers=headers)


def _post(client, path: str, data: dict | None = None, htmx: bool = False, page: str = "/"):
    headers = {"X-CSRFToken": csrf_token(client, page), **(HX if htmx else {})}
    return client.post(path, data=data or {}, headers=headers)


def _errors(resp) -> list[dict]:
    return resp.json["errors"]


# --- GB 32100 and matter codes ---------------------------------------------------------------

def test_credit_code_check_digit_accepts_real_codes_and_explains_bad_ones():
    for good in ("91350100M000100Y43", "914403001922038216", "9144030071526726XG", " 91350100m000100y43 "):
        assert is_valid_credit_code(good), good
    assert "校验码错误" in credit_code_error("91350100M000100Y44")
    assert "第 18 位应为“3”" in credit_code_error("91350100M000100Y44")
    assert "18 位" in credit_code_error("9135010")
    assert "不是允许的字符" in credit_code_error("91350100M000100I43")  # I is not in the charset
    assert credit_code_error("") == "统一社会信用代码为空。"
    assert check_digit("91350100M000100Y4") == "3"


def test_matter_code_warnings_follow_the_power_list_format(app):
    own = "91350100M000100Y43"
    assert matter_code_warning("330217001000", own) is None  # 12-character basic code
    assert matter_code_warning(own + "4330217001000", own) is None  # 31: credit code + level + basic
    assert matter_code_warning(own + "433021700100001", own) is None  # 33: + business item
    assert "31/33" in matter_code_warning("33021700100", own)
    assert "校验码错误" in matter_code_warning("91350100M000100Y44" + "4330217001000", own)
    assert "不一致" in matter_code_warning("914403001922038216" + "4330217001000", own)
    assert "未登记统一社会信用代码" in matter_code_warning(own + "4330217001000", "")
    assert "未填写" in matter_code_warning("", own)


def test_code_warning_is_shown_beside_the_item_never_a_refusal(client):
    login(client, "sthj_coord")
    rows = [[1, "未按规定公开环境信息", "12345", "首次未公开的。", "《办法》第二十八条。", "告知建议", ""]]
    resp = _import_web(client, "sthjj", "positive", make_xlsx(rows=rows))
    assert resp.status_code == 200 and resp.headers["HX-Redirect"]
    version = versions_of("sthjj", "positive")[0]
    assert [i.matter_code for i in version.items] == ["12345"]
    page = client.get(f"/lists/versions/{version.id}").get_data(as_text=True)
    assert "事项编码应为 12 位基本编码或 31/33 位实施编码，当前为 5 位" in page
    # The inline check as the code is typed tells the same thing.
    hint = client.get(f"/lists/check-code?agency_id={agency_id('sthjj')}&matter_code=12345", headers=HX)
    assert "当前为 5 位" in hint.get_data(as_text=True)
    ok = client.get(f"/lists/check-code?agency_id={agency_id('sthjj')}&matter_code=330221001000", headers=HX)
    assert "符合" in ok.get_data(as_text=True)


def test_demo_agencies_have_valid_credit_codes_and_lists_without_warnings(app):
    for code in ("scjgj", "cgj"):
        version = services.published_version(agency_id(code), "positive")
        assert is_valid_credit_code(version.agency.credit_code)
        assert all(not services.warnings_for(i) for i in version.items)
        assert services.published_version(agency_id(code), "negative").items


# --- import ----------------------------------------------------------------------------------

def test_import_happy_path_positive_and_negative(client):
    login(client, "sthj_coord")
    resp = _import_web(client, "sthjj", "positive", make_xlsx("positive"))
    assert resp.status_code == 200
    version = versions_of("sthjj", "positive")[0]
    assert resp.headers["HX-Redirect"] == f"/lists/versions/{version.id}"
    assert version.state == "draft"
    assert [i.position for i in version.items] == [1, 2, 3]
    assert [i.matter for i in version.items] == [r[1] for r in POSITIVE_ROWS]
    # Chinese measure names, long forms and mixed separators all understood.
    assert version.items[0].measure_codes == ["notice_advice", "follow_up"]
    assert version.items[2].measure_codes == ["interview", "follow_up"]

    resp = _import_web(client, "sthjj", "negative", make_xlsx("negative"))
    assert resp.status_code == 200
    negative = versions_of("sthjj", "negative")[0]
    assert negative.items[0].levels == ["1.一般：排放量较小的", "2.较重：造成水体污染的", "3.严重：造成重大环境污染事故的"]
    assert negative.items[1].levels == ["一般：首次拒绝的", "严重：暴力阻挠的"]
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "list.import")
                               .order_by(AuditEntry.id.desc())).scalars().first()
    assert "导入" in entry.summary and "2 项" in entry.summary


def test_import_without_javascript_redirects_to_the_draft(client):
    login(client, "sthj_coord")
    resp = _import_web(client, "sthjj", "positive", make_xlsx(), htmx=False)
    assert resp.status_code == 302
    assert len(versions_of("sthjj", "positive")[0].items) == 3


BAD_SHEETS = {
    "missing_column": (
        lambda: make_xlsx(header=["序号", "事项名称", "事项编码", "情形", "依据", "备注"],
                          rows=[[1, "甲", "330221001000", "情形", "依据", ""]]),
        [(3, "柔性执法方式", "缺少“柔性执法方式”列")],
    ),
    "merged_cells": (
        lambda: make_xlsx(merge=["B4:B5", "F5:F6"]),
        [(4, "事项名称", "合并单元格 B4:B5"), (5, "柔性执法方式", "合并单元格 F5:F6")],
    ),
    "empty_required_cells": (
        lambda: make_xlsx(rows=[[1, "", "330221001000", "情形", "依据", "劝导", ""],
                                [2, "乙", "330221002000", "情形", "", "劝导", ""],
                                [3, "丙", "330221003000", "情形", "依据", "", ""]]),
        [(4, "事项名称", "为必填项"), (5, "依据", "为必填项"), (6, "柔性执法方式", "必填")],
    ),
    "unknown_measure": (
        lambda: make_xlsx(rows=[[1, "甲", "330221001000", "情形", "依据", "劝导、罚款", ""]]),
        [(4, "柔性执法方式", "未知的柔性执法方式：罚款")],
    ),
    "bad_position": (
        lambda: make_xlsx(rows=[[1, "甲", "330221001000", "情形", "依据", "劝导", ""],
                                ["二", "乙", "330221002000", "情形", "依据", "劝导", ""]]),
        [(5, "序号", "不是正整数")],
    ),
    "duplicate_row": (
        lambda: make_xlsx(rows=[POSITIVE_ROWS[0], POSITIVE_ROWS[0]]),
        [(5, "事项名称", "与第 4 行重复")],
    ),
    "plain_text_file": (lambda: "序号,事项名称\n1,甲\n".encode(), [(None, None, "不是 XLSX")]),
    "legacy_xls": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, [(None, None, ".xls")]),
    "zip_not_workbook": (lambda: _zip({"word/document.xml": "<w/>"}), [(None, None, "不是 Excel 工作簿")]),
    "corrupt_zip": (lambda: b"PK\x03\x04" + b"garbage" * 50, [(None, None, "已损坏")]),
    "broken_workbook": (lambda: _zip({"xl/workbook.xml": "<not-closed", "[Content_Types].xml": "<x/>"}),
                        [(None, None, "无法读取")]),
    "empty_file": (lambda: b"", [(None, None, "为空")]),
    "no_header": (lambda: make_xlsx(header=["甲", "乙", "丙"], rows=[[1, 2, 3]]), [(None, None, "未找到表头行")]),
    "no_items": (lambda: make_xlsx(rows=[]), [(None, None, "没有清单事项")]),
    "positive_sheet_as_negative": (lambda: make_xlsx("positive"), [(3, "柔性执法方式", "这是正面清单吗")]),
}


def _zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


@pytest.mark.parametrize("case", sorted(BAD_SHEETS))
def test_import_refuses_bad_sheet_with_row_and_column_errors_and_saves_nothing(client, api, case):
    build, expected = BAD_SHEETS[case]
    kind = "negative" if case == "positive_sheet_as_negative" else "positive"
    sthj = api("sthj_coord")
    before = db.session.scalar(sa.select(sa.func.count(ListItem.id)))
    resp = upload(sthj, f"/api/v1/lists/import?kind={kind}", build())
    assert resp.status_code == 400, resp.json
    assert "未保存任何内容" in resp.json["message"]
    errors = _errors(resp)
    for row, column, text in expected:
        assert any(e["row"] == row and e["column"] == column and text in e["message"] for e in errors), errors
    assert versions_of("sthjj", kind) == []  # not even an empty draft was created
    assert db.session.scalar(sa.select(sa.func.count(ListItem.id))) == before


def test_import_reports_every_bad_row_in_the_browser(client):
    login(client, "sthj_coord")
    rows = [[1, "", "330221001000", "情形", "依据", "劝导", ""], [2, "乙", "330221002000", "情形", "依据", "罚款", ""]]
    resp = _import_web(client, "sthjj", "positive", make_xlsx(rows=rows))
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "<td>4</td><td>事项名称（B 列）</td>" in html
    assert "<td>5</td><td>柔性执法方式（F 列）</td>" in html and "罚款" in html
    page = _import_web(client, "sthjj", "positive", make_xlsx(rows=rows), htmx=False)
    assert page.status_code == 400 and "导入未成功" in page.get_data(as_text=True)


def test_failed_import_leaves_an_existing_draft_untouched(client, api):
    sthj = api("sthj_coord")
    assert upload(sthj, "/api/v1/lists/import?kind=positive", make_xlsx()).status_code == 200
    draft = versions_of("sthjj", "positive")[0]
    before = [i.content() for i in draft.items]
    bad = make_xlsx(rows=[[1, "甲", "330221001000", "情形", "依据", "劝导", ""], [2, "乙", "", "", "", "", "x"]])
    assert upload(sthj, "/api/v1/lists/import?kind=positive", bad).status_code == 400
    db.session.expire_all()
    assert [i.content() for i in versions_of("sthjj", "positive")[0].items] == before


def test_import_limits_on_bytes_and_rows_are_configurable(app, api):
    app.config["LISTS_IMPORT_MAX_ROWS"] = 2
    sthj = api("sthj_coord")
    resp = upload(sthj, "/api/v1/lists/import?kind=positive", make_xlsx())
    assert resp.status_code == 400 and "行数过多" in _errors(resp)[0]["message"]
    app.config["LISTS_IMPORT_MAX_ROWS"] = 2000
    app.config["LISTS_IMPORT_MAX_BYTES"] = 1024
    resp = upload(sthj, "/api/v1/lists/import?kind=positive", make_xlsx())
    assert resp.status_code == 400 and "文件过大" in _errors(resp)[0]["message"]
    app.config["LISTS_IMPORT_MAX_BYTES"] = 5 * 1024 * 1024
    app.config["LISTS_IMPORT_MAX_UNZIPPED_BYTES"] = 1000
    resp = upload(sthj, "/api/v1/lists/import?kind=positive", make_xlsx())
    assert resp.status_code == 400 and "解压后过大" in _errors(resp)[0]["message"]
    assert versions_of("sthjj", "positive") == []


def test_import_api_happy_path_and_bad_requests(api):
    sthj = api("sthj_coord")
    resp = upload(sthj, "/api/v1/lists/import?kind=negative", make_xlsx("negative"))
    assert resp.status_code == 200
    body = resp.json
    assert body["version"]["state"] == "draft" and body["version"]["kind"] == "negative"
    assert [i["matter"] for i in body["items"]] == ["通过暗管、渗井逃避监管方式排放污染物", "拒绝、阻挠环境监督检查"]
    assert body["items"][1]["annex"]["情形"] == "一般：首次拒绝的\n严重：暴力阻挠的"
    assert body["added"] == 2
    assert sthj.post("/api/v1/lists/import?kind=other").status_code == 422
    resp = sthj.post("/api/v1/lists/import?kind=positive", json={})
    assert resp.status_code == 400 and "multipart" in _errors(resp)[0]["message"]
    officer = api("scjg_officer")  # officers read, they do not compile lists
    assert upload(officer, "/api/v1/lists/import?kind=positive", make_xlsx()).status_code == 403


def test_reimport_keeps_item_identity_so_the_diff_is_precise(client, api):
    sthj = api("sthj_coord")
    upload(sthj, "/api/v1/lists/import?kind=positive", make_xlsx())
    rows = [list(r) for r in POSITIVE_ROWS]
    rows[1][3] = "首次发现，当场改正的。"  # changed 情形
    rows = [rows[1], rows[0]] + [[3, "新增事项", "330221009000", "情形", "依据", "劝导", ""]]  # reordered, one dropped
    resp = upload(sthj, "/api/v1/lists/import?kind=positive", make_xlsx(rows=rows))
    assert (resp.json["added"], resp.json["changed"], resp.json["removed"]) == (1, 1, 1)


# --- editing in the browser ------------------------------------------------------------------

def _draft_of_demo(client, code: str = "cgj", kind: str = "positive") -> ListVersion:
    resp = _post(client, f"/lists/agency/{agency_id(code)}/{kind}/draft", page=f"/lists/agency/{agency_id(code)}")
    assert resp.status_code == 302
    return versions_of(code, kind)[-1]


def test_coordinator_edits_a_draft_with_htmx(client):
    login(client, "cgj_coord")
    draft = _draft_of_demo(client)
    assert draft.number == 2 and draft.state == "draft" and len(draft.items) == 3  # copied from version 1
    page = f"/lists/versions/{draft.id}"
    resp = client.get(f"/lists/versions/{draft.id}/items/new", headers=HX)
    assert 'id="item-new"' in resp.get_data(as_text=True)

    bad = _post(client, f"/lists/versions/{draft.id}/items", {"matter": "", "measures": []}, htmx=True, page=page)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "“事项名称”为必填项" in html and "请选择至少一种" in html
    assert len(versions_of("cgj", "positive")[-1].items) == 3

    good = {"position": "1", "matter": "未按规定设置户外招牌", "matter_code": "330112030000",
            "circumstances": "首次发现，及时改正的。", "legal_basis": "《重庆市市容环境卫生管理条例》第十五条。",
            "measures": ["persuasion", "follow_up"], "remarks": ""}
    resp = _post(client, f"/lists/versions/{draft.id}/items", good, htmx=True, page=page)
    assert resp.status_code == 200 and "未按规定设置户外招牌" in resp.get_data(as_text=True)
    db.session.expire_all()
    items = versions_of("cgj", "positive")[-1].items
    assert [i.position for i in items] == [1, 2, 3, 4] and items[0].matter == "未按规定设置户外招牌"
    assert items[0].measure_names == ["劝导", "回访"]

    target = items[1]
    assert f'id="item-{target.id}-form"' in client.get(f"/lists/items/{target.id}/edit", headers=HX).get_data(as_text=True)
    edit = {**target.content(), "measures": ["interview"], "position": "3"}
    resp = _post(client, f"/lists/items/{target.id}", edit, htmx=True, page=page)
    assert resp.status_code == 200
    db.session.expire_all()
    moved = db.session.get(ListItem, target.id)
    assert moved.position == 3 and moved.measure_codes == ["interview"]
    resp = _post(client, f"/lists/items/{target.id}/delete", htmx=True, page=page)
    assert resp.status_code == 200 and target.matter not in resp.get_data(as_text=True)
    db.session.expire_all()
    assert [i.position for i in versions_of("cgj", "positive")[-1].items] == [1, 2, 3]
    actions = [e.action for e in services.audit.history("list_version", draft.id)]
    assert actions == ["list.draft", "list.item_add", "list.item_update", "list.item_delete"]


def test_item_forms_work_without_javascript(client):
    login(client, "cgj_coord")
    draft = _draft_of_demo(client)
    assert "新增事项" in client.get(f"/lists/versions/{draft.id}/items/new").get_data(as_text=True)
    resp = _post(client, f"/lists/versions/{draft.id}/items", {"matter": "x"}, page=f"/lists/versions/{draft.id}")
    assert resp.status_code == 400 and "为必填项" in resp.get_data(as_text=True)


# --- review workflow -------------------------------------------------------------------------

def test_submit_return_resubmit_approve_publishes_and_supersedes(client):
    login(client, "cgj_coord")
    draft = _draft_of_demo(client)
    page = f"/lists/versions/{draft.id}"
    item = draft.items[0]
    _post(client, f"/lists/items/{item.id}", {**item.content(), "measures": ["persuasion"], "remarks": "修订"},
          htmx=True, page=page)
    resp = _post(client, f"/lists/versions/{draft.id}/submit", page=page)
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(ListVersion, draft.id).state == "submitted"
    # Locked while under review.
    locked = _post(client, f"/lists/items/{item.id}/delete", htmx=True, page=page)
    assert locked.status_code == 409 and "不能修改" in locked.get_data(as_text=True)
    # A coordinator cannot review.
    _post(client, f"/lists/versions/{draft.id}/review", {"decision": "approve"}, page=page)
    db.session.expire_all()
    assert db.session.get(ListVersion, draft.id).state == "submitted"

    client.post("/logout", headers={"X-CSRFToken": csrf_token(client)})
    login(client, "admin")
    assert "审核通过并发布" in client.get(page).get_data(as_text=True)
    resp = _post(client, f"/lists/versions/{draft.id}/review", {"decision": "return", "comment": ""}, page=page)
    assert "退回时请填写审核意见" in client.get(resp.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ListVersion, draft.id).state == "submitted"
    _post(client, f"/lists/versions/{draft.id}/review", {"decision": "return", "comment": "第1项依据请补充条款。"}, page=page)
    db.session.expire_all()
    returned = db.session.get(ListVersion, draft.id)
    assert returned.state == "returned" and returned.review_comment == "第1项依据请补充条款。"

    client.post("/logout", headers={"X-CSRFToken": csrf_token(client)})
    login(client, "cgj_coord")
    assert "第1项依据请补充条款。" in client.get(page).get_data(as_text=True)
    _post(client, f"/lists/items/{item.id}", {**item.content(), "measures": ["persuasion"],
                                              "legal_basis": "《重庆市市容环境卫生管理条例》第二十五条第一款。"},
          htmx=True, page=page)
    _post(client, f"/lists/versions/{draft.id}/submit", page=page)

    client.post("/logout", headers={"X-CSRFToken": csrf_token(client)})
    login(client, "admin")
    _post(client, f"/lists/versions/{draft.id}/review", {"decision": "approve", "comment": "同意发布。"}, page=page)
    db.session.expire_all()
    v1, v2 = versions_of("cgj", "positive")
    assert (v1.state, v2.state) == ("superseded", "published")
    assert v1.superseded_at is not None and v2.published_at is not None
    assert services.published_version(agency_id("cgj"), "positive").id == v2.id
    # The old version stays readable, and the public API serves the new one.
    assert "占道经营" in client.get(f"/lists/versions/{v1.id}").get_data(as_text=True)
    public = client.get(f"/api/v1/lists?agency={agency_id('cgj')}&kind=positive").json
    assert {i["version"] for i in public} == {2}
    assert public[0]["measures"] == ["persuasion"] and "第一款" in public[0]["legal_basis"]
    actions = [e.action for e in services.audit.history("list_version", v2.id)]
    assert actions == ["list.draft", "list.item_update", "list.submit", "list.return", "list.item_update",
                       "list.submit", "list.publish"]


def test_submit_and_review_through_the_api(api):
    sthj = api("sthj_coord")
    upload(sthj, "/api/v1/lists/import?kind=positive", make_xlsx())
    upload(sthj, "/api/v1/lists/import?kind=negative", make_xlsx("negative"))
    sthjj = agency_id("sthjj")
    resp = sthj.post(f"/api/v1/lists/{sthjj}/submit")
    assert resp.status_code == 200 and {v["state"] for v in resp.json["versions"]} == {"submitted"}
    assert len(resp.json["versions"]) == 2
    assert sthj.post(f"/api/v1/lists/{sthjj}/submit").status_code == 409  # nothing left to submit
    assert sthj.post(f"/api/v1/lists/{sthjj}/review", json={"decision": "approve"}).status_code == 403
    admin = api("admin")
    bad = admin.post(f"/api/v1/lists/{sthjj}/review", json={"decision": "return"})
    assert bad.status_code == 400 and bad.json["field"] == "comment"
    assert admin.post(f"/api/v1/lists/{sthjj}/review", json={"decision": "maybe"}).status_code == 422
    resp = admin.post(f"/api/v1/lists/{sthjj}/review?", json={"decision": "return", "comment": "负面清单请细化等级。",
                                                              "kind": "negative"})
    assert resp.status_code == 200 and resp.json["versions"][0]["state"] == "returned"
    resp = admin.post(f"/api/v1/lists/{sthjj}/review", json={"decision": "approve", "comment": ""})
    assert [(v["kind"], v["state"]) for v in resp.json["versions"]] == [("positive", "published")]
    assert resp.json["versions"][0]["published_at"].endswith("+08:00")
    public = sthj.client.get(f"/api/v1/lists?agency={sthjj}").json
    assert {i["kind"] for i in public} == {"positive"}  # the returned negative list is not public


# --- versions and diff -----------------------------------------------------------------------

def test_diff_between_versions_shows_added_changed_removed(client):
    login(client, "scjg_coord")
    draft = _draft_of_demo(client, "scjgj", "positive")
    page = f"/lists/versions/{draft.id}"
    first, second = draft.items[0], draft.items[1]
    _post(client, f"/lists/items/{first.id}", {**first.content(), "measures": ["persuasion", "interview"],
                                               "circumstances": "首次被发现，当场改正的。"}, htmx=True, page=page)
    _post(client, f"/lists/items/{second.id}/delete", htmx=True, page=page)
    _post(client, f"/lists/versions/{draft.id}/items", {"matter": "未按规定报送年度报告", "matter_code": "330217009000",
                                                         "circumstances": "逾期未满三个月补报的。", "legal_basis": "《企业信息公示暂行条例》。",
                                                         "measures": ["notice_advice"]}, htmx=True, page=page)
    db.session.expire_all()
    draft = db.session.get(ListVersion, draft.id)
    changes = services.diff_versions(services.previous_version(draft), draft)
    assert [c["matter"] for c in changes.added] == ["未按规定报送年度报告"]
    assert [c["matter"] for c in changes.removed] == [second.matter]
    assert len(changes.changed) == 1 and changes.unchanged == 2
    fields = {header: (before, after) for header, before, after in changes.changed[0].fields}
    assert fields["柔性执法方式"] == ("劝导、告知建议", "劝导、约谈告诫")
    assert fields["情形"][1] == "首次被发现，当场改正的。"
    html = client.get(f"/lists/versions/{draft.id}/diff").get_data(as_text=True)
    assert "新增 1、修改 1、删除 1" in html and "未按规定报送年度报告" in html and "约谈告诫" in html


# --- public page, API, download --------------------------------------------------------------

def test_public_page_lists_published_items_and_searches_without_login(client):
    page = client.get("/public/lists")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "区市场监管局" in html and "区城市管理局" in html
    assert "未按规定公示营业执照" in html and "占道经营" in html
    by_matter = client.get("/public/lists?q=营业执照", headers={**HX, "HX-Target": "public-results"})
    text = by_matter.get_data(as_text=True)
    assert "未按规定公示营业执照" in text and "占道经营" not in text and "<html" not in text
    code = services.published_version(agency_id("cgj"), "negative").items[0].matter_code
    by_code = client.get(f"/public/lists?q={code}").get_data(as_text=True)
    assert "随意倾倒" in by_code and "营业执照" not in by_code
    by_agency = client.get(f"/public/lists?agency={agency_id('cgj')}&kind=negative").get_data(as_text=True)
    assert "随意倾倒" in by_agency and "占道经营</td>" not in by_agency
    by_agency_name = client.get("/public/lists?q=城市管理").get_data(as_text=True)
    assert "占道经营" in by_agency_name and "营业执照" not in by_agency_name
    one = client.get(f"/public/lists/{agency_id('scjgj')}/negative").get_data(as_text=True)
    assert "柔性执法事项负面清单" in one and "<li>较重：货值金额五千元以上" in one
    assert client.get(f"/public/lists/{agency_id('sthjj')}/positive").status_code == 404  # nothing published


def test_public_api_without_login(client):
    items = client.get("/api/v1/lists").json
    assert {i["agency_name"] for i in items} == {"区市场监管局", "区城市管理局"}
    positive = client.get(f"/api/v1/lists?agency={agency_id('scjgj')}&kind=positive").json
    assert positive[0]["annex"] == {
        "序号": 1, "事项名称": "未按规定公示营业执照", "事项编码": positive[0]["matter_code"],
        "情形": positive[0]["circumstances"], "依据": positive[0]["legal_basis"], "柔性执法方式": "劝导、告知建议",
        "备注": "责令立即改正",
    }
    negative = client.get(f"/api/v1/lists?agency={agency_id('scjgj')}&kind=negative").json
    assert len(negative[0]["levels"]) == 3 and "柔性执法方式" not in negative[0]["annex"]
    assert client.get("/api/v1/lists?kind=bad").status_code == 422
    assert client.get("/api/v1/lists?agency=999999").status_code == 404
    assert client.get("/api/v1/lists?q=营业执照").json[0]["matter"] == "未按规定公示营业执照"
    spec = client.get("/api/v1/openapi.json").json
    for path in ["/api/v1/lists", "/api/v1/lists/import", "/api/v1/lists/{agency_id}/submit",
                 "/api/v1/lists/{agency_id}/review"]:
        assert path in spec["paths"], path


def test_xlsx_download_in_annex_layout_reads_back_and_reimports(client, api):
    resp = client.get(f"/public/lists/{agency_id('scjgj')}/positive.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(resp.data))
    ws = wb.active
    assert ws["A1"].value == "柔性执法事项正面清单"
    assert ws["A2"].value.startswith("单位：区市场监管局")
    assert [c.value for c in ws[3]] == POSITIVE_HEADER
    version = services.published_version(agency_id("scjgj"), "positive")
    assert ws["B4"].value == "未按规定公示营业执照" and ws["F4"].value == "劝导、告知建议"
    assert ws.cell(3 + len(version.items), 2).value == version.items[-1].matter
    assert ws.cell(5 + len(version.items), 1).value.startswith("说明：1. 正面清单")
    negative = load_workbook(io.BytesIO(client.get(f"/public/lists/{agency_id('cgj')}/negative.xlsx").data)).active
    assert [c.value for c in negative[3]] == NEGATIVE_HEADER
    assert negative["D4"].value.count("\n") == 2  # three graded levels, one a line
    # The downloaded file imports again unchanged: a draft identical to the published version.
    scjg = api("scjg_coord")
    again = upload(scjg, "/api/v1/lists/import?kind=positive", resp.data)
    assert again.status_code == 200 and (again.json["added"], again.json["changed"], again.json["removed"]) == (0, 0, 0)
    login(client, "scjg_coord")
    draft = versions_of("scjgj", "positive")[-1]
    private = client.get(f"/lists/versions/{draft.id}/download.xlsx")
    assert private.status_code == 200 and load_workbook(io.BytesIO(private.data)).active["B4"].value


# --- scoping ---------------------------------------------------------------------------------

def test_a_coordinator_cannot_see_or_edit_another_agencys_list(client, api):
    login(client, "scjg_coord")
    draft = _draft_of_demo(client, "scjgj")
    item = draft.items[0]
    client.post("/logout", headers={"X-CSRFToken": csrf_token(client)})
    login(client, "cgj_coord")
    page = "/"
    assert client.get(f"/lists/versions/{draft.id}").status_code == 404
    assert client.get(f"/lists/agency/{agency_id('scjgj')}").status_code == 404
    assert client.get(f"/lists/items/{item.id}/edit").status_code == 404
    assert _post(client, f"/lists/items/{item.id}", {**item.content(), "matter": "篡改"}, page=page).status_code == 404
    assert _post(client, f"/lists/items/{item.id}/delete", page=page).status_code == 404
    assert _post(client, f"/lists/versions/{draft.id}/items", {"matter": "x"}, page=page).status_code == 404
    assert _post(client, f"/lists/versions/{draft.id}/submit", page=page).status_code == 404
    assert _post(client, f"/lists/agency/{agency_id('scjgj')}/positive/draft", page=page).status_code == 404
    assert _import_web(client, "cgj", "positive", make_xlsx()).status_code == 200  # own agency: fine
    resp = upload(client, f"/lists/agency/{agency_id('scjgj')}/positive/import", make_xlsx(),
                  headers={"X-CSRFToken": csrf_token(client, page)})
    assert resp.status_code == 404
    assert api("cgj_coord").post(f"/api/v1/lists/{agency_id('scjgj')}/submit").status_code == 404
    assert client.get(f"/lists/versions/{draft.id}/download.xlsx").status_code == 404
    db.session.expire_all()
    assert db.session.get(ListItem, item.id).matter != "篡改"
    assert db.session.get(ListVersion, draft.id).state == "draft"
    # The audit trail of that draft is hidden too.
    assert client.get(f"/audit/list_version/{draft.id}").status_code == 404


def test_officers_read_and_the_office_reviews_but_neither_edits(client):
    login(client, "scjg_coord")
    draft = _draft_of_demo(client, "scjgj")
    client.post("/logout", headers={"X-CSRFToken": csrf_token(client)})
    login(client, "scjg_officer")
    assert client.get(f"/lists/versions/{draft.id}").status_code == 200
    assert _post(client, f"/lists/items/{draft.items[0].id}/delete").status_code == 403
    client.post("/logout", headers={"X-CSRFToken": csrf_token(client)})
    login(client, "admin")
    assert client.get(f"/lists/versions/{draft.id}").status_code == 200
    assert _post(client, f"/lists/items/{draft.items[0].id}/delete").status_code == 403


def test_database_allows_one_open_and_one_published_version_per_list(app):
    cgj = agency_id("cgj")
    db.session.add(ListVersion(agency_id=cgj, kind="positive", number=7, state="published"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add_all([ListVersion(agency_id=cgj, kind="positive", number=8, state="draft"),
                        ListVersion(agency_id=cgj, kind="positive", number=9, state="submitted")])
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- the office's dashboard ------------------------------------------------------------------

def test_office_dashboard_shows_who_published_and_when(client, api):
    login(client, "admin")
    html = client.get("/lists/").get_data(as_text=True)
    assert '<strong id="complete-count">2</strong>' in html
    assert "区市场监管局" in html and "未发布" in html
    missing = client.get("/lists/?missing=1").get_data(as_text=True)
    assert ">区生态环境局<" in missing and ">区市场监管局<" not in missing
    upload(api("sthj_coord"), "/api/v1/lists/import?kind=positive", make_xlsx())
    api("sthj_coord").post(f"/api/v1/lists/{agency_id('sthjj')}/submit")
    html = client.get("/lists/").get_data(as_text=True)
    assert "待审核（1）" in html
    rows = {r.agency.code: r for r in services.dashboard()}
    assert rows["scjgj"].complete and rows["scjgj"].last_changed is not None
    assert not rows["sthjj"].complete and rows["sthjj"].open["positive"].state == "submitted"
    client.post("/logout", headers={"X-CSRFToken": csrf_token(client)})
    login(client, "cgj_coord")
    resp = client.get("/lists/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/lists/agency/{agency_id('cgj')}")


# --- eligibility (for the lead-reply and interview forms) ------------------------------------

def test_eligibility_service(app):
    cgj, scjg = agency_id("cgj"), agency_id("scjgj")
    result = services.eligibility(cgj, "商户在人行道占道经营")
    assert result["eligible"] is True and result["measures"] == ["persuasion", "notice_advice"]
    assert "正面清单" in result["reasons"][0]
    result = services.eligibility(scjg, "未公示营业执照")  # close enough to the listed name
    assert result["eligible"] and result["items"][0]["matter"] == "未按规定公示营业执照"
    negative = services.eligibility(cgj, "随意倾倒建筑垃圾")
    assert negative["eligible"] is False and negative["flag"] == "不适用柔性执法" and negative["measures"] == []
    assert "负面清单" in negative["reasons"][0]
    food = services.eligibility(scjg, "销售超过保质期的食品")
    assert food["eligible"] is False and "食品药品安全" in food["reasons"][0]
    safety = services.eligibility(cgj, "占道经营引发安全生产隐患")
    assert safety["eligible"] is False and safety["measures"] == []
    unlisted = services.eligibility(cgj, "违法建设")
    assert unlisted["eligible"] is True and unlisted["measures"] == [] and "未在" in unlisted["reasons"][0]
    item = services.published_version(scjg, "negative").items[0]
    by_item = services.eligibility(scjg, list_item_id=item.id)
    assert by_item["eligible"] is False and by_item["items"][0]["id"] == item.id
    positive = services.published_version(scjg, "positive").items[3]
    by_item = services.eligibility(scjg, list_item_id=positive.id)
    assert by_item["eligible"] and by_item["measures"] == ["interview", "follow_up"]
    with pytest.raises(services.NotFound):
        services.eligibility(scjg, list_item_id=999999)


def test_eligibility_hint_fragment(client):
    login(client, "gafj_officer")
    cgj = agency_id("cgj")
    ok = client.get(f"/lists/eligibility?agency_id={cgj}&matter=占道经营", headers=HX).get_data(as_text=True)
    assert "可适用柔性执法" in ok and "劝导" in ok and "<html" not in ok
    no = client.get(f"/lists/eligibility?agency_id={cgj}&matter=随意倾倒建筑垃圾", headers=HX).get_data(as_text=True)
    assert "不适用柔性执法" in no
    assert "请填写事项" in client.get(f"/lists/eligibility?agency_id={cgj}&matter=").get_data(as_text=True)
    options = client.get(f"/lists/item-choices?agency_id={cgj}&q=占道").get_data(as_text=True)
    assert "[正面] 占道经营" in options
    assert client.get("/lists/eligibility?agency_id=999999&matter=占道经营").status_code == 404
    client.post("/logout", headers={"X-CSRFToken": csrf_token(client)})
    assert client.get(f"/lists/eligibility?agency_id={cgj}&matter=x").status_code == 302  # login needed


def test_positive_item_in_an_excluded_field_is_flagged(client, api):
    rows = [[1, "未按规定设置排污口标志牌", "330221002000", "首次发现的。", "《规定》。", "劝导", ""]]
    resp = upload(api("sthj_coord"), "/api/v1/lists/import?kind=positive", make_xlsx(rows=rows))
    warnings = list(resp.json["warnings"].values())[0]
    assert any("污染防治" in w and "不适用柔性执法" in w for w in warnings)
    login(client, "sthj_coord")
    version = versions_of("sthjj", "positive")[0]
    assert "不适用柔性执法" in client.get(f"/lists/versions/{version.id}").get_data(as_text=True)


def test_the_coordinators_own_page(client):
    login(client, "cgj_coord")
    html = client.get(f"/lists/agency/{agency_id('cgj')}").get_data(as_text=True)
    assert "第 1 版" in html and "修订正面清单" in html and "导入" in html
    assert user_by_name("cgj_coord").agency_id == agency_id("cgj")


# --- PDF in the annex layout (through coord.documents) ---------------------------------------

def test_pdf_download_in_annex_layout_public_and_scoped(app, client, tmp_path):
    from tests import pdf_tools

    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")
    resp = client.get(f"/public/lists/{agency_id('scjgj')}/negative.pdf")  # no login
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    width, height = (float(x) for x in pdf_tools.info(resp.data)["Page size"].split()[0:3:2])
    assert round(width) == 842 and round(height) == 595  # A4 landscape
    text = pdf_tools.compact(pdf_tools.text(resp.data))
    for expected in ["柔性执法事项负面清单", "单位：区市场监管局", "第1版", "序号", "事项", "事项编码", "情形", "依据",
                     "备注", "销售不符合保障人体健康", "一般：货值金额不足五千元的", "严重：货值金额五万元以上",
                     "说明：1.负面清单是指依法应当从重处罚事项"]:
        assert expected in text, expected
    assert "柔性执法方式" not in text
    for font in pdf_tools.fonts(resp.data):
        assert (font["emb"], font["sub"]) == ("yes", "yes"), font
    positive = pdf_tools.compact(pdf_tools.text(client.get(f"/public/lists/{agency_id('cgj')}/positive.pdf").data))
    assert "柔性执法方式" in positive and "占道经营" in positive and "劝导" in positive
    assert client.get(f"/public/lists/{agency_id('sthjj')}/positive.pdf").status_code == 404
    login(client, "cgj_coord")
    draft = _draft_of_demo(client)
    assert client.get(f"/lists/versions/{draft.id}/download.pdf").data[:5] == b"%PDF-"
    other = services.published_version(agency_id("scjgj"), "positive")
    assert client.get(f"/lists/versions/{other.id}/download.pdf").status_code == 404
