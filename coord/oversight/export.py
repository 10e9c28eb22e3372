"""The assessment table as XLSX (openpyxl), one row per agency with every indicator."""
from __future__ import annotations

import io

from coord.oversight.assessment import Assessment, Row


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def assessment_xlsx(result: Assessment, rows: list[Row]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    specs = result.rules["indicators"]
    wb = Workbook()
    ws = wb.active
    ws.title = "考核结果"
    version = f"第 {result.version} 版规则" if result.version else "默认规则"
    ws.append([f"柔性执法工作考核（{result.period.label()}，{version}，总分 {result.rules['total']:g}）"])
    ws["A1"].font = Font(bold=True, size=14)
    header = ["名次", "单位", "得分"]
    for spec in specs:
        header += [f"{spec['label']}（{spec['weight']:g} 分）", f"{spec['label']} 得分"]
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
