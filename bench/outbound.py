"""Outgoing throughput: the outbox worker against a bare smtplib loop, same sink, same run.

5,000 copies of one post are queued by ``publish_post`` (5,000 each-mode
subscribers), then sent twice to a sink relay on loopback (aiosmtpd in its own
process, answering 250 to everything):

* the ceiling: a bare smtplib loop sending the same pre-rendered bytes over one
  connection, no database;
* the outbox: ``OutboxSender`` claiming, sending and recording every row (one
  commit per message, so a crash re-sends at most one).

The two alternate in slices (``--rounds``), so that the load of a shared
machine weighs on both alike.

Usage: python bench/outbound.py [--messages 5000] [--database URL] [--dkim]
       [--rounds 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import smtplib
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select

from mailer.config import parse_settings
from mailer.config.settings import DkimSettings, RelaySettings
from mailer.core.choices import Security
from mailer.mailings.publish import publish_post
from mailer.outbound.dkim import generate_key
from mailer.outbound.worker import OutboxSender
from mailer.runtime import Runtime, open_runtime
from store.models import (
    DeliveryMode,
    Discussion,
    OutboxMessage,
    Post,
    PostStatus,
    Question,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)

SINK = """
import sys, time
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup(work: Path, database: str | None, count: int) -> Runtime:
    raw = tomllib.loads((ROOT / "config.toml").read_text("utf-8"))
    raw["service"]["state_dir"] = str(work / "var")
    raw["service"]["secret"] = "bench-secret"
    raw["database"]["url"] = database or f"sqlite:///{work}/bench.db"
    raw["outbox"] = {"batch_size": 100}
    settings = parse_settings(raw, {}, work)
    rt = open_runtime(settings, migrate=True)
    now = rt.clock()
    with rt.sessions.begin() as s:
        d = s.scalars(select(Discussion)).one()
        q = s.scalars(select(Question).where(Question.number == 3)).one()
        langs = ("en", "es", "fr")
        people = [
            Subscriber(email=f"p{i}@example.net", name=f"Person {i}", created_at=now)
            for i in range(count)
        ]
        s.add_all(people)
        s.flush()
        s.add_all(
            Subscription(
                discussion_id=d.id,
                subscriber_id=p.id,
                language=langs[i % 3],
                mode=DeliveryMode.EACH,
                status=SubscriptionStatus.ACTIVE,
                created_at=now,
            )
            for i, p in enumerate(people)
        )
        post = Post(
            discussion_id=d.id,
            question_id=q.id,
            message_id="<bench.1@mail.example.net>",
            author_email="ana@example.net",
            author_name="Ana Ruiz",
            subject="Connectivity in rural training centres",
            body=("Most of our learners connect from a phone on prepaid data. " * 30),
            status=PostStatus.APPROVED,
            received_at=now,
            approved_at=now,
        )
        s.add(post)
        s.flush()
        post_id = post.id
    started = time.perf_counter()
    with rt.sessions.begin() as s:
        queued = publish_post(s, rt, post_id, rt.clock())
    took = time.perf_counter() - started
    print(
        f"publish_post: {queued} copies queued in {took:.2f} s "
        f"({queued / took:.0f} copies/s)"
    )
    return rt


def pre_rendered(rt: Runtime) -> list[tuple[str, str, bytes]]:
    """Every queued message's envelope and whole bytes, in id order."""
    with rt.sessions() as s:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        return [(r.envelope_from, r.recipient, r.whole()) for r in s.scalars(stmt)]


def sender_for(rt: Runtime, port: int, dkim_key: Path | None) -> OutboxSender:
    relay = RelaySettings(host="127.0.0.1", port=port, security=Security.NONE)
    settings = dataclasses.replace(rt.settings, relay=relay)
    if dkim_key is not None:
        settings = dataclasses.replace(settings, dkim=DkimSettings("bench", dkim_key))
    return OutboxSender(Runtime(settings, rt.engine, rt.sessions, rt.key, rt.clock))


def compare(rt: Runtime, port: int, rounds: int) -> tuple[float, float]:
    """Alternate slices of the bare loop and the worker, so load swings hit both alike."""
    messages = pre_rendered(rt)
    size = -(-len(messages) // rounds)
    bare_time = worker_time = 0.0
    sent = 0
    sender = sender_for(rt, port, None)
    with smtplib.SMTP("127.0.0.1", port, local_hostname="discuss.example.org") as smtp:
        for r in range(rounds):
            chunk = messages[r * size : (r + 1) * size]
            started = time.perf_counter()
            for envelope_from, recipient, raw in chunk:
                smtp.sendmail(envelope_from, [recipient], raw)
            bare_time += time.perf_counter() - started
            started = time.perf_counter()
            goal = sent + len(chunk)
            while sent < goal:
                sent += sender.run_once(limit=min(100, goal - sent)).sent
            worker_time += time.perf_counter() - started
    sender.close()
    return len(messages) / bare_time, sent / worker_time


def signed_rate(rt: Runtime, port: int, key: Path) -> float:
    sender = sender_for(rt, port, key)
    started = time.perf_counter()
    report = sender.drain()
    took = time.perf_counter() - started
    sender.close()
    return report.sent / took


def reset(rt: Runtime) -> None:
    from sqlalchemy import update

    from store.models import OutboxState

    with rt.sessions.begin() as s:
        s.execute(
            update(OutboxMessage).values(
                state=OutboxState.QUEUED, sent_at=None, attempts=0
            )
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--database", help="default: a SQLite file in a temp folder")
    parser.add_argument("--dkim", action="store_true", help="also time DKIM signing")
    parser.add_argument(
        "--rounds", type=int, default=10, help="alternating slices (default 10)"
    )
    args = parser.parse_args()
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        rt = setup(work, args.database, args.messages)
        try:
            db = rt.engine.url.get_backend_name()
            bare, rate = compare(rt, port, args.rounds)
            print(
                f"database: {db}; {args.messages} messages to a sink relay on loopback"
            )
            print(f"ceiling (bare smtplib, one connection): {bare:8.0f} msg/s")
            print(
                f"outbox worker (claim, send, record):    {rate:8.0f} msg/s"
                f"  = {100 * rate / bare:.0f}% of the ceiling"
            )
            if args.dkim:
                key = work / "dkim.key"
                generate_key(key, "bench", "discuss.example.org", 2048)
                reset(rt)
                signed = signed_rate(rt, port, key)
                print(f"outbox worker with DKIM (rsa-2048):     {signed:8.0f} msg/s")
        finally:
            if args.database:
                with rt.sessions.begin() as s:
                    s.query(OutboxMessage).delete()
            rt.close()
    sink.communicate("", timeout=30)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
