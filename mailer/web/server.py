"""Serve the web archive with uvicorn inside the service's own event loop.

``serve`` starts it beside the SMTP listener and stops it with the rest; uvicorn
never installs signal handlers here (the service owns SIGTERM and SIGINT).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

import uvicorn

from mailer.web.app import build_app

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.web")


class WebServer:
    """One uvicorn server bound to ``web.listen``; ``start`` then ``stop``."""

    def __init__(self, runtime: Runtime) -> None:
        listen = runtime.settings.web.listen
        self.host = listen.host
        self.port = listen.port
        self.config = uvicorn.Config(
            build_app(runtime),
            host=listen.host,
            port=listen.port,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=5,
            limit_concurrency=200,
            h11_max_incomplete_event_size=16 * 1024,
        )
        self.server = uvicorn.Server(self.config)
        self._ticker: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> None:
        """Bind and start answering; raises OSError when the address is taken."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # asyncio turns Nagle off only on sockets whose proto says TCP
        # (base_events._set_nodelay); accepted sockets inherit it from this one.
        # Without it a response written in two parts waits for the client's
        # delayed ACK: about 40 ms on every request after the first of a
        # kept-alive connection.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._socket = sock
        if not self.config.loaded:
            self.config.load()
        self.server.lifespan = self.config.lifespan_class(self.config)
        await self.server.startup(sockets=[sock])
        # main_loop refreshes the Date header each second and watches should_exit.
        self._ticker = asyncio.create_task(self.server.main_loop())
        log.info("web listening address=%s", self._address())

    async def stop(self) -> None:
        """Stop accepting, let answers in flight finish (a few seconds at most)."""
        self.server.should_exit = True
        if self._ticker is not None:
            await self._ticker
            self._ticker = None
        if self.server.started:
            await self.server.shutdown(sockets=[self._socket] if self._socket else None)
        self._socket = None

    def _address(self) -> str:
        return (
            f"[{self.host}]:{self.port}"
            if ":" in self.host
            else f"{self.host}:{self.port}"
        )
