"""XLSX in and out, in the layout of annexes 3 and 4 (openpyxl).

Reading is all-or-nothing: every row is checked and every problem is reported as
{row, column, message}; the caller saves nothing unless the list of errors is empty.
Untrusted input: the size is checked before unzipping, the unzipped size before parsing, the
row count before reading rows, and openpyxl parses XML through defusedxml.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from coord.errors import DomainError
from coord.lists.models import KIND_TITLES
from coord.lists.rules import COLUMNS, clean_text, validate_item

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc
HEADER_SCAN_ROWS = 10
MAX_LISTED_ERRORS = 200

# Header spellings met in agencies' sheets, mapped to the annex field.
HEADER_ALIASES: dict[str, str] = {
    "序号": "position", "编号": "position",
    "事项名称": "matter", "事项": "matter", "处罚事项名称": "matter", "行政处罚事项名称": "matter",
    "事项编码": "matter_code", "编码": "matter_code",
    "情形": "circumstances", "不予处罚情形": "circumstances", "不予处罚（强制）情形": "circumstances",
    "情形及等级": "circumstances", "从重处罚情形": "circumstances",
    "依据": "legal_basis", "法律依据": "legal_basis", "执法依据": "legal_basis",
    "柔性执法方式": "measures", "执法方式": "measures",
    "备注": "remarks",
}

NOTES: dict[str, str] = {
    "positive": (
        "说明：1. 正面清单是指轻微违法行为依法免予处罚（强制）清单，如限期改正、责令停止违法行为等事项；"
        "2. 行政处罚（强制）事项的名称和编码，应当与本部门在渝快办（全国一体化在线政务服务平台）"
        "公布的行政权力清单中的处罚（强制）事项名称和编码保持一致。"
        "3. 不予处罚（强制）的情形，应当按照相关法律、法规和规章中的有关规定以及违法行为的事实、"
        "性质、情节、危害程度、实际后果等因素，进行认真梳理，综合裁量。"
    ),
    "negative": (
        "说明：1. 负面清单是指依法应当从重处罚事项；2. 事项的名称和编码，应当与本部门在渝快办"
        "（全国一体化在线政务服务平台）公布的行政权力清单中的处罚事项名称和编码保持一致。"
        "3. 情形应当按照相关法律、法规和规章中的有关规定以及违法行为的事实、性质、情节、"
        "危害程度、实际后果等因素，进行认真梳理，综合裁量，划分出明确具体的等级。"
    ),
}


@dataclass
class SheetError:
    row: int | None
    column: str | None
    message: str
    column_letter: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "column_letter": self.column_letter, "message": self.message}


class ImportRejected(DomainError):
    """The sheet was refused; `details["errors"]` lists every problem found. Nothing was saved."""

    def __init__(self, errors: list[SheetError]):
        shown = errors[:MAX_LISTED_ERRORS]
        message = f"表格未通过校验（{len(errors)} 处问题），未保存任何内容。请修改后重新导入。"
        if len(errors) > len(shown):
            message += f"以下仅列出前 {len(shown)} 处。"
        super().__init__(message, field="file", details={"errors": [e.as_dict() for e in shown]})
        self.errors = shown


@dataclass
class Limits:
    max_bytes: int = 5 * 1024 * 1024
    max_rows: int = 2000
    max_unzipped_bytes: int = 60 * 1024 * 1024


@dataclass
class ParsedSheet:
    items: list[dict[str, Any]]
    rows: list[int] = field(default_factory=list)  # the sheet row of each item
    ignored_columns: list[str] = field(default_factory=list)


def _file_error(message: str) -> ImportRejected:
    return ImportRejected([SheetError(None, None, message)])


def _open_workbook(data: bytes, limits: Limits):
    if not data:
        raise _file_error("上传的文件为空。")
    if len(data) > limits.max_bytes:
        raise _file_error(f"文件过大：{len(data) / 1048576:.1f} MB，上限为 {limits.max_bytes / 1048576:.1f} MB。")
    if data.startswith(OLE2_MAGIC):
        raise _file_error("这是旧版 Excel（.xls）文件：请在 Excel 中“另存为” .xlsx 格式后再导入。")
    if not data.startswith(ZIP_MAGIC):
        raise _file_error("文件不是 XLSX 格式（Excel 工作簿 .xlsx）。")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _file_error("文件已损坏，无法作为 XLSX 读取。") from None
    if "xl/workbook.xml" not in names:
        raise _file_error("文件不是 Excel 工作簿（可能是其他 Office 文件或压缩包）。")
    if unzipped > limits.max_unzipped_bytes:
        raise _file_error(f"文件解压后过大（{unzipped / 1048576:.0f} MB），超过上限。")
    try:
        return load_workbook(io.BytesIO(data), data_only=True)
    except Exception:  # noqa: BLE001 - any parser failure of an untrusted file is the same answer
        raise _file_error("无法读取该 XLSX 文件：文件内容损坏或格式不受支持。") from None


def _header_key(value: Any) -> str:
    return "".join(clean_text(value).split()).replace("(", "（").replace(")", "）")


def _find_header(ws: Worksheet) -> tuple[int, dict[str, int], list[str]] | None:
    """(row, field → column index, unknown header texts) of the first row that looks like the annex header."""
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, HEADER_SCAN_ROWS)):
        mapping: dict[str, int] = {}
        unknown: list[str] = []
        for cell in row:
            key = _header_key(cell.value)
            if not key:
                continue
            field_name = HEADER_ALIASES.get(key)
            if field_name and field_name not in mapping:
                mapping[field_name] = cell.column
            else:
                unknown.append(key)
        if "matter" in mapping and len(mapping) >= 3:
            return row[0].row, mapping, unknown
    return None


def _is_note_text(value: Any) -> bool:
    return clean_text(value).startswith(("说明", "注：", "注:"))


def _is_note_row(values: dict[str, str]) -> bool:
    filled = [v for v in values.values() if v]
    return len(filled) == 1 and _is_note_text(filled[0])


def read_sheet(data: bytes, kind: str, limits: Limits | None = None) -> ParsedSheet:
    """Parse an annex-3/annex-4 sheet into clean item dicts, or raise ImportRejected with every error."""
    limits = limits or Limits()
    wb = _open_workbook(data, limits)
    found = None
    ws = wb.worksheets[0]
    for candidate in wb.worksheets:
        found = _find_header(candidate)
        if found:
            ws = candidate
            break
    expected = dict(COLUMNS[kind])
    if found is None:
        names = "、".join(expected.values())
        raise _file_error(f"未找到表头行：前 {HEADER_SCAN_ROWS} 行中应有一行依次写明 {names}。")
    header_row, mapping, unknown = found
    errors: list[SheetError] = []
    for field_name, header in expected.items():
        if field_name not in mapping:
            errors.append(SheetError(header_row, header, f"缺少“{header}”列。"))
    if kind == "negative" and "measures" in mapping:
        message = "负面清单没有“柔性执法方式”列：这是正面清单吗？请选择正确的清单类型。"
        errors.append(SheetError(header_row, "柔性执法方式", message, get_column_letter(mapping["measures"])))
    if errors:
        raise ImportRejected(errors)
    if ws.max_row - header_row > limits.max_rows:
        raise _file_error(f"表格行数过多：{ws.max_row - header_row} 行，上限为 {limits.max_rows} 行。")

    header_by_col = {col: expected[f] for f, col in mapping.items() if f in expected}
    for merged in ws.merged_cells.ranges:
        if merged.max_row < header_row or _is_note_text(ws.cell(merged.min_row, merged.min_col).value):
            continue  # the title and "单位" rows above the table and the "说明" below may be merged
        column = header_by_col.get(merged.min_col, get_column_letter(merged.min_col))
        message = f"合并单元格 {merged.coord}：请取消合并，并在每一行填写完整内容。"
        errors.append(SheetError(merged.min_row, column, message, get_column_letter(merged.min_col)))
    if errors:
        raise ImportRejected(errors)

    parsed = ParsedSheet(items=[], ignored_columns=unknown)
    seen: dict[tuple[str, str, str], int] = {}
    for row in ws.iter_rows(min_row=header_row + 1, max_row=ws.max_row):
        row_number = row[0].row
        raw = {f: row[col - 1].value if col - 1 < len(row) else None for f, col in mapping.items() if f in expected}
        texts = {f: clean_text(v) for f, v in raw.items()}
        if _is_note_row(texts):
            break  # the annex's "说明：" paragraph ends the table
        if not any(v for f, v in texts.items() if f != "position"):
            continue  # blank line, or a numbered but empty template row
        clean, field_errors = validate_item(kind, raw)
        for fe in field_errors:
            errors.append(SheetError(row_number, expected[fe.field], fe.message, get_column_letter(mapping[fe.field])))
        key = (clean["matter_code"], clean["matter"], clean["circumstances"])
        if not field_errors and key in seen:
            message = f"与第 {seen[key]} 行重复（事项、编码和情形均相同）。"
            errors.append(SheetError(row_number, expected["matter"], message, get_column_letter(mapping["matter"])))
        seen.setdefault(key, row_number)
        parsed.items.append(clean)
        parsed.rows.append(row_number)
    if errors:
        raise ImportRejected(errors)
    if not parsed.items:
        raise _file_error("表格中没有清单事项：表头行下方应每行填写一个事项。")
    for position, item in enumerate(parsed.items, start=1):
        item["position"] = position  # the sheet's row order is the list's order
    return parsed


# --- writing ---------------------------------------------------------------------------------

def annex_values(kind: str, item: Any) -> list[Any]:
    """One item as the annex row's cells (measures by their Chinese names)."""
    return ["、".join(item.measure_names) if field_name == "measures" else getattr(item, field_name)
            for field_name, _ in COLUMNS[kind]]


