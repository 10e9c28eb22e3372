"""The outbox: mail is written with the change, delivered by the Huey worker to a real SMTP
server on loopback, retried with back-off while the server is down, and sent once."""
from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coord.audit.models import AuditEntry
from coord.dbtypes import utcnow
from coord.extensions import db
from coord.notify import services, tasks
from coord.notify.models import OutboxMessage
from tests.conftest import csrf_token, login
from tests.notify_fixtures import run_sweep, run_worker, smtp_fixture, wait_until  # noqa: F401

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
    "UID:x@test\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:20260302T010000Z\r\nSUMMARY:联合约谈\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
).encode()


def _rows() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_queued_mail_is_committed_with_the_change_and_sent_once(app, smtp):
    row = services.queue_mail(["张堃 <scjg_coord@spb.example.cn>", "", "not-an-address"], "约谈通知", "正文")
    assert row.to_addrs == ["张堃 <scjg_coord@spb.example.cn>"]  # empty and invalid are skipped
    assert tasks.huey.pending_count() == 0  # nothing is enqueued before the commit
    db.session.commit()
    assert tasks.huey.pending_count() == 1
    assert run_worker() == 1
    [got] = smtp.wait_for(1)
    assert got.rcpt_tos == ["scjg_coord@spb.example.cn"]
    msg = got.message
    assert msg["Subject"] == "约谈通知"
    assert msg["To"] == "张堃 <scjg_coord@spb.example.cn>"
    assert msg.get_content().strip() == "正文"
    [sent] = _rows()
    assert (sent.status, sent.attempts, sent.message_id) == ("sent", 1, msg["Message-ID"])
    assert sent.sent_at is not None
    run_sweep()
    run_worker()
    assert len(smtp.received) == 1  # the sweep does not send a sent message again


def test_rolled_back_change_sends_nothing(app, smtp):
    services.queue_mail(["a@spb.example.cn"], "不会发送", "正文")
    db.session.rollback()
    assert run_worker() == 0
    assert _rows() == []
    assert smtp.received == []


def test_nobody_to_send_to_returns_none(app):
    assert services.queue_mail(["", "  ", "bad@", None, "张三@例子.中国"], "主题", "正文") is None
    assert _rows() == []


def test_same_key_queues_one_message(app, smtp):
    first = services.queue_mail(["a@spb.example.cn"], "主题", "正文", key="interview:1:seq:0")
    again = services.queue_mail(["a@spb.example.cn"], "主题", "正文", key="interview:1:seq:0")
    assert first.id == again.id
    db.session.commit()
    run_worker()
    assert len(smtp.wait_for(1)) == 1


def test_invitation_is_multipart_with_calendar_part_and_attachment(app, smtp):
    services.queue_mail(["a@spb.example.cn", "b@spb.example.cn"], "约谈邀请", "纯文本", "<p>网页正文</p>",
                        calendar=ICS, calendar_method="REQUEST",
                        attachments=[("通知书.pdf", "application/pdf", b"%PDF-1.7 test")])
    db.session.commit()
    run_worker()
    [got] = smtp.wait_for(1)
    assert sorted(got.rcpt_tos) == ["a@spb.example.cn", "b@spb.example.cn"]
    msg = got.message
    assert msg.get_content_type() == "multipart/mixed"
    alt, ics, pdf = msg.get_payload()
    assert alt.get_content_type() == "multipart/alternative"
    plain, html, cal = alt.get_payload()
    assert plain.get_content_type() == "text/plain" and plain.get_content().strip() == "纯文本"
    assert html.get_content_type() == "text/html" and "网页正文" in html.get_content()
    assert cal.get_content_type() == "text/calendar"
    assert cal.get_param("method") == "REQUEST" and cal.get_param("charset").upper() == "UTF-8"
    assert cal.get_payload(decode=True) == ICS  # CRLF and UTF-8 intact
    assert (ics.get_content_type(), ics.get_filename()) == ("application/ics", "invite.ics")
    assert ics.get_payload(decode=True) == ICS
    assert pdf.get_filename() == "通知书.pdf" and pdf.get_payload(decode=True) == b"%PDF-1.7 test"


