"""What a list item must contain and what deserves a warning; shared by the form, the import and the API.

Errors refuse the item (nothing saved); warnings are shown beside the item and never refuse it
(matter codes differ between provinces; the office decides at review).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from coord.credit_code import credit_code_error, normalize_credit_code
from coord.inputs import clean_text as strip_controls
from coord.lists.models import MEASURES

# The annex columns, in order: (field, header in annex 3 / annex 4).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "positive": [
        ("position", "序号"), ("matter", "事项名称"), ("matter_code", "事项编码"), ("circumstances", "情形"),
        ("legal_basis", "依据"), ("measures", "柔性执法方式"), ("remarks", "备注"),
    ],
    "negative": [
        ("position", "序号"), ("matter", "事项"), ("matter_code", "事项编码"), ("circumstances", "情形"),
        ("legal_basis", "依据"), ("remarks", "备注"),
    ],
}
REQUIRED = {"matter", "circumstances", "legal_basis", "measures"}
LIMITS = {"matter": 300, "matter_code": 40, "circumstances": 4000, "legal_basis": 4000, "remarks": 2000}

# Names people write in their sheets for each measure (policy §四 headings and short forms).
MEASURE_ALIASES: dict[str, tuple[str, ...]] = {
    "persuasion": ("劝导", "行政劝导", "行政劝导预防", "劝导预防", "劝导示范"),
    "notice_advice": ("告知建议", "行政告知建议", "告知", "提示告知"),
    "interview": ("约谈告诫", "行政约谈告诫", "约谈", "约谈警示"),
    "mediation": ("调解纠错", "行政调解纠错", "调解"),
    "follow_up": ("回访", "行政回访", "行政回访提升", "跟踪回访", "回访提升"),
}
_MEASURE_LOOKUP = {alias: code for code, aliases in MEASURE_ALIASES.items() for alias in (code, *aliases)}
_MEASURE_SPLIT = re.compile(r"[、，,；;/／|\s]+")
_NUMBERING = re.compile(r"^(?:\d+[\.．、]|[（(]\d+[)）]|[①②③④⑤])")

# Policy §五(三): fields where enforcement is to be strengthened, not softened; §三 last paragraph:
# offences exploiting emergencies. A matter in these fields is flagged "不适用柔性执法".
EXCLUDED_FIELDS: dict[str, tuple[str, ...]] = {
    "国家安全": ("国家安全",),
    "公共安全": ("公共安全",),
    "食品药品安全": ("食品", "药品", "疫苗", "医疗器械"),
    "假冒伪劣": ("假冒", "伪劣", "以假充真", "以次充好"),
    "知识产权": ("知识产权", "商标", "专利", "著作权", "盗版"),
    "安全生产": ("安全生产", "危险化学品", "烟花爆竹", "特种设备"),
    "生态环境": ("生态环境", "生态破坏"),
    "污染防治": ("污染", "排污", "危险废物"),
    "人身健康和生命财产安全": ("人身健康", "生命健康", "生命安全", "生命财产", "人身安全"),
    "利用突发事件实施的违法行为": ("自然灾害", "事故灾难", "公共卫生事件", "社会安全事件", "突发事件"),
}
NOT_ELIGIBLE = "不适用柔性执法"

# A negative item's 情形 written on one line: "1.一般：…；2.较重：…" → one level a line.
_LEVEL_MARK = re.compile(r"(?:(?<=^)|(?<=[；;。\s]))(?=(?:\d+[\.．、]|[（(][一二三四五六七八九十\d]+[)）]|[①②③④⑤⑥⑦⑧⑨⑩]|"
                         r"(?:轻微|一般|较轻|较重|严重|特别严重)(?:违法)?(?:情形)?[：:]))")


@dataclass
class FieldError:
    field: str
    message: str


def header_of(kind: str, field: str) -> str:
    return dict(COLUMNS[kind])[field]


def clean_text(value: Any) -> str:
    """A cell or form value as tidy text: no CR, no trailing blanks, integral floats without '.0', no
    control characters (a sheet may carry them, e.g. as `_x0000_` escapes)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = strip_controls(str(value)).replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ")
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


def parse_measures(value: Any) -> tuple[list[str], list[str]]:
    """(measure codes in policy order, names not understood). Accepts a list or a text like '劝导、回访'."""
    tokens = value if isinstance(value, list | tuple) else _MEASURE_SPLIT.split(clean_text(value))
    found: set[str] = set()
    unknown: list[str] = []
    for raw in tokens:
        token = _NUMBERING.sub("", clean_text(raw)).strip()
        if not token:
            continue
        code = _MEASURE_LOOKUP.get(token) or _MEASURE_LOOKUP.get(token.lower())
        if code:
            found.add(code)
        else:
            unknown.append(token)
    return [m for m in MEASURES if m in found], unknown


