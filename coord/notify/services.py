"""The outbox: queue mail inside the caller's transaction; deliver each row once.

`queue_mail` is the API other features call. The row is committed (or rolled back) with the
change that caused it; only after the commit is the delivery task enqueued. The worker claims
a row with a conditional UPDATE (queued -> sending), so two workers never send the same row,
and a periodic sweep re-enqueues whatever is due, so a missed enqueue only delays a message.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.utils import make_msgid, parseaddr
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

from coord.accounts.models import User
from coord.audit import services as audit
from coord.dbtypes import utcnow, write_lock
from coord.errors import DomainError, NotFound
from coord.extensions import db
from coord.lang import in_language
from coord.notify import mail, sms
from coord.notify.models import OutboxAttachment, OutboxMessage
from coord.timeutil import fmt_local

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # with the default 60 s base: 1, 2, 4, ... 64 min — about four hours in all
_PENDING = "coord_outbox_pending"


# --- queueing -------------------------------------------------------------------------------

def clean_addresses(values: Sequence[str | None]) -> list[str]:
    """Valid, de-duplicated addresses ("张三 <a@b.cn>" keeps its name); the rest are skipped."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        if not value or not value.strip():
            continue
        name, addr = parseaddr(value.strip())
        addr = valid_address(addr)
        if addr is None:
            log.warning("skipping invalid e-mail address %r", value)
            continue
        if addr.lower() in seen:
            continue
        seen.add(addr.lower())
        out.append(str(Address(display_name=name, addr_spec=addr)) if name else addr)
    return out


@lru_cache(maxsize=4096)
def valid_address(addr: str) -> str | None:
    """The normalised address, or None (cached: feeds check the same people thousands of times)."""
    try:  # no SMTPUTF8: an internationalised mailbox name would be refused by most servers
        found = validate_email(addr, check_deliverability=False, allow_smtputf8=False)
        return found.ascii_email or found.normalized  # IDN domains in punycode, as SMTP needs
    except EmailNotValidError:
        return None


def queue_mail(
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    *,
    calendar: bytes | None = None,
    calendar_method: str | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    key: str | None = None,
    cc: Sequence[str] = (),
    about: tuple[str, object] | None = None,
) -> OutboxMessage | None:
    """Add a message to the current transaction; it is sent after that transaction commits.

    Returns None when no valid recipient remains. With `key`, queueing the same key again
    returns the first row instead of a second message. `attachments` are (filename, MIME type,
    bytes). With `calendar` the message is an iMIP invitation (`calendar_method` = its METHOD).
    `about` = (entity type, id) of the record it concerns: that record's page shows the message's fate.
    """
    if key:
        existing = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.key == key)).scalar_one_or_none()
        if existing is not None:
            return existing
    to_clean = clean_addresses(to)
    cc_clean = [a for a in clean_addresses(cc) if a.lower() not in {x.lower() for x in to_clean}]
    if not to_clean and not cc_clean:
        return None
    if calendar is not None and not calendar_method:
        raise ValueError("calendar_method is required with calendar (it must equal the METHOD inside)")
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    now = utcnow()
    row = OutboxMessage(
        key=key, message_id=make_msgid(domain=_domain(sender)), sender=sender,
        to_addrs=to_clean, cc_addrs=cc_clean, subject=subject.replace("\r", " ").replace("\n", " ")[:300],
        text=text, html=html, calendar=calendar,
        calendar_method=calendar_method.upper() if calendar_method else None,
        status="queued", attempts=0, next_attempt_at=now, created_at=now, last_error="", channel="email",
        entity_type=about[0] if about else None, entity_id=str(about[1]) if about else None,
    )
    row.attachments = [OutboxAttachment(filename=f, content_type=t, data=d) for f, t, d in attachments]
    db.session.add(row)
    db.session.flush()
    db.session.info.setdefault(_PENDING, []).append(row.id)
    return row


def languages_of(addresses: Iterable[str | None]) -> dict[str, str]:
    """The language of each address that is an active user account's (lower-cased address -> "zh_CN" | "en").
    Two accounts sharing a mailbox read English only if both chose it."""
    wanted = {parseaddr(a)[1].strip().lower() for a in addresses if a}
    wanted.discard("")
    if not wanted:
        return {}
    found: dict[str, str] = {}
    for email, language in db.session.execute(sa.select(sa.func.lower(User.email), User.language).where(
            sa.func.lower(User.email).in_(sorted(wanted)), User.active.is_(True))):
        found[email] = "en" if language == "en" and found.get(email, "en") == "en" else "zh_CN"
    return found


