"""Processing in a thread of ``serve`` starts when received mail is committed, not at the next poll."""

from __future__ import annotations

import asyncio
import smtplib
import time
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mailer.clock import ScaledClock
from mailer.inbound import pipeline
from mailer.runtime import open_runtime
from mailer.serve import serve
from store.models import InboundMessage, InboundState, OutboxMessage
from tests.fixtures.settings import SettingsFactory


def test_a_commit_wakes_the_processing_thread(
    db_url: str, make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "POLL_SECONDS", 60.0)  # only a wake can be prompt
    settings = make_settings(db_url, {"inbound": {"workers": 0}})
    clock = ScaledClock(datetime(2027, 3, 30, 8, 0, tzinfo=UTC))
    rt = open_runtime(settings, clock=clock, migrate=True)
    listen = settings.inbound.listen
    took: list[float] = []

    def send_and_wait() -> None:
        for n in range(3):
            m = EmailMessage()
            m["From"] = "Ana Ruiz <ana@example.net>"
            m["To"] = "skills-covid19+q1@discuss.example.org"
            m["Subject"] = f"Contribution {n}"
            m["Message-ID"] = f"<wake-{n}@example.net>"
            m.set_content("We moved theory online.\n")
            start = time.monotonic()
            with smtplib.SMTP(listen.host, listen.port, timeout=30) as client:
                client.send_message(m)
            while time.monotonic() - start < 20:
                with rt.sessions() as s:
                    state = s.scalar(
                        select(InboundMessage.state).where(
                            InboundMessage.message_id == f"<wake-{n}@example.net>"
                        )
                    )
                if state is InboundState.PROCESSED:
                    break
                time.sleep(0.02)
            took.append(time.monotonic() - start)

    async def main() -> None:
        stop = asyncio.Event()
        ready = asyncio.Event()
        task = asyncio.create_task(serve(rt, stop, ready.set))
        await asyncio.wait_for(ready.wait(), 20)
        await asyncio.sleep(0.5)  # the worker's first pass found nothing: it waits
        try:
            await asyncio.to_thread(send_and_wait)
        finally:
            stop.set()
            await task

    try:
        asyncio.run(main())
    finally:
        rt.close()
    assert len(took) == 3 and max(took) < 10, took  # not the 60 s poll


def test_what_processing_queued_is_sent_at_once(
    db_url: str, make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "POLL_SECONDS", 60.0)
    settings = make_settings(
        db_url, {"inbound": {"workers": 0}, "outbox": {"poll_seconds": 60}}
    )
    clock = ScaledClock(datetime(2027, 3, 30, 8, 0, tzinfo=UTC))
    rt = open_runtime(settings, clock=clock, migrate=True)
    listen = settings.inbound.listen
    took: list[float] = []

    def subscribe_and_wait() -> None:
        m = EmailMessage()
        m["From"] = "Ana Ruiz <ana@example.net>"
        m["To"] = "skills-covid19-request@discuss.example.org"
        m["Subject"] = "subscribe"
        m["Message-ID"] = "<wake-sub@example.net>"
        m.set_content("subscribe es digest\n")
        start = time.monotonic()
        with smtplib.SMTP(listen.host, listen.port, timeout=30) as client:
            client.send_message(m)
        while time.monotonic() - start < 20:
            with rt.sessions() as s:
                sent = s.scalar(
                    select(OutboxMessage.sent_at).where(OutboxMessage.kind == "confirm")
                )
            if sent is not None:
                break
            time.sleep(0.02)
        took.append(time.monotonic() - start)

    async def main() -> None:
        stop = asyncio.Event()
        ready = asyncio.Event()
        task = asyncio.create_task(serve(rt, stop, ready.set))
        await asyncio.wait_for(ready.wait(), 20)
        await asyncio.sleep(0.5)  # both workers found nothing: they wait
        try:
            await asyncio.to_thread(subscribe_and_wait)
        finally:
            stop.set()
            await task

    try:
        asyncio.run(main())
    finally:
        rt.close()
    assert took and took[0] < 10, took  # not the outbox's 60 s poll
