"""The office's per-agency figures as CSV (UTF-8 with BOM, so Excel reads Chinese) and XLSX (openpyxl)."""
from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from flask import Response

from coord.referrals.queries import FIGURE_COLUMNS

RATES = {"on_time_rate", "overdue_rate", "ack_on_time_rate"}


def _cells(row: dict[str, Any]) -> list[Any]:
    return [row[key] if key not in RATES or row[key] is not None else "" for key, _ in FIGURE_COLUMNS]


def _headers() -> list[str]:
    return [label + ("（%）" if key in RATES else "") for key, label in FIGURE_COLUMNS]


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(_headers())
    for row in rows:
        writer.writerow(_cells(row))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def xlsx_bytes(rows: list[dict[str, Any]], today: date) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "线索办理统计"
    ws.append([f"线索移交办理情况统计（截至 {today.isoformat()}）"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(_headers())
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(_cells(row))
    ws.column_dimensions["A"].width = 34
    for letter in "BCDEFGHIJKL":
        ws.column_dimensions[letter].width = 14
    ws.freeze_panes = "B3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _download(data: bytes, mimetype: str, name: str) -> Response:
    resp = Response(data, mimetype=mimetype)
    # RFC 5987 for the Chinese file name, with an ASCII fallback.
    from urllib.parse import quote

    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"lead-figures.{name.rsplit('.', 1)[1]}\"; filename*=UTF-8''{quote(name)}")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def csv_response(rows: list[dict[str, Any]], today: date) -> Response:
    return _download(csv_bytes(rows), "text/csv; charset=utf-8", f"线索办理统计-{today.isoformat()}.csv")


def xlsx_response(rows: list[dict[str, Any]], today: date) -> Response:
    return _download(xlsx_bytes(rows, today), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     f"线索办理统计-{today.isoformat()}.xlsx")
