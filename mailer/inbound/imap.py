"""The IMAP poller: a hosted mailbox feeds the same store path as SMTP.

``poll_once`` fetches the messages waiting in the folder (without marking
them read), hands each one's bytes to the same ``accept`` function the SMTP
server uses, and only after that committed flags it ``\\Seen`` and
``ediscuss-stored`` or moves it to ``imap.processed_folder``. Waiting means
"without our keyword", not "unread": in a shared mailbox a person may read a
message before the poll, and it must not be skipped for that. A crash between fetch and commit makes the message
come again; the store's dedupe key keeps it once. ``run_poller`` keeps a
connection open, waits with IDLE where the server has it (polling otherwise),
and reconnects with a growing delay; a refused login is logged plainly and
retried slowly.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientError, LoginError

from mailer.config.settings import ImapSettings
from mailer.core.addresses import parse_recipient
from mailer.core.choices import Security
from mailer.core.errors import StoreUnavailable, UnknownRecipient
from mailer.core.mailboxes import read_mailboxes
from mailer.inbound.receive import make_accept
from mailer.inbound.smtp import Accept, Delivery
from store.models import Via

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.imap")

BATCH = 10  # messages fetched at once: bounded memory even for large ones
IDLE_SLICE = 1.0  # seconds between checks of the stop flag while idling
IDLE_RENEW = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
READ_WINDOW_DAYS = 7  # read mail newer than this is taken if we did not store it
CONNECT_TIMEOUT = 60.0  # seconds for the greeting and each answer
LOGIN_RETRY = 600.0  # a wrong password is not retried in a tight loop
MAX_BACKOFF = 300.0
_RCPT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")
STORED = b"ediscuss-stored"  # the keyword (RFC 3501 flag) of a message we stored
# What an SSL handshake meets when the port speaks IMAP in plain text.
_PLAIN_TEXT_REASONS = {
    "WRONG_VERSION_NUMBER",
    "RECORD_LAYER_FAILURE",
    "UNKNOWN_PROTOCOL",
    "PACKET_LENGTH_TOO_LONG",
}


@dataclass(frozen=True)
class PolledMailbox:
    """Where the poller reads, and how it recognises the service's own addresses."""

    imap: ImapSettings
    domain: str
    slugs: Sequence[str]


def envelope_of(raw: bytes, domain: str, slugs: Sequence[str]) -> tuple[str, list[str]]:
    """The sender and the service's recipients, recovered from a stored message's headers.

    A mailbox keeps no SMTP envelope: the sender comes from ``Return-Path``
    (``<>`` stays the null sender) or else ``From``; the recipients are the
    service's own addresses among the delivery and address headers.
    """
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    path = headers.get("Return-Path")
    if path is not None:
        sender = _first_address(str(path)) if str(path).strip() != "<>" else ""
    else:
        sender = _first_address(str(headers.get("From", "")))
    recipients: list[str] = []
    for name in _RCPT_HEADERS:
        values = [str(v) for v in headers.get_all(name, [])]
        for address in (b.address for v in values for b in read_mailboxes(v)):
            if not address:
                continue
            try:
                parse_recipient(address, domain, slugs)
            except UnknownRecipient:
                continue
            if address.lower() not in (r.lower() for r in recipients):
                recipients.append(address)
    return sender, recipients


def _first_address(value: str) -> str:
    """The first readable address of a header, read from its structure (never decoded)."""
    return next((b.address for b in read_mailboxes(value) if b.address), "")


def waiting_criteria(
    settings: ImapSettings, permanent_flags: Sequence[bytes], today: date
) -> list[Any]:
    """The SEARCH that finds the messages still to store in the selected folder.

    With a processed folder, everything left is waiting. Otherwise every
    message without our keyword that is unread or arrived in the last
    READ_WINDOW_DAYS (before *today*): one a person opened before the poll is
    taken, while the read history of a mailbox that ediscuss starts to poll
    (or that an older ediscuss flagged only ``\\Seen``) is left alone. Only a
    server that keeps no keywords of ours (``\\*`` missing from PERMANENTFLAGS,
    RFC 3501 7.1) falls back to the unread ones.
    """
    if settings.processed_folder:
        return ["ALL"]
    if b"\\*" in permanent_flags or STORED in permanent_flags:
        since = today - timedelta(days=READ_WINDOW_DAYS)
        return ["NOT", "KEYWORD", STORED, "OR", "UNSEEN", "SINCE", since]
    return ["UNSEEN"]


def connect(settings: ImapSettings, timeout: float = 60.0) -> IMAPClient:
    """Open, secure and log in; the folder is selected read-write."""
    return open_folder(settings, timeout)[0]


