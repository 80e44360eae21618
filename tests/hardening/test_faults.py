"""Promise 9: faults are survived.

A relay that refuses, answers 421 or mixes 250/550/451 per recipient; a
PostgreSQL server (a throwaway cluster of the test's own, never the shared
one) stopped and started while the service runs; a SQLite file locked by
another process; a full disk (a tiny tmpfs); a poison message. Throughout,
the service answers 4xx while it cannot store, recovers by itself, and
keeps every message it acknowledged.
"""

from __future__ import annotations

import errno
import glob
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.models import DeliveryMode, InboundState, OutboxState
from tests.fixtures.relay import CapturingRelay
from tests.fixtures.schedule import subscribe
from tests.fixtures.service import (
    ServiceFactory,
    ServiceProcess,
    message,
    wait_until,
)
from tests.fixtures.settings import free_port

pytestmark = [pytest.mark.hardening, pytest.mark.xdist_group("hardening-faults")]


@pytest.fixture
def relay() -> Iterator[CapturingRelay]:
    """A capturing relay on loopback."""
    r = CapturingRelay().start()
    yield r
    r.stop()


def _try_send(service: ServiceProcess, mid: str) -> int:
    """The answer to one delivery (0 when the connection failed)."""
    try:
        return service.send(message(message_id=mid)).code
    except OSError:
        return 0


def test_relay_refusing_421_and_mixed_answers(
    make_service: ServiceFactory, relay: CapturingRelay
) -> None:
    service = make_service(
        start=False,
        env={
            "EDISCUSS_RELAY_HOST": "127.0.0.1",
            "EDISCUSS_RELAY_PORT": str(relay.port),
            "EDISCUSS_RELAY_SECURITY": "none",
        },
    )
    readers = {
        "ok@example.net": (),
        "gone@example.net": ("550 5.1.1 no such user",),
        "later@example.net": ("451 4.3.0 try later", "451 4.3.0 again"),
        "busy@example.net": ("421 4.4.2 closing",),
        "data-later@example.net": (),
    }
    for reader in readers:
        subscribe(service.runtime(), reader, mode=DeliveryMode.EACH)
    for reader, answers in readers.items():
        if answers:
            relay.answer_rcpt(reader, *answers)
    relay.answer_data(
        "data-later@example.net", "452 4.3.1 full", "451 4.7.1 greylisted"
    )
    service.start()
    relay.stop()  # the relay is down when the first post is published
    mid = "<faulty-relay@example.net>"
    service.accepted(message(message_id=mid))
    service.processed(mid)
    wait_until(lambda: len(service.outbox("post")) == len(readers))
    time.sleep(1.5)
    assert not relay.received
    relay.start()

    def settled() -> bool:
        states = {r.recipient: r.state for r in service.outbox("post")}
        return states.get("gone@example.net") is OutboxState.FAILED and all(
            s is OutboxState.SENT for r, s in states.items() if r != "gone@example.net"
        )

    wait_until(settled, 60)
    got = sorted(r.rcpt_tos[0] for r in relay.received)
    assert got == sorted(r for r in readers if r != "gone@example.net")


