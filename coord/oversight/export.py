"""The assessment table as XLSX (openpyxl), one row per agency with every indicator."""
from __future__ import annotations

import io

from coord.lang import _
from coord.oversight.assessment import Assessment, Row


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def assessment_xlsx(result: Assessment, rows: list[Row]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    specs = result.rules["indicators"]
    wb = Workbook()
    ws = wb.active
    ws.title = _("考核结果")
    version = _("第 %(v)s 版规则", v=result.version) if result.version else _("默认规则")
    ws.append([_("柔性执法工作考核（%(period)s，%(version)s，总分 %(total)s）", period=result.period.label(),
                 version=version, total=format(result.rules["total"], "g"))])
    ws["A1"].font = Font(bold=True, size=14)
    header = [_("名次"), _("单位"), _("得分")]
    for spec in specs:
        label = _(spec["label"])  # a label of the catalogue in the reader's language; the office's own as typed
        header += [_("%(label)s（%(weight)s 分）", label=label, weight=format(spec["weight"], "g")),
                   _("%(label)s 得分", label=label)]
    ws.append(header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
    for row in rows:
        cells: list = [row.rank, row.agency.name, row.score]
        for ind in row.indicators:
            detail = _fmt(ind.value)
            if ind.numerator is not None and ind.denominator is not None:
                detail += f"（{ind.numerator}/{ind.denominator}）"
            cells += [detail, ind.score]
        ws.append(cells)
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 34
    ws.freeze_panes = "C3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