def open_folder(
    settings: ImapSettings, timeout: float = 60.0
) -> tuple[IMAPClient, list[Any]]:
    """:func:`connect`, and the search that finds what waits in the folder."""
    context = ssl.create_default_context()
    if settings.security is Security.TLS:
        client = IMAPClient(
            settings.host,
            port=settings.port,
            ssl=True,
            ssl_context=context,
            timeout=timeout,
        )
    else:
        client = IMAPClient(
            settings.host, port=settings.port, ssl=False, timeout=timeout
        )
    try:
        if settings.security is Security.STARTTLS:
            client.starttls(context)
        client.login(settings.username, settings.password)
        selected = client.select_folder(settings.folder)
        if settings.processed_folder and not client.folder_exists(
            settings.processed_folder
        ):
            client.create_folder(settings.processed_folder)
    except Exception:
        _close(client)
        raise
    flags = [f for f in selected.get(b"PERMANENTFLAGS", ()) if isinstance(f, bytes)]
    return client, waiting_criteria(settings, flags, date.today())


def poll_once(
    client: IMAPClient,
    box: PolledMailbox,
    accept: Accept,
    halt: threading.Event | None = None,
    criteria: Sequence[Any] | None = None,
) -> int:
    """Store every waiting message of the selected folder; returns how many were stored.

    *criteria* comes from :func:`open_folder` (by default: every message
    without our keyword, or everything with a processed folder). After each round it looks
    again until nothing new waits: mail that arrives while a round is fetched
    and stored is announced (``EXISTS``) in the answers to that FETCH or
    STORE, and the IDLE that follows would not announce it again, so it would
    wait for the next poll (RFC 2177; issue 18: 34 of 200 did).
    """
    if criteria is None:
        criteria = waiting_criteria(box.imap, [b"\\*"], date.today())
    # Each message is taken once per call: one whose flag did not stick (a
    # read-only folder, say) is not stored again and again.
    taken: set[int] = set()
    stored = 0
    while halt is None or not halt.is_set():
        uids = sorted(set(client.search(list(criteria))) - taken)
        if not uids:
            break
        taken.update(uids)
        stored += _store(client, box, accept, uids)
    return stored


def _store(
    client: IMAPClient, box: PolledMailbox, accept: Accept, uids: list[int]
) -> int:
    """Fetch *uids* in batches, store each message, then mark what was committed."""
    settings = box.imap
    stored = 0
    for start in range(0, len(uids), BATCH):
        batch = uids[start : start + BATCH]
        fetched = client.fetch(batch, ["BODY.PEEK[]"])
        done: list[int] = []
        try:
            for uid in batch:
                data = fetched.get(uid, {})
                raw = data.get(b"BODY[]")
                if not isinstance(raw, bytes):
                    continue  # expunged meanwhile
                sender, rcpts = envelope_of(raw, box.domain, box.slugs)
                result = accept(
                    Delivery(raw, sender, tuple(rcpts), Via.IMAP, settings.host)
                )
                log.info(
                    "received id=%d message-id=%s from=%s to=%s via=imap uid=%d bytes=%d%s",
                    result.inbound_id,
                    result.message_id or "-",
                    sender or "<>",
                    ",".join(rcpts) or "-",
                    uid,
                    len(raw),
                    " duplicate" if result.duplicate else "",
                )
                done.append(uid)
                stored += 1
        finally:
            # Only what the store committed leaves the waiting set.
            if done:
                _mark_done(client, done, settings)
    return stored


def _mark_done(client: IMAPClient, uids: list[int], settings: ImapSettings) -> None:
    if settings.processed_folder:
        if client.has_capability("MOVE"):
            client.move(uids, settings.processed_folder)
        else:
            client.copy(uids, settings.processed_folder)
            client.delete_messages(uids)
            client.expunge(uids)
    else:
        client.add_flags(uids, [b"\\Seen", STORED])


def _wrong_security(exc: Exception, settings: ImapSettings) -> str | None:
    """Why *exc* shows that ``imap.security`` does not match the port, or None."""
    port = f"{settings.host}:{settings.port}"
    if (
        isinstance(exc, ssl.SSLError)
        and settings.security is Security.TLS
        and exc.reason in _PLAIN_TEXT_REASONS
    ):
        return (
            f'{port} answers in plain text, not TLS: security = "tls" needs the'
            ' TLS port (usually 993); this port wants security = "starttls"'
        )
    if isinstance(exc, CapabilityError) and settings.security is Security.STARTTLS:
        return (
            f'{port} offers no STARTTLS: use security = "tls" with its TLS port'
            ' (usually 993), or "none" on loopback only'
        )
    return None


