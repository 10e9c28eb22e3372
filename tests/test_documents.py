"""Official PDFs (coord.documents), checked with poppler-utils: pdffonts, pdftotext, pdfinfo."""
from __future__ import annotations

import hashlib
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from coord.documents import DocumentError, html_to_pdf, render_html, render_pdf, samples
from tests import pdf_tools

MM = 72 / 25.4  # points per millimetre


@pytest.fixture(scope="module")
def minutes_pdf() -> bytes:
    """A four-page minutes PDF (eight question/answer turns)."""
    return render_pdf("minutes.html", samples.minutes_context(turn_count=8), use_cache=False)


def test_every_font_is_embedded_as_a_subset(minutes_pdf):
    for data in (minutes_pdf, render_pdf("notice.html", samples.notice_context(), use_cache=False)):
        fonts = pdf_tools.fonts(data)
        assert fonts, "no fonts in the PDF"
        for font in fonts:
            assert (font["emb"], font["sub"], font["uni"]) == ("yes", "yes", "yes"), font
            assert "+" in font["name"], f"subset fonts carry a tag prefix: {font}"
        names = {font["name"].split("+", 1)[1] for font in fonts}
        # The body is in the free 仿宋; rare name characters fall back to Noto Serif CJK SC.
        assert "FandolFang" in names
        assert "Noto-Serif-CJK-SC" in names


def test_chinese_text_comes_back_intact_including_rare_name_characters(minutes_pdf):
    text = pdf_tools.compact(pdf_tools.text(minutes_pdf))
    for expected in ["约谈笔录", "李堃", "王喆", "赵德堃（总经理）", "钱喆（食品安全管理员）",
                     "执法证号：50010621001", "重庆沙坪坝区磁器口食品有限公司", "2026年3月5日9时30分至11时00分",
                     "问：第1个问题", "答：自去年十一月起因仓库改造", "整改期限：2026年3月12日前",
                     "被约谈方签署《保证承诺书》"]:
        assert expected in text, expected


def test_page_count_and_footer_on_every_page(minutes_pdf):
    pages = pdf_tools.page_count(minutes_pdf)
    assert pages == 4
    for number in range(1, pages + 1):
        page = pdf_tools.compact(pdf_tools.text(minutes_pdf, number))
        assert f"第{number}页共{pages}页" in page
        for label in ("被约谈人签名：", "约谈人签名：", "记录人签名："):
            assert label in page, (number, label)


def test_confirmation_sentence_and_signature_block_on_the_last_page_only(minutes_pdf):
    pages = pdf_tools.page_count(minutes_pdf)
    for number in range(1, pages + 1):
        page = pdf_tools.compact(pdf_tools.text(minutes_pdf, number))
        has_confirmation = "以上笔录我已看过，与我说的一致" in page
        has_block = "记录人（签名）：" in page and "被约谈人（签名）：" in page
        assert has_confirmation == has_block == (number == pages), number


def test_refusal_to_sign_is_printed_in_the_signature_block():
    data = render_pdf("minutes.html", samples.minutes_context(turn_count=1, refused_to_sign="当事人以需请示公司总部为由拒绝签名"),
                      use_cache=False)
    text = pdf_tools.compact(pdf_tools.text(data))
    assert "被约谈人拒绝签名。说明：当事人以需请示公司总部为由拒绝签名" in text
    assert "被约谈人（签名）：" not in text


