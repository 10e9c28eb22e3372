"""Building MIME messages (stdlib `email`) and handing them to an SMTP server (stdlib `smtplib`)."""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses

from coord.notify.models import OutboxMessage

# SMTP reply codes that will not get better by trying again (RFC 5321 §4.2.1: 5yz is permanent).
PERMANENT = range(500, 600)


class PermanentFailure(Exception):
    """The server refused the message for good; retrying would only repeat the refusal.

    `refused` names the recipients refused one by one ({address: "550 ..."}), when that is why."""

    def __init__(self, message: str, refused: dict[str, str] | None = None):
        super().__init__(message)
        self.refused = refused or {}


class TemporaryFailure(Exception):
    """The server is down or said "try later"; the outbox tries again after a back-off."""


def build(row: OutboxMessage) -> EmailMessage:
    """The message exactly as it goes out; the same for every attempt.

    With a calendar: multipart/mixed [ multipart/alternative [ text/plain, text/html,
    text/calendar; method=X ], invite.ics ] — the layout RFC 6047 clients (Outlook,
    Thunderbird, Apple Mail, Gmail) recognise as a meeting request, plus the same bytes as a
    file for clients that only offer attachments.
    """
    msg = EmailMessage(policy=SMTP)
    msg["From"] = row.sender
    msg["To"] = ", ".join(row.to_addrs)
    if row.cc_addrs:
        msg["Cc"] = ", ".join(row.cc_addrs)
    msg["Subject"] = row.subject
    msg["Message-ID"] = row.message_id
    msg["Date"] = format_datetime(row.created_at)
    # base64 keeps Chinese text and the calendar's CRLF lines byte-for-byte intact.
    msg.set_content(row.text, subtype="plain", charset="utf-8", cte="base64")
    if row.html:
        msg.add_alternative(row.html, subtype="html", charset="utf-8", cte="base64")
    if row.calendar:
        method = (row.calendar_method or "REQUEST").upper()
        if not row.html:
            msg.make_alternative()
        msg.add_alternative(
            row.calendar, maintype="text", subtype="calendar", cte="base64",
            params={"method": method, "charset": "UTF-8"},
        )
        msg.add_attachment(row.calendar, maintype="application", subtype="ics", filename="invite.ics")
    for att in row.attachments:
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype or "octet-stream", filename=att.filename)
    return msg


def envelope_recipients(row: OutboxMessage) -> list[str]:
    return [addr for _, addr in getaddresses(row.recipients) if addr]


def send(config: Mapping, msg: EmailMessage, sender: str, recipients: list[str]) -> dict:
    """One SMTP conversation. Returns the recipients the server refused (the rest got it)."""
    try:
        with smtplib.SMTP(config.get("MAIL_SERVER") or "127.0.0.1", int(config.get("MAIL_PORT") or 25),
                          timeout=float(config.get("MAIL_TIMEOUT", 30))) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            return smtp.send_message(msg, from_addr=sender, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as err:
        codes = [code for code, _ in err.recipients.values()]
        detail = "; ".join(f"{addr}: {code} {_text(resp)}" for addr, (code, resp) in err.recipients.items())
        if all(code in PERMANENT for code in codes):
            refused = {addr: f"{code} {_text(resp)}".strip() for addr, (code, resp) in err.recipients.items()}
            raise PermanentFailure(f"所有收件人均被拒收：{detail}", refused) from err
        raise TemporaryFailure(f"收件人暂时无法投递：{detail}") from err
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as err:
        message = f"{err.smtp_code} {_text(err.smtp_error)}"
        if err.smtp_code in PERMANENT:
            raise PermanentFailure(f"邮件服务器拒绝：{message}") from err
        raise TemporaryFailure(f"邮件服务器暂时拒绝：{message}") from err
    except smtplib.SMTPAuthenticationError as err:
        # A wrong password is fixed by the administrator, not by time: keep retrying meanwhile.
        raise TemporaryFailure(f"邮件服务器认证失败：{err.smtp_code} {_text(err.smtp_error)}") from err
    except (OSError, smtplib.SMTPException) as err:
        server = f"{config.get('MAIL_SERVER') or '127.0.0.1'}:{config.get('MAIL_PORT') or 25}"
        raise TemporaryFailure(f"无法连接邮件服务器 {server}（{type(err).__name__}: {err}）") from err


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
