"""The English walk (#13 point 4): every page a user reaches, in English, shows no Chinese but the data.

"The data" is what users entered or the demo seeded: every text value stored in the database. The walk
strips those values from a page's visible text (and its titles, placeholders, labels) and reports each
run of Han characters that is left: that is interface text without an English translation.
"""
from __future__ import annotations

import json
import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import sqlalchemy as sa

from coord.extensions import db

HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff][\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef0-9A-Za-z·—“”‘’…（）]*")
# A language's own name in the language switch is Chinese on purpose.
ALLOWED = {"中文", "简体中文"}
SKIP = ("/logout", "/static/", "/dev/outbox/", "/cal/feed/")
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
PER_PATTERN = 2  # pages walked per URL shape (/leads/<n> is walked twice, not once per lead)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in ("script", "style", "textarea"):
            self._skip += 1
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        for name in ATTRIBUTES:
            if values.get(name):
                self.parts.append(values[name])
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "textarea") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def stored_texts() -> list[str]:
    """Every text value in the database with a Chinese character, longest first (so a name inside a
    longer title is stripped with the title)."""
    values: set[str] = set()
    inspector = sa.inspect(db.engine)
    for table in inspector.get_table_names():
        columns = [c["name"] for c in inspector.get_columns(table)
                   if isinstance(c["type"], (sa.String, sa.Text)) or "JSON" in str(c["type"]).upper()]
        for column in columns:
            rows = db.session.execute(sa.text(f'SELECT "{column}" FROM "{table}"')).scalars()
            for value in rows:
                for text in leaves(value):
                    for piece in text.split("\n"):
                        piece = piece.strip()
                        if piece and HAN.search(piece):
                            values.add(piece)
    return sorted(values, key=len, reverse=True)


def leaves(value) -> list[str]:
    """The texts of a stored value: a JSON document (a string in SQLite, parsed in PostgreSQL) by its
    string leaves, whose Chinese SQLite keeps as \\u escapes."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in leaves(v)]
    if isinstance(value, list):
        return [t for v in value for t in leaves(v)]
    return [value] if isinstance(value, str) else []


def chinese_left(html: str, data: list[str]) -> tuple[list[str], list[str]]:
    """(Han runs left after the data is stripped, links on the page)."""
    parser = _Text()
    parser.feed(html)
    text = "\n".join(parser.parts)
    for value in data:
        if value in text:
            text = text.replace(value, " ")
    return [m for m in HAN.findall(text) if m not in ALLOWED], parser.links


def _under(path: str, prefix: str) -> bool:
    """Is the path at or below the prefix, by whole segments ("/me" holds /me/notifications, not /measures)?"""
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/") or prefix == ""


def _shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def walk(client, starts: list[str], *, within: tuple[str, ...] = ("/",), limit: int = 150) -> dict[str, list[str]]:
    """Follow same-site GET links from `starts` (paths under `within`), in English; return each page's
    leftover Chinese. The starts are always walked. The client must be logged in (or not, for public pages)."""
    client.set_cookie("lang", "en")
    data = stored_texts()
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    queue = deque(starts)
    found: dict[str, list[str]] = {}
    while queue and len(seen) < limit:
        url = queue.popleft()
        parts = urlsplit(url)
        if parts.netloc and parts.netloc not in ("localhost", ""):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path in seen or any(parts.path.startswith(s) for s in SKIP):
            continue
        if url not in starts and not any(_under(parts.path, w) for w in within):
            continue
        shape = _shape(parts.path)
        if shapes.get(shape, 0) >= PER_PATTERN:
            continue
        shapes[shape] = shapes.get(shape, 0) + 1
        seen.add(path)
        response = client.get(path)
        if response.status_code >= 500:  # a page that breaks in English is not a page without Chinese
            found[path] = [f"HTTP {response.status_code}"]
            continue
        if response.status_code != 200 or not response.content_type.startswith("text/html"):
            continue
        left, links = chinese_left(response.get_data(as_text=True), data)
        if left:
            found[path] = sorted(set(left))
        for link in links:
            if not link.startswith(("#", "mailto:", "tel:", "javascript:")):
                queue.append(urljoin(path, link.split("#")[0]))
    return found
