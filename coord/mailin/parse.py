"""Reading an inbound message: who sent it and the iTIP items (RFC 5546) it carries.

A calendar answer may come as an inline `text/calendar` part (Outlook, Gmail, Apple, Thunderbird),
as an `.ics` attachment, or wrapped by Exchange in TNEF (`winmail.dat`, `application/ms-tnef`):
either with an `.ics` inside or as a MAPI meeting response (message class
`IPM.Schedule.Meeting.Resp.*`), which we turn into the same item. Nothing here touches the
database: `coord.mailin.services` decides what an item means for an interview.
"""
from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from zoneinfo import ZoneInfo

ANSWERS = ("ACCEPTED", "DECLINED", "TENTATIVE")
LOCAL = ZoneInfo("Asia/Shanghai")
MAX_COMMENT = 2000

# Bodies some clients generate themselves: not a comment the person typed.
_GENERATED = re.compile(
    r"has (accepted|declined|tentatively accepted) (this|your event) invitation|Invitation from Google Calendar"
    r"|Google (Calendar|日历)|已接受此邀请|已拒绝此邀请|暂定接受此邀请|接受了您的活动邀请|拒绝了您的活动邀请",
    re.IGNORECASE)


class Unreadable(ValueError):
    """Not an RFC 5322 message at all (empty input, no header)."""


@dataclass
class ItipItem:
    """One VEVENT of an iTIP message, as far as we need it."""

    method: str  # REPLY, COUNTER, ... (the iCalendar METHOD, not the MIME parameter)
    uid: str
    attendee: str = ""  # lower-case address of the one ATTENDEE a REPLY/COUNTER speaks for
    attendee_name: str = ""
    partstat: str = ""
    sequence: int | None = None  # None: the client left SEQUENCE out
    answered_at: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    comment: str = ""
    organizer: str = ""
    prodid: str = ""
    via: str = "text/calendar"  # text/calendar | attachment | tnef-ics | tnef-mapi
    attendees: int = 0  # how many ATTENDEEs the VEVENT names


@dataclass
class Parsed:
    key: str  # the Message-ID, or a hash of the bytes
    message_id: str
    from_addr: str
    from_name: str
    subject: str
    date: datetime | None
    items: list[ItipItem] = field(default_factory=list)
    problem: str = ""  # why no item could be read
    auth_results: list[str] = field(default_factory=list)
    body: str = ""


def read_message(raw: bytes, *, headers_only: bool = False) -> Message:
    """The MIME tree. compat32 headers are raw strings: several times faster than the header registry
    of `policy.default`, and we decode the few headers we read ourselves."""
    if not raw or not raw.strip():
        raise Unreadable("标准输入为空，没有邮件。")
    head = raw[:8192].lstrip()
    if not re.match(rb"^[!-9;-~]+:", head):
        raise Unreadable("输入不是 RFC 5322 邮件（没有邮件头）。")
    return BytesParser(policy=compat32).parsebytes(raw, headersonly=headers_only)


def message_key(msg: Message, raw: bytes) -> tuple[str, str]:
    message_id = " ".join(str(msg.get("Message-ID", "") or "").split())[:290]
    if message_id:
        return message_id, message_id
    return "", "sha256:" + hashlib.sha256(raw).hexdigest()


def parse(raw: bytes, *, headers_only: bool = False) -> Parsed:
    msg = read_message(raw, headers_only=headers_only)
    message_id, key = message_key(msg, raw)
    name, addr = _from(msg)
    parsed = Parsed(key=key, message_id=message_id, from_addr=addr, from_name=name,
                    subject=_header(msg, "Subject")[:300], date=_date(msg),
                    auth_results=[_header_value(v) for v in msg.get_all("Authentication-Results", [])])
    if headers_only:
        return parsed
    parsed.body = _body_text(msg)
    try:
        parsed.items = _items(msg, parsed)
    except ValueError as err:
        parsed.problem = f"日历数据无法解析：{err}"[:500]
        return parsed
    if not parsed.items and not parsed.problem:
        parsed.problem = "不是日历答复（iMIP）邮件：没有 text/calendar 内容。"
    for item in parsed.items:
        if not item.comment and item.method in ("REPLY", "COUNTER") and parsed.body and not _GENERATED.search(
                parsed.body):
            # Outlook and Google put what the person typed into the body, not into COMMENT.
            item.comment = parsed.body[:MAX_COMMENT]
    return parsed


