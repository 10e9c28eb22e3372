"""Reading 《国务院办公厅关于YYYY年部分节假日安排的通知》 as pasted by the office. Pure functions.

The text may come from gov.cn, a news reprint or a PDF: full-width or half-width punctuation,
with or without weekday and lunar notes, line breaks anywhere (even inside a date), page numbers
("— 2 —") between lines, the preamble and the closing lines included. What it yields is every
day off the notice gives (weekends inside its ranges included) and its make-up working days.

It refuses, with the line it stopped at, anything it cannot read completely: a sentence with a
date it cannot classify, a weekday note that does not match the date (a wrong year), a range
whose length differs from the "共N天" it states, a day named both off and at work, a festival
missing. A refusal is better than a calendar that is silently wrong.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

FESTIVALS = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
_NAME = "(?:" + "|".join(FESTIVALS) + ")"
# A section header: "七、国庆节：", "六、国庆节、中秋节：", or just "春节：" (list-style reprints).
_HEADER = re.compile(rf"(?P<names>{_NAME}(?:(?:、|和|与|及){_NAME})*):")
_TITLE_YEAR = re.compile(r"关于(\d{4})年部分节假日安排的通知")
_BODY_YEAR = re.compile(r"现将(\d{4})年(?:的)?元旦")
_DATE = re.compile(r"(?:(?P<y>\d{4})年)?(?:(?P<m>\d{1,2})月)?(?P<d>\d{1,2})日(?:\((?P<note>[^()]*)\))?")
_COUNT = re.compile(r"(?:共|放假|休息)(\d{1,2})天")
_WEEKDAY = re.compile(r"(?:周|星期|礼拜)([一二三四五六日天])")
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_RANGE = {"至", "到", "~", "-", "—", "–"}
_LIST = {"", "、", "和", "及", "与"}
_OFF_WORDS = ("放假", "补休", "休息", "调休", "连休", "休假")
# Lines that are page furniture of a PDF ("— 2 —", "-3-", "第 2 页 共 3 页"), not text.
_PAGE_LINE = re.compile(r"^\s*(?:[-—－–]+\s*\d+\s*[-—－–]+|第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?)\s*$")
# Reprints in traditional characters: the few characters the notices' key words use.
_TRADITIONAL = str.maketrans({
    "節": "节", "勞": "劳", "動": "动", "慶": "庆", "調": "调", "週": "周", "曆": "历", "歷": "历", "臘": "腊",
    "國": "国", "務": "务", "辦": "办", "廳": "厅", "關": "关", "於": "于", "與": "与", "連": "连", "補": "补",
    "農": "农", "勵": "励", "間": "间", "現": "现", "將": "将", "禮": "礼", "拜": "拜",
})
MAX_RANGE_DAYS = 16


class NoticeError(ValueError):
    """The text could not be read completely; nothing may be changed. `line` is 1-based."""

    def __init__(self, line: int, message: str):
        super().__init__(f"第 {line} 行：{message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Notice:
    year: int
    holidays: dict[date, str]  # every day off, weekends inside the ranges included -> festival
    workdays: dict[date, str]  # make-up working days -> the festival they belong to
    festivals: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:
        return f"国务院办公厅关于{self.year}年部分节假日安排的通知"

    def is_workday(self, day: date) -> bool:
        """What the notice makes of a day of its year: its arrangement, else the ordinary week."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


# --- text with line numbers ------------------------------------------------------------------

@dataclass
class _Text:
    """The notice as one string without whitespace (so a date broken over two lines reads whole),
    normalised to half-width, remembering the original line of every character."""

    chars: str
    lines: list[int]
    last_line: int

    def line_at(self, pos: int) -> int:
        if not self.lines:
            return 1
        return self.lines[min(max(pos, 0), len(self.lines) - 1)]


def _normalise(text: str) -> _Text:
    out: list[str] = []
    lines: list[int] = []
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, raw in enumerate(raw_lines, start=1):
        if _PAGE_LINE.match(raw):
            continue
        for ch in raw:
            if ch.isspace() or ch in "\u200b\ufeff\u00a0":
                continue
            for c in unicodedata.normalize("NFKC", ch).translate(_TRADITIONAL):
                if c.isspace():
                    continue
                out.append(c)
                lines.append(number)
    return _Text("".join(out), lines, len(raw_lines))


# --- parsing ---------------------------------------------------------------------------------

