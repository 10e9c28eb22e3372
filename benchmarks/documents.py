"""Benchmark: a 2-page minutes PDF (约谈笔录).

Targets (issue 5): median < 0.5 s in a warm process, < 2 s for the first PDF in a fresh process
(imports included), < 500 KB. Run: `.venv/bin/python -m benchmarks.documents`. Exits 1 on a miss.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import machine

WARM_RUNS = 15
COLD_RUNS = 5
ROOT = Path(__file__).resolve().parent.parent

COLD_CODE = """
import time
started = time.perf_counter()
from coord.documents import render_pdf, samples
data = render_pdf("minutes.html", samples.minutes_context(turn_count=1), use_cache=False)
print(time.perf_counter() - started, len(data))
"""


def machine_line() -> str:
    import weasyprint

    return machine(f"WeasyPrint {weasyprint.__version__}")


def page_count(data: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
        tmp.write(data)
        tmp.flush()
        out = subprocess.run(["pdfinfo", tmp.name], capture_output=True, text=True, check=True).stdout
    return int(next(line for line in out.splitlines() if line.startswith("Pages:")).split()[1])


def cold_runs() -> tuple[list[float], list[float]]:
    """First PDF in a fresh process: (from the first import, whole process wall time)."""
    inside, wall = [], []
    for _ in range(COLD_RUNS):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", COLD_CODE], capture_output=True, text=True, check=True, cwd=ROOT)
        wall.append(time.perf_counter() - started)
        inside.append(float(out.stdout.split()[0]))
    return inside, wall


def warm_runs() -> tuple[list[float], bytes]:
    from coord.documents import render_pdf, samples

    context = samples.minutes_context(turn_count=1)
    data = render_pdf("minutes.html", context, use_cache=False)  # warm-up: fonts loaded, modules imported
    times = []
    for _ in range(WARM_RUNS):
        started = time.perf_counter()
        data = render_pdf("minutes.html", context, use_cache=False)
        times.append(time.perf_counter() - started)
    return times, data


def cached_runs() -> list[float]:
    from coord.documents import html_to_pdf, render_html, samples

    html = render_html("minutes.html", samples.minutes_context(turn_count=1))
    with tempfile.TemporaryDirectory() as cache:
        html_to_pdf(html, cache_dir=Path(cache))
        times = []
        for _ in range(WARM_RUNS):
            started = time.perf_counter()
            html_to_pdf(html, cache_dir=Path(cache))
            times.append(time.perf_counter() - started)
    return times


def main() -> int:
    print(f"machine: {machine_line()}")
    cold_inside, cold_wall = cold_runs()
    warm, data = warm_runs()
    cached = cached_runs()
    pages, size = page_count(data), len(data)
    results = [
        ("first PDF, fresh process (imports + render)", statistics.median(cold_inside), 2.0),
        ("fresh process, whole wall time", statistics.median(cold_wall), None),
        ("warm process, render", statistics.median(warm), 0.5),
        ("warm process, cache hit", statistics.median(cached), None),
    ]
    ok = pages == 2 and size < 500 * 1024
    print(f"document: minutes.html, {pages} pages, {size / 1024:.0f} KB (target 2 pages, < 500 KB)")
    for label, value, limit in results:
        verdict = "" if limit is None else (" ok" if value < limit else " TOO SLOW")
        target = "" if limit is None else f" (target < {limit} s)"
        print(f"{label:45s} median {value:.3f} s{target}{verdict}")
        ok = ok and (limit is None or value < limit)
    print(f"runs: {COLD_RUNS} fresh processes, {WARM_RUNS} warm renders, {WARM_RUNS} cache hits")
    print("result:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
