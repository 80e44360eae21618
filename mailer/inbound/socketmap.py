"""Postfix's recipient lookup: a socketmap table that says which addresses exist.

Postfix asks before it accepts a recipient (``relay_recipient_maps =
socketmap:inet:127.0.0.1:2526:recipients``) and refuses an unknown one with
550 at RCPT itself, with no probe and nothing cached: the answer comes from
the same :func:`mailer.core.addresses.accept_recipient` as the listener's at
RCPT, over the configured discussions, so it needs no database and is never
stale. Protocol (Postfix ``socketmap_table(5)``): each request and each reply
is one netstring (``<length>:<bytes>,``); the request is ``name <space> key``,
the reply ``OK <value>``, ``NOTFOUND ``, ``TEMP <reason>`` or ``PERM <reason>``.
Postfix keeps a connection open for several lookups.

Everything a client can make the server hold is bounded: a request's length,
the time it takes to arrive, the time a connection may stay idle and the
number of connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from mailer.config.settings import HostPort, Settings
from mailer.core.addresses import Mailboxes, accept_recipient
from mailer.core.errors import EdiscussError, UnknownRecipient

log = logging.getLogger("ediscuss.inbound")

MAP_NAME = "recipients"
# "recipients " and an address: RFC 5321 allows 256 octets for a path; more is
# refused before it is read.
MAX_REQUEST = 1024
_MAX_DIGITS = len(str(MAX_REQUEST))


@dataclass(frozen=True)
class Limits:
    """What one client may cost: time and connections."""

    idle_seconds: float = 300.0  # between lookups (Postfix closes idle ones sooner)
    request_seconds: float = 10.0  # from a request's first byte to its last
    max_connections: int = 64


class BadRequest(EdiscussError):
    """A request that is not a netstring of an acceptable size: the connection ends."""


def netstring(payload: bytes) -> bytes:
    """*payload* as a netstring: ``<length>:<payload>,``."""
    return b"%d:%s," % (len(payload), payload)


def answer(request: bytes, mailboxes: Mailboxes) -> tuple[bytes, str]:
    """The reply to one request and, for a refused address, why (else "").

    Pure: the request's bytes and the addresses that exist in, the reply out.
    """
    try:
        text = request.decode("utf-8")
    except UnicodeDecodeError:
        return b"NOTFOUND ", "not UTF-8"
    name, _, key = text.partition(" ")
    if name != MAP_NAME:
        return b"PERM unknown map name, expected " + MAP_NAME.encode(), ""
    try:
        recipient = accept_recipient(key, mailboxes)
    except UnknownRecipient as exc:
        return b"NOTFOUND ", exc.reason
    return b"OK " + recipient.kind.value.encode(), ""


async def read_request(reader: asyncio.StreamReader, limits: Limits) -> bytes | None:
    """The next request's payload; None when the client closed or stayed idle.

    Raises :class:`BadRequest` for anything but a netstring of at most
    ``MAX_REQUEST`` bytes, and :class:`TimeoutError` for one that arrives
    slower than ``limits.request_seconds``.
    """
    try:
        first = await asyncio.wait_for(reader.readexactly(1), limits.idle_seconds)
    except (asyncio.IncompleteReadError, TimeoutError):
        return None
    return await asyncio.wait_for(_rest(first, reader), limits.request_seconds)


async def _rest(first: bytes, reader: asyncio.StreamReader) -> bytes:
    digits = first
    while not digits.endswith(b":"):
        if len(digits) > _MAX_DIGITS or not digits.isdigit():
            raise BadRequest("bad netstring length")
        digits += await reader.readexactly(1)
    length = digits[:-1]
    if not length.isdigit() or (len(length) > 1 and length.startswith(b"0")):
        raise BadRequest("bad netstring length")
    size = int(length)
    if size > MAX_REQUEST:
        raise BadRequest(f"request of {size} bytes")
    data = await reader.readexactly(size + 1)
    if data[-1:] != b",":
        raise BadRequest("netstring without its comma")
    return data[:-1]


class SocketmapServer:
    """The socketmap listener: one task per connection, at most ``max_connections``."""

    def __init__(self, mailboxes: Mailboxes, limits: Limits | None = None) -> None:
        self.mailboxes = mailboxes
        self.limits = limits or Limits()
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    @property
    def open(self) -> int:
        """Connections open now."""
        return len(self._clients)

    async def start(self, where: HostPort) -> None:
        """Listen on *where* until :meth:`stop`."""
        self._server = await asyncio.start_server(
            self._client, host=where.host, port=where.port, limit=MAX_REQUEST * 2
        )
        log.info("listening protocol=socketmap address=%s map=%s", where, MAP_NAME)

    async def stop(self) -> None:
        """Stop listening and end the open connections (Postfix keeps them open)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for writer in list(self._clients):
            writer.close()
        for writer in list(self._clients):
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        ip = str(peer[0]) if peer else ""
        if len(self._clients) >= self.limits.max_connections:
            log.warning("socketmap refused peer=%s reason=too many connections", ip)
            writer.close()
            return
        self._clients.add(writer)
        try:
            await self._serve(reader, writer, ip)
        except BadRequest as exc:
            log.warning("socketmap closed peer=%s reason=%s", ip, exc)
        except (TimeoutError, asyncio.IncompleteReadError):
            log.warning("socketmap closed peer=%s reason=request incomplete", ip)
        except OSError:
            pass  # the client went away
        finally:
            self._clients.discard(writer)
            writer.close()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ip: str
    ) -> None:
        while (request := await read_request(reader, self.limits)) is not None:
            reply, refused = answer(request, self.mailboxes)
            if refused:
                log.info(
                    "rejected rcpt=%s peer=%s via=socketmap reason=%s",
                    _printable(request.partition(b" ")[2]),
                    ip,
                    refused,
                )
            writer.write(netstring(reply))
            # A client that sends and never reads fills the buffer: bounded too.
            await asyncio.wait_for(writer.drain(), self.limits.request_seconds)


def _printable(key: bytes) -> str:
    text = key.decode("utf-8", "replace")
    return "".join(c if c.isprintable() else "?" for c in text)[:200] or "<>"


async def start_socketmap(settings: Settings) -> SocketmapServer | None:
    """The socketmap listener when ``inbound.socketmap_listen`` is set, else None."""
    where = settings.inbound.socketmap_listen
    if where is None:
        return None
    server = SocketmapServer(settings.mailboxes)
    await server.start(where)
    return server


async def stop_socketmap(server: SocketmapServer | None) -> None:
    """Stop what :func:`start_socketmap` started (nothing for None)."""
    if server is not None:
        await server.stop()
