"""The SMTP and LMTP listener: refuse what is not ours at RCPT, store, then say 250.

One aiosmtpd handler class (``InboundHandler``) does the talking; the heavy work
happens later, after the raw bytes are committed (Mailman's ``runners/lmtp.py``
works the same way). Blocking store writes run in a worker thread so that one
slow commit never stalls other clients.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, TLSSetupException, syntax

from mailer.core.addresses import Mailboxes, accept_recipient
from mailer.core.choices import Protocol
from mailer.core.errors import StoreUnavailable, UnknownRecipient
from mailer.inbound.smtp_data import DataState, read_data
from mailer.inbound.smtp_paths import plain_path, routing_trick, sender_trick
from mailer.inbound.smtp_replies import (
    DATA_REFUSALS,
    REWRITES,
    storage_full,
    with_enhanced_code,
)
from mailer.tls import handshake_failure
from store.models import Via

log = logging.getLogger("ediscuss.inbound")


@dataclass(frozen=True)
class Delivery:
    """One received transaction, as the store needs it."""

    raw: bytes
    mail_from: str
    rcpt_tos: Sequence[str]
    via: Via
    peer: str


@dataclass(frozen=True)
class Accepted:
    """What the store made of a delivery."""

    inbound_id: int
    duplicate: bool
    message_id: str | None


Accept = Callable[[Delivery], Accepted]


class InboundHandler:
    """aiosmtpd handler: recipient policy at RCPT, durable store at DATA."""

    def __init__(
        self,
        *,
        mailboxes: Mailboxes,
        accept: Accept,
        max_recipients: int,
        protocol: Protocol = Protocol.SMTP,
    ) -> None:
        self.mailboxes = mailboxes
        self.accept = accept
        self.max_recipients = max_recipients
        self.protocol = protocol

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return "452 4.5.3 Too many recipients"
        try:
            accept_recipient(address, self.mailboxes)
        except UnknownRecipient as exc:
            log.info(
                "rejected rcpt=%s peer=%s reason=%s",
                _safe(address),
                _peer(session),
                exc.reason,
            )
            return "550 5.1.1 Recipient address rejected: not a mailbox here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        """The EHLO (or LHLO) answer without AUTH, which an MX does not offer.

        aiosmtpd advertises ``AUTH LOGIN PLAIN`` once TLS is on, with a
        callback that refuses every login; senders need no AUTH here.
        """
        session.host_name = hostname  # aiosmtpd leaves this to an EHLO hook
        lines = [line for line in responses if not line.startswith("250-AUTH")]
        if self.protocol is Protocol.LMTP:
            # RFC 2033 section 5: an LMTP server must offer both. aiosmtpd reads
            # commands off a stream, so pipelined ones are answered in order;
            # the server class adds the codes to aiosmtpd's own replies.
            lines[-1:-1] = ["250-PIPELINING", "250-ENHANCEDSTATUSCODES"]
        return lines

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        if isinstance(
            raw, str
        ):  # pragma: no cover - aiosmtpd gives bytes with decode_data=False
            raw = raw.encode("utf-8", "surrogateescape")
        delivery = Delivery(
            raw,
            envelope.mail_from or "",
            tuple(envelope.rcpt_tos),
            Via(self.protocol.value),
            _peer(session),
        )
        submit = getattr(self.accept, "submit", None)  # awaitable: no thread needed
        try:
            if submit is not None:
                result = await submit(delivery)
            else:
                result = await asyncio.to_thread(self.accept, delivery)
        except StoreUnavailable as exc:
            log.warning(
                "deferred peer=%s bytes=%d reason=%s", delivery.peer, len(raw), exc
            )
            if storage_full(str(exc)):
                return self._answer(
                    "452 4.3.1 Insufficient system storage, try again later", envelope
                )
            return self._answer(
                "451 4.3.0 Temporary storage failure, try again later", envelope
            )
        except Exception:
            log.exception(
                "deferred peer=%s bytes=%d reason=unexpected error",
                delivery.peer,
                len(raw),
            )
            return self._answer(
                "451 4.3.0 Temporary local problem, try again later", envelope
            )
        if log.isEnabledFor(logging.INFO):  # its arguments cost a little too
            log.info(
                "received id=%d message-id=%s from=%s to=%s via=%s bytes=%d%s%s",
                result.inbound_id,
                result.message_id or "-",
                _safe(delivery.mail_from),
                ",".join(_safe(r) for r in delivery.rcpt_tos),
                self.protocol,
                len(raw),
                _tls_version(session),
                " duplicate" if result.duplicate else "",
            )
        return self._answer(f"250 2.0.0 OK queued as {result.inbound_id}", envelope)

    def _answer(self, status: str, envelope: Envelope) -> str:
        if self.protocol is not Protocol.LMTP:
            return status
        # LMTP (RFC 2033 section 4.2) wants one reply per accepted recipient.
        return "\r\n".join(status for _ in envelope.rcpt_tos)


def _peer(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


def _tls_version(session: Session) -> str:
    """`` tls=TLSv1.3`` for a session that said STARTTLS, else nothing."""
    if not session.ssl:
        return ""
    ssl_object = session.ssl.get("ssl_object")
    return f" tls={ssl_object.version() if ssl_object else '?'}"


def _safe(text: str) -> str:
    """An address as it may appear in a log line: no control characters, bounded."""
    if text.isprintable():  # nearly always: no character to look at one by one
        return text[:200] or "<>"
    return "".join(c if c.isprintable() else "?" for c in text)[:200] or "<>"


class _Limits:
    """Connections open per client address, shared by every protocol instance."""

    def __init__(self, per_ip: int) -> None:
        self.per_ip = per_ip
        self.open: Counter[str] = Counter()


def _protocol_class(base: type[SMTP], shared: _Limits) -> type[SMTP]:
    enhanced = base is LMTP  # LHLO advertises ENHANCEDSTATUSCODES

    class _Server(base):  # type: ignore[valid-type,misc]
        """aiosmtpd's server with enhanced status codes and a per-address connection cap.

        ``_getaddr``, ``_handle_client``, ``_original_transport``,
        ``_tls_protocol``, ``_reader``, ``_writer``, ``_call_handler_hook`` and
        ``_set_post_data_state`` are aiosmtpd's private names: pyproject.toml
        bounds the release and tests/unit/test_aiosmtpd_private.py checks them.
        """

        limits = shared
        _ed_counted = False

        async def push(self, status: Any) -> None:
            if isinstance(status, str):
                status = REWRITES.get(status, status)
                if enhanced:
                    status = with_enhanced_code(status, self.hostname)
            await super().push(status)

        def connection_made(self, transport: Any) -> None:
            if self._original_transport is not None:
                # STARTTLS done: the TLS layer calls this a second time for
                # the same connection, which is counted already.
                super().connection_made(transport)
                return
            peer = transport.get_extra_info("peername")
            self._ed_ip = str(peer[0]) if peer else ""
            self._ed_counted = True
            self.limits.open[self._ed_ip] += 1
            self._ed_over = self.limits.open[self._ed_ip] > self.limits.per_ip
            super().connection_made(transport)

        def connection_lost(self, error: Exception | None) -> None:
            if self._ed_counted:  # once, whichever path ends the connection
                self._ed_counted = False
                self.limits.open[self._ed_ip] -= 1
                if self.limits.open[self._ed_ip] <= 0:
                    del self.limits.open[self._ed_ip]
            super().connection_lost(error)

        async def smtp_STARTTLS(self, arg: str) -> None:
            await super().smtp_STARTTLS(arg)
            if self._tls_protocol is not None and self.session.ssl is None:
                # The connection closed before the handshake completed (the
                # idle timer ends a client that stopped half-way): asyncio
                # then wakes aiosmtpd with no error, which would wait for a
                # command for ever. End it as a failed handshake instead.
                raise TLSSetupException() from ConnectionAbortedError(
                    "closed before the handshake completed"
                )

        def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
            plain = plain_path(arg)
            if plain is None:
                return super()._getaddr(arg)  # type: ignore[no-any-return]
            local = plain[0].rpartition("@")[0]
            if self.local_part_limit and len(local) > self.local_part_limit:
                return None, None
            return plain

        async def smtp_MAIL(self, arg: str | None) -> None:
            why = sender_trick(arg or "")
            if why is not None:
                log.info(
                    "rejected mail-from=%s peer=%s reason=%s",
                    _safe(arg or ""),
                    self._ed_ip,
                    why,
                )
                await self.push("553 5.1.7 Bad sender address syntax")
                return
            await super().smtp_MAIL(arg)

        async def smtp_RCPT(self, arg: str | None) -> None:
            why = routing_trick(arg or "")
            if why is not None:
                log.info(
                    "rejected rcpt=%s peer=%s reason=%s",
                    _safe(arg or ""),
                    self._ed_ip,
                    why,
                )
                await self.push(
                    "550 5.1.1 Recipient address rejected: not a mailbox here"
                )
                return
            await super().smtp_RCPT(arg)

        @syntax("DATA")
        async def smtp_DATA(self, arg: str) -> None:
            """aiosmtpd's DATA with the data read in large pieces (:mod:`.smtp_data`)."""
            if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
                return
            if not self.envelope.rcpt_tos:
                await self.push("503 Error: need RCPT command")
                return
            if arg:
                await self.push("501 Syntax: DATA")
                return
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            try:
                data = await read_data(
                    self._reader,
                    line_limit=self.line_length_limit,
                    size_limit=self.data_size_limit,
                )
            except asyncio.CancelledError:  # the connection went during DATA
                self._writer.close()
                raise
            if data.state is not DataState.NOMINAL:
                self._set_post_data_state()
                await self.push(DATA_REFUSALS[data.state])
                return
            self.envelope.content = self.envelope.original_content = data.content
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()
            await self.push("250 OK" if status is MISSING else status)

        async def handle_exception(self, error: Exception) -> str:
            if not isinstance(error, TLSSetupException):
                return await super().handle_exception(error)  # type: ignore[no-any-return]
            # One line instead of aiosmtpd's traceback: scanners and clients
            # with old TLS fail handshakes every day. The connection is closed
            # after this, so the status below is never sent.
            log.warning(
                "tls handshake failed peer=%s reason=%s",
                self._ed_ip,
                handshake_failure(error.__cause__),
            )
            return "454 4.7.0 TLS not available"

        async def _handle_client(self) -> None:
            if self._ed_over:
                log.warning("refused peer=%s reason=too many connections", self._ed_ip)
                await self.push(
                    "421 4.7.0 Too many connections from your address, try later"
                )
                self.transport.close()
                return
            await super()._handle_client()

    return _Server