# --- headers ----------------------------------------------------------------------------------

def _header_value(value: object) -> str:
    return " ".join(str(value).split())


def _decoded(value: str) -> str:
    """RFC 2047 encoded words (=?UTF-8?B?...?=, =?gb2312?...?=) to text."""
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeDecodeError, HeaderParseError):
        return value


def _header(msg: Message, name: str) -> str:
    value = msg.get(name)
    return _header_value(_decoded(str(value))) if value is not None else ""


def _from(msg: Message) -> tuple[str, str]:
    try:
        found = [(n, a) for n, a in getaddresses([str(v) for v in msg.get_all("From", [])]) if a]
    except (ValueError, TypeError, IndexError):
        found = []
    if len(found) != 1:  # none, or several authors: nobody to trust
        return "", ""
    name, addr = found[0]
    return _decoded(name), addr.strip().lower()


def _date(msg: Message) -> datetime | None:
    try:
        value = parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _body_text(msg: Message) -> str:
    """The text the sender wrote: the first text/plain part, else the HTML as text."""
    plain = html_part = None
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = _text_of(part)
        elif ctype == "text/html" and html_part is None:
            html_part = _text_of(part)
    if plain and plain.strip():
        return plain.strip()
    if html_part:
        text = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", html_part)
        text = re.sub(r"(?i)<br\s*/?>|</(p|div|tr|li)>", "\n", text)
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
        return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip()).strip()
    return ""


def _text_of(part: Message) -> str:
    data = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


# --- calendar parts -----------------------------------------------------------------------------

def _items(msg: Message, parsed: Parsed) -> list[ItipItem]:
    """Items of the first calendar that has some: inline parts first, then attachments, then TNEF.
    Clients send the same calendar twice (inline and as invite.ics); the inline one wins."""
    inline, attached, tnef = [], [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype, name = part.get_content_type(), (part.get_filename() or "").lower()
        if ctype == "text/calendar" and part.get_content_disposition() != "attachment":
            inline.append(part)
        elif ctype in ("text/calendar", "application/ics") or name.endswith(".ics"):
            attached.append(part)
        elif ctype in ("application/ms-tnef", "application/vnd.ms-tnef") or name == "winmail.dat":
            tnef.append(part)
    for via, parts in (("text/calendar", inline), ("attachment", attached)):
        for part in parts:
            items = calendar_items(part.get_payload(decode=True) or b"", via)
            if items:
                return items
    for part in tnef:
        items = tnef_items(part.get_payload(decode=True) or b"", parsed)
        if items:
            return items
    return []


def calendar_items(data: bytes, via: str = "text/calendar") -> list[ItipItem]:
    """The VEVENTs of an iTIP calendar (icalendar parses; we only pick what we need)."""
    from icalendar import Calendar

    if b"BEGIN:VCALENDAR" not in data[:4096].upper():
        return []
    text = data.decode("utf-8", "replace")
    cal = Calendar.from_ical(text)  # ValueError on broken content
    method = str(cal.get("METHOD", "") or "").strip().upper()
    prodid = str(cal.get("PRODID", "") or "")
    out = []
    for ev in cal.walk("VEVENT"):
        attendees = ev.get("ATTENDEE")
        attendees = attendees if isinstance(attendees, list) else ([attendees] if attendees is not None else [])
        item = ItipItem(method=method, uid=str(ev.get("UID", "") or "").strip(), prodid=prodid, via=via,
                        attendees=len(attendees))
        if attendees:
            first = attendees[0]
            item.attendee = mailto(str(first))
            item.attendee_name = str(first.params.get("CN", "") or "")
            item.partstat = str(first.params.get("PARTSTAT", "") or "").upper()
        organizer = ev.get("ORGANIZER")
        item.organizer = mailto(str(organizer)) if organizer is not None else ""
        if ev.get("SEQUENCE") is not None:
            try:
                item.sequence = int(str(ev.get("SEQUENCE")).strip())
            except ValueError as err:
                raise ValueError("SEQUENCE 不是整数") from err
        item.start, item.end = _instant(ev, "DTSTART"), _instant(ev, "DTEND")
        if item.start and not item.end and ev.get("DURATION") is not None:
            item.end = item.start + ev.decoded("DURATION")
        # Outlook's own record of when the person answered; DTSTAMP otherwise.
        item.answered_at = _instant(ev, "X-MICROSOFT-CDO-REPLYTIME") or _instant(ev, "DTSTAMP")
        comment = ev.get("COMMENT")
        if comment is not None:
            comment = comment if isinstance(comment, list) else [comment]
            item.comment = "\n".join(str(c) for c in comment).strip()[:MAX_COMMENT]
        out.append(item)
    return out


def mailto(value: str) -> str:
    value = value.strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    return value.strip().lower() if "@" in value else ""


def _instant(ev, name: str) -> datetime | None:
    if ev.get(name) is None:
        return None
    try:
        value = ev.decoded(name)
    except (ValueError, KeyError, TypeError):
        from icalendar import vDDDTypes

        try:  # an X- property keeps its text: read it as a date-time
            value = vDDDTypes.from_ical(str(ev.get(name)))
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating time: read as Beijing time, as the rest of coord does
            value = value.replace(tzinfo=LOCAL)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=LOCAL).astimezone(UTC)
    return None