def test_server_down_nothing_lost_back_off_then_each_delivered_once(app, smtp):
    app.config["MAIL_RETRY_BASE_SECONDS"] = 1
    smtp.stop()  # connections are refused
    for i in range(3):
        services.queue_mail([f"user{i}@spb.example.cn"], f"通知 {i}", "正文")
    db.session.commit()

    before = utcnow()
    assert run_worker() == 3
    rows = _rows()
    assert [r.status for r in rows] == ["queued"] * 3
    assert [r.attempts for r in rows] == [1, 1, 1]
    assert all("无法连接邮件服务器" in r.last_error for r in rows)
    assert all(timedelta(seconds=0.5) < r.next_attempt_at - before < timedelta(seconds=3) for r in rows)

    run_sweep()  # not due yet: the sweep leaves them alone
    run_worker()
    assert [r.attempts for r in _rows()] == [1, 1, 1]

    # The retries were scheduled by the worker itself at the back-off ETA.
    wait_until(lambda: run_worker() >= 0 and all(r.attempts == 2 for r in _rows()), timeout=6)
    rows = _rows()
    assert [r.attempts for r in rows] == [2, 2, 2]
    second = before + timedelta(seconds=1)
    assert all(r.next_attempt_at - second > timedelta(seconds=1.5) for r in rows)  # 1 s, then 2 s

    smtp.start()
    wait_until(lambda: (run_worker() or True) and all(r.status == "sent" for r in _rows()), timeout=8)
    run_sweep()
    run_worker()
    got = smtp.received
    rows = _rows()
    assert len(got) == 3
    assert sorted(m.message_id for m in got) == sorted(r.message_id for r in rows)
    assert len({m.message_id for m in got}) == 3
    assert [r.attempts for r in rows] == [3, 3, 3]


def test_missed_enqueue_is_picked_up_by_the_sweep(app, smtp):
    services.queue_mail(["a@spb.example.cn"], "主题", "正文")
    db.session.commit()
    tasks.huey.flush()  # as if the queue had lost the task (e.g. Redis restarted)
    assert run_worker() == 0
    assert run_sweep() == 1
    run_worker()
    assert len(smtp.wait_for(1)) == 1
    assert _rows()[0].status == "sent"


def test_two_workers_never_send_the_same_row(app, smtp):
    message_id = services.queue_mail(["a@spb.example.cn"], "主题", "正文").id
    db.session.commit()
    tasks.huey.flush()
    results: list[str] = []

    def worker():
        with app.app_context():
            results.append(services.deliver(message_id))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("sent") >= 1
    assert len(smtp.received) == 1
    assert _rows()[0].attempts == 1


def test_gives_up_after_max_attempts(app, smtp):
    app.config.update(MAIL_RETRY_BASE_SECONDS=0, MAIL_MAX_ATTEMPTS=3)
    smtp.stop()
    row = services.queue_mail(["a@spb.example.cn"], "主题", "正文")
    db.session.commit()
    for _ in range(4):
        run_worker()
        run_sweep()
    row = _rows()[0]
    assert (row.status, row.attempts) == ("failed", 3)
    assert "已尝试 3 次" in row.last_error


