"""``ediscuss serve`` tells systemd it is ready only once it answers (``Type=notify``)."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
from pathlib import Path

from mailer.notify import sd_notify
from tests.fixtures.settings import SHIPPED_CONFIG, free_port


def test_ready_comes_after_the_listeners_answer(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(SHIPPED_CONFIG.read_text("utf-8"), "utf-8")
    smtp_port, web_port = free_port(), free_port()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(tmp_path / "notify"))
        listener.settimeout(60)
        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(tmp_path / "notify"),
            "EDISCUSS_INBOUND_LISTEN": f"127.0.0.1:{smtp_port}",
            "EDISCUSS_WEB_LISTEN": f"127.0.0.1:{web_port}",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailer", "--config", str(cfg), "serve"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert listener.recv(256) == b"READY=1"
            # Ready means ready: both ports answer at once, without retrying.
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
                assert client.noop()[0] == 250
            socket.create_connection(("127.0.0.1", web_port), timeout=5).close()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_abstract_socket_names_and_no_socket_at_all() -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        name = f"ediscuss-test-{os.getpid()}"
        listener.bind("\0" + name)
        listener.settimeout(5)
        assert sd_notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert listener.recv(256) == b"READY=1"
    assert not sd_notify("READY=1", {})


def test_a_socket_that_is_gone_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    assert not sd_notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")})
