"""Lead state machine and its working-day clocks (services, real database and calendar)."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from coord.audit.models import AuditEntry
from coord.errors import Conflict, DomainError, Forbidden, NotFound
from coord.extensions import db
from coord.referrals import queries, services
from coord.referrals.models import ExtensionRequest, Lead, LeadKind
from tests.interview_fixtures import drop_calendar_from
from tests.referrals_fixtures import agency, at, make_lead, user


def _reload(lead_id: int) -> Lead:
    db.session.expire_all()
    return db.session.get(Lead, lead_id)


def _lead_count() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Lead)).scalar_one()


def test_full_cycle_over_national_day_and_makeup_saturday(app):
    # Referred on Wed 2026-09-30: 10-01..07 are off, so the one working day to acknowledge is Thu 10-08.
    lead = make_lead(now=at(2026, 9, 30))
    assert lead.state == "referred" and lead.number.startswith("XS2026")
    assert lead.ack_due == date(2026, 10, 8) and lead.due_on == date(2026, 10, 8)
    assert lead.return_due == date(2026, 10, 9)  # two working days: 10-08, 10-09
    # Acknowledged on 10-08: five working days are 10-09, Sat 10-10 (make-up day), 10-12, 10-13, 10-14.
    lead = services.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 10, 8, 9))
    assert lead.state == "acknowledged" and lead.ack_on_time is True
    assert lead.reply_due == date(2026, 10, 14) and lead.due_on == date(2026, 10, 14)
    assert lead.warn_on == date(2026, 10, 13)  # 80% of 5 working days = the 4th
    lead = services.reply(user("scjg_officer"), lead.id,
                          {"outcome": "case_opened", "case_number": "沙市监立〔2026〕88号", "note": "已立案调查。"},
                          now=at(2026, 10, 14, 17))
    assert lead.state == "replied" and lead.reply_on_time is True and lead.due_on is None
    lead = services.accept(user("cgj_coord"), lead.id, "同意。", now=at(2026, 10, 15))
    assert lead.state == "closed"
    actions = db.session.execute(sa.select(AuditEntry.action).where(
        AuditEntry.entity_type == "lead", AuditEntry.entity_id == str(lead.id)).order_by(AuditEntry.id)).scalars()
    assert list(actions) == ["lead.refer", "lead.acknowledge", "lead.reply", "lead.accept"]


def test_yellow_from_80_percent_and_red_when_overdue(app):
    lead = make_lead(now=at(2026, 10, 8))
    lead = services.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 10, 8, 11))
    assert (lead.warn_on, lead.due_on) == (date(2026, 10, 13), date(2026, 10, 14))
    box = queries.Box("inbox", agency("scjgj").id)

    def flags(today: date) -> tuple[bool, bool, int | None]:
        row = next(r for r in queries.list_leads(box, today)[0] if r.lead.id == lead.id)
        return row.overdue, row.warning, services.signal(row.lead, today).days_left

    assert flags(date(2026, 10, 12)) == (False, False, 2)  # green, 2 working days left
    assert flags(date(2026, 10, 13)) == (False, True, 1)  # yellow from the 4th working day
    assert flags(date(2026, 10, 14)) == (False, True, 0)  # due today: still yellow, not red
    assert flags(date(2026, 10, 15)) == (True, False, -1)  # red: one working day late
    assert flags(date(2026, 10, 19)) == (True, False, -3)  # the weekend does not count
    assert queries.counts(box, date(2026, 10, 15)).overdue >= 1
    # A reply on 10-15 is late: the lead is marked, and the figures count it.
    services.reply(user("scjg_officer"), lead.id, {"outcome": "not_opened", "note": "经核查不构成违法。"},
                   now=at(2026, 10, 15))
    lead = _reload(lead.id)
    assert lead.reply_on_time is False and lead.late is True
    fig = next(r for r in queries.figures(date(2026, 10, 15)) if r["agency"] == "区市场监管局")
    assert fig["late"] >= 1 and fig["replied"] >= 1


def test_clock_without_calendar_data_is_refused_and_nothing_saved(app):
    drop_calendar_from(2027)  # a day beyond every year in the table (the horizon ended with 2026)
    before = _lead_count()
    with pytest.raises(DomainError) as err:
        make_lead(now=at(2026, 12, 31))  # the next working day is in 2027: no calendar rows
    assert "2027 年的工作日历尚未录入" in err.value.message
    assert err.value.details["calendar_url"] == "/calendar/?year=2027"
    db.session.rollback()
    assert _lead_count() == before
    # Once 2027 is built (here by the office editing one of its days: the year is built provisionally
    # from the statutory holidays first), the same referral works.
    from coord.workdays.services import set_day

    set_day(user("admin"), date(2027, 1, 1), False, "元旦")
    lead = make_lead(now=at(2026, 12, 31))
    assert lead.ack_due == date(2027, 1, 4) and lead.return_due == date(2027, 1, 5)


def test_acknowledge_twice_and_reply_rules(app):
    lead = make_lead(now=at(2026, 9, 28))
    with pytest.raises(Conflict, match="请先签收"):
        services.reply(user("scjg_officer"), lead.id, {"outcome": "not_opened", "note": "x"}, now=at(2026, 9, 28))
    services.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 9, 28, 15))
    snapshot = _reload(lead.id).snapshot()
    with pytest.raises(Conflict, match="不能重复签收"):
        services.acknowledge(user("scjg_coord"), lead.id, now=at(2026, 9, 29))
    db.session.rollback()
    for data, field in [({"note": "x"}, "outcome"), ({"outcome": "maybe", "note": "x"}, "outcome"),
                        ({"outcome": "case_opened", "note": "x"}, "case_number"),
                        ({"outcome": "flexible", "note": "x", "measure": ""}, "measure"),
                        ({"outcome": "not_opened", "note": "  "}, "note")]:
        with pytest.raises(DomainError) as err:
            services.reply(user("scjg_officer"), lead.id, data, now=at(2026, 9, 29))
        assert err.value.field == field and err.value.message
        db.session.rollback()
    # Only the receiving agency replies; the sender is told so; an unrelated agency does not see it.
    with pytest.raises(Forbidden, match="只有接收单位"):
        services.reply(user("cgj_coord"), lead.id, {"outcome": "not_opened", "note": "x"})
    with pytest.raises(NotFound):
        services.reply(user("sthj_coord"), lead.id, {"outcome": "not_opened", "note": "x"})
    with pytest.raises(NotFound):
        services.acknowledge(user("viewer"), lead.id)  # a viewer at 区司法局 is not the office
    db.session.rollback()
    assert _reload(lead.id).snapshot() == snapshot


def test_only_sector_authority_coordinators_refer_to_enforcement_agencies(app):
    with pytest.raises(Forbidden):
        make_lead(sender="scjg_officer", to="cgj")
    with pytest.raises(DomainError, match="本单位"):
        make_lead(sender="cgj_coord", to="cgj", now=at(2026, 9, 28))
    with pytest.raises(DomainError, match="校验位"):
        make_lead(now=at(2026, 9, 28), party_credit_code="91500106MA5U123456")
    lead = make_lead(now=at(2026, 9, 28), party_credit_code="91110000600037341L")  # a published, valid code
    assert lead.party_credit_code == "91110000600037341L"
    with pytest.raises(DomainError) as err:
        make_lead(now=at(2026, 9, 28), party_name="")
    assert err.value.field == "party_name"
    with pytest.raises(DomainError, match="发生日期"):
        make_lead(now=at(2026, 9, 28), occurred_on="2026-09-29")


def test_return_within_two_working_days_then_redirect(app):
    lead = make_lead(now=at(2026, 9, 28))  # Mon: return due Wed 09-30
    assert lead.return_due == date(2026, 9, 30)
    with pytest.raises(DomainError, match="退回理由"):
        services.return_lead(user("scjg_officer"), lead.id, " ", now=at(2026, 9, 29))
    db.session.rollback()
    late = make_lead(now=at(2026, 9, 28), party_name="迟退回的当事人")
    with pytest.raises(DomainError, match="已超过退回期限"):
        services.return_lead(user("scjg_officer"), late.id, "不属于本单位职责", now=at(2026, 10, 8))
    db.session.rollback()
    lead = services.return_lead(user("scjg_officer"), lead.id, "不属于本单位职责", now=at(2026, 9, 29))
    assert lead.state == "returned" and lead.due_on is None
    lead = services.redirect(user("cgj_coord"), lead.id, agency("sthjj").id, now=at(2026, 9, 30))
    assert lead.state == "referred" and lead.to_agency.name == "区生态环境局"
    assert lead.ack_due == date(2026, 10, 8)
    # The agency that returned it no longer sees it.
    with pytest.raises(NotFound):
        services.get_lead(user("scjg_officer"), lead.id)


def test_extension_request_and_decision(app):
    lead = make_lead(now=at(2026, 9, 28))
    services.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 9, 28, 11))
    lead = _reload(lead.id)
    assert lead.reply_due == date(2026, 10, 10)  # 09-29, 09-30, 10-08, 10-09, Sat 10-10 (make-up day)
    with pytest.raises(DomainError, match="1–10"):
        services.request_extension(user("scjg_officer"), lead.id, 11, "案情复杂", now=at(2026, 9, 30))
    db.session.rollback()
    with pytest.raises(DomainError, match="延期理由"):
        services.request_extension(user("scjg_officer"), lead.id, 3, "", now=at(2026, 9, 30))
    db.session.rollback()
    services.request_extension(user("scjg_officer"), lead.id, 3, "需现场复核", now=at(2026, 9, 30))
    with pytest.raises(Conflict, match="待审批"):
        services.request_extension(user("scjg_officer"), lead.id, 2, "再次申请", now=at(2026, 9, 30))
    db.session.rollback()
    with pytest.raises(Forbidden):
        services.decide_extension(user("scjg_coord"), lead.id, True)  # the receiver cannot approve itself
    db.session.rollback()
    lead = services.decide_extension(user("cgj_coord"), lead.id, True, "同意", now=at(2026, 10, 8))
    assert lead.extended_days == 3 and lead.reply_due == date(2026, 10, 14)  # 10-12, 10-13, 10-14
    assert lead.warn_on == date(2026, 10, 13)  # 80% of 8 working days: the 7th (ceil 6.4)
    # A second request after the (extended) deadline is refused, and nothing is saved.
    with pytest.raises(DomainError, match="已超过回复期限"):
        services.request_extension(user("scjg_officer"), lead.id, 2, "还要查", now=at(2026, 10, 15))
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(ExtensionRequest).where(
        ExtensionRequest.lead_id == lead.id)).scalar_one() == 1
    # The office may refuse one too.
    services.request_extension(user("scjg_officer"), lead.id, 2, "还要查", now=at(2026, 10, 13))
    lead = services.decide_extension(user("admin"), lead.id, False, "时限已足够", now=at(2026, 10, 13))
    assert lead.reply_due == date(2026, 10, 14) and services.extensions_of(lead)[-1].state == "refused"


def test_send_back_restarts_reply_clock(app):
    lead = make_lead(now=at(2026, 9, 28))
    services.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 9, 28))
    services.reply(user("scjg_officer"), lead.id, {"outcome": "flexible", "measure": "persuasion", "note": "已劝导。"},
                   now=at(2026, 9, 29))
    with pytest.raises(DomainError, match="理由"):
        services.send_back(user("cgj_coord"), lead.id, "", now=at(2026, 9, 30))
    db.session.rollback()
    lead = services.send_back(user("cgj_coord"), lead.id, "请补充整改照片", now=at(2026, 9, 30))
    assert lead.state == "acknowledged" and lead.send_back_count == 1
    assert lead.reply_due == date(2026, 10, 13)  # 10-08, 10-09, Sat 10-10, 10-12, 10-13
    with pytest.raises(Conflict):
        services.accept(user("cgj_coord"), lead.id)


def test_merge_duplicates_keeps_history(app):
    a = make_lead(now=at(2026, 9, 28), party_name="甲公司")
    b = make_lead(sender="sthj_coord", now=at(2026, 9, 28), party_name="甲公司（重复）")
    other = make_lead(to="cgj", sender="scjg_coord", now=at(2026, 9, 28))
    with pytest.raises(DomainError, match="同一接收单位"):
        services.merge(user("admin"), b.id, other.id)
    db.session.rollback()
    with pytest.raises(DomainError, match="其自身"):
        services.merge(user("scjg_officer"), b.id, b.id)
    db.session.rollback()
    with pytest.raises(NotFound):
        services.merge(user("cgj_coord"), b.id, a.id)  # cgj neither sent nor received b
    db.session.rollback()
    merged = services.merge(user("scjg_officer"), b.id, a.id, now=at(2026, 9, 29))
    assert merged.state == "merged" and merged.merged_into_id == a.id and merged.due_on is None
    assert [m.id for m in services.merged_from(a)] == [b.id]
    # Both keep their trail; the sender of the duplicate still sees its own lead.
    assert services.get_lead(user("sthj_coord"), b.id).state == "merged"
    assert {e.action for e in db.session.execute(sa.select(AuditEntry).where(
        AuditEntry.entity_type == "lead", AuditEntry.entity_id == str(a.id))).scalars()} >= {"lead.merge_into"}
    with pytest.raises(Conflict):
        services.merge(user("scjg_officer"), b.id, a.id)


def test_supervision_needs_answer(app):
    lead = make_lead(now=at(2026, 9, 28))
    with pytest.raises(Forbidden):
        services.supervise(user("cgj_coord"), lead.id, "请加快")
    db.session.rollback()
    services.supervise(user("admin"), lead.id, "请于本周内回复", now=at(2026, 9, 29))
    assert _reload(lead.id).supervised is True
    with pytest.raises(Forbidden):
        services.answer_supervision(user("cgj_coord"), lead.id, "好")
    db.session.rollback()
    services.answer_supervision(user("scjg_officer"), lead.id, "已安排专人核查", now=at(2026, 9, 29))
    lead = _reload(lead.id)
    assert lead.supervised is False and services.supervisions_of(lead)[0].answer == "已安排专人核查"


def test_clocks_configurable_per_kind(app):
    kind = db.session.execute(sa.select(LeadKind).where(LeadKind.code == "safety")).scalar_one()
    services.update_kind(user("admin"), kind.id, {"name": kind.name, "ack_days": 2, "reply_days": 3,
                                                   "extension_max_days": 4, "return_days": 1})
    lead = make_lead(now=at(2026, 9, 28), kind_id=kind.id)
    assert lead.ack_due == date(2026, 9, 30)
    with pytest.raises(DomainError, match="回复时限"):
        services.update_kind(user("admin"), kind.id, {"name": "x", "ack_days": 1, "reply_days": 0,
                                                       "extension_max_days": 1, "return_days": 1})
    with pytest.raises(Forbidden):
        services.update_kind(user("cgj_coord"), kind.id, {})


def test_credit_code_check_digit():
    assert services.valid_credit_code("91110000600037341L")
    assert not services.valid_credit_code("91110000600037341X")
    assert not services.valid_credit_code("9111000060003734")


def test_figures_match_a_plain_count_of_every_lead(app):
    """The grouped SQL figures agree with counting each lead by hand, merged duplicates excluded."""
    a = make_lead(now=at(2026, 9, 28))  # acknowledged late, replied on time
    services.acknowledge(user("scjg_officer"), a.id, now=at(2026, 10, 8))
    services.reply(user("scjg_officer"), a.id, {"outcome": "not_opened", "note": "x"}, now=at(2026, 10, 9))
    b = make_lead(now=at(2026, 9, 28), party_name="乙")  # never acknowledged: overdue on 10-20
    c = make_lead(now=at(2026, 9, 28), party_name="丙")
    services.merge(user("scjg_officer"), c.id, b.id)
    make_lead(sender="scjg_coord", to="cgj", now=at(2026, 10, 19))  # fresh: not overdue on 10-20
    today = date(2026, 10, 20)
    got = {r["agency_id"]: r for r in queries.figures(today)}
    leads = [x for x in db.session.execute(sa.select(Lead)).scalars() if x.state != "merged"]
    for agency_id, row in got.items():
        mine = [x for x in leads if x.to_agency_id == agency_id]
        overdue = [x for x in mine if x.due_on is not None and x.due_on < today]
        assert row["received"] == len(mine)
        assert row["open"] == sum(x.state in ("referred", "acknowledged") for x in mine)
        assert row["overdue_now"] == len(overdue)
        assert row["late"] == sum(x.late or x in overdue for x in mine)
        assert row["replied"] == sum(x.reply_on_time is not None for x in mine)
        assert row["replied_on_time"] == sum(bool(x.reply_on_time) for x in mine)
        assert row["sent"] == sum(x.from_agency_id == agency_id for x in leads)
        assert row["sent_overdue"] == sum(x.from_agency_id == agency_id and x.due_on is not None and x.due_on < today
                                          for x in leads)
    scjg = got[agency("scjgj").id]
    assert scjg["overdue_now"] >= 1 and scjg["ack_on_time_rate"] is not None and scjg["ack_on_time_rate"] < 100


def test_concurrent_acknowledgements_only_one_wins(app):
    """Two officers press 签收 at once: one succeeds, the other is told it is already acknowledged."""
    import threading

    lead_id = make_lead().id
    barrier = threading.Barrier(4)
    results: list[str] = []

    def officer(name: str) -> None:
        with app.app_context():
            actor = user(name)
            db.session.commit()  # end the read: the service begins its own serialised transaction
            barrier.wait()
            try:
                services.acknowledge(actor, lead_id)
                results.append("ok")
            except Conflict:
                db.session.rollback()
                results.append("conflict")

    threads = [threading.Thread(target=officer, args=(n,)) for n in ("scjg_officer", "scjg_coord") * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "conflict", "conflict", "ok"]
    db.session.rollback()
    acks = db.session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.entity_id == str(lead_id), AuditEntry.action == "lead.acknowledge")).scalar_one()
    assert acks == 1
