"""Calendar answers as clients write them (tests/mailin_samples), a TNEF writer for Exchange's
winmail.dat, and a real IMAP server (Debian's Dovecot) on loopback with a throwaway config."""
from __future__ import annotations

import base64
import grp
import os
import pwd
import quopri
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, make_msgid
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

import pytest

SAMPLES = Path(__file__).parent / "mailin_samples"
SH = ZoneInfo("Asia/Shanghai")
REPLY_MAILBOX = "coord@spb.example.cn"  # the ORGANIZER of invitations in tests (the platform sender)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(value: datetime) -> str:
    return value.astimezone(SH).strftime("%Y%m%dT%H%M%S")


def sample(name: str, interview, *, attendee: str, attendee_name: str = "", sequence: int | None = None,
           comment: str = "", message_id: str | None = None, start: datetime | None = None,
           counter_start: datetime | None = None, counter_minutes: int = 90, sent: datetime | None = None,
           sender: str | None = None, tnef: bytes | None = None) -> bytes:
    """A sample filled in for one interview and invitee. `sender` forges the From header only."""
    start = start or interview.start_at
    end = start + timedelta(minutes=interview.duration_minutes)
    sent = sent or datetime(2026, 9, 22, 10, 30, tzinfo=SH)
    counter_start = counter_start or start
    text = (SAMPLES / name).read_bytes().decode("utf-8")
    values = {
        "UID": interview.uid, "SEQUENCE": str(interview.sequence if sequence is None else sequence),
        "ATTENDEE": attendee, "ATTENDEE_NAME": attendee_name or attendee,
        "ATTENDEE_NAME_QP": quopri.encodestring((attendee_name or attendee).encode()).decode(),
        "ORGANIZER": REPLY_MAILBOX, "ORGANIZER_NAME": "张堃",
        "ORGANIZER_NAME_QP": quopri.encodestring("张堃".encode()).decode(),
        "MESSAGE_ID": message_id or make_msgid(domain="client.example"), "DATE": format_datetime(sent),
        "DTSTART_UTC": _utc(start), "DTEND_UTC": _utc(end), "DTSTART_LOCAL": _local(start), "DTEND_LOCAL": _local(end),
        "DTSTAMP_UTC": _utc(sent), "REPLYTIME_UTC": _utc(sent),
        "COUNTER_START_UTC": _utc(counter_start), "COUNTER_END_UTC": _utc(counter_start + timedelta(minutes=counter_minutes)),
        "COMMENT": comment, "COMMENT_B64": base64.encodebytes(comment.encode()).decode().strip(),
        "COMMENT_GB2312_B64": base64.encodebytes(comment.encode("gb2312")).decode().strip(),
        "TNEF_B64": base64.encodebytes(tnef or b"").decode().strip(), "TNEF_SIZE": str(len(tnef or b"")),
    }
    raw = Template(text).substitute(values)
    if sender is not None:  # a forger writes someone else's answer under their own address
        lines = raw.split("\n")
        raw = "\n".join(f"From: {sender}" if line.startswith("From:") else line for line in lines)
    return raw.encode("utf-8")


# --- TNEF ([MS-OXTNEF]) -----------------------------------------------------------------------------------

PSETID_MEETING = uuid.UUID("6ED8DA90-450B-101B-98DA-00AA003F1305")
PSETID_APPOINTMENT = uuid.UUID("00062002-0000-0000-C000-000000000046")
PT_LONG, PT_BOOLEAN, PT_UNICODE, PT_SYSTIME, PT_BINARY = 0x0003, 0x000B, 0x001F, 0x0040, 0x0102
GOID_PREFIX = bytes.fromhex("040000008200E00074C5B7101A82E008")
VCAL_UID = b"vCal-Uid\x01\x00\x00\x00"


