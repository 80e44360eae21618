"""``ediscuss serve`` as a newcomer runs it: a real process, real SMTP, SIGTERM."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from store.db import make_engine, make_sessionmaker
from store.models import InboundMessage
from tests.fixtures.settings import SHIPPED_CONFIG, free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes], seconds: float = 15
) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return time.monotonic() - start
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listening on {port} after {seconds}s")


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    smtp_port = free_port()
    cfg = tmp_path / "config.toml"
    cfg.write_text(SHIPPED_CONFIG.read_text("utf-8"), "utf-8")
    env = {
        **os.environ,
        "EDISCUSS_INBOUND_LISTEN": f"127.0.0.1:{smtp_port}",
        "EDISCUSS_WEB_LISTEN": f"127.0.0.1:{free_port()}",
        "EDISCUSS_INBOUND_MAX_MESSAGE_BYTES": "20000",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailer", "--config", str(cfg), "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(smtp_port, proc)
        yield proc, smtp_port, tmp_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_serve_accepts_smtp_refuses_relay_and_stops_on_sigterm(served) -> None:  # type: ignore[no-untyped-def]
    proc, port, tmp_path = served
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        code, _ = client.ehlo("client.example.com")
        assert code == 250
        client.mail("ana@example.com")
        code, msg = client.rcpt("anyone@gmail.com")
        assert (code, msg[:5]) == (550, b"5.1.1")
        code, _ = client.rcpt("skills-covid19+q1@discuss.example.org")
        assert code == 250
        code, msg = client.data(
            b"Message-ID: <serve-1@example.com>\r\nSubject: hi\r\n\r\nHello\r\n"
        )
        assert code == 250
        client.mail("ana@example.com")
        client.rcpt("skills-covid19+q1@discuss.example.org")
        code, msg = client.data(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 400)
        assert (code, msg[:5]) == (552, b"5.3.4")
    engine = make_engine(f"sqlite:///{tmp_path}/var/ediscuss.db")
    with make_sessionmaker(engine)() as s:
        rows = list(s.scalars(select(InboundMessage)))
    engine.dispose()
    assert [r.message_id for r in rows] == ["<serve-1@example.com>"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert proc.stdout is not None
    log = proc.stdout.read().decode()
    assert "received id=1 message-id=<serve-1@example.com>" in log
    assert "rejected rcpt=anyone@gmail.com" in log
    # One line per event: no library chatter at INFO, from serve or its children.
    assert "listening protocol=smtp" in log
    assert " alembic." not in log and " apscheduler." not in log


def test_a_second_serve_on_a_busy_port_says_so_in_one_line(served) -> None:  # type: ignore[no-untyped-def]
    proc, port, tmp_path = served
    second = subprocess.run(
        [sys.executable, "-m", "mailer", "--config", "config.toml", "serve"],
        cwd=tmp_path,
        env={
            **os.environ,
            "EDISCUSS_INBOUND_LISTEN": f"127.0.0.1:{port}",
            "EDISCUSS_WEB_LISTEN": f"127.0.0.1:{free_port()}",
        },
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    errors = [line for line in second.stderr.splitlines() if " INFO " not in line]
    assert errors == [
        f"error: 127.0.0.1:{port} is in use: is ediscuss serve already running?"
    ]
    assert proc.poll() is None  # the first one is untouched


def test_a_busy_web_port_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(SHIPPED_CONFIG.read_text("utf-8"), "utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        web_port = taken.getsockname()[1]
        smtp_port = free_port()
        run = subprocess.run(
            [sys.executable, "-m", "mailer", "--config", str(cfg), "serve"],
            cwd=tmp_path,
            env={
                **os.environ,
                "EDISCUSS_INBOUND_LISTEN": f"127.0.0.1:{smtp_port}",
                "EDISCUSS_WEB_LISTEN": f"127.0.0.1:{web_port}",
            },
            capture_output=True,
            check=False,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1
    assert run.stderr.splitlines()[-1] == (
        f"error: 127.0.0.1:{web_port} is in use: is ediscuss serve already running?"
    )
    assert "Traceback" not in run.stderr