def parse(text: str, *, years: range | None = None) -> Notice:
    """The arrangement a notice gives; NoticeError with the line it stopped at otherwise.
    With `years`, a notice for a year outside it is refused before its days are read."""
    if not text or not text.strip():
        raise NoticeError(1, "请粘贴国务院办公厅关于部分节假日安排的通知全文。")
    t = _normalise(text)
    headers = list(_HEADER.finditer(t.chars))
    year, year_pos = _year(t, headers)
    if years is not None and year not in years:
        raise NoticeError(t.line_at(year_pos), f"只能导入 {years[0]} 年至 {years[-1]} 年的放假安排"
                                               f"（这是 {year} 年的通知）。")
    if not headers:
        raise NoticeError(t.line_at(year_pos), "未找到各节日的放假安排（如“一、元旦：1月1日放假……”）。")
    end = _closing(t.chars, headers[-1].end())
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    named: list[str] = []
    for i, header in enumerate(headers):
        name = header.group("names")
        body_end = headers[i + 1].start() if i + 1 < len(headers) else end
        off, work = _section(t, header.end(), body_end, year, name)
        if not off:
            raise NoticeError(t.line_at(header.start()), f"“{name}”一节中没有找到放假日期。")
        for day, pos in off.items():
            _claim(t, holidays, workdays, day, name, pos, off=True)
        for day, pos in work.items():
            _claim(t, holidays, workdays, day, name, pos, off=False)
        named.extend(re.split("、|和|与|及", name))
    missing = [f for f in FESTIVALS if f not in named]
    if missing:
        raise NoticeError(t.line_at(end - 1), f"通知不完整：没有找到{'、'.join(missing)}的放假安排，请粘贴通知全文。")
    return Notice(year, dict(sorted(holidays.items())), dict(sorted(workdays.items())), tuple(dict.fromkeys(named)))


def _year(t: _Text, headers: list[re.Match]) -> tuple[int, int]:
    found = [(int(m.group(1)), m.start()) for m in (*_TITLE_YEAR.finditer(t.chars), *_BODY_YEAR.finditer(t.chars))]
    if not found:
        if headers:
            raise NoticeError(t.line_at(headers[0].start()),
                              "未找到通知的年份（应有“关于YYYY年部分节假日安排的通知”或“现将YYYY年元旦……”）。")
        raise NoticeError(1, "这不是国务院办公厅关于部分节假日安排的通知：未找到“关于YYYY年部分节假日安排的通知”，"
                             "也没有“一、元旦：……”这样的放假安排。")
    years = {y for y, _ in found}
    if len(years) > 1:
        pos = next(p for y, p in found if y != found[0][0])
        raise NoticeError(t.line_at(pos), f"通知中的年份不一致（{'、'.join(str(y) for y in sorted(years))}）。")
    return found[0]


def _closing(chars: str, start: int) -> int:
    """Where the arrangement ends: the closing paragraph or the signature, if pasted."""
    ends = [i for i in (chars.find("节假日期间", start), chars.find("国务院办公厅", start)) if i >= 0]
    return min(ends) if ends else len(chars)


def _claim(t: _Text, holidays: dict, workdays: dict, day: date, name: str, pos: int, *, off: bool) -> None:
    mine, other = (holidays, workdays) if off else (workdays, holidays)
    if day in other:
        raise NoticeError(t.line_at(pos), f"{_cn(day)}在通知中既是放假日又是上班日，请核对原文。")
    if day in mine and name not in mine[day].split("、"):
        mine[day] = f"{mine[day]}、{name}"
    else:
        mine.setdefault(day, name)


def _section(t: _Text, start: int, end: int, year: int, name: str) -> tuple[dict[date, int], dict[date, int]]:
    """Days off and make-up days of one festival's paragraph, each with its position."""
    off: dict[date, int] = {}
    work: dict[date, int] = {}
    for s_start, sentence in _pieces(t.chars, start, end, "。;"):
        if "鼓励" in sentence:  # advice (e.g. "鼓励……在除夕（2月9日）休息"), not the arrangement
            continue
        stated: int | None = None
        sentence_off: set[date] = set()
        prev: date | None = None
        for c_start, clause in _pieces(t.chars, s_start, s_start + len(sentence), ","):
            count = _COUNT.search(clause)
            if count:
                stated = int(count.group(1))
            days, prev = _dates(t, c_start, clause, year, prev)
            if not days:
                continue
            if "上班" in clause:
                target = work
            elif any(w in clause for w in _OFF_WORDS):
                target = off
                sentence_off.update(days)
            else:
                raise NoticeError(t.line_at(c_start), f"无法判断“{clause}”中的日期是放假还是上班。")
            for day in days:
                target.setdefault(day, c_start)
        if stated is not None and sentence_off and len(sentence_off) != stated:
            raise NoticeError(t.line_at(s_start), f"{name}：通知写“共{stated}天”，但读出的放假日期是 "
                                                  f"{len(sentence_off)} 天，请核对原文。")
    return off, work