def test_stale_sending_row_goes_back_to_the_queue(app, smtp):
    row = services.queue_mail(["a@spb.example.cn"], "主题", "正文")
    db.session.commit()
    tasks.huey.flush()
    assert services.claim(row.id)  # a worker claimed it, then died
    assert services.release_stale() == 0  # not stale yet
    db.session.execute(sa.update(OutboxMessage).values(claimed_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert services.release_stale() == 1
    run_sweep()
    run_worker()
    assert len(smtp.wait_for(1)) == 1


@pytest.fixture
def failed_message(app, smtp):
    smtp.handler.reject.add("gone@spb.example.cn")
    services.queue_mail(["gone@spb.example.cn"], "退信测试", "正文")
    db.session.commit()
    run_worker()
    return _rows()[0]


def test_permanent_refusal_fails_at_once(failed_message, smtp):
    assert (failed_message.status, failed_message.attempts) == ("failed", 1)
    assert "550" in failed_message.last_error
    assert smtp.received == []


def test_office_sees_outbox_and_retries_a_failed_message(app, client, smtp, failed_message):
    login(client, "admin")
    page = client.get("/admin/outbox/?status=failed")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "退信测试" in html and "550" in html and "重新发送" in html

    url = f"/admin/outbox/{failed_message.id}/retry"
    assert client.post(url).status_code == 400  # no CSRF token: refused, unchanged
    assert _rows()[0].status == "failed"

    smtp.handler.reject.clear()  # the office fixed the mailbox
    token = csrf_token(client, "/admin/outbox/")
    resp = client.post(url, data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "待发送" in resp.get_data(as_text=True)
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "outbox.retry")).scalar_one()
    assert entry.entity_id == str(failed_message.id)
    run_worker()
    [got] = smtp.wait_for(1)
    row = _rows()[0]
    assert row.status == "sent" and got.message_id == row.message_id

    again = client.post(url, data={"csrf_token": token})
    assert again.status_code == 400 and "只有发送失败的邮件" in again.get_data(as_text=True)


def test_outbox_page_is_office_only(app, client):
    login(client, "scjg_coord")
    assert client.get("/admin/outbox/").status_code == 404
    assert client.post("/admin/outbox/1/retry", data={"csrf_token": csrf_token(client)}).status_code == 404


def test_huey_consumer_delivers_after_outage_once_each(app, smtp):
    """The real consumer (scheduler + two worker threads), fed duplicate tasks, with the SMTP
    server refusing connections for a while."""
    from huey.consumer import Consumer

    class TestConsumer(Consumer):
        def _set_signal_handlers(self):  # pytest owns the signals of this process
            pass

    app.config["MAIL_RETRY_BASE_SECONDS"] = 1
    smtp.stop()
    ids = [services.queue_mail([f"u{i}@spb.example.cn"], f"通知 {i}", "正文").id for i in range(4)]
    db.session.commit()
    for message_id in ids:  # duplicates, as after a redelivery or an extra sweep
        tasks.deliver_task(message_id)
    consumer = TestConsumer(tasks.huey, workers=2, periodic=False, initial_delay=0.05, max_delay=0.2)
    consumer.start()
    try:
        wait_until(lambda: all(r.attempts >= 1 and r.status == "queued" for r in _rows()), timeout=10)
        assert smtp.received == []
        smtp.start()
        wait_until(lambda: all(r.status == "sent" for r in _rows()), timeout=20)
    finally:
        consumer.stop(graceful=True)
    got = smtp.received
    assert sorted(m.message_id for m in got) == sorted(r.message_id for r in _rows())
    assert len(got) == 4


def test_flask_worker_command_delivers_from_its_own_process(app, smtp, fresh_db_url, tmp_path):
    """`flask --app wsgi worker`, the process `make run` starts, delivers what the app queued."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    services.queue_mail(["张堃 <scjg_coord@spb.example.cn>"], "后台进程投递", "正文")
    db.session.commit()
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATABASE_URL": fresh_db_url, "HUEY_SQLITE_PATH": app.config["HUEY_SQLITE_PATH"],
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "SECRET_KEY": "test-secret",
           "FLASK_APP": "wsgi"}
    env.pop("REDIS_URL", None)
    flask = Path(sys.executable).with_name("flask")
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen([str(flask), "--app", "wsgi", "worker", "-w", "1"], cwd=root, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        [got] = smtp.wait_for(1, timeout=30)
        # The server has the message; the worker records it as sent just after (a loaded machine may take a
        # moment): wait for that before stopping the worker, or the test races the worker's commit.
        wait_until(lambda: _rows()[0].status == "sent", timeout=30)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()
    assert got.message["Subject"] == "后台进程投递"
    row = _rows()[0]
    assert row.status == "sent" and row.message_id == got.message_id


def test_redis_queue_when_redis_url_is_set(app, smtp):
    """Production: REDIS_URL switches the queue to Redis (the server on loopback, as CI starts it)."""
    import uuid

    from huey.storage import RedisStorage

    app.config.update(REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                      HUEY_NAME=f"coord-test-{uuid.uuid4().hex[:8]}")
    tasks.configure(app)
    try:
        assert isinstance(tasks.huey.storage, RedisStorage)
        services.queue_mail(["a@spb.example.cn"], "经 Redis 投递", "正文")
        db.session.commit()
        assert tasks.huey.pending_count() == 1
        run_worker()
        [got] = smtp.wait_for(1)
        assert got.message["Subject"] == "经 Redis 投递"
    finally:
        tasks.huey.flush()
        app.config.update(REDIS_URL=None, HUEY_NAME="coord")
        tasks.configure(app)
