"""Demo lists: a published positive and negative list for 区市场监管局 and 区城市管理局.

Demo data, not authoritative: the codes are made up in the national format, with credit codes
that pass the GB 32100 check. Idempotent: an agency's list is added only if it has no versions,
and a credit code only where the directory has none.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from coord.accounts.models import User
from coord.agencies.models import Agency
from coord.audit import services as audit
from coord.credit_code import check_digit
from coord.dbtypes import utcnow
from coord.extensions import db
from coord.lists.models import ListItem, ListVersion
from coord.lists.rules import parse_measures

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def demo_credit_code(org_body: str, prefix: str = "11500106") -> str:
    """A 统一社会信用代码 for a district organ of 沙坪坝区 (500106) with a GB 11714 organisation code."""
    total = sum(int(ch) * w for ch, w in zip(org_body, _ORG_WEIGHTS, strict=True))
    org_check = {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))
    first17 = prefix + org_body + org_check
    return first17 + check_digit(first17)


CREDIT_BODIES = {"scjgj": "00930116", "cgj": "00929562"}

# (matter, basic code, 情形, 依据, measures, 备注); the code gets the agency's credit code in front
# when `implementation` is set, as the power list on 渝快办 shows it.
POSITIVE = {
    "scjgj": [
        ("未按规定公示营业执照", "330217001000", True,
         "首次被发现未将营业执照置于住所或者主要经营场所醒目位置，未造成危害后果，并在责令期限内改正的。",
         "《中华人民共和国市场主体登记管理条例》第三十六条、第五十条；《中华人民共和国行政处罚法》第三十三条第一款。",
         "劝导、告知建议", "责令立即改正"),
        ("市场主体未按规定办理住所（主要经营场所）变更登记", "330217002000", True,
         "变更后的住所仍在本区，首次被发现，未造成危害后果，在责令期限内办理变更登记的。",
         "《中华人民共和国市场主体登记管理条例》第二十四条、第四十六条。",
         "告知建议、回访", "回访核实变更登记办理情况"),
        ("经营者未按规定明码标价", "330216005000", False,
         "首次被发现未按规定明码标价，价格未高于同类商品市场价格，在责令期限内改正的。",
         "《中华人民共和国价格法》第十三条、第四十二条；《明码标价和禁止价格欺诈规定》第二十二条。",
         "劝导、告知建议", ""),
        ("广告中使用绝对化用语", "330218011000", True,
         "在经营场所内或者自设网站发布的广告首次使用“最佳”“最高级”等用语，影响范围小、持续时间短，主动消除影响的。",
         "《中华人民共和国广告法》第九条第三项、第五十七条；《中华人民共和国行政处罚法》第三十三条第一款。",
         "约谈告诫、回访", ""),
    ],
    "cgj": [
        ("占道经营", "330112001000", True,
         "首次在城市道路、广场等公共场所擅自摆摊设点，经劝导后立即自行改正，未影响通行和市容的。",
         "《重庆市市容环境卫生管理条例》第二十五条、第五十八条；《中华人民共和国行政处罚法》第三十三条第一款。",
         "劝导、告知建议", "首次发现，不予处罚"),
        ("超出门窗和外墙经营", "330112002000", True,
         "临街商铺首次超出门窗、外墙摆放商品或者从事经营活动，经劝导后立即改正的。",
         "《重庆市市容环境卫生管理条例》第二十六条、第五十八条。",
         "劝导、回访", ""),
        ("擅自在建（构）筑物、树木上张贴、涂写、刻画", "330112007000", False,
         "首次被发现且数量较少，当场清除或者在责令期限内清除，未造成其他危害后果的。",
         "《重庆市市容环境卫生管理条例》第二十一条、第五十六条。",
         "劝导、告知建议、调解纠错", ""),
    ],
}

NEGATIVE = {
    "scjgj": [
        ("销售不符合保障人体健康和人身、财产安全的国家标准、行业标准的产品", "330210003000", True,
         "一般：货值金额不足五千元的\n较重：货值金额五千元以上不足五万元，或者一年内因同类违法行为受过行政处罚的\n"
         "严重：货值金额五万元以上，或者造成人身伤害、财产损失等危害后果的",
         "《中华人民共和国产品质量法》第四十九条；《重庆市市场监管行政处罚裁量基准》。", "从重处罚"),
        ("发布虚假广告", "330218001000", True,
         "一般：首次发布，影响范围较小的\n较重：两年内有三次以上违法行为，或者有其他严重情节的\n"
         "严重：涉及药品、医疗器械、保健食品，或者造成消费者人身伤害的",
         "《中华人民共和国广告法》第二十八条、第五十五条。", ""),
    ],
    "cgj": [
        ("随意倾倒、抛撒、堆放建筑垃圾", "330112020000", True,
         "一般：倾倒量不足十立方米，未造成环境污染的\n较重：倾倒量十立方米以上不足一百立方米，或者经责令改正拒不改正的\n"
         "严重：倾倒量一百立方米以上，或者倾倒在河道、公园绿地等区域的",
         "《城市建筑垃圾管理规定》第二十条、第二十六条；《重庆市城市建筑垃圾管理办法》。", ""),
        ("擅自占用城市道路摆摊设点经营，经劝导拒不改正", "330112001000", True,
         "较重：经劝导、告知后拒不改正的\n严重：一年内被查处三次以上，或者阻碍执法人员依法执行职务的",
         "《重庆市市容环境卫生管理条例》第二十五条、第五十八条。", "与正面清单“占道经营”对应"),
    ],
}


def _code(agency: Agency, basic: str, implementation: bool) -> str:
    return f"{agency.credit_code}4{basic}" if implementation and agency.credit_code else basic


def _publish(agency: Agency, kind: str, rows: list[tuple], actor: User | None) -> None:
    now = utcnow()
    version = ListVersion(agency_id=agency.id, kind=kind, number=1, state="published", created_at=now,
                          changed_at=now, submitted_at=now, reviewed_at=now, published_at=now,
                          created_by_id=actor.id if actor else None, reviewed_by_id=actor.id if actor else None,
                          review_comment="演示数据")
    for position, row in enumerate(rows, start=1):
        if kind == "positive":
            matter, basic, impl, circumstances, basis, measures, remarks = row
        else:
            (matter, basic, impl, circumstances, basis, remarks), measures = row, ""
        version.items.append(ListItem(
            kind=kind, uid=uuid.uuid4().hex, position=position, matter=matter, matter_code=_code(agency, basic, impl),
            circumstances=circumstances, legal_basis=basis, measures=",".join(parse_measures(measures)[0]),
            remarks=remarks,
        ))
    db.session.add(version)
    db.session.flush()
    audit.record(actor, "list.publish", "list_version", version.id, agencies=[agency.id],
                 summary=f"演示数据：发布{agency.name}{version.kind_label}第 1 版（{len(rows)} 项）",
                 after=version.snapshot())


def seed() -> int:
    actor = db.session.execute(sa.select(User).where(User.username == "admin")).scalar_one_or_none()
    added = 0
    for code, body in CREDIT_BODIES.items():
        agency = db.session.execute(sa.select(Agency).where(Agency.code == code)).scalar_one_or_none()
        if agency is None:
            continue
        if not agency.credit_code:
            agency.credit_code = demo_credit_code(body)
        for kind, table in (("positive", POSITIVE), ("negative", NEGATIVE)):
            exists = db.session.execute(sa.select(ListVersion.id).where(
                ListVersion.agency_id == agency.id, ListVersion.kind == kind).limit(1)).first()
            if exists is None:
                _publish(agency, kind, table[code], actor)
                added += 1
    db.session.commit()
    return added
