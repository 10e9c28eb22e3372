"""Rooms, busy blocks, bookings and the conflict check that guards them."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from coord.accounts.models import User
from coord.accounts.scoping import may_see, require_writer
from coord.audit import services as audit
from coord.dbtypes import write_lock
from coord.errors import DomainError, NotFound, too_long
from coord.extensions import db
from coord.inputs import int32
from coord.parties.models import Party
from coord.scheduling.models import LONG_BLOCK, Booking, BusyBlock, Room
from coord.scheduling.rules import current_rules
from coord.timeutil import fmt_local

MAX_BUSY_DAYS = 92  # one busy block at most a quarter (long leave is entered in pieces)


def user_resource(user_id: int) -> str:
    return f"user:{user_id}"


def room_resource(room_id: int) -> str:
    return f"room:{room_id}"


def party_resource(party_id: int) -> str:
    return f"party:{party_id}"


# --- rooms -------------------------------------------------------------------------------------

def list_rooms(include_inactive: bool = False) -> list[Room]:
    stmt = sa.select(Room).order_by(Room.name)
    if not include_inactive:
        stmt = stmt.where(Room.active.is_(True))
    return list(db.session.execute(stmt).scalars())


def get_room(room_id: Any, *, field: str = "room_id") -> Room:
    try:
        room = db.session.get(Room, int(room_id))
    except (TypeError, ValueError):
        room = None
    if room is None or not room.active:
        raise DomainError(_("会议室不存在或已停用，请重新选择。"), field=field)
    return room


def save_room(actor: Any, data: dict[str, Any], room_id: int | None = None) -> Room:
    """The leading-group office adds or edits a room (or takes it out of use: active=False)."""
    from coord.accounts.scoping import require_office
    from coord.agencies.models import Agency

    require_office(actor)
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 120:
        raise DomainError(_("请填写会议室名称（不超过 120 个字符）。"), field="name")
    try:
        capacity = int(data.get("capacity") or 0)
    except (TypeError, ValueError):
        capacity = 0
    if not 1 <= capacity <= 500:
        raise DomainError(_("容纳人数应在 1–500 之间。"), field="capacity")
    email = str(data.get("email") or "").strip()
    if email and ("@" not in email or " " in email):
        raise DomainError(_("会议室邮箱格式不正确。"), field="email")
    agency_id = data.get("agency_id") or None
    if agency_id is not None and db.session.get(Agency, int(agency_id)) is None:
        raise DomainError(_("管理单位不存在。"), field="agency_id")
    clash = db.session.execute(sa.select(Room.id).where(Room.name == name)).scalar_one_or_none()
    if clash is not None and clash != room_id:
        raise DomainError(_("已有同名会议室。"), field="name")
    location = str(data.get("location") or "").strip()
    if len(location) > 200:  # refused, never cut
        raise DomainError(too_long(_("位置"), 200, len(location)), field="location")
    if len(email) > 254:
        raise DomainError(too_long(_("会议室邮箱"), 254, len(email)), field="email")
    write_lock(db.session)
    room = db.session.get(Room, room_id) if room_id else Room()
    if room is None:
        raise NotFound(_("会议室不存在。"))
    before = room.snapshot() if room_id else None
    room.name, room.location, room.capacity, room.email = name, location, capacity, email
    room.agency_id = int(agency_id) if agency_id else None
    room.active = bool(data.get("active", True))
    db.session.add(room)
    db.session.flush()
    audit.record(actor, "room.save", "room", room.id, summary=f"{'修改' if room_id else '新增'}会议室：{name}",
                 before=before, after=room.snapshot())
    db.session.commit()
    return room


audit.register_entity("room", "会议室", lambda user, _id: True)


# --- labels for resources ----------------------------------------------------------------------

def resource_labels(resources: Sequence[str]) -> dict[str, str]:
    """Human names for "user:1", "room:2", "party:3" (name and agency for people)."""
    ids: dict[str, list[int]] = {"user": [], "room": [], "party": []}
    for r in resources:
        kind, _sep, num = r.partition(":")
        ids.setdefault(kind, []).append(int(num))
    labels: dict[str, str] = {}
    if ids["user"]:
        for u in db.session.execute(sa.select(User).where(User.id.in_(ids["user"]))).scalars():
            labels[user_resource(u.id)] = f"{u.display_name}（{u.agency.name}）"
    if ids["room"]:
        for room in db.session.execute(sa.select(Room).where(Room.id.in_(ids["room"]))).scalars():
            labels[room_resource(room.id)] = _("会议室：%(name)s", name=room.name)
    if ids["party"]:
        for p in db.session.execute(sa.select(Party).where(Party.id.in_(ids["party"]))).scalars():
            labels[party_resource(p.id)] = _("当事人：%(name)s", name=p.name)
    return {r: labels.get(r, r) for r in resources}


# --- conflicts and bookings ----------------------------------------------------------------------

@dataclass
class Clash:
    resource: str
    label: str
    start: datetime
    end: datetime
    kind: str  # "busy" (an official's busy block) | "booking" (another interview)
    interview_id: int | None = None
    reason: str = ""

    def describe(self) -> str:
        what = _("忙碌（%(why)s）", why=self.reason) if self.kind == "busy" and self.reason else (
            _("忙碌") if self.kind == "busy" else _("已有其他约谈安排"))
        return _("%(who)s 在 %(start)s–%(end)s %(what)s", who=self.label, start=fmt_local(self.start),
                 end=fmt_local(self.end, "%H:%M"), what=what)

    def as_dict(self) -> dict:
        from coord.timeutil import isoformat_local

        return {"resource": self.resource, "label": self.label, "kind": self.kind,
                "start": isoformat_local(self.start), "end": isoformat_local(self.end), "message": self.describe()}


def clashes(
    resources: Sequence[str], start: datetime, end: datetime, *, exclude_interview_id: int | None = None,
    buffer_minutes: int | None = None,
) -> list[Clash]:
    """Everything that keeps one of the resources from [start, end) plus the buffer on each side."""
    pad = timedelta(minutes=current_rules().buffer_minutes if buffer_minutes is None else buffer_minutes)
    lo, hi = start - pad, end + pad
    labels = resource_labels(resources)
    found: list[Clash] = []
    user_ids = [int(r[5:]) for r in resources if r.startswith("user:")]
    if user_ids:
        from coord.scheduling.slots import busy_selects

        blocks = {b.id: b for stmt in busy_selects(user_ids, [(lo, hi)]) for b in db.session.execute(stmt).scalars()}
        for b in sorted(blocks.values(), key=lambda b: (b.start_at, b.id)):
            r = user_resource(b.user_id)
            found.append(Clash(r, labels[r], b.start_at, b.end_at, "busy", reason=b.reason))
    stmt = sa.select(Booking).where(
        Booking.resource.in_(list(resources)), Booking.active.is_(True), Booking.start_at < hi, Booking.end_at > lo,
        Booking.start_at >= lo - LONG_BLOCK,
    ).order_by(Booking.start_at)
    if exclude_interview_id is not None:
        stmt = stmt.where(Booking.interview_id != exclude_interview_id)
    for b in db.session.execute(stmt).scalars():
        found.append(Clash(b.resource, labels[b.resource], b.start_at, b.end_at, "booking", b.interview_id))
    return found


def release(interview_id: int) -> int:
    """Deactivate an interview's bookings (reschedule, cancel, change of people). Rows stay."""
    result = db.session.execute(
        sa.update(Booking).where(Booking.interview_id == interview_id, Booking.active.is_(True)).values(active=False)
    )
    return result.rowcount or 0


