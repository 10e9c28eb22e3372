"""Demo data: the annex-2 agencies, the working-day calendar and a few accounts.

Idempotent: running it again adds only what is missing and never overwrites edits.
Demo data is not authoritative; the admin edits the directory.
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from coord.accounts.models import User
from coord.accounts.services import hash_password
from coord.agencies.models import Agency
from coord.extensions import db
from coord.workdays.services import seed_from_library

MAIL_DOMAIN = "spb.example.cn"

# (name, code, kind, sector authority, enforcement, police)
AGENCIES: list[tuple[str, str, str, bool, bool, bool]] = [
    *[(n, c, "committee_office", True, True, False) for n, c in [
        ("区委保密办（区国家保密局）", "bmb"), ("区档案局", "daj"), ("区新闻出版局", "xwcbj"),
        ("区政府侨务办", "qwb"), ("区民族宗教委", "mzzjw"), ("区网信办", "wxb"), ("区政府台办", "tb"),
    ]],
    *[(n, c, "government_department", True, True, False) for n, c in [
        ("区发展改革委", "fgw"), ("区教委", "jw"), ("区经济信息委（区大数据发展局）", "jxw"),
        ("区民政局", "mzj"), ("区司法局", "sfj"), ("区财政局（区金融办）", "czj"), ("区人力社保局", "rsj"),
        ("区生态环境局", "sthjj"), ("区住房城乡建委", "zjw"), ("区城市管理局", "cgj"), ("区交通局", "jtj"),
        ("区农业农村委", "nyncw"), ("区商务委", "sww"), ("区文化旅游委", "whlyw"), ("区卫生健康委", "wsjkw"),
        ("区退役军人事务局", "tyjrswj"), ("区应急管理局", "yjglj"), ("区审计局", "sjj"), ("区体育局", "tyj"),
        ("区统计局", "tjj"), ("区医保局", "ybj"), ("区人民防空办", "rfb"), ("区公共资源交易管理局", "ggzyj"),
    ]],
    ("区公安分局", "gafj", "city_branch", True, True, True),
    ("区规划自然资源局", "ghzyj", "city_branch", True, True, False),
    ("区市场监管局", "scjgj", "city_branch", True, True, False),
    ("区消防救援支队", "xfjyzd", "city_branch", True, True, False),
    *[(f"{n}街道办事处", c, "subdistrict", False, True, False) for n, c in [
        ("小龙坎", "xlk"), ("沙坪坝", "spb"), ("渝碚路", "ybl"), ("磁器口", "cqk"), ("童家桥", "tjq"),
        ("石井坡", "sjp"), ("詹家溪", "zjx"), ("井口", "jk"), ("山洞", "sd"), ("新桥", "xq"), ("天星桥", "txq"),
        ("土湾", "tw"), ("覃家岗", "qjg"), ("陈家桥", "cjq"), ("虎溪", "hx"), ("西永", "xy"), ("联芳", "lf"),
    ]],
    *[(f"{n}镇人民政府", c, "town", False, True, False) for n, c in [
        ("歌乐山", "gls"), ("青木关", "qmg"), ("凤凰", "fh"), ("回龙坝", "hlb"), ("曾家", "zjz"),
        ("土主", "tz"), ("中梁", "zl"),
    ]],
    ("区文化市场综合行政执法支队", "whzd", "authorised_org", False, True, False),
]

# (username, name, agency code, role, post, certificate number)
ACCOUNTS: list[tuple[str, str, str, str, str, str]] = [
    ("admin", "秦立新", "sfj", "admin", "领导小组办公室", "50010621000001"),
    ("scjg_coord", "张堃", "scjgj", "coordinator", "法规科科长", "50010621000101"),
    ("scjg_officer", "李喆", "scjgj", "officer", "执法大队队员", "50010621000102"),
    ("cgj_coord", "王晓燕", "cgj", "coordinator", "执法支队副支队长", "50010621000201"),
    ("cgj_officer", "陈志强", "cgj", "officer", "执法队员", "50010621000202"),
    ("gafj_officer", "刘洋", "gafj", "officer", "法制大队民警", "50010621000301"),
    ("sthj_coord", "赵敏", "sthjj", "coordinator", "执法支队科员", "50010621000401"),
    ("viewer", "周琳", "sfj", "viewer", "科员", ""),
]


def seed_agencies() -> int:
    existing = {c for (c,) in db.session.execute(sa.select(Agency.code)).all()}
    added = 0
    for order, (name, code, kind, sector, enforcement, police) in enumerate(AGENCIES, start=1):
        if code in existing:
            continue
        db.session.add(Agency(
            name=name, code=code, kind=kind, is_sector_authority=sector, is_enforcement=enforcement,
            is_police=police, email=f"{code}@{MAIL_DOMAIN}", sort_order=order, active=True,
        ))
        added += 1
    db.session.commit()
    return added


def seed_accounts(password: str) -> int:
    agencies = {a.code: a.id for a in db.session.execute(sa.select(Agency)).scalars()}
    existing = {u for (u,) in db.session.execute(sa.select(User.username)).all()}
    added = 0
    pw_hash = hash_password(password)
    for username, name, code, role, post, cert in ACCOUNTS:
        if username in existing or code not in agencies:
            continue
        db.session.add(User(
            username=username, name=name, agency_id=agencies[code], role=role, post=post,
            cert_number=cert, email=f"{username}@{MAIL_DOMAIN}", password_hash=pw_hash, active=True,
        ))
        added += 1
    db.session.commit()
    return added


# Features add their own demo data (rooms, sample leads, ...) with `register_seeder`.
_SEEDERS: list[tuple[str, Callable[[], int]]] = []


def register_seeder(name: str, fn: Callable[[], int]) -> None:
    if name not in {n for n, _ in _SEEDERS}:
        _SEEDERS.append((name, fn))


def seed_all(password: str) -> dict[str, int]:
    counts = {
        "agencies": seed_agencies(),
        "calendar_days": seed_from_library(),
        "accounts": seed_accounts(password),
    }
    for name, fn in _SEEDERS:
        counts[name] = fn()
    return counts