def split_levels(text: str) -> list[str]:
    """The graded levels of a negative item's 情形: lines, or numbered/labelled parts of one line."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) != 1:
        return lines
    parts = [p.strip().rstrip("；;") for p in _LEVEL_MARK.split(lines[0]) if p.strip()]
    return parts if len(parts) >= 2 else lines


def parse_position(value: Any) -> tuple[int | None, str | None]:
    if value is None or clean_text(value) == "":
        return None, None
    if isinstance(value, bool):
        return None, "序号应为正整数。"
    if isinstance(value, int | float):
        number = value
    else:
        text = clean_text(value).rstrip(".．、")
        if not text.isdigit():
            return None, f"序号“{clean_text(value)}”不是正整数。"
        number = int(text)
    if isinstance(number, float) and not number.is_integer() or number < 1:
        return None, f"序号“{clean_text(value)}”不是正整数。"
    return int(number), None


def validate_item(kind: str, data: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Clean one item's fields; errors name the field. `data` may come from a form, a sheet or JSON."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    clean["position"], position_error = parse_position(data.get("position"))
    if position_error:
        errors.append(FieldError("position", position_error))
    for field in ("matter", "matter_code", "circumstances", "legal_basis", "remarks"):
        text = clean_text(data.get(field))
        if field == "matter_code":
            text = "".join(text.split()).upper()
        if field in REQUIRED and not text:
            errors.append(FieldError(field, f"“{header_of(kind, field)}”为必填项。"))
        elif len(text) > LIMITS[field]:
            message = f"“{header_of(kind, field)}”不能超过 {LIMITS[field]} 个字符（当前 {len(text)}）。"
            errors.append(FieldError(field, message))
        clean[field] = text
    if kind == "negative" and clean["circumstances"]:
        clean["circumstances"] = "\n".join(split_levels(clean["circumstances"]))
    clean["measures"] = ""
    if kind == "positive":
        codes, unknown = parse_measures(data.get("measures"))
        if unknown:
            allowed = "、".join(MEASURES.values())
            message = f"未知的柔性执法方式：{'、'.join(unknown)}。应为以下一种或多种：{allowed}。"
            errors.append(FieldError("measures", message))
        elif not codes:
            errors.append(FieldError("measures", "“柔性执法方式”为必填项：请选择至少一种柔性执法方式。"))
        clean["measures"] = ",".join(codes)
    return clean, errors


# --- warnings (shown, never refusing) ---------------------------------------------------------

def matter_code_warning(code: str, agency_credit_code: str = "") -> str | None:
    """National power-list format: 12-character basic code, or 31/33-character implementation code
    = the implementing agency's 统一社会信用代码 (18) + level (1) + basic code (12) [+ item (2)]."""
    value = "".join((code or "").split()).upper()
    if not value:
        return "未填写事项编码：应与渝快办公布的行政权力清单中的编码一致。"
    if not (value.isascii() and value.isalnum()):
        return "事项编码只应包含数字和大写字母。"
    if len(value) == 12:
        return None
    if len(value) not in (31, 33):
        return f"事项编码应为 12 位基本编码或 31/33 位实施编码，当前为 {len(value)} 位。"
    credit = value[:18]
    error = credit_code_error(credit)
    if error:
        return f"实施编码前 18 位应为实施机构的统一社会信用代码：{error}"
    own = normalize_credit_code(agency_credit_code)
    if not own:
        return "本单位未登记统一社会信用代码，无法核对实施编码中的机构代码。"
    if credit != own:
        return f"实施编码中的统一社会信用代码 {credit} 与本单位的 {own} 不一致。"
    return None


def excluded_fields(*texts: str) -> list[tuple[str, str]]:
    """(field, keyword found) for each excluded field the texts touch."""
    joined = "\n".join(t for t in texts if t)
    hits = []
    for field, keywords in EXCLUDED_FIELDS.items():
        for keyword in keywords:
            if keyword in joined:
                hits.append((field, keyword))
                break
    return hits


def excluded_reason(field: str, keyword: str) -> str:
    return f"涉及“{field}”领域（“{keyword}”），依政策第五部分第（三）项{NOT_ELIGIBLE}。"


def item_warnings(kind: str, content: dict[str, Any], agency_credit_code: str = "") -> list[str]:
    warnings = []
    code_warning = matter_code_warning(content.get("matter_code", ""), agency_credit_code)
    if code_warning:
        warnings.append(code_warning)
    if kind == "positive":
        for field, keyword in excluded_fields(content.get("matter", ""), content.get("circumstances", "")):
            warnings.append(excluded_reason(field, keyword))
    if kind == "negative" and len(split_levels(content.get("circumstances", ""))) < 2:
        warnings.append("情形未划分等级：请逐行写明各等级（如 一般、较重、严重）及其具体情形。")
    return warnings