class DoubleBooking(Exception):
    """The database refused an overlapping booking (another transaction won the race)."""


def book(interview_id: int, resources: Sequence[str], start: datetime, end: datetime) -> list[Booking]:
    """Hold every resource for [start, end) (+ buffer). The database refuses overlaps: PostgreSQL
    with an exclusion constraint, SQLite with a trigger; a refusal raises DoubleBooking."""
    guard_end = end + timedelta(minutes=current_rules().buffer_minutes)
    rows = [Booking(interview_id=interview_id, resource=r, start_at=start, end_at=end, guard_end=guard_end)
            for r in dict.fromkeys(resources)]
    db.session.add_all(rows)
    try:
        db.session.flush()
    except IntegrityError as err:
        if "booking_no_overlap" in str(err.orig):
            raise DoubleBooking(str(err.orig)) from err
        raise
    return rows


# --- busy blocks ---------------------------------------------------------------------------------

def _may_manage_busy(actor: Any, user: User) -> bool:
    """Officials enter their own; coordinators and admins for people of their agency; the office for all."""
    if actor.id == user.id or actor.is_office:
        return True
    return actor.agency_id == user.agency_id and actor.role in ("coordinator", "admin")


def get_user_for_busy(actor: Any, user_id: Any) -> User:
    try:
        user = db.session.get(User, int32(user_id))
    except (TypeError, ValueError):
        user = None
    if user is None or not may_see(actor, user.agency_id) or not _may_manage_busy(actor, user):
        raise NotFound(_("人员不存在或您无权为其登记忙碌时间。"))
    return user


