"""Sample contexts for the document templates: they list every key a template reads, and feed
the tests and the benchmark. Real contexts are built from the models by `coord.minutes`."""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
PARTY = {"name": "重庆沙坪坝区磁器口食品有限公司", "credit_code": "91500106MA5U7X8Y9K", "is_organisation": True}


def minutes_context(turn_count: int = 8, **overrides: Any) -> dict[str, Any]:
    """A minutes (约谈笔录) context; about 8 turns fill two pages."""
    started = dt.datetime(2026, 3, 5, 9, 30, tzinfo=SHANGHAI)
    turns = [
        {
            "q": f"第{i + 1}个问题：你单位在经营场所门前堆放货物、占用人行道的情况持续了多长时间？"
                 "是否收到过城市管理部门的劝导？",
            "a": "自去年十一月起因仓库改造，部分货物临时堆放在门前，约三个月。收到过劝导，"
                 "当时已清理，但后来又有堆放。我们认识到问题，会尽快整改。",
        }
        for i in range(turn_count)
    ]
    context: dict[str, Any] = {
        "document_title": "约谈笔录",
        "document_date": started,
        "number": "沙市监约〔2026〕3号",
        "draft": False,
        "revision": 1,
        "correction_reason": None,
        "started_at": started,
        "ended_at": started + dt.timedelta(hours=1, minutes=30),
        "place": "重庆市沙坪坝区市场监督管理局三楼会议室",
        "agencies": ["重庆市沙坪坝区市场监督管理局", "重庆市沙坪坝区城市管理局"],
        "interviewers": [
            {"name": "李堃", "agency": "区市场监管局", "cert_number": "50010621001"},
            {"name": "王喆", "agency": "区城市管理局", "cert_number": "50010622017"},
        ],
        "recorder": {"name": "陈晓雯", "cert_number": "50010621015"},
        "party": PARTY,
        "attendees": [{"name": "赵德堃", "post": "总经理"}, {"name": "钱喆", "post": "食品安全管理员"}],
        "matter": "经营场所食品贮存不规范、门前占道堆放货物，群众多次投诉。",
        "turns": turns,
        "statement": "我公司对上述问题没有异议，将按要求在期限内完成整改，并加强员工培训。",
        "rectifications": [
            {"requirement": "清理门前占道堆放的货物，保持人行道畅通", "deadline": dt.date(2026, 3, 12)},
            {"requirement": "按照食品安全标准规范贮存食品，建立进货查验记录", "deadline": dt.date(2026, 3, 31)},
        ],
        "undertaking": True,
        "refused_to_sign": None,
    }
    context.update(overrides)
    return context


def notice_context(**overrides: Any) -> dict[str, Any]:
    """An interview notice (约谈通知书) context."""
    context: dict[str, Any] = {
        "document_title": "约谈通知书",
        "document_date": dt.datetime(2026, 2, 27, 10, 0, tzinfo=SHANGHAI),
        "number": "沙市监约通〔2026〕3号",
        "party": PARTY,
        "reason": "经查，你单位存在食品贮存不规范、门前占道堆放货物等问题，群众多次投诉。",
        "legal_basis": "",
        "organiser": "重庆市沙坪坝区市场监督管理局",
        "co_organisers": ["重庆市沙坪坝区城市管理局"],
        "starts_at": dt.datetime(2026, 3, 5, 9, 30, tzinfo=SHANGHAI),
        "ends_at": dt.datetime(2026, 3, 5, 11, 0, tzinfo=SHANGHAI),
        "place": "重庆市沙坪坝区市场监督管理局三楼会议室",
        "matter": "食品贮存不规范、门前占道堆放货物",
        "attendance": "你单位法定代表人或主要负责人。",
        "materials": ["营业执照副本复印件", "法定代表人身份证明或授权委托书", "食品进货查验记录"],
        "contact": {"name": "李堃", "phone": "023-65000000"},
        "issued_on": dt.date(2026, 2, 27),
    }
    context.update(overrides)
    return context


def undertaking_context(**overrides: Any) -> dict[str, Any]:
    """An undertaking (保证承诺书) context."""
    minutes = minutes_context()
    context: dict[str, Any] = {
        "document_title": "保证承诺书",
        "number": "沙市监诺〔2026〕3号",
        "document_date": minutes["started_at"],
        "party": PARTY,
        "interviewed_at": minutes["started_at"],
        "agencies": minutes["agencies"],
        "rectifications": minutes["rectifications"],
    }
    context.update(overrides)
    return context
