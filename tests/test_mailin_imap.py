"""The worker reads the reply mailbox from a real IMAP server (Debian's Dovecot on loopback)."""
from __future__ import annotations

import sqlalchemy as sa

from coord.extensions import db
from coord.mailin import imap, services
from coord.mailin.models import InboundMessage, InvitationReply
from coord.mailin.tasks import poll_mailbox
from tests.calendar_fixtures import make_interview
from tests.mailin_fixtures import dovecot_fixture, sample  # noqa: F401

OFFICIAL, PARTY = "cgj_officer@spb.example.cn", "wang@example.com"


def folder(server, name: str) -> list[bytes]:
    client = server.client()
    try:
        client.select_folder(name, readonly=True)
        uids = client.search("ALL")
        return [client.fetch([u], ["BODY.PEEK[]"])[u][b"BODY[]"] for u in uids]
    finally:
        client.logout()


def deliver(server, *messages: bytes) -> None:
    client = server.client()
    try:
        for raw in messages:
            client.append("INBOX", raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    finally:
        client.logout()


def test_worker_polls_the_mailbox_applies_answers_and_files_each_message(app, dovecot):
    interview = make_interview()
    good = sample("outlook_accept.eml", interview, attendee=OFFICIAL, attendee_name="陈志强", comment="准时到",
                  message_id="<imap-good@client.example>")
    forged = sample("thunderbird_accept.eml", interview, attendee=PARTY, sender=OFFICIAL,
                    message_id="<imap-forged@client.example>")
    deliver(dovecot, good, forged, good)  # the same answer delivered twice
    app.config.update(dovecot.config())
    db.session.commit()

    result = poll_mailbox.call_local()  # what the worker's periodic task runs every minute
    assert result == "已处理 1，已隔离 1，重复 1，失败（留待下次） 0"
    db.session.rollback()
    [reply] = db.session.execute(sa.select(InvitationReply)).scalars()
    assert (reply.email, reply.partstat, reply.comment) == (OFFICIAL, "ACCEPTED", "准时到")
    assert db.session.execute(sa.select(InboundMessage.source).distinct()).scalars().all() == ["imap"]
    assert folder(dovecot, "INBOX") == []
    assert len(folder(dovecot, "coord-processed")) == 2  # the answer and its duplicate
    [kept] = folder(dovecot, "coord-quarantine")
    assert b"<imap-forged@client.example>" in kept
    assert poll_mailbox.call_local() == "已处理 0，已隔离 0，重复 0，失败（留待下次） 0"


def test_a_message_that_fails_stays_in_the_inbox_for_the_next_run(app, dovecot):
    interview = make_interview()
    raw = sample("apple_tentative.eml", interview, attendee=PARTY, attendee_name="王某",
                 message_id="<imap-retry@client.example>")
    deliver(dovecot, raw)
    db.session.commit()
    config = {**app.config, **dovecot.config()}

    def database_down(data: bytes, source: str) -> services.Outcome:
        raise sa.exc.OperationalError("INSERT", {}, Exception("could not connect to server"))

    first = imap.poll(config, process=database_down)
    assert (first.processed, first.failed) == (0, 1)
    assert len(folder(dovecot, "INBOX")) == 1 and folder(dovecot, "coord-processed") == []
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 0

    second = imap.poll(config)
    assert (second.processed, second.failed) == (1, 0)
    assert folder(dovecot, "INBOX") == [] and len(folder(dovecot, "coord-processed")) == 1
    db.session.rollback()
    assert db.session.execute(sa.select(InvitationReply.partstat)).scalar_one() == "TENTATIVE"


def test_mail_poll_command_without_a_mailbox_says_so(app):
    out = app.test_cli_runner().invoke(args=["mail-poll"])
    assert out.exit_code == 1 and "COORD_IMAP_HOST" in out.output
