"""Outgoing throughput: the outbox worker against a bare smtplib loop, same sink, same run.

5,000 copies of one post are queued by ``publish_post`` (5,000 each-mode
subscribers), then sent twice to a sink relay on loopback (aiosmtpd in its own
process, answering 250 to everything):

* the ceiling: a bare smtplib loop sending the same pre-rendered bytes over one
  connection, no database;
* the outbox: ``OutboxSender`` claiming, sending over ``--connections``
  connections and recording every row (in groups, so a crash re-sends at most
  one group).

With ``--pipelining`` the sink announces PIPELINING (RFC 2920), as Postfix
does, and the worker uses it; the bare loop (smtplib) never pipelines.

The two alternate in slices (``--rounds``), so that the load of a shared
machine weighs on both alike.

Usage: python bench/outbound.py [--messages 5000] [--database URL] [--dkim]
       [--rounds 10] [--connections 4] [--pipelining]
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
sys.path.insert(0, str(ROOT / "bench"))

from fanout import BackendCpu
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
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if sys.argv[2] == "pipelining":
            return responses[:-1] + ["250-PIPELINING", responses[-1]]
        return responses
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
    db_cpu = BackendCpu(settings.database.url) if is_pg(settings.database.url) else None
    if db_cpu is not None:
        db_cpu.start()
    started = time.perf_counter()
    with rt.sessions.begin() as s:
        queued = publish_post(s, rt, post_id, rt.clock())
    took = time.perf_counter() - started
    print(
        f"publish_post: {queued} copies queued in {took:.2f} s "
        f"({queued / took:.0f} copies/s)"
    )
    if db_cpu is not None:
        print(f"database CPU queueing: {1000 * db_cpu.stop() / queued:.3f} ms a copy")
    return rt


def is_pg(url: str) -> bool:
    return url.startswith("postgresql")


def pre_rendered(rt: Runtime) -> list[tuple[str, str, bytes]]:
    """Every queued message's envelope and whole bytes, in id order."""
    with rt.sessions() as s:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        return [(r.envelope_from, r.recipient, r.whole()) for r in s.scalars(stmt)]


def sender_for(
    rt: Runtime, port: int, dkim_key: Path | None, connections: int
) -> OutboxSender:
    relay = RelaySettings(host="127.0.0.1", port=port, security=Security.NONE)
    outbox = dataclasses.replace(rt.settings.outbox, connections=connections)
    settings = dataclasses.replace(rt.settings, relay=relay, outbox=outbox)
    if dkim_key is not None:
        settings = dataclasses.replace(settings, dkim=DkimSettings("bench", dkim_key))
    return OutboxSender(Runtime(settings, rt.engine, rt.sessions, rt.key, rt.clock))


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process *pid* so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass
class Costs:
    """Wall time and CPU time (this process, the sink) of one side of the comparison."""

    wall: float = 0.0
    cpu: float = 0.0
    sink_cpu: float = 0.0


def compare(
    rt: Runtime, port: int, rounds: int, connections: int, sink_pid: int
) -> tuple[Costs, Costs, int]:
    """Alternate slices of the bare loop and the worker, so load swings hit both alike.

    CPU time is counted beside wall time: on a loaded machine the wall time
    measures the load, the CPU time what the code asks for.
    """
    messages = pre_rendered(rt)
    size = -(-len(messages) // rounds)
    bare, worker = Costs(), Costs()
    sent = 0
    sender = sender_for(rt, port, None, connections)
    with smtplib.SMTP("127.0.0.1", port, local_hostname="discuss.example.org") as smtp:
        for r in range(rounds):
            chunk = messages[r * size : (r + 1) * size]
            wall, cpu, sink = (
                time.perf_counter(),
                time.process_time(),
                cpu_seconds(sink_pid),
            )
            for envelope_from, recipient, raw in chunk:
                smtp.sendmail(envelope_from, [recipient], raw)
            bare.wall += time.perf_counter() - wall
            bare.cpu += time.process_time() - cpu
            bare.sink_cpu += cpu_seconds(sink_pid) - sink
            wall, cpu, sink = (
                time.perf_counter(),
                time.process_time(),
                cpu_seconds(sink_pid),
            )
            goal = sent + len(chunk)
            while sent < goal:
                sent += sender.run_once(limit=min(100, goal - sent)).sent
            worker.wall += time.perf_counter() - wall
            worker.cpu += time.process_time() - cpu
            worker.sink_cpu += cpu_seconds(sink_pid) - sink
    sender.close()
    assert sent == len(messages)
    return bare, worker, sent


def signed_rate(rt: Runtime, port: int, key: Path, connections: int) -> float:
    sender = sender_for(rt, port, key, connections)
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
    parser.add_argument(
        "--connections", type=int, default=4, help="the worker's (default 4)"
    )
    parser.add_argument(
        "--pipelining", action="store_true", help="the sink announces PIPELINING"
    )
    args = parser.parse_args()
    port = free_port()
    sink = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SINK,
            str(port),
            "pipelining" if args.pipelining else "plain",
        ],
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
            url = rt.engine.url.render_as_string(hide_password=False)
            db_cpu = BackendCpu(url) if is_pg(url) else None
            if db_cpu is not None:
                db_cpu.start()
            bare_costs, worker_costs, n = compare(
                rt, port, args.rounds, args.connections, sink.pid
            )
            if db_cpu is not None:
                db_seconds = db_cpu.stop()
                print(
                    f"database CPU sending (claims, records): "
                    f"{1000 * db_seconds / n:.3f} ms a message"
                )
            bare, rate = n / bare_costs.wall, n / worker_costs.wall
            print(
                f"database: {db}; {args.messages} messages to a sink relay on loopback;"
                f" worker: {args.connections} connection(s), "
                f"{'pipelining' if args.pipelining else 'no pipelining'}"
            )
            print(f"ceiling (bare smtplib, one connection): {bare:8.0f} msg/s")
            print(
                f"outbox worker (claim, send, record):    {rate:8.0f} msg/s"
                f"  = {100 * rate / bare:.0f}% of the ceiling"
            )
            for name, c in (("bare loop", bare_costs), ("worker", worker_costs)):
                print(
                    f"CPU a message, {name:9}: {1000 * c.cpu / n:.3f} ms here, "
                    f"{1000 * c.sink_cpu / n:.3f} ms in the sink"
                )
            if args.dkim:
                key = work / "dkim.key"
                generate_key(key, "bench", "discuss.example.org", 2048)
                reset(rt)
                signed = signed_rate(rt, port, key, args.connections)
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