# --- TNEF (Exchange's winmail.dat) -------------------------------------------------------------

PSETID_MEETING = "6ed8da90-450b-101b-98da-00aa003f1305"
PSETID_APPOINTMENT = "00062002-0000-0000-c000-000000000046"
# [MS-OXPROPS]: named properties (LIDs) of a meeting response.
LID_GLOBAL_OBJECT_ID, LID_CLEAN_GLOBAL_OBJECT_ID, LID_ATTENDEE_CRITICAL_CHANGE = 0x0003, 0x0023, 0x0001
LID_SEQUENCE, LID_PROPOSED_START, LID_PROPOSED_END, LID_COUNTER = 0x8201, 0x8250, 0x8251, 0x8257
LID_START_WHOLE, LID_END_WHOLE = 0x820D, 0x820E
# Tagged properties: message class and the sender's SMTP address and name.
PR_MESSAGE_CLASS, PR_SENDER_NAME, PR_SENDER_EMAIL, PR_SENDER_SMTP, PR_SENT_REPR_SMTP = (
    0x001A, 0x0C1A, 0x0C1F, 0x5D01, 0x5D02)
RESPONSE_CLASSES = {
    "IPM.SCHEDULE.MEETING.RESP.POS": "ACCEPTED", "IPM.SCHEDULE.MEETING.RESP.NEG": "DECLINED",
    "IPM.SCHEDULE.MEETING.RESP.TENT": "TENTATIVE",
    # Microsoft Mail compatible names ([MS-OXTNEF] 2.1.3.1.1)
    "IPM.MICROSOFT SCHEDULE.MTGRESPP": "ACCEPTED", "IPM.MICROSOFT SCHEDULE.MTGRESPN": "DECLINED",
    "IPM.MICROSOFT SCHEDULE.MTGRESPA": "TENTATIVE",
}
VCAL_UID = b"vCal-Uid\x01\x00\x00\x00"


