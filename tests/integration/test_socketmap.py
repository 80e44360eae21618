"""The socketmap listener on loopback: Postfix's lookup, and hostile clients bounded."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from mailer.config.settings import HostPort
from mailer.core.addresses import Mailboxes
from mailer.inbound.socketmap import Limits, SocketmapServer
from tests.fixtures.inbound import (
    DOMAIN,
    OPEN_POLICY,
    SLUG,
    MailhostFactory,
    Served,
    address,
)
from tests.fixtures.settings import free_port

BOXES = Mailboxes.of(DOMAIN, [(SLUG, range(1, 12))])


class Running:
    """A :class:`SocketmapServer` in an event loop of its own thread."""

    def __init__(self, limits: Limits) -> None:
        self.port = free_port()
        self.server = SocketmapServer(BOXES, limits)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(
            self.server.start(HostPort("127.0.0.1", self.port)), self.loop
        ).result(10)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


StartSocketmap = Callable[..., Running]


@pytest.fixture
def run_socketmap() -> Iterator[StartSocketmap]:
    started: list[Running] = []

    def start(limits: Limits | None = None) -> Running:
        running = Running(limits or Limits())
        started.append(running)
        return running

    yield start
    for running in started:
        running.close()


def lookup(key: str) -> bytes:
    payload = f"recipients {key}".encode()
    return b"%d:%s," % (len(payload), payload)


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_many_lookups_on_one_connection_answered_in_order(
    run_socketmap: StartSocketmap,
) -> None:
    server = run_socketmap()
    with server.connect() as sock:
        sock.sendall(
            lookup(address("+q1"))
            + lookup(address("+q999"))
            + lookup("someone@gmail.com")
            + lookup(address("-request"))
        )
        sock.shutdown(socket.SHUT_WR)
        assert read_all(sock) == (
            b"11:OK question,9:NOTFOUND ,9:NOTFOUND ,10:OK request,"
        )


@pytest.mark.parametrize(
    "garbage",
    [
        b"abc",  # no length
        b"012:recipients x,",  # a leading zero
        b"5:hello;",  # no comma
        b"99999999999:",  # a length far over the limit
        b"1025:",  # just over the limit
        b":",
        b"-1:x,",
    ],
)
def test_a_bad_netstring_ends_the_connection(
    run_socketmap: StartSocketmap, garbage: bytes
) -> None:
    server = run_socketmap()
    with server.connect() as sock:
        sock.sendall(lookup(address("+q2")) + garbage)
        assert read_all(sock) == b"11:OK question,"
    assert wait_for(lambda: server.server.open == 0)


def test_slow_and_idle_clients_are_ended(run_socketmap: StartSocketmap) -> None:
    server = run_socketmap(Limits(idle_seconds=1.0, request_seconds=0.5))
    with server.connect() as slow, server.connect() as idle:
        start = time.monotonic()
        slow.sendall(b"40:recipients skills")  # and nothing more
        assert read_all(slow) == b""
        assert 0.4 < time.monotonic() - start < 5
        assert read_all(idle) == b""
        assert 0.9 < time.monotonic() - start < 5
    assert wait_for(lambda: server.server.open == 0)


def test_connections_beyond_the_limit_are_closed(run_socketmap: StartSocketmap) -> None:
    server = run_socketmap(Limits(max_connections=3))
    kept = [server.connect() for _ in range(3)]
    try:
        for sock in kept:  # each is served: the three count
            sock.sendall(lookup(address("+q3")))
            assert sock.recv(100) == b"11:OK question,"
        with server.connect() as extra:
            assert read_all(extra) == b""
        kept.pop().close()
        assert wait_for(lambda: server.server.open == 2)
        with server.connect() as again:
            again.sendall(lookup(address("+q3")))
            assert again.recv(100) == b"11:OK question,"
    finally:
        for sock in kept:
            sock.close()


def test_serve_answers_on_the_configured_port_and_stops_with_clients_open(
    make_mailhost: MailhostFactory,
) -> None:
    port = free_port()
    host = make_mailhost(
        {"inbound": {"socketmap_listen": f"127.0.0.1:{port}"}},
        listen=False,
        **OPEN_POLICY,
    )
    served = Served(host.runtime)
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(lookup(address("+q7")) + lookup(address("+q70")))
        expected = b"11:OK question,9:NOTFOUND ,"
        assert read_exactly(sock, len(expected)) == expected
    finally:
        start = time.monotonic()
        served.close()  # an open lookup connection does not hold serve up
        assert time.monotonic() - start < 10
    assert read_all(sock) == b""
    sock.close()


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size and (chunk := sock.recv(size - len(data))):
        data += chunk
    return data


def wait_for(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_a_busy_socketmap_port_stops_serve_and_frees_the_listener(
    make_mailhost: MailhostFactory,
) -> None:
    from mailer.serve import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        host = make_mailhost(
            {"inbound": {"socketmap_listen": f"127.0.0.1:{busy}"}}, listen=False
        )
        with pytest.raises(OSError):
            asyncio.run(serve(host.runtime, asyncio.Event()))
    with socket.socket() as again:  # the SMTP listener was closed, not left behind
        again.bind(("127.0.0.1", host.port))
