"""Benchmark: reading and writing list sheets (annex layout) of the size limit's order.

Run: .venv/bin/python -m benchmarks.lists_import
Prints medians of repeated runs and the machine. No database needed: it measures the XLSX
parse + validation (coord.lists.sheets.read_sheet) and the annex-layout export (write_sheet).
"""
from __future__ import annotations

import io
import statistics
import time
from types import SimpleNamespace

from openpyxl import Workbook

from benchmarks._common import machine
from coord.lists.models import MEASURES
from coord.lists.sheets import Limits, read_sheet, write_sheet

HEADER = ["序号", "事项名称", "事项编码", "情形", "依据", "柔性执法方式", "备注"]


def _sheet(rows: int) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["柔性执法事项正面清单"])
    ws.append(["单位：区市场监管局"])
    ws.append(HEADER)
    for n in range(1, rows + 1):
        ws.append([n, f"未按规定公示营业执照（情形{n}）", f"{330217000000 + n:012d}",
                   "首次被发现未将营业执照置于醒目位置，未造成危害后果，并在责令期限内改正的。" * 2,
                   "《中华人民共和国市场主体登记管理条例》第三十六条、第五十条。", "劝导、告知建议", ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"machine: {machine()}")
    for rows in (100, 2000):
        data = _sheet(rows)
        parsed = read_sheet(data, "positive", Limits(max_rows=rows))
        items = [SimpleNamespace(**i, measure_names=[MEASURES[m] for m in i["measures"].split(",") if m])
                 for i in parsed.items]
        read = _median(lambda d=data, n=rows: read_sheet(d, "positive", Limits(max_rows=n)), 5)
        write = _median(lambda it=items: write_sheet("positive", "区市场监管局", it), 5)
        print(f"{rows:>5} rows ({len(data) / 1024:.0f} KiB): import (parse + validate) median {read * 1000:.0f} ms, "
              f"export median {write * 1000:.0f} ms")


if __name__ == "__main__":
    main()