def tnef_items(data: bytes, parsed: Parsed) -> list[ItipItem]:
    from tnefparse import TNEF

    try:
        tnef = TNEF(data, do_checksum=False)
    except (ValueError, IndexError, KeyError, UnicodeDecodeError) as err:
        raise ValueError(f"winmail.dat（TNEF）无法解析：{err}") from err
    for att in tnef.attachments:  # an .ics inside the winmail.dat
        payload = att.data if isinstance(att.data, bytes) else b""
        try:
            filename = (att.long_filename() or "").lower()
        except (AttributeError, UnicodeDecodeError, ValueError):
            filename = ""
        if filename.endswith(".ics") or payload[:64].lstrip().upper().startswith(b"BEGIN:VCALENDAR"):
            items = calendar_items(payload, "tnef-ics")
            if items:
                return items
    return _mapi_response(tnef, parsed)


def _mapi_response(tnef, parsed: Parsed) -> list[ItipItem]:
    """A MAPI meeting response ([MS-OXOCAL] 2.2.6) as the REPLY (or COUNTER) it stands for."""
    from tnefparse.tnef import TNEF

    tagged, named = {}, {}
    for p in tnef.mapiprops:
        if p.guid:
            named[(str(p.guid).lower(), p.guid_prop)] = p.data
        else:
            tagged[p.name] = p.data
    msg_class = str(next((o.data for o in tnef.msgprops if o.name == TNEF.ATTMESSAGECLASS), "")
                    or tagged.get(PR_MESSAGE_CLASS, "")).strip().upper()
    partstat = RESPONSE_CLASSES.get(msg_class)
    if partstat is None:
        return []
    goid = named.get((PSETID_MEETING, LID_GLOBAL_OBJECT_ID)) or named.get((PSETID_MEETING, LID_CLEAN_GLOBAL_OBJECT_ID))
    uid = _uid_from_goid(goid) if isinstance(goid, bytes) else ""
    attendee = next((str(tagged[t]).strip().lower() for t in (PR_SENDER_SMTP, PR_SENT_REPR_SMTP, PR_SENDER_EMAIL)
                     if "@" in str(tagged.get(t, ""))), "") or parsed.from_addr
    counter = bool(named.get((PSETID_APPOINTMENT, LID_COUNTER)))
    start_key, end_key = (LID_PROPOSED_START, LID_PROPOSED_END) if counter else (LID_START_WHOLE, LID_END_WHOLE)
    sequence = named.get((PSETID_APPOINTMENT, LID_SEQUENCE))
    body = tnef.body.decode("utf-8", "replace") if isinstance(tnef.body, bytes) else (tnef.body or "")
    return [ItipItem(
        method="COUNTER" if counter else "REPLY", uid=uid, attendee=attendee,
        attendee_name=str(tagged.get(PR_SENDER_NAME, "") or parsed.from_name), partstat=partstat,
        sequence=int(sequence) if isinstance(sequence, int) else None,
        answered_at=_utc(named.get((PSETID_MEETING, LID_ATTENDEE_CRITICAL_CHANGE))),
        start=_utc(named.get((PSETID_APPOINTMENT, start_key))), end=_utc(named.get((PSETID_APPOINTMENT, end_key))),
        comment=body.strip()[:MAX_COMMENT], prodid="TNEF " + msg_class, via="tnef-mapi", attendees=1,
    )]


def _uid_from_goid(goid: bytes) -> str:
    """[MS-OXCICAL] 2.1.3.1.1.20.26: a UID not made by Outlook travels inside the GlobalObjectId
    after the "vCal-Uid" marker; an Outlook-made one is the GlobalObjectId in hexadecimal."""
    at = goid.find(VCAL_UID)
    if at >= 0:
        return goid[at + len(VCAL_UID):].split(b"\x00", 1)[0].decode("utf-8", "replace").strip()
    return goid.hex().upper()


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    if value.year < 1970 or value > datetime(4000, 1, 1):  # MAPI's "none" is 4501-01-01
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def within(value: datetime | None, now: datetime, past: timedelta = timedelta(days=400)) -> bool:
    return value is not None and now - past <= value <= now + timedelta(hours=1)