def add_busy(actor: Any, user_id: Any, start: datetime | None, end: datetime | None, reason: str) -> BusyBlock:
    require_writer(actor)
    user = get_user_for_busy(actor, user_id)
    if start is None or end is None:
        raise DomainError(_("请填写开始和结束时间。"), field="start")
    if end <= start:
        raise DomainError(_("结束时间须晚于开始时间。"), field="end")
    if end - start > timedelta(days=MAX_BUSY_DAYS):
        raise DomainError(_("单条忙碌时间不能超过 %(n)s 天，请分段登记。", n=MAX_BUSY_DAYS), field="end")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请填写事由（如：休假、培训、其他会议）。"), field="reason")
    if len(reason) > 200:
        raise DomainError(_("事由不能超过 200 个字符。"), field="reason")
    write_lock(db.session)
    block = BusyBlock(user_id=user.id, start_at=start, end_at=end, reason=reason, source="manual")
    db.session.add(block)
    db.session.flush()
    audit.record(actor, "busy.create", "busy_block", block.id, agencies=[user.agency_id],
                 summary=f"登记忙碌时间：{user.display_name} {fmt_local(start)}–{fmt_local(end)}（{reason}）",
                 after=block.snapshot())
    db.session.commit()
    return block


def cancel_busy(actor: Any, block_id: Any) -> BusyBlock:
    try:
        block = db.session.get(BusyBlock, int(block_id))
    except (TypeError, ValueError):
        block = None
    if block is None:
        raise NotFound(_("忙碌时间不存在。"))
    require_writer(actor)
    user = get_user_for_busy(actor, block.user_id)
    if not block.active:
        raise DomainError(_("该忙碌时间已撤销。"))
    write_lock(db.session)
    before = block.snapshot()
    block.active = False
    audit.record(actor, "busy.cancel", "busy_block", block.id, agencies=[user.agency_id],
                 summary=f"撤销忙碌时间：{user.display_name} {fmt_local(block.start_at)}–{fmt_local(block.end_at)}",
                 before=before, after=block.snapshot())
    db.session.commit()
    return block


def busy_of(user_id: int, start: datetime, end: datetime) -> list[BusyBlock]:
    """One person's active busy blocks overlapping [start, end), in one query (the slot finder's
    split by block length pays off for many people, not for one person's page)."""
    return list(db.session.execute(
        sa.select(BusyBlock).where(BusyBlock.user_id == user_id, BusyBlock.active.is_(True),
                                   BusyBlock.start_at < end, BusyBlock.end_at > start)
        .order_by(BusyBlock.start_at, BusyBlock.id)
    ).scalars())


def _busy_visible(user: Any, block_id: str) -> bool:
    try:
        block = db.session.get(BusyBlock, int(block_id))
    except ValueError:
        return False
    if block is None:
        return False
    owner = db.session.get(User, block.user_id)
    return owner is not None and may_see(user, owner.agency_id)


audit.register_entity("busy_block", "忙碌时间", _busy_visible)


# --- demo data -----------------------------------------------------------------------------------

DEMO_ROOMS: list[tuple[str, str, int, str | None, str]] = [
    ("区司法局第一会议室", "沙坪坝区司法局 3 楼", 20, "sfj", "room-sfj-1@spb.example.cn"),
    ("区市场监管局约谈室", "沙坪坝区市场监管局 2 楼 205", 10, "scjgj", "room-scjgj-205@spb.example.cn"),
    ("区城市管理局会议室", "沙坪坝区城市管理局 4 楼", 16, "cgj", "room-cgj-4@spb.example.cn"),
]


def seed_rooms() -> int:
    from coord.agencies.models import Agency

    have = set(db.session.execute(sa.select(Room.name)).scalars())
    codes = {a.code: a.id for a in db.session.execute(sa.select(Agency)).scalars()}
    added = 0
    for name, location, capacity, code, email in DEMO_ROOMS:
        if name not in have:
            db.session.add(Room(name=name, location=location, capacity=capacity, agency_id=codes.get(code or ""),
                                email=email, active=True))
            added += 1
    db.session.commit()
    return added


def _register_demo() -> None:
    from coord.demo import register_seeder

    register_seeder("rooms", seed_rooms)


_register_demo()
