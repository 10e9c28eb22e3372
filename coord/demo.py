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

DISTRICT = "重庆市沙坪坝区"
# Full official names and document-number prefixes (文号代字) of the annex-2 departments: demo data,
# sensible but not authoritative (the office edits them in the directory). Towns and sub-districts
# follow one pattern (see `official`).
OFFICIAL: dict[str, tuple[str, str]] = {
    "bmb": ("重庆市沙坪坝区国家保密局", "沙保密"), "daj": ("重庆市沙坪坝区档案局", "沙档"),
    "xwcbj": ("重庆市沙坪坝区新闻出版局", "沙新出"), "qwb": ("重庆市沙坪坝区人民政府侨务办公室", "沙侨"),
    "mzzjw": ("重庆市沙坪坝区民族宗教事务委员会", "沙民宗"),
    "wxb": ("中共重庆市沙坪坝区委网络安全和信息化委员会办公室", "沙网信"),
    "tb": ("重庆市沙坪坝区人民政府台湾事务办公室", "沙台"), "fgw": ("重庆市沙坪坝区发展和改革委员会", "沙发改"),
    "jw": ("重庆市沙坪坝区教育委员会", "沙教"), "jxw": ("重庆市沙坪坝区经济和信息化委员会", "沙经信"),
    "mzj": ("重庆市沙坪坝区民政局", "沙民"), "sfj": ("重庆市沙坪坝区司法局", "沙司"),
    "czj": ("重庆市沙坪坝区财政局", "沙财"), "rsj": ("重庆市沙坪坝区人力资源和社会保障局", "沙人社"),
    "sthjj": ("重庆市沙坪坝区生态环境局", "沙环"), "zjw": ("重庆市沙坪坝区住房和城乡建设委员会", "沙住建"),
    "cgj": ("重庆市沙坪坝区城市管理局", "沙城管"), "jtj": ("重庆市沙坪坝区交通局", "沙交"),
    "nyncw": ("重庆市沙坪坝区农业农村委员会", "沙农"), "sww": ("重庆市沙坪坝区商务委员会", "沙商"),
    "whlyw": ("重庆市沙坪坝区文化和旅游发展委员会", "沙文旅"), "wsjkw": ("重庆市沙坪坝区卫生健康委员会", "沙卫"),
    "tyjrswj": ("重庆市沙坪坝区退役军人事务局", "沙退役"), "yjglj": ("重庆市沙坪坝区应急管理局", "沙应急"),
    "sjj": ("重庆市沙坪坝区审计局", "沙审"), "tyj": ("重庆市沙坪坝区体育局", "沙体"),
    "tjj": ("重庆市沙坪坝区统计局", "沙统"), "ybj": ("重庆市沙坪坝区医疗保障局", "沙医保"),
    "rfb": ("重庆市沙坪坝区人民防空办公室", "沙人防"), "ggzyj": ("重庆市沙坪坝区公共资源交易监督管理局", "沙公资"),
    "gafj": ("重庆市公安局沙坪坝区分局", "沙公"), "ghzyj": ("重庆市规划和自然资源局沙坪坝区分局", "沙规资"),
    "scjgj": ("重庆市沙坪坝区市场监督管理局", "沙市监"), "xfjyzd": ("重庆市沙坪坝区消防救援支队", "沙消"),
    "whzd": ("重庆市沙坪坝区文化市场综合行政执法支队", "沙文执"),
}


def official(name: str, code: str, kind: str) -> tuple[str, str]:
    """(full name, document prefix) for a demo agency."""
    if code in OFFICIAL:
        return OFFICIAL[code]
    if kind == "subdistrict":  # 小龙坎街道办事处 -> 重庆市沙坪坝区小龙坎街道办事处, 小龙坎街
        place = name.removesuffix("街道办事处")
        return f"{DISTRICT}{name}", f"{place}街"
    if kind == "town":  # 歌乐山镇人民政府 -> 重庆市沙坪坝区歌乐山镇人民政府, 歌乐山镇
        return f"{DISTRICT}{name}", name.removesuffix("人民政府")
    return f"{DISTRICT}{name.removeprefix('区')}", ""


def demo_phone(order: int) -> str:
    return f"023-6536{order:04d}"


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
    existing = {a.code: a for a in db.session.execute(sa.select(Agency)).scalars()}
    added = 0
    for order, (name, code, kind, sector, enforcement, police) in enumerate(AGENCIES, start=1):
        full_name, prefix = official(name, code, kind)
        agency = existing.get(code)
        if agency is not None:
            # Fill what an older seed did not have; never overwrite the office's edits.
            agency.full_name = agency.full_name or full_name
            agency.doc_prefix = agency.doc_prefix or prefix
            agency.phone = agency.phone or demo_phone(order)
            continue
        db.session.add(Agency(
            name=name, code=code, kind=kind, is_sector_authority=sector, is_enforcement=enforcement,
            is_police=police, email=f"{code}@{MAIL_DOMAIN}", sort_order=order, active=True,
            full_name=full_name, doc_prefix=prefix, phone=demo_phone(order),
        ))
        added += 1
    db.session.commit()
    return added


def seed_accounts(password: str) -> int:
    agencies = {a.code: a.id for a in db.session.execute(sa.select(Agency)).scalars()}
    existing = {u.username: u for u in db.session.execute(sa.select(User)).scalars()}
    added = 0
    pw_hash = hash_password(password)
    for order, (username, name, code, role, post, cert) in enumerate(ACCOUNTS, start=1):
        phone = f"138{order:08d}"  # documents name a contact person with a phone (demo numbers)
        if username in existing:
            existing[username].phone = existing[username].phone or phone
            continue
        if code not in agencies:
            continue
        db.session.add(User(
            username=username, name=name, agency_id=agencies[code], role=role, post=post, phone=phone,
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
