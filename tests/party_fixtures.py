"""Helpers for the party's pages: interviews in the real future (the portal uses the clock) and held
interviews with final minutes (fixed dates), tokens of their links, photos with GPS data."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import Interview
from coord.minutes import services as minutes
from coord.party import links
from coord.party.models import PartyLink
from coord.timeutil import local_today
from tests.conftest import user_by_name
from tests.interview_fixtures import at, ensure_calendar, interview_data, room_id
from tests.minutes_fixtures import AFTER, NOW, START, content

ATTENDEES = [{"name": "王某", "post": "法定代表人", "email": "wang@example.com", "phone": "138 0000 1234"},
             {"name": "赵喆", "post": "店长", "email": "", "phone": "+86 139-0000-5678"},
             {"name": "钱某", "post": "会计", "email": "", "phone": ""}]


@pytest.fixture(autouse=True)
def _party_app(app, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")
    app.config["COORD_BASE_URL"] = "https://coord.spb.example.cn"


def first_slot(days_ahead: int = 0):
    """The first free 90-minute slot for the default officials and room, from today (real clock)."""
    ensure_calendar(local_today(), 200)
    people = [user_by_name("scjg_coord").id, user_by_name("cgj_officer").id]
    window = (at(local_today() + timedelta(days=days_ahead), "00:00"), at(local_today() + timedelta(days=60), "00:00"))
    return interviews.suggest(None, people, room_id(), 90, *window, 1)[0].slots[0]


def future_interview(**overrides) -> Interview:
    """Scheduled at the first free slot from today: the party may still confirm or ask to move it."""
    slot = first_slot()
    data = interview_data(start=slot.start, attendees=ATTENDEES)
    data.update(overrides)
    return interviews.create(user_by_name("scjg_coord"), data)


def held_interview(day: str = "2026-09-24", **minutes_overrides) -> Interview:
    """Held on `day` (from 10:00) with final minutes: two rectification items, an undertaking to sign."""
    coord = user_by_name("scjg_coord")
    start, after = (START, AFTER) if day == "2026-09-24" else (at(day, "10:00"), at(day, "12:00"))
    interview = interviews.create(coord, interview_data(start=start, attendees=ATTENDEES), now=NOW)
    times = {"started_at": f"{day}T10:05:00+08:00", "ended_at": f"{day}T11:20:00+08:00"}
    minutes.save(coord, interview.id, content(**{**times, **minutes_overrides}), 0)
    minutes.finalize(coord, interview.id, 1, now=after)
    return db.session.get(Interview, interview.id)


def link_of(interview: Interview, name: str | None = "王某") -> PartyLink:
    """The live link of an attendee (name None: the notice's link)."""
    db.session.rollback()
    stmt = sa.select(PartyLink).where(PartyLink.interview_id == interview.id, PartyLink.revoked_at.is_(None))
    stmt = stmt.where(PartyLink.attendee_name == name) if name else stmt.where(PartyLink.kind == "notice")
    return db.session.execute(stmt).scalar_one()


def token_of(interview: Interview, name: str | None = "王某") -> str:
    return links.token_for(link_of(interview, name))


def page_csrf(client, token: str) -> str:
    html = client.get(f"/p/{token}").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the party's page"
    return match.group(1)


def photo_with_gps(fmt: str = "JPEG", orientation: int = 6) -> bytes:
    """A small photo carrying GPS coordinates (磁器口, 29.58 N 106.45 E) and an orientation."""
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (29.0, 34.0, 48.0), 3: "E", 4: (106.0, 27.0, 0.0)})
    out = io.BytesIO()
    if fmt == "PNG":
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Location", "29.58,106.45")
        image.save(out, "PNG", exif=exif.tobytes(), pnginfo=info)
    else:
        image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def tiny_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def signature_data_url(blank: bool = False) -> str:
    """What signature_pad sends: a transparent PNG with a black stroke, as a data URL."""
    import base64

    from PIL import ImageDraw

    image = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(image).line([(20, 80), (80, 30), (140, 90), (220, 40), (280, 70)], fill=(17, 17, 17, 255),
                                   width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
