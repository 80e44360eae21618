"""Wiring: the listeners and the background workers of ``ediscuss serve``.

Only this module and the commands put the pieces together around one
:class:`~mailer.runtime.Runtime`; each piece receives the part of it it needs.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mailer.config.settings import HostPort
from mailer.core.errors import CannotListen
from mailer.inbound.receive import make_accept
from mailer.inbound.smtp import InboundHandler, make_server_factory
from mailer.inbound.socketmap import start_socketmap, stop_socketmap
from mailer.runtime import Runtime, Worker
from mailer.tls import ServerCertificate
from store.wal import WalKeeper

log = logging.getLogger("ediscuss.service")


async def start_inbound(runtime: Runtime) -> asyncio.Server:
    """Listen for SMTP or LMTP on the configured address (STARTTLS when configured)."""
    s = runtime.settings
    certificate = (
        ServerCertificate(s.inbound.tls_certificate, s.inbound.tls_key)
        if s.inbound.tls_certificate is not None and s.inbound.tls_key is not None
        else None
    )
    handler = InboundHandler(
        mailboxes=s.mailboxes,
        accept=make_accept(runtime.sessions, runtime.clock, runtime.wakes.inbound.ring),
        max_recipients=s.inbound.max_recipients,
        protocol=s.inbound.protocol,
    )
    factory = make_server_factory(
        handler,
        hostname=s.service.domain,
        max_message_bytes=s.inbound.max_message_bytes,
        timeout=s.inbound.timeout_seconds,
        max_line_bytes=s.inbound.max_line_bytes,
        max_connections_per_ip=s.inbound.max_connections_per_ip,
        tls_context=certificate.context if certificate is not None else None,
        require_tls=s.inbound.require_tls,
    )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, host=s.inbound.listen.host, port=s.inbound.listen.port
    )
    tls = "required" if s.inbound.require_tls else "starttls" if certificate else "off"
    log.info(
        "listening protocol=%s address=%s tls=%s",
        s.inbound.protocol,
        s.inbound.listen,
        tls,
    )
    return server


def background_workers(runtime: Runtime) -> list[Worker]:
    """The workers ``serve`` runs beside the listener."""
    from mailer.inbound.workers import processing_worker_for
    from mailer.mailings.jobs import scheduler_worker
    from mailer.outbound.worker import outbox_worker

    workers: list[Worker] = [processing_worker_for(runtime), scheduler_worker]
    workers += [outbox_worker] * runtime.settings.outbox.workers
    if runtime.settings.imap is not None:
        from mailer.inbound.imap import imap_worker

        workers.append(imap_worker)
    return workers


@contextmanager
def _binding(address: HostPort | None) -> Iterator[None]:
    """Name the configured *address* in a failure to bind it."""
    try:
        yield
    except CannotListen:
        raise
    except OSError as exc:
        raise CannotListen(str(address), exc) from exc


async def serve(
    runtime: Runtime,
    stop: asyncio.Event | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Run every part of the service until *stop* is set (or SIGTERM/SIGINT)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    keeper = WalKeeper.start_for(runtime.engine)  # None unless a SQLite file
    try:
        await _serve(runtime, stop, ready)
    finally:
        if keeper is not None:
            keeper.stop()


async def _serve(
    runtime: Runtime, stop: asyncio.Event, ready: Callable[[], None] | None
) -> None:
    loop = asyncio.get_running_loop()
    s = runtime.settings
    with _binding(s.inbound.listen):
        server = await start_inbound(runtime)
    try:
        with _binding(s.inbound.socketmap_listen):
            lookups = await start_socketmap(s)  # None unless configured
    except OSError:
        server.close()
        raise
    from mailer.web import WebServer

    web = WebServer(runtime)
    try:
        with _binding(s.web.listen):
            await web.start()
    except OSError:
        server.close()
        await stop_socketmap(lookups)
        raise
    tasks = [
        asyncio.create_task(worker(runtime, stop))
        for worker in background_workers(runtime)
    ]
    if ready is not None:
        ready()
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        server.close()
        await server.wait_closed()
        await stop_socketmap(lookups)
        await web.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
    log.info("stopped")