@pytest.fixture
def pg_cluster() -> Iterator[tuple[str, Path, str]]:
    """A PostgreSQL cluster of this test's own: (server URL, data folder, options)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("a throwaway PostgreSQL cluster needs root and initdb")
        pytest.skip("a throwaway PostgreSQL cluster needs root and initdb")
    bindir = Path(found[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="ediscuss-pg-"))
    shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", free_port()

    def as_postgres(*args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    as_postgres(
        str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = str(bindir / "pg_ctl")
    as_postgres(
        ctl, "-D", str(data), "-o", options, "-w", "-l", str(base / "log"), "start"
    )
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        yield url, data, options
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                ctl,
                "-D",
                str(data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


def test_postgresql_restarted_while_serving(
    pg_cluster: tuple[str, Path, str], make_service: ServiceFactory
) -> None:
    url, data, options = pg_cluster
    service = make_service(db_url=url)
    assert _try_send(service, "<pg-before@example.net>") == 250
    ctl = max(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))

    def pg(*args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", ctl, "-D", str(data), "-w", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    pg("-m", "fast", "stop")
    codes = [_try_send(service, f"<pg-down-{i}@example.net>") for i in range(3)]
    assert all(400 <= c < 500 for c in codes), codes
    assert service.running()
    pg("-o", options, "-l", str(data.parent / "log"), "start")
    # It reconnects by itself: the first tries may still meet a dead connection.
    acked: list[str] = []

    def delivered() -> bool:
        mid = f"<pg-after-{len(acked)}@example.net>"
        if _try_send(service, mid) == 250:
            acked.append(mid)
        return len(acked) >= 3

    wait_until(delivered, 60)
    for mid in ("<pg-before@example.net>", *acked):
        assert service.processed(mid, 60).state is InboundState.PROCESSED
        assert len(service.posts(mid)) == 1
    for i in range(3):  # refused with 4xx: the client keeps them; nothing stored
        assert not service.inbound(f"<pg-down-{i}@example.net>")


def test_sqlite_locked_by_another_process(make_service: ServiceFactory) -> None:
    service = make_service()
    db = service.db_url.removeprefix("sqlite:///")
    locker = sqlite3.connect(db, timeout=1, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        code = _try_send(service, "<locked@example.net>")
        assert code == 451, code  # after the busy timeout, not a hang
        assert time.monotonic() - started < 30
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert _try_send(service, "<unlocked@example.net>") == 250
    assert service.running()


def test_processing_resumes_after_sqlite_was_locked(
    make_service: ServiceFactory,
) -> None:
    service = make_service()
    wait_until(lambda: "processing worker 0 ready" in service.log())
    db = service.db_url.removeprefix("sqlite:///")
    # Processing must meet the lock, not sleep through it: the child is stopped
    # while a message is stored (its wake waits in the pipe), the file is locked,
    # and only then does the child go on and try to take the message.
    children = service.processing_children()
    assert children
    locker = sqlite3.connect(db, timeout=10, isolation_level=None)
    try:
        for pid in children:
            os.kill(pid, signal.SIGSTOP)
        assert _try_send(service, "<before-lock@example.net>") == 250
        locker.execute("BEGIN EXCLUSIVE")
        for pid in children:
            os.kill(pid, signal.SIGCONT)
        time.sleep(12)  # longer than the service's busy timeout (10 s)
    finally:
        for pid in children:
            os.kill(pid, signal.SIGCONT)
        if locker.in_transaction:
            locker.execute("ROLLBACK")
        locker.close()
    assert "inbound processing paused" in service.log()  # it did meet the lock
    assert _try_send(service, "<after-lock@example.net>") == 250
    for mid in ("<before-lock@example.net>", "<after-lock@example.net>"):
        assert service.processed(mid, 20).state is InboundState.PROCESSED
        assert len(service.posts(mid)) == 1


@pytest.fixture
def tiny_disk() -> Iterator[Path]:
    """A 32 MB tmpfs mounted for this test (root only)."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the full-disk test mounts a tmpfs: it needs root")
        pytest.skip("the full-disk test mounts a tmpfs: it needs root")
    where = Path(tempfile.mkdtemp(prefix="ediscuss-disk-"))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(where)],
        check=True,
        capture_output=True,
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)
        shutil.rmtree(where, ignore_errors=True)


def _fill(path: Path) -> None:
    """Write zeros to *path* until the file system has no block left (ENOSPC).

    Unbuffered: a buffered file keeps the tail of a chunk the disk took only in
    part when that tail fits its buffer (4 kB on tmpfs), so write() succeeds,
    flush() fails, and close() fails again on the same bytes (how much space the
    service's own files leave decides it, so only some runs).
    """
    chunk = b"\0" * 65536
    with path.open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise


def test_disk_full_is_452_and_then_fine(
    tiny_disk: Path, make_service: ServiceFactory
) -> None:
    service = make_service(db_url=f"sqlite:///{tiny_disk}/ediscuss.db")
    assert _try_send(service, "<disk-1@example.net>") == 250
    ballast = tiny_disk / "ballast"
    _fill(ballast)
    assert os.statvfs(tiny_disk).f_bavail == 0
    full = message(message_id="<disk-full@example.net>", body=("w" * 70 + "\n") * 4000)
    reply = service.send(full)
    assert (reply.code, reply.text[:5]) == (452, "4.3.1"), reply
    assert service.running()
    ballast.unlink()
    assert _try_send(service, "<disk-2@example.net>") == 250
    # Refused with 452, the message stayed with its sender; sent again, it is taken.
    assert service.send(full).code == 250
    for mid in (
        "<disk-1@example.net>",
        "<disk-2@example.net>",
        "<disk-full@example.net>",
    ):
        assert service.processed(mid).state is InboundState.PROCESSED
        assert len(service.posts(mid)) == 1


def test_poison_message_is_quarantined_and_the_rest_flows(
    make_service: ServiceFactory,
) -> None:
    # Retries wait a minute and more; one attempt keeps this test short (the
    # count of attempts is tested in tests/integration/test_inbound_pipeline.py).
    service = make_service(env={"EDISCUSS_INBOUND_MAX_PROCESSING_ATTEMPTS": "1"})
    # Bytes that are no message at all (nothing but control characters: mail
    # without a header section is read as a body now) fail processing every time.
    service.accepted(b"\r\n\x1b\x1b\x07\r\n")
    poison = service.inbound()[-1].id
    for i in range(5):
        service.accepted(message(message_id=f"<after-poison-{i}@example.net>"))
    for i in range(5):
        assert service.processed(f"<after-poison-{i}@example.net>").state is (
            InboundState.PROCESSED
        )
    wait_until(lambda: service.inbound()[poison - 1].state is not InboundState.NEW)
    assert service.inbound()[poison - 1].state is InboundState.QUARANTINED
    result = service.cli("inbox", "failed")
    assert result.returncode == 0, result.stderr
    assert str(poison) in result.stdout, result.stdout
