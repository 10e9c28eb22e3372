"""The yardstick for benchmarks/pages.py: a bare Flask app rendering a 25-row Jinja table.

What any Flask page costs at least (routing, a template with a loop, escaping, the response): coord's
pages are measured against it on the same machine, in the same run, with the same server and load tool.
"""
from __future__ import annotations

from flask import Flask, render_template
from jinja2 import DictLoader

app = Flask(__name__)

ROWS = [{"id": i, "number": f"XB{i:07d}", "party": f"重庆某某商贸有限公司第{i}分公司", "matter": "涉嫌无照经营",
         "state": "待签收", "due": "2026-12-08"} for i in range(1, 26)]

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>线索移交</title></head>
<body><nav><a href="/">首页</a> <a href="/leads/">线索移交</a></nav>
<main><h1>线索移交</h1>
<table><thead><tr><th>编号</th><th>当事人</th><th>事项</th><th>状态</th><th>期限</th></tr></thead>
<tbody>{% for row in rows %}
<tr><td><a href="/leads/{{ row.id }}">{{ row.number }}</a></td><td>{{ row.party }}</td><td>{{ row.matter }}</td>
<td>{{ row.state }}</td><td>{{ row.due }}</td></tr>{% endfor %}
</tbody></table></main></body></html>"""


# A template by name, as any app's templates/ file: compiled once and cached by Jinja's loader.
# (render_template_string would compile it again on every request, which no real page pays: the
# yardstick was then about three times slower than a bare Flask page.)
app.jinja_loader = DictLoader({"table.html": PAGE})


@app.get("/")
def table():
    return render_template("table.html", rows=ROWS)
