"""A real SMTP server on loopback (aiosmtpd) and a way to run the Huey worker in a test."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


@dataclass
class Recorder:
    """aiosmtpd handler: keeps what it accepts; refuses addresses in `reject` with 550."""

    received: list[Received] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class SmtpServer:
    """Can be stopped and started again on the same port: while stopped, connections are refused."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.handler = Recorder()
        self.controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.received
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, server got {len(self.received)}")


@pytest.fixture(name="smtp")
def smtp_fixture(app) -> Iterator[SmtpServer]:
    """A running SMTP server on loopback; the app sends to it."""
    server = SmtpServer()
    server.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USE_TLS=False, MAIL_USERNAME=None,
                      MAIL_TIMEOUT=5)
    yield server
    server.stop()


def run_worker(rounds: int = 1) -> int:
    """What a Huey consumer does, in this thread: move due scheduled tasks to the queue, then
    dequeue and execute each task that is ready (tasks with a later ETA go to the schedule).
    Returns how many tasks were executed."""
    from coord.extensions import db
    from coord.notify.tasks import huey

    db.session.rollback()  # the worker writes in its own session; don't hold a snapshot
    executed = 0
    for _ in range(rounds):
        for task in huey.read_schedule(huey._get_timestamp()):
            huey.enqueue(task)
        while (task := huey.dequeue()) is not None:
            if huey.ready_to_run(task):
                huey.execute(task)
                executed += 1
            else:
                huey.add_schedule(task)
    db.session.rollback()  # see what the worker wrote
    return executed


def run_sweep() -> int:
    """The periodic task, as the consumer's scheduler would run it every minute."""
    from coord.extensions import db
    from coord.notify.tasks import sweep_outbox

    db.session.rollback()
    return sweep_outbox.call_local()


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
