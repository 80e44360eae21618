"""The outbox worker inside ``serve`` (woken, then stopped cleanly) and the operator's commands."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailer.cli import main
from mailer.config.settings import DkimSettings
from mailer.serve import serve
from store.models import OutboxState
from store.outbox import mark_failed
from tests.fixtures.relay import CapturingRelay
from tests.fixtures.settings import SHIPPED_CONFIG, SettingsFactory
from tests.integration.outbound_setup import Clock, make_runtime, queue_hello, rows


def _wait_for_mail(relay: CapturingRelay, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not relay.received and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_sends_when_woken_and_stops_cleanly(
    db_url: str, make_settings: SettingsFactory, relay: CapturingRelay
) -> None:
    rt = make_runtime(
        make_settings,
        db_url,
        relay=relay.settings(),
        clock=Clock(datetime.now(UTC)),
        overrides={"outbox": {"poll_seconds": 60}},  # only a wake explains a send
    )

    async def scenario() -> float:
        stop = asyncio.Event()
        ready = asyncio.Event()
        task = asyncio.create_task(serve(rt, stop, ready.set))
        await asyncio.wait_for(ready.wait(), 10)
        await asyncio.sleep(0.3)  # the worker's first (empty) pass
        queue_hello(rt, "ana@example.net", "hello:serve")
        started = time.monotonic()
        rt.wakes.outbox.ring()
        await asyncio.to_thread(_wait_for_mail, relay, 10.0)
        elapsed = time.monotonic() - started
        stop.set()
        await asyncio.wait_for(task, 10)
        return elapsed

    try:
        elapsed = asyncio.run(scenario())
        assert len(relay.received) == 1 and elapsed < 5
        assert rows(rt)[0].state is OutboxState.SENT
    finally:
        rt.close()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EDISCUSS_SERVICE_STATE_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("EDISCUSS_DATABASE_URL", f"sqlite:///{tmp_path}/var/e.db")
    monkeypatch.setenv("EDISCUSS_SERVICE_SECRET", "test-secret")
    return f"sqlite:///{tmp_path}/var/e.db"


def test_outbox_commands(
    cli_env: str,
    make_settings: SettingsFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    cfg = str(SHIPPED_CONFIG)
    rt = make_runtime(make_settings, cli_env, clock=Clock(datetime.now(UTC)))
    try:
        for i in range(3):
            queue_hello(rt, f"p{i}@example.net", f"hello:{i}")
        with rt.sessions.begin() as s:
            mark_failed(s, rows(rt)[2].id, error="550 5.1.1 gone")
    finally:
        rt.close()
    assert main(["--config", cfg, "outbox", "list"]) == 0
    out, err = capsys.readouterr()
    assert out.count("queued") == 2 and "550 5.1.1 gone" in out
    assert "2 queued" in err and "1 failed" in err
    assert main(["--config", cfg, "outbox", "send"]) == 0
    assert "sent 2, deferred 0, failed 0" in capsys.readouterr().out
    new = list((tmp_path / "var" / "outbox" / "new").iterdir())
    assert len(new) == 2  # the Maildir: no relay in the shipped config
    assert main(["--config", cfg, "outbox", "retry"]) == 2
    capsys.readouterr()
    assert main(["--config", cfg, "outbox", "retry", "--failed"]) == 0
    assert "1 message(s) queued again" in capsys.readouterr().out
    assert main(["--config", cfg, "outbox", "list", "--state", "queued"]) == 0
    assert capsys.readouterr().out.count("queued") == 1
    assert main(["--config", cfg, "outbox", "purge", "--sent-older-than", "0"]) == 2
    assert main(["--config", cfg, "outbox", "purge", "--sent-older-than", "1"]) == 0
    assert "0 sent message(s) deleted" in capsys.readouterr().out


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_stops_when_the_dkim_key_is_missing(
    db_url: str,
    make_settings: SettingsFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rt = make_runtime(make_settings, db_url, clock=Clock(datetime.now(UTC)))
    rt.settings = dataclasses.replace(
        rt.settings, dkim=DkimSettings("s1", tmp_path / "missing.key")
    )
    try:
        asyncio.run(asyncio.wait_for(serve(rt), 20))  # returns: stopped by itself
    finally:
        rt.close()
    assert "outbox worker cannot start" in caplog.text