def by_language(addresses: Iterable[str | None]) -> dict[str, list[str]]:
    """The addresses by the language of their reader, Chinese first: a user account's saved language;
    Chinese for every other mailbox (an agency's, a room's, the party's, an outside address)."""
    addresses = [a for a in addresses if a]
    languages = languages_of(addresses)
    groups: dict[str, list[str]] = {}
    for value in addresses:
        groups.setdefault(languages.get(parseaddr(value)[1].strip().lower(), "zh_CN"), []).append(value)
    return dict(sorted(groups.items(), key=lambda item: item[0] != "zh_CN"))


def queue_mail_in_languages(to: Sequence[str | None], compose: Callable[[], tuple[str, str]], *,
                            key: str | None = None, **options: Any) -> list[OutboxMessage]:
    """`queue_mail` once per language of the recipients (`by_language`): `compose()` gives (subject, text),
    called inside `in_language` of each group. The Chinese message has `key`, the English one `key:en`."""
    rows = []
    for language, group in by_language(to).items():
        with in_language(language):
            subject, text = compose()
        row = queue_mail(group, subject, text, key=language_key(key, language), **options)
        if row is not None:
            rows.append(row)
    return rows


def language_key(key: str | None, language: str) -> str | None:
    """The outbox key of a message's version in a language (Chinese: the key itself)."""
    return key if key is None or language == "zh_CN" else f"{key}:{language}"


def queue_sms(to: Sequence[str | None], text: str, *, subject: str = "", key: str | None = None
              ) -> OutboxMessage | None:
    """A text message to mobile numbers, as an ordinary outbox row (channel "sms") in the caller's
    transaction; delivered through the HTTP SMS gateway after the commit, with the same claiming,
    retries and back-off as mail. Invalid numbers are skipped (None when none is left); `key` makes it
    idempotent like `queue_mail`. One row per number, so each has its own delivery state."""
    if key:
        existing = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.key == key)).scalar_one_or_none()
        if existing is not None:
            return existing
    numbers = list(dict.fromkeys(n for n in (sms.normalise_mobile(v) for v in to) if n))
    if not numbers:
        return None
    if len(numbers) > 1:
        rows = [queue_sms([n], text, subject=subject, key=f"{key}:{n}" if key else None) for n in numbers]
        return rows[0]
    now = utcnow()
    sender = sms.signature(current_app.config)
    text = text.strip()[:sms.MAX_LENGTH]
    row = OutboxMessage(
        key=key, message_id=make_msgid(domain="sms." + _domain(current_app.config["MAIL_DEFAULT_SENDER"])),
        channel="sms", sender=sender, to_addrs=numbers, cc_addrs=[],
        subject=(subject or text).replace("\r", " ").replace("\n", " ")[:300], text=text, html=None,
        status="queued", attempts=0, next_attempt_at=now, created_at=now, last_error="",
    )
    db.session.add(row)
    db.session.flush()
    db.session.info.setdefault(_PENDING, []).append(row.id)
    return row


def _domain(sender: str) -> str:
    addr = parseaddr(sender)[1]
    try:
        return Address(addr_spec=addr).domain or "localhost"
    except (ValueError, IndexError):
        return "localhost"


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    ids = session.info.pop(_PENDING, None)
    if not ids:
        return
    from coord.notify import tasks

    for message_id in ids:
        try:
            tasks.enqueue_delivery(message_id)
        except Exception:  # the queue is down: the periodic sweep will find the row
            log.exception("could not enqueue delivery of outbox message %s", message_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- delivery (runs in the worker) ----------------------------------------------------------

def transport() -> str:
    """"smtp" or "catchall". Unset MAIL_TRANSPORT: catchall in development when no MAIL_SERVER is
    configured (a refused connection to 127.0.0.1:25 helps nobody), smtp otherwise."""
    config = current_app.config
    chosen = (config.get("MAIL_TRANSPORT") or "").strip().lower()
    if chosen in ("smtp", "catchall"):
        return chosen
    if config.get("MAIL_SERVER") or config.get("COORD_ENV") == "production":
        return "smtp"
    return "catchall"


def _describe(row_id: int, subject: str) -> str:
    return f"邮件 #{row_id}「{subject[:40]}」"

def backoff(attempts: int) -> timedelta:
    """Exponential: base, 2×base, 4×base, ... capped at one day."""
    base = float(current_app.config.get("MAIL_RETRY_BASE_SECONDS", 60))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 86400))