def _silence_hint(exc: Exception, settings: ImapSettings) -> str:
    """What a server that says nothing in plain text most likely is: a TLS port.

    An IMAP server greets first (RFC 3501 7.1); on port 993 it waits for the
    TLS handshake instead, so a plain-text client waits for a greeting that
    never comes. It may also be a slow server, so this is a hint, and polling
    goes on.
    """
    if isinstance(exc, TimeoutError) and settings.security != "tls":
        return (
            f" (no greeting: if {settings.host}:{settings.port} speaks TLS, as port"
            ' 993 does, set imap.security = "tls")'
        )
    return ""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except (IMAPClientError, OSError):
        try:
            client.shutdown()
        except (IMAPClientError, OSError):
            pass


def _wait_for_news(
    client: IMAPClient, settings: ImapSettings, halt: threading.Event
) -> None:
    """Block until the folder may have news, the poll interval passed, or *halt*."""
    if not (settings.use_idle and client.has_capability("IDLE")):
        halt.wait(settings.poll_seconds)
        return
    client.idle()
    try:
        waited = 0.0
        # Poll anyway every poll_seconds: some servers miss a notification.
        limit = min(settings.poll_seconds, IDLE_RENEW)
        while not halt.is_set() and waited < limit:
            responses: list[Any] = client.idle_check(timeout=IDLE_SLICE)
            waited += IDLE_SLICE
            if any(_is_news(r) for r in responses):
                return
    finally:
        client.idle_done()


def _is_news(response: Any) -> bool:
    return (
        isinstance(response, tuple)
        and len(response) >= 2
        and response[1]
        in (
            b"EXISTS",
            b"RECENT",
        )
    )


def run_poller(box: PolledMailbox, accept: Accept, halt: threading.Event) -> None:
    """Poll until *halt* is set, reconnecting with backoff after any failure."""
    backoff = 1.0
    settings = box.imap
    where = f"{settings.username}@{settings.host}:{settings.port}/{settings.folder}"
    while not halt.is_set():
        try:
            client, criteria = open_folder(settings, CONNECT_TIMEOUT)
        except LoginError as exc:
            log.error(
                "imap login refused for %s (wrong username or password?): %s;"
                " trying again in %d s",
                where,
                exc,
                LOGIN_RETRY,
            )
            halt.wait(LOGIN_RETRY)
            continue
        except (IMAPClientError, OSError) as exc:  # OSError: TLS, timeouts
            wrong = _wrong_security(exc, settings)
            if wrong is not None:
                # Trying again cannot help: one line, and the poller stops.
                log.error(
                    "imap %s: %s; IMAP polling stopped: fix imap.security or"
                    " imap.port and restart serve",
                    where,
                    wrong,
                )
                return
            log.warning(
                "imap connect to %s failed: %s%s; retry in %.0f s",
                where,
                exc or type(exc).__name__,
                _silence_hint(exc, settings),
                backoff,
            )
            halt.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
            continue
        log.info(
            "imap connected to %s security=%s waiting=%s",
            where,
            settings.security,
            " ".join(_text(c) for c in criteria),
        )
        if criteria == ["UNSEEN"]:
            log.warning(
                "imap %s keeps no keywords of ours: only unread messages are taken,"
                " so one a person reads before the poll is skipped; set"
                " imap.processed_folder to take every message",
                where,
            )
        try:
            while not halt.is_set():
                poll_once(client, box, accept, halt, criteria)
                backoff = 1.0
                _wait_for_news(client, settings, halt)
        except StoreUnavailable as exc:
            log.warning(
                "imap: store unavailable (%s); messages stay on the server", exc
            )
            halt.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
        except (IMAPClientError, OSError) as exc:  # OSError: TLS, timeouts
            log.warning(
                "imap connection to %s lost: %s; retry in %.0f s", where, exc, backoff
            )
            halt.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
        except Exception:  # a bug must not end polling for good
            log.exception("imap poller failed on %s; retry in %.0f s", where, backoff)
            halt.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
        finally:
            _close(client)


async def imap_worker(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the poller in a thread until *stop* is set (``serve`` with ``[imap]``)."""
    settings = runtime.settings
    if settings.imap is None:
        return
    box = PolledMailbox(settings.imap, settings.service.domain, settings.slugs)
    halt = threading.Event()

    async def relay_stop() -> None:
        await stop.wait()
        halt.set()

    watcher = asyncio.create_task(relay_stop())
    try:
        await asyncio.to_thread(
            run_poller, box, make_accept(runtime.sessions, runtime.clock), halt
        )
    finally:
        halt.set()
        watcher.cancel()
