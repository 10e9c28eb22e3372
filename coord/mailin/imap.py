"""Polling the reply mailbox over IMAP (IMAPClient): each message in the folder is processed once,
then moved out of it — to the processed folder, or the quarantine folder for quarantined mail.
A message whose processing fails stays where it is, so the next run tries it again; one that was
processed but could not be moved is recognised by its Message-ID next time (a duplicate) and moved.
"""
from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from imapclient import IMAPClient

from coord.extensions import db
from coord.mailin import services
from coord.mailin.parse import Unreadable

log = logging.getLogger(__name__)
BATCH = 200  # messages per run: a flood waits for the next minute instead of holding the worker


@dataclass
class PollResult:
    processed: int = 0
    quarantined: int = 0
    duplicates: int = 0
    failed: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (f"已处理 {self.processed}，已隔离 {self.quarantined}，重复 {self.duplicates}，"
                f"失败（留待下次） {self.failed}")


def configured(config: Mapping) -> bool:
    return bool(config.get("IMAP_HOST"))


def connect(config: Mapping) -> IMAPClient:
    security = (config.get("IMAP_SECURITY") or "ssl").lower()
    client = IMAPClient(config["IMAP_HOST"], port=int(config.get("IMAP_PORT") or 993), ssl=security == "ssl",
                        ssl_context=ssl.create_default_context() if security == "ssl" else None, timeout=60)
    if security == "starttls":
        client.starttls(ssl.create_default_context())
    client.login(config.get("IMAP_USER") or "", config.get("IMAP_PASSWORD") or "")
    return client


def poll(config: Mapping, process: Callable[[bytes, str], services.Outcome] | None = None) -> PollResult:
    """One pass over the mailbox folder."""
    process = process or services.process_message
    result = PollResult()
    folder = config.get("IMAP_FOLDER") or "INBOX"
    done_folder = config.get("IMAP_PROCESSED_FOLDER") or "coord-processed"
    quarantine_folder = config.get("IMAP_QUARANTINE_FOLDER") or "coord-quarantine"
    client = connect(config)
    try:
        for name in (done_folder, quarantine_folder):
            if not client.folder_exists(name):
                client.create_folder(name)
        client.select_folder(folder)
        for uid in client.search("ALL")[:BATCH]:
            fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
            raw = fetched.get(b"BODY[]")
            if raw is None:
                continue
            try:
                outcome = process(raw, "imap")
            except Unreadable as err:  # not mail at all: quarantining needs headers, so set it aside
                db.session.rollback()
                outcome = services.Outcome("quarantined", str(err))
            except Exception:  # the database or a bug: leave the message for the next run
                db.session.rollback()
                log.exception("inbound message (IMAP UID %s) could not be processed; left in %s", uid, folder)
                result.failed += 1
                continue
            counter = outcome.status if outcome.status in ("processed", "quarantined") else "duplicates"
            setattr(result, counter, getattr(result, counter) + 1)
            result.lines.append(outcome.line)
            _move(client, uid, quarantine_folder if outcome.status == "quarantined" else done_folder)
        client.close_folder()
    finally:
        try:
            client.logout()
        except Exception:  # the connection is gone anyway
            log.debug("IMAP logout failed", exc_info=True)
    return result


def _move(client: IMAPClient, uid: int, folder: str) -> None:
    if client.has_capability("MOVE"):
        client.move([uid], folder)
        return
    client.copy([uid], folder)
    client.delete_messages([uid])
    if client.has_capability("UIDPLUS"):
        client.uid_expunge([uid])
    else:
        client.expunge()
