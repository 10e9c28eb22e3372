"""Helpers for the list tests: annex-layout XLSX files built with openpyxl, and small lookups."""
from __future__ import annotations

import io
import re
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook

from coord.agencies.models import Agency
from coord.extensions import db
from coord.lists.models import ListVersion

POSITIVE_HEADER = ["序号", "事项名称", "事项编码", "情形", "依据", "柔性执法方式", "备注"]
NEGATIVE_HEADER = ["序号", "事项", "事项编码", "情形", "依据", "备注"]

POSITIVE_ROWS: list[list[Any]] = [
    [1, "未按规定公开环境信息", "330221001000", "首次未按规定公开，及时改正的。", "《企业环境信息依法披露管理办法》第二十八条。",
     "告知建议、回访", ""],
    [2, "未按规定设置排污口标志牌", "330221002000", "首次发现，标志牌缺失或不清晰，当场改正的。",
     "《排污口规范化整治技术要求》。", "劝导", "当场改正"],
    [3, "建设项目环境影响登记表未备案", "330221003000", "已建成但未造成环境影响，限期内补办备案的。",
     "《中华人民共和国环境影响评价法》第三十一条。", "行政约谈告诫，跟踪回访", ""],
]
NEGATIVE_ROWS: list[list[Any]] = [
    [1, "通过暗管、渗井逃避监管方式排放污染物", "330221010000",
     "1.一般：排放量较小的；2.较重：造成水体污染的；3.严重：造成重大环境污染事故的", "《中华人民共和国水污染防治法》第八十三条。", ""],
    [2, "拒绝、阻挠环境监督检查", "330221011000", "一般：首次拒绝的\n严重：暴力阻挠的", "《中华人民共和国环境保护法》第六十三条。", ""],
]


def make_xlsx(kind: str = "positive", rows: list[list[Any]] | None = None, *, header: list[str] | None = None,
              title: bool = True, merge: list[str] | None = None, note: bool = True) -> bytes:
    """An agency's sheet laid out like the annex: title and 单位 rows (merged), header, rows, 说明."""
    header = header if header is not None else (POSITIVE_HEADER if kind == "positive" else NEGATIVE_HEADER)
    rows = rows if rows is not None else (POSITIVE_ROWS if kind == "positive" else NEGATIVE_ROWS)
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append(["柔性执法事项正面清单" if kind == "positive" else "柔性执法事项负面清单"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        ws.append(["单位：区生态环境局（公章）"])
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(header))
    ws.append(header)
    for row in rows:
        ws.append(row)
    if note:
        ws.append(["说明：1. 清单由各行政执法机关编制。"])
    for ref in merge or []:
        ws.merge_cells(ref)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def agency_id(code: str) -> int:
    return db.session.execute(sa.select(Agency.id).where(Agency.code == code)).scalar_one()


def versions_of(code: str, kind: str) -> list[ListVersion]:
    return list(db.session.execute(
        sa.select(ListVersion).where(ListVersion.agency_id == agency_id(code), ListVersion.kind == kind)
        .order_by(ListVersion.number)
    ).scalars())


def upload(client, path: str, data: bytes, filename: str = "清单.xlsx", headers: dict | None = None, **form):
    return client.post(path, data={"file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data", headers=headers or {})


def csrf_of(html: str) -> str:
    match = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match
    return match.group(1)