def test_page_follows_gbt_9704(minutes_pdf):
    info = pdf_tools.info(minutes_pdf)
    assert "(A4)" in info["Page size"]
    words = pdf_tools.words(minutes_pdf, 1)
    title = words[0]
    assert title["text"] == "约谈笔录"
    assert title["y1"] - title["y0"] == pytest.approx(22, abs=0.1)  # 22 pt title
    body = [w for w in words if w["text"].startswith("约谈机关：")][0]
    assert body["y1"] - body["y0"] == pytest.approx(16, abs=0.1)  # 16 pt body
    assert body["x0"] == pytest.approx(28 * MM, abs=0.5)  # 28 mm left margin
    assert len(body["text"]) == 28  # 28 characters a full line
    assert body["x1"] <= (28 + 156) * MM + 0.5  # inside the 156 mm text block
    # The title's line starts at the 37 mm top margin (22 pt glyphs in a 1.4 line: 4.4 pt half-leading).
    assert title["y0"] - 4.4 == pytest.approx(37 * MM, abs=1)
    # 22 lines in the 225 mm text block.
    lines = sorted({round(w["y0"], 1) for w in words if w["x0"] < 80 and w["y1"] - w["y0"] == pytest.approx(16, abs=0.1)})
    pitch = min(b - a for a, b in zip(lines, lines[1:], strict=False))
    assert 22 * pitch <= 225 * MM
    assert 23 * pitch > 225 * MM


def test_full_lines_hold_28_characters():
    data = render_pdf("minutes.html", samples.minutes_context(turn_count=0, statement="测" * 84), use_cache=False)
    lines = [line.strip() for line in pdf_tools.text(data, 1).splitlines() if line.strip().startswith("测")]
    assert [len(line) for line in lines] == [26, 28, 28, 2]  # first line indented by two characters


def test_notice_says_who_summons_whom_when_where_why_and_what_to_bring():
    data = render_pdf("notice.html", samples.notice_context(), use_cache=False)
    text = pdf_tools.compact(pdf_tools.text(data))
    for expected in ["约谈通知书", "重庆沙坪坝区磁器口食品有限公司：",
                     "重庆市沙坪坝区市场监督管理局会同重庆市沙坪坝区城市管理局决定对你单位进行联合约谈",
                     "约谈时间：2026年3月5日9时30分至11时00分", "约谈地点：重庆市沙坪坝区市场监督管理局三楼会议室",
                     "约谈事由：食品贮存不规范", "1.营业执照副本复印件", "联系人：李堃", "2026年2月27日"]:
        assert expected in text, expected
    assert pdf_tools.page_count(data) == 1
    assert "—1—" in text  # GB/T 9704 page number


def test_undertaking_lists_each_rectification_with_its_deadline():
    data = render_pdf("undertaking.html", samples.undertaking_context(), use_cache=False)
    text = pdf_tools.compact(pdf_tools.text(data))
    assert "保证承诺书" in text
    assert "1.清理门前占道堆放的货物，保持人行道畅通（2026年3月12日前完成）" in text
    assert "2.按照食品安全标准规范贮存食品，建立进货查验记录（2026年3月31日前完成）" in text
    assert "承诺单位（盖章）" in text


@pytest.mark.parametrize("template", ["minutes.html", "notice.html", "undertaking.html"])
def test_documents_declare_simplified_chinese(template):
    context = {"minutes.html": samples.minutes_context, "notice.html": samples.notice_context,
               "undertaking.html": samples.undertaking_context}[template]()
    assert '<html lang="zh-CN">' in render_html(template, context)


def test_a_character_no_font_covers_fails_with_a_chinese_message():
    # U+30000 (CJK Extension G) is in no installed font: WeasyPrint would draw a box.
    with pytest.raises(DocumentError) as caught:
        render_pdf("minutes.html", samples.minutes_context(turn_count=1, place="会议室\U00030000"), use_cache=False)
    assert "U+30000" in caught.value.message
    assert "没有可用的字体" in caught.value.message
    assert caught.value.status == 422


def test_a_missing_glyph_is_caught_even_when_logging_is_silenced():
    import logging

    logger = logging.getLogger("weasyprint")
    logger.disabled = True  # what logging.config.fileConfig (Alembic's env.py) does to existing loggers
    logger.setLevel(logging.ERROR)
    try:
        with pytest.raises(DocumentError):
            render_pdf("minutes.html", samples.minutes_context(turn_count=0, place="\U00030000"), use_cache=False)
    finally:
        logger.disabled = False
        logger.setLevel(logging.NOTSET)


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _CountingHandler.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args):
        pass