def _pieces(chars: str, start: int, end: int, separators: str) -> list[tuple[int, str]]:
    """Split chars[start:end] at any of `separators`, keeping each piece's position."""
    out: list[tuple[int, str]] = []
    piece_start = start
    depth = 0
    for i in range(start, end):
        c = chars[i]
        depth += c == "("
        depth -= c == ")" and depth > 0
        if c in separators and depth == 0:
            if i > piece_start:
                out.append((piece_start, chars[piece_start:i]))
            piece_start = i + 1
    if end > piece_start:
        out.append((piece_start, chars[piece_start:end]))
    return out


def _dates(t: _Text, offset: int, clause: str, year: int, prev: date | None) -> tuple[list[date], date | None]:
    """Every day a clause names: single dates, lists ("、") and ranges ("至"), notes checked."""
    items: list[tuple[int, re.Match, date]] = []
    for m in _DATE.finditer(clause):
        day = _resolve(t, offset + m.start(), m, year, prev)
        items.append((offset + m.start(), m, day))
        prev = day
    days: list[date] = []
    i = 0
    while i < len(items):
        pos, m, day = items[i]
        if _between(clause, items, i) in _RANGE:
            end_pos, end_m, end = items[i + 1]
            if end < day:  # "12月31日至1月2日": the range crosses New Year
                if not m.group("y") and day.year == year:
                    day = day.replace(year=day.year - 1)
                elif not end_m.group("y"):
                    end = end.replace(year=end.year + 1)
            _check_note(t, pos, day, m.group("note"))
            _check_note(t, end_pos, end, end_m.group("note"))
            if not day < end:
                raise NoticeError(t.line_at(end_pos), f"日期范围 {_cn(day)}至{_cn(end)} 的结束早于开始。")
            if (end - day).days >= MAX_RANGE_DAYS:
                raise NoticeError(t.line_at(end_pos), f"日期范围 {_cn(day)}至{_cn(end)} 过长，请核对原文。")
            days.extend(day + timedelta(days=k) for k in range((end - day).days + 1))
            i += 1
        else:
            _check_note(t, pos, day, m.group("note"))
            days.append(day)
        between = _between(clause, items, i)
        if between is not None and between not in _LIST:
            raise NoticeError(t.line_at(offset + items[i][1].end()), f"无法识别日期之间的“{between}”。")
        i += 1
    for day in days:
        if not date(year - 1, 12, 1) <= day <= date(year + 1, 1, 31):
            raise NoticeError(t.line_at(offset), f"{day.isoformat()} 不属于 {year} 年的放假安排，请核对年份。")
    return days, (days[-1] if days else prev)


def _between(clause: str, items: list[tuple[int, re.Match, date]], i: int) -> str | None:
    """The text between the i-th date and the next one (None after the last)."""
    if i + 1 >= len(items):
        return None
    return clause[items[i][1].end():items[i + 1][1].start()]


def _resolve(t: _Text, pos: int, m: re.Match, year: int, prev: date | None) -> date:
    """A date; the year and month it leaves out are those of the date before it (else the notice's)."""
    y = int(m.group("y")) if m.group("y") else (prev.year if prev else year)
    if m.group("m"):
        month = int(m.group("m"))
    elif prev is not None:
        month = prev.month
    else:
        raise NoticeError(t.line_at(pos), f"“{m.group(0)}”缺少月份。")
    try:
        return date(y, month, int(m.group("d")))
    except ValueError:
        raise NoticeError(t.line_at(pos), f"“{m.group(0)}”不是有效的日期。") from None


def _check_note(t: _Text, pos: int, day: date, note: str | None) -> None:
    """A weekday in the note must be that date's weekday: otherwise the year or date is wrong."""
    if not note:
        return
    found = _WEEKDAY.search(note)
    if found and _WEEKDAYS[found.group(1)] != day.weekday():
        actual = "一二三四五六日"[day.weekday()]
        raise NoticeError(t.line_at(pos), f"{day.isoformat()} 是周{actual}，通知中注明为“{found.group(0)}”："
                                          "年份或日期可能有误。")


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