def claim(message_id: int, now: datetime | None = None) -> bool:
    """queued -> sending, only if due. One UPDATE: of two workers, exactly one sees rowcount 1."""
    now = now or utcnow()
    write_lock(db.session)
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "queued",
               OutboxMessage.next_attempt_at <= now)
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver(message_id: int) -> str:
    """Send one message if it is due and nobody else is sending it. Returns the new status.

    The claim is committed before talking to the server, and the outcome after: a crash in
    between leaves the row in `sending`, which the sweep hands back after a timeout.
    """
    if not claim(message_id):
        row = db.session.get(OutboxMessage, message_id)
        return row.status if row else "missing"
    row = db.session.get(OutboxMessage, message_id)
    if row.channel == "sms":
        return _deliver_sms(row)
    try:
        msg, recipients, attempts = mail.build(row), mail.envelope_recipients(row), row.attempts
    except Exception as err:  # content that cannot be encoded will not improve by retrying
        log.exception("outbox message %s cannot be built", message_id)
        db.session.rollback()
        return _finish(message_id, "failed", f"邮件内容无法生成：{type(err).__name__}: {err}")
    sender, subject = _envelope_sender(row), row.subject
    db.session.commit()  # hold no snapshot (nor lock) during the network call
    what = _describe(message_id, subject)
    if transport() == "catchall":
        log.info("%s：开发模式，已投递到开发邮箱（未真正发出，收件人 %d 人），可在 /dev/mail/ 查看。"
                 " / development: kept in the catch-all mailbox, not sent.", what, len(recipients))
        return _finish(message_id, "sent", "", sent_at=utcnow(), transport="catchall", quiet=True)
    try:
        refused = mail.send(current_app.config, msg, sender, recipients)
    except mail.PermanentFailure as err:
        log.error("%s 发送失败，邮件服务器拒绝且不会接受重试：%s。不再重试；请核对收件地址，"
                  "再在“邮件发送”页面重新发送。", what, err)
        return _finish(message_id, "failed", str(err), transport="smtp", refused=err.refused or None, quiet=True)
    except mail.TemporaryFailure as err:
        if attempts >= int(current_app.config.get("MAIL_MAX_ATTEMPTS", MAX_ATTEMPTS)):
            log.error("%s 第 %d 次发送失败：%s。已达最多尝试次数，不再重试；请检查邮件服务器设置"
                      "（MAIL_SERVER 等），再在“邮件发送”页面重新发送。", what, attempts, err)
            return _finish(message_id, "failed", f"已尝试 {attempts} 次，放弃：{err}", transport="smtp", quiet=True)
        retry_at = utcnow() + backoff(attempts)
        log.warning("%s 第 %d 次发送失败：%s。将于 %s（北京时间）自动重试。", what, attempts, err,
                    fmt_local(retry_at, "%H:%M:%S"))
        return _finish(message_id, "queued", str(err), next_attempt_at=retry_at, transport="smtp", quiet=True)
    refusals = {addr: f"{code} {mail._text(resp)}".strip() for addr, (code, resp) in refused.items()}
    note = "；".join(f"{addr} 被拒收：{why}" for addr, why in refusals.items())
    status = _finish(message_id, "sent", note, sent_at=utcnow(), transport="smtp", refused=refusals or None,
                     quiet=True)  # record it first: the log line must not widen the window before the commit
    if refusals:
        log.warning("%s 已发送给 %d 人；%s。被拒收的地址不再重试，请核对。", what,
                    len(recipients) - len(refusals), note)
    else:
        log.info("%s 已发送给 %d 人。", what, len(recipients))
    return status


