"""Several workers, several processes, and a killed worker: every row sent exactly once.

The workers are real: threads with their own connections, and ``ediscuss outbox
send`` processes. The crash is a real SIGKILL while the relay holds a message
on the wire.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailer.outbound import worker
from mailer.outbound.worker import LEASE, OutboxSender, PassReport
from mailer.runtime import Runtime
from store.models import OutboxState
from store.outbox import OutgoingRow, enqueue
from tests.fixtures.relay import CapturingRelay
from tests.fixtures.settings import SHIPPED_CONFIG, SettingsFactory
from tests.integration.outbound_setup import Clock, make_runtime, rows

ROOT = Path(__file__).resolve().parents[2]


def fill(rt: Runtime, count: int) -> list[str]:
    """Queue *count* small messages at once; returns their Message-IDs in id order."""
    ids = [f"<n{i}.test@discuss.example.org>" for i in range(count)]
    batch = [
        OutgoingRow(
            dedupe_key=f"load:{i}",
            kind="load",
            recipient=f"r{i}@example.net",
            envelope_from="skills-covid19-bounces@discuss.example.org",
            message_id=mid,
            raw=(
                f"From: skills-covid19@discuss.example.org\r\nTo: r{i}@example.net\r\n"
                f"Subject: n{i}\r\nMessage-ID: {mid}\r\n\r\nbody {i}\r\n"
            ).encode(),
        )
        for i, mid in enumerate(ids)
    ]
    with rt.sessions.begin() as s:
        assert enqueue(s, batch, rt.clock()) == count
    return ids


def now_clock() -> Clock:
    return Clock(datetime.now(UTC))


def cli_env(db_url: str, state_dir: Path, relay: CapturingRelay) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDISCUSS_")}
    env.update(
        EDISCUSS_DATABASE_URL=db_url,
        EDISCUSS_SERVICE_STATE_DIR=str(state_dir),
        EDISCUSS_SERVICE_SECRET="test-secret",
        EDISCUSS_RELAY_HOST="127.0.0.1",
        EDISCUSS_RELAY_PORT=str(relay.port),
        EDISCUSS_RELAY_SECURITY="none",
        EDISCUSS_OUTBOX_BATCH_SIZE="10",
    )
    return env


def sender_process(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailer", "--config", str(SHIPPED_CONFIG)]
        + ["outbox", "send"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_worker_threads_send_every_row_once(
    db_url: str, make_settings: SettingsFactory, relay: CapturingRelay
) -> None:
    rt = make_runtime(
        make_settings,
        db_url,
        relay=relay.settings(),
        clock=now_clock(),
        overrides={"outbox": {"batch_size": 10}},
    )
    try:
        ids = fill(rt, 300)
        relay.slow_down(0.002)
        reports: list[PassReport] = []

        def work() -> None:
            sender = OutboxSender(rt)
            try:
                reports.append(sender.drain())
            finally:
                sender.close()

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(reports) == 2
        assert all(r.sent > 0 for r in reports), reports  # both took part
        assert sum(r.sent for r in reports) == 300
        assert Counter(relay.message_ids()) == Counter(ids)  # each exactly once
        assert {r.state for r in rows(rt)} == {OutboxState.SENT}
    finally:
        rt.close()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_processes_drain_one_outbox_exactly_once(
    db_url: str,
    make_settings: SettingsFactory,
    relay: CapturingRelay,
    tmp_path: Path,
) -> None:
    rt = make_runtime(make_settings, db_url, relay=relay.settings(), clock=now_clock())
    try:
        ids = fill(rt, 400)
        relay.slow_down(0.005)
        # One connection each, and the first message held on the wire until
        # the other process has sent a few: both take part however slowly
        # the second one starts on a busy machine.
        relay.hold_message(1)
        env = cli_env(db_url, tmp_path / "state", relay)
        env["EDISCUSS_OUTBOX_CONNECTIONS"] = "1"
        procs = [sender_process(env) for _ in range(2)]
        try:
            assert relay.held.wait(60)
            deadline = time.monotonic() + 60
            while len(relay.received) < 6:
                assert time.monotonic() < deadline, "the other process sent nothing"
                time.sleep(0.02)
        finally:
            relay.release.set()
        outputs = [p.communicate(timeout=180) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        sent = [int(out.split("sent ", 1)[1].split(",")[0]) for out, _ in outputs]
        assert sum(sent) == 400 and all(n > 0 for n in sent), sent
        assert Counter(relay.message_ids()) == Counter(ids)
        assert {r.state for r in rows(rt)} == {OutboxState.SENT}
    finally:
        rt.close()


@pytest.mark.parametrize("connections", [1, 4])
def test_killed_worker_loses_nothing_and_resends_only_what_was_in_flight(
    db_url: str,
    make_settings: SettingsFactory,
    relay: CapturingRelay,
    tmp_path: Path,
    connections: int,
) -> None:
    rt = make_runtime(make_settings, db_url, relay=relay.settings(), clock=now_clock())
    try:
        ids = fill(rt, 30)
        relay.hold_message(5)
        env = cli_env(db_url, tmp_path / "state", relay)
        env["EDISCUSS_OUTBOX_CONNECTIONS"] = str(connections)
        proc = sender_process(env)
        try:
            assert relay.held.wait(60), proc.stderr.read() if proc.stderr else ""
            held = relay.message_ids()[4]  # the fifth to arrive (any row with 4)
            # Outcomes are committed in groups, and a group waits at most
            # RECORD_AFTER: every message but the held one gets recorded
            # while the held one is still on the wire.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                sent = Counter(r.state for r in rows(rt))[OutboxState.SENT]
                if sent == len(relay.received) - 1:
                    break
                time.sleep(0.02)
            recorded = {r.message_id for r in rows(rt) if r.state is OutboxState.SENT}
            on_the_wire = set(relay.message_ids()) - recorded
        finally:
            proc.kill()  # SIGKILL mid-batch: the fifth message is on the wire
            proc.communicate(timeout=30)
        relay.release.set()
        states = Counter(r.state for r in rows(rt))
        # One lane waits with the held message; with four, the other three
        # go on (and the pass claims the next batches while they do).
        assert states[OutboxState.SENT] == (4 if connections == 1 else 29)
        assert states[OutboxState.SENDING] == (6 if connections == 1 else 1)
        assert on_the_wire == {held}
        # Another worker, after the dead one's lease ran out, finishes the job.
        later = Clock(datetime.now(UTC) + LEASE + LEASE)
        rt.clock = later
        sender = OutboxSender(rt)
        report = sender.drain()
        sender.close()
        assert report.sent == 30 - states[OutboxState.SENT]
        assert {r.state for r in rows(rt)} == {OutboxState.SENT}
        counts = Counter(relay.message_ids())
        assert set(counts) == set(ids)  # nothing lost
        twice = {mid for mid, n in counts.items() if n > 1}
        assert twice == on_the_wire  # only what had no record when it died
        assert counts[held] == 2
    finally:
        rt.close()


def test_a_pass_waiting_on_a_slow_relay_keeps_its_claims(
    db_url: str,
    make_settings: SettingsFactory,
    relay: CapturingRelay,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The recorder renews the lease while every lane waits for the relay's answer."""
    clock = now_clock()
    rt = make_runtime(
        make_settings,
        db_url,
        relay=relay.settings(),
        clock=clock,
        overrides={"outbox": {"connections": 1, "batch_size": 10}},
    )
    monkeypatch.setattr(worker, "RENEW_EVERY", 0.05)
    try:
        fill(rt, 5)
        relay.hold_message(1)
        sender = OutboxSender(rt)
        reports: list[PassReport] = []
        thread = threading.Thread(target=lambda: reports.append(sender.run_once()))
        thread.start()
        try:
            assert relay.held.wait(30)
            claimed = {r.claimed_at for r in rows(rt)}
            # Far beyond a lease: only a renewal keeps the rows from another worker.
            clock.advance(seconds=LEASE.total_seconds() * 2)
            deadline = time.monotonic() + 30
            while {r.claimed_at for r in rows(rt)} == claimed:
                assert time.monotonic() < deadline, "the claims were never renewed"
                time.sleep(0.02)
            assert {r.state for r in rows(rt)} == {OutboxState.SENDING}
            rival = OutboxSender(rt)
            assert rival.run_once().claimed == 0  # nothing released, nothing taken
            rival.close()
        finally:
            relay.release.set()
            thread.join(30)
        sender.close()
        assert reports[0].sent == 5
        assert len(relay.received) == 5  # none sent twice
    finally:
        rt.close()
