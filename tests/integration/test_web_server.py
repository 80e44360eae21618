"""The web server on a real loopback socket: kept-alive connections answer at once."""

from __future__ import annotations

import asyncio
import http.client
import socket
import statistics
import time

from mailer.web.server import WebServer
from tests.fixtures.web import SLUG, Archive


def _keep_alive_timings(host: str, port: int, path: str, count: int) -> list[float]:
    """Seconds each request takes on one kept-alive connection (after the first)."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    timings = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            assert response.status == 200
            assert len(response.read()) > 500
            timings.append(time.perf_counter() - start)
    finally:
        conn.close()
    return timings[1:]


def test_accepted_connections_set_tcp_nodelay(archive: Archive) -> None:
    """Without TCP_NODELAY a response written in two parts waits for a delayed ACK.

    Linux delays an ACK up to 40 ms, so every request after the first on a
    kept-alive connection took 44-55 ms even for the stylesheet; with it, a
    few milliseconds. The stylesheet is timed because it costs no rendering.
    """

    async def run() -> tuple[list[int], list[float]]:
        server = WebServer(archive.runtime)
        await server.start()
        try:
            conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
            await asyncio.to_thread(conn.request, "GET", f"/d/{SLUG}")
            await asyncio.to_thread(lambda: conn.getresponse().read())
            flags = [
                c.transport.get_extra_info("socket").getsockopt(
                    socket.IPPROTO_TCP, socket.TCP_NODELAY
                )
                for c in server.server.server_state.connections
            ]
            conn.close()
            css = "/static/style.css"
            timings = await asyncio.to_thread(
                _keep_alive_timings, server.host, server.port, css, 12
            )
            return flags, timings
        finally:
            await server.stop()

    flags, timings = asyncio.run(run())
    assert flags and all(flags), flags
    # 40 ms is the delayed-ACK wait; even a busy machine answers well inside it.
    assert statistics.median(timings) < 0.03, timings
