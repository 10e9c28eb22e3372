"""SMS through the outbox: ordinary outbox rows (channel "sms") delivered to an HTTP SMS gateway,
here a real HTTP server on loopback that records what it is sent and answers as told."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from coord.dbtypes import utcnow
from coord.extensions import db
from coord.notify import services
from coord.notify.models import OutboxMessage
from coord.notify.sms import normalise_mobile
from tests.notify_fixtures import run_worker


@dataclass
class Gateway:
    """A stand-in for the district's 短信平台: records each POST; answers with `status` and `body`."""

    server: ThreadingHTTPServer
    received: list[dict] = field(default_factory=list)
    status: int = 200
    body: str = '{"code": 0, "msg": "ok"}'

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/sms/send"


@pytest.fixture(name="gateway")
def gateway_fixture(app) -> Iterator[Gateway]:
    gateway: Gateway

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length", 0))
            gateway.received.append({"path": self.path, "headers": dict(self.headers),
                                     "json": json.loads(self.rfile.read(length).decode("utf-8"))})
            payload = gateway.body.encode("utf-8")
            self.send_response(gateway.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway = Gateway(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(SMS_GATEWAY_URL=gateway.url, SMS_GATEWAY_TOKEN="gw-secret", SMS_SIGN="沙坪坝区柔性执法",
                      SMS_TIMEOUT=5)
    yield gateway
    server.shutdown()
    server.server_close()


def _row(row_id: int) -> OutboxMessage:
    db.session.rollback()
    return db.session.get(OutboxMessage, row_id)


def test_numbers_are_normalised_and_invalid_ones_skipped():
    assert normalise_mobile("138 0000 1234") == "13800001234"
    assert normalise_mobile("+86 139-0000-5678") == "13900005678"
    assert normalise_mobile("023-65000000") is None and normalise_mobile("12345678901") is None
    assert normalise_mobile("") is None


def test_an_sms_row_is_an_ordinary_outbox_row_delivered_to_the_gateway(app, gateway):
    row = services.queue_sms(["138 0000 1234", "023-65000000"], "约谈时间已确定。", subject="约谈通知", key="t:1")
    db.session.commit()
    assert row.channel == "sms" and row.to_addrs == ["13800001234"] and row.status == "queued"
    assert row.subject == "约谈通知" and row.sender == "沙坪坝区柔性执法" and row.message_id
    assert services.queue_sms(["13800001234"], "again", key="t:1").id == row.id  # idempotent by key
    assert services.queue_sms(["023-65000000"], "x") is None
    run_worker()
    [got] = gateway.received
    assert got["path"] == "/sms/send" and got["headers"]["Authorization"] == "Bearer gw-secret"
    assert got["json"] == {"id": row.message_id.strip("<>"), "mobile": "13800001234",
                           "content": "【沙坪坝区柔性执法】约谈时间已确定。", "sign": "沙坪坝区柔性执法"}
    assert got["headers"]["Idempotency-Key"] == row.message_id.strip("<>")
    sent = _row(row.id)
    assert sent.status == "sent" and sent.attempts == 1 and sent.sent_at is not None
    run_worker()
    assert len(gateway.received) == 1  # sent once


def test_several_numbers_make_one_row_each(app, gateway):
    services.queue_sms(["13800001234", "13900005678"], "通知", key="multi")
    db.session.commit()
    rows = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")).scalars().all()
    assert sorted(r.to_addrs[0] for r in rows) == ["13800001234", "13900005678"]
    run_worker()
    assert sorted(g["json"]["mobile"] for g in gateway.received) == ["13800001234", "13900005678"]


def test_a_5xx_answer_is_retried_with_back_off_then_sent(app, gateway):
    gateway.status, gateway.body = 503, '{"code": 503, "msg": "busy"}'
    row = services.queue_sms(["13800001234"], "通知")
    db.session.commit()
    run_worker()
    failed = _row(row.id)
    assert failed.status == "queued" and failed.attempts == 1 and "503" in failed.last_error
    assert failed.next_attempt_at > utcnow()  # back-off
    assert services.deliver(row.id) == "queued" and len(gateway.received) == 1  # not before its back-off
    db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()
    gateway.status, gateway.body = 200, '{"code": 0}'
    services.deliver(row.id)
    assert _row(row.id).status == "sent" and len(gateway.received) == 2
    assert gateway.received[0]["json"]["id"] == gateway.received[1]["json"]["id"]  # same id for every attempt


@pytest.mark.parametrize("status,body", [(400, '{"code": 40001, "msg": "号码格式错误"}'), (200, '{"code": 1024}')])
def test_a_refusal_fails_at_once(app, gateway, status, body):
    gateway.status, gateway.body = status, body
    row = services.queue_sms(["13800001234"], "通知")
    db.session.commit()
    run_worker()
    failed = _row(row.id)
    assert failed.status == "failed" and failed.attempts == 1 and "短信平台" in failed.last_error


def test_a_gateway_that_is_down_keeps_the_row_queued(app, gateway):
    app.config["SMS_GATEWAY_URL"] = "http://127.0.0.1:9/unreachable"  # discard port: refused
    row = services.queue_sms(["13800001234"], "通知")
    db.session.commit()
    run_worker()
    waiting = _row(row.id)
    assert waiting.status == "queued" and "无法连接短信平台" in waiting.last_error
    app.config["SMS_GATEWAY_URL"] = ""
    assert services.deliver(row.id) in ("queued",)  # not due yet: untouched


def test_without_a_gateway_the_row_waits_with_a_clear_message(app):
    app.config.update(SMS_GATEWAY_URL="", MAIL_TRANSPORT="smtp")  # production: messages really leave
    row = services.queue_sms(["13800001234"], "通知")
    db.session.commit()
    run_worker()
    assert "未配置短信平台" in _row(row.id).last_error and _row(row.id).status == "queued"


def test_in_development_without_a_gateway_the_sms_is_kept_in_the_development_mailbox(app, client):
    from tests.conftest import login

    app.config.update(SMS_GATEWAY_URL="", MAIL_TRANSPORT="catchall")
    row = services.queue_sms(["13800001234"], "您的约谈链接：http://127.0.0.1:5000/p/x", subject="约谈通知链接：开发")
    db.session.commit()
    run_worker()
    kept = _row(row.id)
    assert kept.status == "sent" and kept.transport == "catchall"
    login(client, "admin")
    page = client.get("/dev/mail/").get_data(as_text=True)
    assert "约谈通知链接：开发" in page and "短信" in page
    shown = client.get(f"/dev/mail/{row.id}").get_data(as_text=True)
    assert "13800001234" in shown and "您的约谈链接" in shown
    assert client.get(f"/dev/mail/{row.id}.eml").status_code == 404  # a text message is not an e-mail


def test_the_outbox_page_shows_sms_rows(app, client):
    from tests.conftest import login

    services.queue_sms(["13800001234"], "约谈通知短信", subject="约谈通知链接：测试")
    db.session.commit()
    login(client, "admin")
    html = client.get("/admin/outbox/").get_data(as_text=True)
    assert "短信" in html and "约谈通知链接：测试" in html and "13800001234" in html
