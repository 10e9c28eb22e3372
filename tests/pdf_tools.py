"""Read PDFs with poppler-utils (pdfinfo, pdffonts, pdftotext): tools no one here wrote."""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path


def _run(tool: str, data: bytes, *args: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(data)
        out = subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
                             capture_output=True, text=True, check=True)
    return out.stdout


def info(data: bytes) -> dict[str, str]:
    return dict(line.split(":", 1) for line in _run("pdfinfo", data).splitlines() if ":" in line)


def page_count(data: bytes) -> int:
    return int(info(data)["Pages"].strip())


def fonts(data: bytes) -> list[dict[str, str]]:
    """pdffonts rows: name, type, emb, sub, uni."""
    rows = []
    for line in _run("pdffonts", data).splitlines()[2:]:
        parts = line.split()
        # name, type words..., encoding, emb, sub, uni, object, generation
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def text(data: bytes, page: int | None = None, *, layout: bool = False) -> str:
    args = ["-f", str(page), "-l", str(page)] if page else []
    return _run("pdftotext", data, *args, *(["-layout"] if layout else []))


def compact(value: str) -> str:
    """Text without any whitespace: pdftotext breaks lines where the layout does."""
    return re.sub(r"\s+", "", value)


def words(data: bytes, page: int = 1) -> list[dict]:
    """Words with their boxes in points (pdftotext -bbox)."""
    html = _run("pdftotext", data, "-bbox", "-f", str(page), "-l", str(page))
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [
        {"x0": float(a), "y0": float(b), "x1": float(c), "y1": float(d), "text": t}
        for a, b, c, d, t in re.findall(pattern, html)
    ]


def metadata(data: bytes) -> str:
    """The XMP metadata stream."""
    return _run("pdfinfo", data, "-meta")


def images(data: bytes) -> list[dict[str, str]]:
    """pdfimages -list rows: page, type (image | smask), width, height, color, ..."""
    rows = []
    lines = _run("pdfimages", data, "-list").splitlines()
    header = lines[0].split()
    for line in lines[2:]:
        rows.append(dict(zip(header, line.split(), strict=False)))
    return rows


def extract_images(data: bytes) -> list[bytes]:
    """Every image of the PDF as PNG bytes (pdfimages -png), in page order."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(data)
        subprocess.run(["pdfimages", "-png", str(path), str(Path(tmp) / "img")], check=True, capture_output=True)
        return [p.read_bytes() for p in sorted(Path(tmp).glob("img-*.png"))]
