"""Wiring: the store, the listeners and the background workers of ``ediscuss serve``.

Only this module and the CLI put the pieces together; each piece receives the
part of :class:`Settings` it needs and a session factory.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from mailer.clock import Clock, system_clock
from mailer.config import Settings
from mailer.inbound.receive import make_accept
from mailer.inbound.smtp import InboundHandler, make_server_factory
from mailer.inbound.workers import wake_processing
from mailer.keys import load_signing_key
from mailer.tls import ServerCertificate
from store.db import current_revision, make_engine, make_sessionmaker, upgrade
from store.discussions import DiscussionSpec, QuestionSpec, sync_discussions

log = logging.getLogger("ediscuss.service")


class SchemaOutOfDate(RuntimeError):
    """The database is behind the code's migrations; ``ediscuss db upgrade`` fixes it."""


@dataclass
class Runtime:
    """What every command and worker shares: settings, the store, the key and the clock."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    key: bytes
    clock: Clock = field(default=system_clock)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def head_revision() -> str:
    """The newest migration the code knows."""
    from alembic.script import ScriptDirectory

    from store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def open_runtime(
    settings: Settings, *, clock: Clock = system_clock, migrate: bool | None = None
) -> Runtime:
    """Connect to the store, migrate or check the schema, and sync the configured discussions.

    *migrate* None means: migrate SQLite automatically (the embedded default),
    and insist that PostgreSQL was upgraded with ``ediscuss db upgrade``.
    """
    settings.service.state_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database.url)
    is_sqlite = make_url(settings.database.url).get_backend_name() == "sqlite"
    if migrate or (migrate is None and is_sqlite):
        upgrade(engine)
    elif current_revision(engine) != head_revision():
        engine.dispose()
        raise SchemaOutOfDate(
            "the database schema is not up to date: run `ediscuss db upgrade`"
        )
    sessions = make_sessionmaker(engine)
    specs = [
        DiscussionSpec(
            d.slug, [QuestionSpec(q.number, q.week, q.release_at) for q in d.questions]
        )
        for d in settings.discussions
    ]
    with sessions.begin() as session:
        sync_discussions(session, specs, clock())
    return Runtime(
        settings, engine, sessions, load_signing_key(settings.service), clock
    )


# A background worker: runs until *stop* is set.
Worker = Callable[[Runtime, asyncio.Event], Coroutine[Any, Any, None]]


async def start_inbound(runtime: Runtime) -> asyncio.Server:
    """Listen for SMTP or LMTP on the configured address (STARTTLS when configured)."""
    s = runtime.settings
    certificate = (
        ServerCertificate(s.inbound.tls_certificate, s.inbound.tls_key)
        if s.inbound.tls_certificate is not None and s.inbound.tls_key is not None
        else None
    )
    handler = InboundHandler(
        domain=s.service.domain,
        slugs=s.slugs,
        accept=make_accept(
            runtime.sessions, runtime.clock, lambda: wake_processing(runtime)
        ),
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
    from mailer.jobs import scheduler_worker
    from mailer.outbound.worker import outbox_worker

    workers: list[Worker] = [processing_worker_for(runtime), scheduler_worker]
    workers += [outbox_worker] * runtime.settings.outbox.workers
    if runtime.settings.imap is not None:
        from mailer.inbound.imap import imap_worker

        workers.append(imap_worker)
    return workers


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
    server = await start_inbound(runtime)
    from mailer.web import WebServer

    web = WebServer(runtime)
    try:
        await web.start()
    except OSError:
        server.close()
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
