"""Scheduling rules (configurable): working hours, notice period, buffer, slot grid.

Read from the app config when set (SCHEDULING_* keys), else from the environment (COORD_*),
else the defaults below, which follow the policy: interview notice at least 3 working days ahead.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import time

from flask import current_app, has_app_context

from coord.errors import DomainError

DEFAULT_WORKING_HOURS = "09:00-12:00,14:00-17:30"


@dataclass(frozen=True)
class Rules:
    working_hours: tuple[tuple[time, time], ...]
    notice_working_days: int = 3
    buffer_minutes: int = 15
    step_minutes: int = 30

    @property
    def longest_session_minutes(self) -> int:
        return max((e.hour * 60 + e.minute) - (s.hour * 60 + s.minute) for s, e in self.working_hours)

    def describe_hours(self) -> str:
        return "、".join(f"{s:%H:%M}–{e:%H:%M}" for s, e in self.working_hours)


def parse_hours(text: str) -> tuple[tuple[time, time], ...]:
    """"09:00-12:00,14:00-17:30" -> ((09:00, 12:00), (14:00, 17:30)); sorted, non-overlapping."""
    sessions = []
    try:
        for part in text.split(","):
            start, end = (time.fromisoformat(x.strip()) for x in part.split("-"))
            if start >= end:
                raise ValueError(part)
            sessions.append((start, end))
    except ValueError as err:
        raise DomainError(f"工作时间配置无效：{text}（应为 09:00-12:00,14:00-17:30 形式）。") from err
    sessions.sort()
    for (_, end), (start, _) in zip(sessions, sessions[1:], strict=False):
        if start < end:
            raise DomainError(f"工作时间配置中的时段重叠：{text}。")
    return tuple(sessions)


def _setting(key: str, env: str, default: str) -> str:
    if has_app_context() and current_app.config.get(key) is not None:
        return str(current_app.config[key])
    return os.environ.get(env, default)


def current_rules() -> Rules:
    return Rules(
        working_hours=parse_hours(_setting("SCHEDULING_WORKING_HOURS", "COORD_WORKING_HOURS", DEFAULT_WORKING_HOURS)),
        notice_working_days=int(_setting("INTERVIEW_NOTICE_WORKING_DAYS", "COORD_NOTICE_WORKING_DAYS", "3")),
        buffer_minutes=int(_setting("SCHEDULING_BUFFER_MINUTES", "COORD_BUFFER_MINUTES", "15")),
        step_minutes=int(_setting("SCHEDULING_STEP_MINUTES", "COORD_SLOT_STEP_MINUTES", "30")),
    )
