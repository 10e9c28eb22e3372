"""Helpers for the minutes tests: a scheduled joint interview (issue 3's services) and minutes content."""
from __future__ import annotations

import pytest

from coord.interviews import services as interviews
from tests.conftest import user_by_name
from tests.interview_fixtures import NOW, at, interview_data

START = at("2026-09-24", "10:00")  # Thursday: three working days after NOW (Monday 2026-09-21)
AFTER = at("2026-09-24", "12:00")  # when the minutes are finalised


@pytest.fixture(autouse=True)
def _pdf_cache(app, tmp_path):
    """Keep rendered PDFs of a test in its own folder."""
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")


@pytest.fixture(name="interview")
def interview_fixture(app):
    """区市场监管局 (lead) and 区城市管理局 summon 重庆某某餐饮管理有限公司 on 2026-09-24 10:00."""
    return interviews.create(user_by_name("scjg_coord"), interview_data(start=START), now=NOW)


def content(**overrides) -> dict:
    """A complete minutes content (API shape) for the `interview` fixture."""
    data = {
        "started_at": "2026-09-24T10:05:00+08:00",
        "ended_at": "2026-09-24T11:20:00+08:00",
        "place": "区司法局第一会议室",
        "matter": "油烟扰民、占道经营",
        "interviewer_ids": [user_by_name("scjg_coord").id, user_by_name("cgj_officer").id],
        "recorder_id": user_by_name("scjg_officer").id,
        "attendees": [{"name": "王某", "post": "法定代表人"}, {"name": "赵喆", "post": "店长"}],
        "turns": [{"q": "你单位油烟净化设施是否正常运行？", "a": "设施老化，近两个月未清洗。"},
                  {"q": "门前占道经营持续多久？", "a": "约一个月，晚间高峰时段摆放桌椅。"}],
        "statement": "我们认识到问题，保证按期整改。",
        "rectifications": [{"requirement": "清洗并更换油烟净化设施", "deadline": "2026-10-15"},
                           {"requirement": "停止门前占道经营", "deadline": "2026-09-30"}],
        "undertaking": True,
        "refused_to_sign": None,
    }
    data.update(overrides)
    return data