def _deliver_sms(row: OutboxMessage) -> str:
    """The SMS twin of the mail path: claimed already; one POST to the gateway per number."""
    message_id, numbers, text, attempts = row.id, list(row.to_addrs), row.text, row.attempts
    gateway_id = row.message_id.strip("<>")
    db.session.commit()  # hold no snapshot (nor lock) during the network call
    if transport() == "catchall" and not sms.setting(current_app.config, "SMS_GATEWAY_URL"):
        # Development without a gateway: shown on /dev/mail/ with the mail, never sent.
        log.info("短信 #%s：开发模式，已投递到开发邮箱（未真正发出，%d 个号码）。 / development: kept, not sent.",
                 message_id, len(numbers))
        return _finish(message_id, "sent", "", sent_at=utcnow(), transport="catchall", quiet=True)
    answers = []
    try:
        for number in numbers:
            answers.append(sms.send(current_app.config, gateway_id, number, text))
    except mail.PermanentFailure as err:
        return _finish(message_id, "failed", str(err))
    except mail.TemporaryFailure as err:
        if attempts >= int(current_app.config.get("MAIL_MAX_ATTEMPTS", MAX_ATTEMPTS)):
            return _finish(message_id, "failed", f"已尝试 {attempts} 次，放弃：{err}")
        return _finish(message_id, "queued", str(err), next_attempt_at=utcnow() + backoff(attempts))
    return _finish(message_id, "sent", "；".join(a for a in answers if a)[:2000], sent_at=utcnow())


def _envelope_sender(row: OutboxMessage) -> str:
    return parseaddr(row.sender)[1] or row.sender


def _finish(message_id: int, status: str, error: str, *, quiet: bool = False, **values) -> str:
    write_lock(db.session)
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending")
        .values(status=status, last_error=error[:2000], claimed_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if not quiet:
        log.info("邮件 #%s：%s %s", message_id, status, error)
    return status


def due_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or utcnow()
    return list(db.session.execute(
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    ).scalars())


def release_stale(now: datetime | None = None) -> int:
    """Rows stuck in `sending` (a worker died mid-attempt) go back to the queue.

    This is the one case where a message can go out twice; it then carries the same
    Message-ID, so mail clients show it once.
    """
    now = now or utcnow()
    timeout = timedelta(seconds=float(current_app.config.get("MAIL_SENDING_TIMEOUT", 900)))
    write_lock(db.session)
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - timeout)
        .values(status="queued", claimed_at=None, next_attempt_at=now,
                last_error="发送过程中断（进程退出），重新排队")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


# --- what became of the messages about a record ---------------------------------------------

def messages_about(entity_type: str, entity_id: object, limit: int = 20) -> list[OutboxMessage]:
    """The messages queued about one record, newest first (its page says what became of each)."""
    stmt = (sa.select(OutboxMessage)
            .where(OutboxMessage.entity_type == entity_type, OutboxMessage.entity_id == str(entity_id))
            .order_by(OutboxMessage.id.desc()).limit(limit))
    return list(db.session.execute(stmt).scalars())


# --- the development mailbox (catch-all) -----------------------------------------------------

def caught_messages(actor, limit: int = 200) -> list[OutboxMessage]:
    """What the catch-all kept (or would send): the office sees all, others the mail addressed to them."""
    stmt = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    rows = list(db.session.execute(stmt).scalars())
    return [r for r in rows if actor.is_office or _addressed_to(r, actor)]


def _addressed_to(row: OutboxMessage, actor) -> bool:
    mine = (getattr(actor, "email", "") or "").lower()
    return bool(mine) and any(mine == parseaddr(a)[1].lower() for a in row.recipients)


def caught_message(actor, message_id: int) -> OutboxMessage:
    row = db.session.get(OutboxMessage, message_id) if 0 < message_id < 2**31 else None
    if row is None or not (actor.is_office or _addressed_to(row, actor)):
        raise NotFound(_("邮件不存在或您无权查看。"))
    return row


# --- the admin page -------------------------------------------------------------------------

def list_messages(status: str | None = None, limit: int = 200) -> list[OutboxMessage]:
    stmt = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(db.session.execute(stmt).scalars())


def counts() -> dict[str, int]:
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    return {status: n for status, n in rows}


def retry(actor, message_id: int) -> OutboxMessage:
    """Put a failed message back in the queue (the office fixed the address or the server)."""
    from coord.accounts.scoping import require_office

    require_office(actor)
    row = db.session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound(_("邮件不存在。"))
    if row.status != "failed":
        raise DomainError(_("只有发送失败的邮件可以重新发送（当前状态：%(s)s）。", s=_(row.status_label)))
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    row.status = "queued"
    row.attempts = 0
    row.next_attempt_at = utcnow()
    db.session.info.setdefault(_PENDING, []).append(row.id)
    audit.record(actor, "outbox.retry", "outbox_message", row.id, summary=f"重新发送邮件：{row.subject}",
                 before=before, after={"status": "queued", "attempts": 0})
    return row


def _can_see(user, _entity_id: str) -> bool:
    return bool(user.is_office)


audit.register_entity("outbox_message", "邮件", _can_see)
