"""Helpers for the referral tests: users, agencies, instants in Asia/Shanghai, real files of each type."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from coord.agencies.models import Agency
from coord.extensions import db
from tests.conftest import user_by_name

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=SH)


def agency(code: str) -> Agency:
    return db.session.execute(sa.select(Agency).where(Agency.code == code)).scalar_one()


def user(name: str):
    return user_by_name(name)


def lead_data(to: str = "scjgj", **extra) -> dict:
    data = {"to_agency_id": agency(to).id, "party_name": "重庆某某商贸有限公司", "facts": "巡查发现无照经营。",
            "matter": "涉嫌无照经营", "place": "小龙坎正街 12 号", "legal_basis": "《无证无照经营查处办法》第二条"}
    data.update(extra)
    return data


def make_lead(sender: str = "cgj_coord", to: str = "scjgj", now: datetime | None = None, uploads=(), **extra):
    from coord.referrals import services

    return services.refer(user(sender), lead_data(to, **extra), uploads, now=now)


# --- real files of each allowed type (and some that are not allowed) ---------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
TXT = "现场检查笔录：当事人未能出示营业执照。\n".encode()


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["物品", "数量"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


EXE = b"MZ\x90\x00" + b"\x00" * 60  # a Windows program
ZIP = None  # built lazily: a zip that is not an office document


def plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "x")
    return buf.getvalue()