WIDTHS: dict[str, int] = {
    "position": 6, "matter": 28, "matter_code": 22, "circumstances": 44, "legal_basis": 44, "measures": 16,
    "remarks": 18,
}


def write_sheet(kind: str, agency_name: str, items: list[Any], *, version_label: str = "",
                published_at: datetime | None = None) -> bytes:
    """The list as an XLSX laid out like the annex: title, 单位 line, header row, one row per item, 说明.

    Only the title and 单位 rows are merged, so the file can be imported again unchanged.
    """
    columns = COLUMNS[kind]
    wb = Workbook()
    ws = wb.active
    ws.title = KIND_TITLES[kind][-4:]
    last = get_column_letter(len(columns))
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")

    ws.append([KIND_TITLES[kind]])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(name="黑体", size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 32
    unit = f"单位：{agency_name}"
    if version_label:
        unit += f"　　{version_label}"
    if published_at is not None:
        from coord.timeutil import fmt_local

        unit += f"（{fmt_local(published_at, '%Y年%m月%d日')}发布）"
    ws.append([unit])
    ws.merge_cells(f"A2:{last}2")
    ws["A2"].font = Font(name="宋体", size=11)

    ws.append([header for _, header in columns])
    for cell in ws[3]:
        cell.font = Font(name="黑体", size=11, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
    # One named style for every body cell: far cheaper than setting font, border and alignment per cell.
    body = NamedStyle(name="annex_body", font=Font(name="宋体", size=10.5), border=border, alignment=wrap)
    code_body = NamedStyle(name="annex_code", font=Font(name="宋体", size=10.5), border=border, alignment=wrap,
                           number_format="@")  # text: keep leading zeros
    wb.add_named_style(body)
    wb.add_named_style(code_body)
    code_column = next(n for n, (f, _) in enumerate(columns, start=1) if f == "matter_code")
    for row_number, item in enumerate(items, start=4):
        ws.append(annex_values(kind, item))
        for column in range(1, len(columns) + 1):  # by index: ws.max_row is a scan of every cell
            ws.cell(row_number, column).style = "annex_code" if column == code_column else "annex_body"
    ws.append([])
    ws.append([NOTES[kind]])
    ws.cell(len(items) + 5, 1).font = Font(name="宋体", size=9)

    for index, (field_name, _) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = WIDTHS[field_name]
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