@pytest.fixture
def counting_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _CountingHandler.hits = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize("snippet", [
    '<img src="{url}/logo.png">',
    '<link rel="stylesheet" href="{url}/style.css">',
    '<style>@import url("{url}/import.css");</style>',
    '<style>@font-face {{ font-family: X; src: url("{url}/font.otf"); }} body {{ font-family: X }}</style>',
    '<img src="file:///etc/passwd">',
])
def test_the_renderer_fetches_nothing_from_outside(counting_server, snippet):
    html = f'<html lang="zh-CN"><body>{snippet.format(url=counting_server)}<p>约谈</p></body></html>'
    with pytest.raises(DocumentError) as caught:
        html_to_pdf(html)
    assert "不允许的资源" in caught.value.message
    assert _CountingHandler.hits == []


def test_our_own_static_files_may_be_used():
    html = '<html lang="zh-CN"><head><link rel="stylesheet" href="_gbt9704.css"></head><body><p>约谈</p></body></html>'
    assert pdf_tools.compact(pdf_tools.text(html_to_pdf(html))) == "约谈—1—"


def test_identical_input_gives_identical_bytes_even_in_another_process(minutes_pdf):
    again = render_pdf("minutes.html", samples.minutes_context(turn_count=8), use_cache=False)
    assert again == minutes_pdf
    code = (
        "import hashlib,sys\n"
        "from coord.documents import render_pdf, samples\n"
        "data = render_pdf('minutes.html', samples.minutes_context(turn_count=8), use_cache=False)\n"
        "print(hashlib.sha256(data).hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == hashlib.sha256(minutes_pdf).hexdigest()
    changed = render_pdf("minutes.html", samples.minutes_context(turn_count=8, place="另一会议室"), use_cache=False)
    assert changed != minutes_pdf
    # The document's dates are the given ones, not the time of rendering.
    assert "2026" in pdf_tools.info(minutes_pdf)["CreationDate"]


def test_rendered_files_are_cached_on_disk_by_hash_of_their_input(app, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "cache")
    context = samples.minutes_context(turn_count=1)
    first = render_pdf("minutes.html", context)
    cached = list((tmp_path / "cache").rglob("*.pdf"))
    assert len(cached) == 1 and cached[0].read_bytes() == first
    # The second call is served from the file (proved by marking it), not rendered again.
    cached[0].write_bytes(first + b"%cached")
    assert render_pdf("minutes.html", context) == first + b"%cached"
    # Another variant or other content is another file.
    render_pdf("minutes.html", context, pdfa=True)
    render_pdf("minutes.html", {**context, "place": "第二会议室"})
    assert len(list((tmp_path / "cache").rglob("*.pdf"))) == 3


def test_archival_variant_is_pdf_a_2b(minutes_pdf):
    data = render_pdf("minutes.html", samples.minutes_context(turn_count=8), pdfa=True, use_cache=False)
    xmp = pdf_tools.metadata(data)
    assert 'pdfaid:part="2"' in xmp or "<pdfaid:part>2</pdfaid:part>" in xmp
    assert 'pdfaid:conformance="B"' in xmp or "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert b"<</N 3/Filter /FlateDecode" in data  # the sRGB ICC profile of the output intent
    assert pdf_tools.page_count(data) == pdf_tools.page_count(minutes_pdf)
    assert data == render_pdf("minutes.html", samples.minutes_context(turn_count=8), pdfa=True, use_cache=False)


def test_two_page_minutes_stay_small():
    data = render_pdf("minutes.html", samples.minutes_context(turn_count=1), use_cache=False)
    assert pdf_tools.page_count(data) == 2
    assert len(data) < 500 * 1024