# The idle timer restarts on every command, so a client saying NOOP now and then
# would stay for ever: such commands are counted (421 past the count).
_CALL_LIMITS = {
    "NOOP": 20,
    "HELO": 10,
    "EHLO": 10,
    "HELP": 10,
    "VRFY": 10,
    "EXPN": 10,
    "*": 1_000_000,
}


def make_server_factory(
    handler: InboundHandler,
    *,
    hostname: str,
    max_message_bytes: int,
    timeout: float,
    max_line_bytes: int,
    max_connections_per_ip: int,
    tls_context: Callable[[], ssl.SSLContext] | None = None,
    require_tls: bool = False,
) -> Callable[[], SMTP]:
    """A protocol factory for ``loop.create_server`` speaking SMTP or LMTP.

    With *tls_context* (called for each connection, so that a renewed
    certificate is picked up) STARTTLS is offered; *require_tls* then answers
    every command but EHLO, STARTTLS, NOOP and QUIT with 530 until it is used
    (RFC 3207 section 4).
    """
    cls = _protocol_class(
        LMTP if handler.protocol is Protocol.LMTP else SMTP,
        _Limits(max_connections_per_ip),
    )
    # A class attribute: aiosmtpd sizes its StreamReader with it in __init__, so
    # setting it on the instance afterwards left every line limited to 1,001.
    cls.line_length_limit = max_line_bytes

    def factory() -> SMTP:
        server = cls(
            handler,
            hostname=hostname,
            data_size_limit=max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            timeout=timeout,
            ident="ediscuss ESMTP",
            command_call_limit=_CALL_LIMITS,
            tls_context=tls_context() if tls_context is not None else None,
            require_starttls=require_tls,
        )
        return server

    return factory