def _filetime(value: datetime) -> bytes:
    ticks = int((value.astimezone(UTC) - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)
    return struct.pack("<Q", ticks)


def _pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _value(ptype: int, value) -> bytes:
    if ptype == PT_LONG:
        return struct.pack("<i", value)
    if ptype == PT_BOOLEAN:
        return struct.pack("<H", 1 if value else 0) + b"\x00\x00"
    if ptype == PT_SYSTIME:
        return _filetime(value)
    if ptype == PT_UNICODE:
        data = value.encode("utf-16-le") + b"\x00\x00"
        return struct.pack("<II", 1, len(data)) + _pad(data)
    if ptype == PT_BINARY:
        return struct.pack("<II", 1, len(value)) + _pad(value)
    raise ValueError(ptype)


def _props(tagged: list[tuple[int, int, object]], named: list[tuple[uuid.UUID, int, int, object]]) -> bytes:
    out = [struct.pack("<I", len(tagged) + len(named))]
    for ptype, pid, value in tagged:
        out.append(struct.pack("<HH", ptype, pid) + _value(ptype, value))
    for n, (guid, lid, ptype, value) in enumerate(named):
        # Named properties travel with a mapped id (0x8000 and up), their property set and LID.
        out.append(struct.pack("<HH", ptype, 0x8000 + n) + guid.bytes_le + struct.pack("<II", 0, lid)
                   + _value(ptype, value))
    return b"".join(out)


def _attribute(level: int, kind: int, attr_id: int, data: bytes) -> bytes:
    return (struct.pack("<BHHI", level, attr_id, kind, len(data)) + data
            + struct.pack("<H", sum(data) & 0xFFFF))


def global_object_id(uid: str, created: datetime) -> bytes:
    """PidLidGlobalObjectId for a meeting Outlook did not create: the UID after "vCal-Uid"."""
    data = VCAL_UID + uid.encode() + b"\x00"
    return GOID_PREFIX + b"\x00\x00\x00\x00" + _filetime(created) + b"\x00" * 8 + struct.pack("<I", len(data)) + data


def tnef_meeting_response(*, uid: str, sequence: int, partstat: str, sender: str, name: str, comment: str,
                          answered: datetime, start: datetime, end: datetime,
                          proposed: tuple[datetime, datetime] | None = None) -> bytes:
    """winmail.dat of an Outlook/Exchange meeting response ([MS-OXOCAL] 2.2.6)."""
    msg_class = {"ACCEPTED": "IPM.Schedule.Meeting.Resp.Pos", "DECLINED": "IPM.Schedule.Meeting.Resp.Neg",
                 "TENTATIVE": "IPM.Schedule.Meeting.Resp.Tent"}[partstat]
    goid = global_object_id(uid, answered - timedelta(days=2))
    tagged = [
        (PT_UNICODE, 0x001A, msg_class),
        (PT_UNICODE, 0x0037, "接受: 联合约谈"),
        (PT_UNICODE, 0x0C1A, name),
        (PT_UNICODE, 0x0C1E, "EX"),
        (PT_UNICODE, 0x0C1F, "/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=0A1B"),
        (PT_UNICODE, 0x5D01, sender),
        (PT_UNICODE, 0x1000, comment),
    ]
    named = [
        (PSETID_MEETING, 0x0003, PT_BINARY, goid),
        (PSETID_MEETING, 0x0023, PT_BINARY, goid),
        (PSETID_MEETING, 0x0001, PT_SYSTIME, answered),
        (PSETID_APPOINTMENT, 0x8201, PT_LONG, sequence),
        (PSETID_APPOINTMENT, 0x820D, PT_SYSTIME, start),
        (PSETID_APPOINTMENT, 0x820E, PT_SYSTIME, end),
    ]
    if proposed:
        named += [(PSETID_APPOINTMENT, 0x8257, PT_BOOLEAN, True),
                  (PSETID_APPOINTMENT, 0x8250, PT_SYSTIME, proposed[0]),
                  (PSETID_APPOINTMENT, 0x8251, PT_SYSTIME, proposed[1])]
    body = [
        _attribute(1, 0x0008, 0x9006, struct.pack("<I", 0x00010000)),  # attTnefVersion
        _attribute(1, 0x0006, 0x9007, struct.pack("<II", 936, 0)),  # attOemCodepage: GBK
        _attribute(1, 0x0007, 0x8008, msg_class.encode("ascii") + b"\x00"),  # attMessageClass
        _attribute(1, 0x0006, 0x9003, _props(tagged, named)),  # attMsgProps
    ]
    return struct.pack("<IH", 0x223E9F78, 0x1234) + b"".join(body)


# --- Dovecot on loopback ------------------------------------------------------------------------------------

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    user, password = "coord-reply", "imap-test-pass"

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, _free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        if not Path(DOVECOT).exists():
            pytest.fail("Dovecot is not installed: run `make test` (scripts/system-deps.sh installs dovecot-imapd)")
        root = self.root
        for sub in ("run", "mail", "home"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        me = pwd.getpwuid(os.getuid()).pw_name
        if os.getuid() == 0:  # Dovecot never gives mail access as root: the mailbox belongs to `dovecot`
            owner = pwd.getpwnam("dovecot")
            for sub in ("mail", "home"):
                os.chown(root / sub, owner.pw_uid, owner.pw_gid)
            internal, login, mail_uid, mail_gid = "dovecot", "dovenull", owner.pw_uid, owner.pw_gid
            group = ""
        else:
            internal = login = me
            mail_uid, mail_gid = os.getuid(), os.getgid()
            group = f"default_internal_group = {grp.getgrgid(os.getgid()).gr_name}\n"
        (root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        (root / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/run
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
{group}default_login_user = {login}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                raise AssertionError(f"Dovecot did not start: {self.proc.stderr.read().decode()} {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("Dovecot did not answer in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def client(self):
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        client.login(self.user, self.password)
        return client

    def config(self) -> dict:
        return {"IMAP_HOST": "127.0.0.1", "IMAP_PORT": self.port, "IMAP_SECURITY": "none", "IMAP_USER": self.user,
                "IMAP_PASSWORD": self.password}


@pytest.fixture(name="dovecot")
def dovecot_fixture() -> Iterator[Dovecot]:
    # Not under pytest's tmp_path: its parents are 0700, and Dovecot's mail processes run as `dovecot`.
    root = Path(tempfile.mkdtemp(prefix="coord-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
