"""serve's processing children: real processes, real signals, a message that kills one.

``ediscuss serve`` runs as a process of its own (tests/fixtures/service.py);
its children are found through /proc. The message that kills a child outright
(``os._exit``, no exception, no clean-up) comes from a ``sitecustomize`` put
on the service's PYTHONPATH: the service's own code is unchanged.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import pytest

from mailer.clock import system_clock
from mailer.inbound.pipeline import inbound_worker
from mailer.inbound.workers import processing_worker_for, processing_workers
from mailer.runtime import open_runtime
from store.models import InboundState
from tests.fixtures.service import (
    ServiceFactory,
    ServiceProcess,
    address,
    message,
    wait_until,
)
from tests.fixtures.settings import SettingsFactory

KILLER = """
import os

from mailer.inbound import pipeline

_parse = pipeline.parse


def parse(runtime, raw):
    if b"X-Kill-Processing: yes" in raw:
        os._exit(70)  # no exception, no clean-up: as a segfault would
    return _parse(runtime, raw)


pipeline.parse = parse
"""


def alive(pid: int) -> bool:
    """True while *pid* runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def send(service: ServiceProcess, name: str, **headers: str) -> str:
    mid = f"<{name}@example.net>"
    service.accepted(message(message_id=mid, headers=headers), address("+q1"))
    return mid


def test_two_children_process_each_message_once_and_stop_with_serve(
    db_url: str, make_service: ServiceFactory
) -> None:
    service = make_service(db_url=db_url, env={"EDISCUSS_INBOUND_WORKERS": "2"})
    wait_until(lambda: len(service.processing_children()) == 2)
    first = service.processing_children()
    sent = [send(service, f"w{i}") for i in range(12)]
    wait_until(lambda: len(service.posts()) == 12)

    # A child killed outright is noticed, logged and started again.
    os.kill(first[0], signal.SIGKILL)
    wait_until(lambda: "exited with signal SIGKILL; starting it again" in service.log())
    wait_until(
        lambda: (
            len(service.processing_children()) == 2
            and service.processing_children() != first
        )
    )
    sent += [send(service, f"after{i}") for i in range(6)]
    wait_until(lambda: len(service.posts()) == 18)

    rows = service.inbound()
    assert sorted(str(r.message_id) for r in rows) == sorted(sent)
    assert {(r.state, r.attempts) for r in rows} == {(InboundState.PROCESSED, 1)}
    assert len({p.message_id for p in service.posts()}) == 18

    now = service.processing_children()
    assert service.stop() == 0
    assert not any(alive(pid) for pid in now)
    log = service.log()
    assert "processing workers stopped" in log
    assert len(re.findall(r"processing worker \d stopped", log)) >= 2


def test_a_message_that_kills_its_process_is_quarantined_the_rest_flow(
    db_url: str, make_service: ServiceFactory, tmp_path: Path
) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILLER, "utf-8")
    service = make_service(
        db_url=db_url,
        env={
            "PYTHONPATH": str(hook),
            "EDISCUSS_INBOUND_MAX_PROCESSING_ATTEMPTS": "2",
            "EDISCUSS_INBOUND_RETRY_UNFINISHED_SECONDS": "1",
        },
    )
    killer = send(service, "killer", **{"X-Kill-Processing": "yes"})
    good = send(service, "good")
    wait_until(lambda: service.processed(killer).state is InboundState.QUARANTINED, 90)
    row = service.processed(killer)
    assert row.attempts == 2
    assert "never finished in 2 attempts" in (row.error or "")
    assert service.processed(good).state is InboundState.PROCESSED
    assert [p.message_id for p in service.posts()] == [good]
    assert service.log().count("exited with status 70") == 2
    later = send(service, "later")  # and processing goes on
    wait_until(lambda: len(service.posts()) == 2)
    assert service.processed(later).state is InboundState.PROCESSED
    assert service.stop() == 0


def test_ctrl_c_to_the_process_group_stops_serve_and_its_children(
    make_service: ServiceFactory,
) -> None:
    service = make_service()  # serve leads a process group of its own
    wait_until(lambda: len(service.processing_children()) == 1)
    [child] = service.processing_children()
    assert service.proc is not None
    mid = send(service, "before-ctrl-c")
    wait_until(lambda: service.processed(mid).state is InboundState.PROCESSED)
    os.killpg(service.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    assert service.proc.wait(30) == 0
    wait_until(lambda: not alive(child), 20)
    assert "processing workers stopped" in service.log()


def test_children_leave_when_serve_is_killed(
    make_service: ServiceFactory,
) -> None:
    service = make_service()
    wait_until(lambda: len(service.processing_children()) == 1)
    [child] = service.processing_children()
    service.kill()
    wait_until(lambda: not alive(child), 20)


def test_the_processing_worker_is_a_thread_without_children_or_with_a_set_clock(
    make_settings: SettingsFactory,
) -> None:
    runtime = open_runtime(make_settings(None, {"inbound": {"workers": 0}}))
    try:
        assert processing_worker_for(runtime) is inbound_worker
    finally:
        runtime.close()
    settings = make_settings(None, {"inbound": {"workers": 3}})
    runtime = open_runtime(settings)
    try:
        assert runtime.clock is system_clock
        assert processing_worker_for(runtime) is processing_workers
    finally:
        runtime.close()
    runtime = open_runtime(settings, clock=lambda: system_clock())
    try:
        assert processing_worker_for(runtime) is inbound_worker
    finally:
        runtime.close()


def test_children_of_an_in_process_serve_are_stopped_when_it_is_cancelled(
    make_settings: SettingsFactory,
) -> None:
    runtime = open_runtime(make_settings(None, {"inbound": {"workers": 1}}))

    async def scenario() -> list[int]:
        stop = asyncio.Event()
        task = asyncio.create_task(processing_workers(runtime, stop))
        pids: list[int] = []
        for _ in range(300):
            await asyncio.sleep(0.1)
            pids = _my_children()
            if pids:
                break
        task.cancel()  # as serve does after setting stop
        with pytest.raises(asyncio.CancelledError):
            await task
        return pids

    try:
        pids = asyncio.run(scenario())
    finally:
        runtime.close()
    assert len(pids) == 1
    assert not alive(pids[0])


def _my_children() -> list[int]:
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            if b"mailer.inbound.runner" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
    return found
