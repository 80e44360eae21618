"""Acceptance under fan-out: posts keep arriving over SMTP while their copies go out.

N subscribers who get every post (default 1,000) and M posts (default 100,
replies of about 2 KB from M different senders, approved at once) sent over
SMTP on loopback by 4 connections to ``ediscuss serve`` in its own process;
each published post is copied to every subscriber, personalised, through a
counting aiosmtpd relay sink on loopback in another process. Then the digest:
D digest subscribers (default N) get one digest of the M posts, queued by
``send_digest`` in this process, as ``ediscuss digest send`` does, while serve
sends it. Each round prints:

* acceptance: posts per second while sending, and the p50/p99 of the time each
  SMTP transaction waited for its answer (the 250 comes after the commit);
* deliveries: copies per second, from the first post sent until the sink has
  counted all N x M copies;
* digest: the seconds to compose and queue the D digests, the seconds until
  the sink has counted them all (from the start of queueing, and after any
  copies the first phase left unsent when it timed out; serve's outbox
  worker finds them within ``outbox.poll_seconds``, as no bell rings across
  processes), and the largest digest the sink was given;
* peak memory: the sum of the peak resident memory (VmHWM) of serve and every
  process it started, and each one's;
* on PostgreSQL, the database's CPU time: user and system time of every server
  process serving the bench's database (read from ``/proc`` while the copies
  go out), in all and a copy.

Goals (the issue's): at least 300 posts/s accepted, p99 at most 50 ms, at
least 1,500 personalised copies/s, D digests sent within 10 s, each at most
100 KB, at most 150 MB; the exit status is 1 when a round misses one. A round
gives up after ``--timeout`` seconds.

Usage: python bench/fanout.py [--subscribers 1000] [--posts 100] [--connections 4]
                              [--digest-readers N] [--rounds 1] [--timeout 600]
                              [--database URL] [--dkim]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from inbound import (  # the inbound bench's helpers: same client, same config
    children_of,
    cpu_seconds,
    free_port,
    messages,
    peak_rss_mb,
    send_all,
    wait_port,
    wait_settled,
    write_config,
)
from sqlalchemy import func, select

from mailer.config import parse_settings
from mailer.core.schedule import DigestWindow
from mailer.mailings.digests import send_digest
from mailer.outbound.dkim import generate_key
from mailer.runtime import Runtime, open_runtime
from store.models import (
    DeliveryMode,
    Discussion,
    Post,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)

GOAL_ACCEPT = 300.0  # posts/s
GOAL_P99 = 0.050  # seconds
GOAL_COPIES = 1500.0  # copies/s
GOAL_MB = 150.0
GOAL_DIGEST_SECONDS = 10.0  # for 1,000 digests
GOAL_DIGEST_BYTES = 100_000

# Counts every recipient of every transaction, and the largest message; a line
# on stdin asks for "count largest".
COUNTING_SINK = """
import sys, threading
from aiosmtpd.controller import Controller
count = largest = 0
lock = threading.Lock()
class Sink:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd reads pipelined commands but does not announce it; Postfix does
        session.host_name = hostname
        return responses[:-1] + ["250-PIPELINING", responses[-1]]
    async def handle_DATA(self, server, session, envelope):
        global count, largest
        with lock:
            count += len(envelope.rcpt_tos)
            largest = max(largest, len(envelope.original_content or b""))
        return "250 2.0.0 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
for _ in sys.stdin:
    with lock:
        print(count, largest, flush=True)
c.stop()
"""


class BackendCpu:
    """CPU time of the PostgreSQL server processes serving one database (same host).

    A thread lists the database's backends every 0.2 s and reads each one's
    user and system time from /proc; a backend seen at :meth:`start` counts
    from there, a later one from its birth. A backend that ends between two
    looks loses at most 0.2 s of its count (serve keeps its connections).
    """

    def __init__(self, url: str) -> None:
        import psycopg  # PostgreSQL only

        self.dbname = url.rsplit("/", 1)[1].split("?", 1)[0]
        server = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)
        self.conn = psycopg.connect(f"{server[0]}/postgres", autocommit=True)
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _look(self, at_start: bool = False) -> None:
        pids = [
            int(pid)
            for (pid,) in self.conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s",
                (self.dbname,),
            )
        ]
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
            except OSError:
                continue
            ticks = fields.split()
            cpu = (int(ticks[11]) + int(ticks[12])) / os.sysconf("SC_CLK_TCK")
            self.first.setdefault(pid, cpu if at_start else 0.0)
            self.last[pid] = cpu

    def _watch(self) -> None:
        while not self.stopping.wait(0.2):
            self._look()

    def start(self) -> None:
        self._look(at_start=True)
        self.thread.start()

    def stop(self) -> float:
        """Seconds of CPU the database's server processes used since :meth:`start`."""
        self.stopping.set()
        self.thread.join()
        self._look()
        self.conn.close()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


class CountingSink:
    """The relay: an aiosmtpd process that counts what it is given."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", COUNTING_SINK, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("the counting sink did not start")
        wait_port(self.port, self.proc)

    def counts(self) -> tuple[int, int]:
        """Recipients counted so far, and the largest message's bytes."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        count, largest = self.proc.stdout.readline().split()
        return int(count), int(largest)

    def count(self) -> int:
        return self.counts()[0]

    def wait_for(
        self, target: int, deadline: float, proc: subprocess.Popen[bytes]
    ) -> int:
        """Poll until *target* recipients are counted or *deadline*; the count."""
        while (got := self.count()) < target:
            if proc.poll() is not None:
                raise SystemExit("serve exited during the run")
            if time.perf_counter() > deadline:  # the round misses its goal
                break
            time.sleep(0.02)
        return got

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def add_readers(runtime: Runtime, mode: DeliveryMode, count: int) -> int:
    """*count* active subscribers in *mode* (kept from an earlier round); how many in all."""
    word = mode.value
    now = runtime.clock()
    with runtime.sessions.begin() as s:
        discussion = s.scalars(select(Discussion)).first()
        assert discussion is not None
        known = set(
            s.scalars(
                select(Subscriber.email).where(
                    Subscriber.email.like(f"{word}%@fanout.example.net")
                )
            )
        )
        langs = ("en", "es", "fr")
        people = [
            Subscriber(
                email=f"{word}{i}@fanout.example.net",
                name=f"Reader {i}",
                created_at=now,
            )
            for i in range(count)
            if f"{word}{i}@fanout.example.net" not in known
        ]
        s.add_all(people)
        s.flush()
        s.add_all(
            Subscription(
                discussion_id=discussion.id,
                subscriber_id=p.id,
                language=langs[p.id % 3],
                mode=mode,
                status=SubscriptionStatus.ACTIVE,
                created_at=now,
            )
            for p in people
        )
        s.flush()
        return int(
            s.scalar(
                select(func.count(Subscription.id)).where(
                    Subscription.discussion_id == discussion.id,
                    Subscription.mode == mode,
                    Subscription.status == SubscriptionStatus.ACTIVE,
                )
            )
            or 0
        )


def count_posts(runtime: Runtime) -> int:
    with runtime.sessions() as s:
        return int(s.scalar(select(func.count(Post.id))) or 0)


def wait_posts(runtime: Runtime, target: int, deadline: float) -> None:
    """Until the store holds *target* posts (every post processed), or *deadline*."""
    while count_posts(runtime) < target and time.perf_counter() < deadline:
        time.sleep(0.05)


def queue_digest(runtime: Runtime, since: datetime, label: str) -> int:
    """Queue the digest of every post approved since *since*; how many digests."""
    discussion = runtime.settings.discussions[0]
    with runtime.sessions() as s:
        discussion_id = s.scalar(
            select(Discussion.id).where(Discussion.slug == discussion.slug)
        )
    assert discussion_id is not None
    now = datetime.now(UTC)
    window = DigestWindow(label, now.date(), since, now)
    return send_digest(runtime, discussion, discussion_id, window, now).queued


@dataclass(frozen=True)
class DigestFigures:
    """The digest phase: queueing, sending, the largest digest."""

    queue_seconds: float
    sent_seconds: float
    sent: int
    expected: int
    largest: int


@dataclass(frozen=True)
class Round:
    """What one round measured."""

    accept_rate: float
    p50: float
    p99: float
    copies: int
    expected: int
    copies_rate: float
    peaks: list[tuple[str, float]]  # (process, MB)
    digest: DigestFigures | None
    db_cpu: float | None  # seconds (PostgreSQL only), while the copies went out
    serve_cpu: float  # seconds of serve's own process, while the copies went out
    processing_cpu: float  # seconds of serve's processing children, the same time

    @property
    def peak_mb(self) -> float:
        return sum(mb for _, mb in self.peaks)

    def misses(self) -> list[str]:
        out = []
        if self.copies < self.expected:
            out.append(f"only {self.copies} of {self.expected} copies in time")
        if self.accept_rate < GOAL_ACCEPT:
            out.append(f"acceptance {self.accept_rate:.0f} < {GOAL_ACCEPT:.0f} msg/s")
        if self.p99 > GOAL_P99:
            out.append(f"p99 {self.p99 * 1000:.0f} > {GOAL_P99 * 1000:.0f} ms")
        if self.copies_rate < GOAL_COPIES:
            out.append(f"copies {self.copies_rate:.0f} < {GOAL_COPIES:.0f}/s")
        if self.peak_mb > GOAL_MB:
            out.append(f"memory {self.peak_mb:.0f} > {GOAL_MB:.0f} MB")
        d = self.digest
        if d is not None:
            if d.sent < d.expected:
                out.append(f"only {d.sent} of {d.expected} digests in time")
            # 10 s for 1,000 digests; a round with fewer readers gets its share
            allowed = GOAL_DIGEST_SECONDS * max(d.expected, 1) / 1000
            if d.sent_seconds > allowed:
                out.append(f"digests {d.sent_seconds:.1f} > {allowed:.1f} s")
            if d.largest > GOAL_DIGEST_BYTES:
                out.append(f"digest {d.largest:,} > {GOAL_DIGEST_BYTES:,} bytes")
        return out


def process_name(pid: int) -> str:
    """serve, or what a child of serve is (a processing worker)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return "gone"
    if b"mailer.inbound.runner" in argv:
        return "processing"
    return "serve" if b"serve" in argv else argv[-2].decode(errors="replace")


def run_round(
    work: Path,
    database: str,
    subscribers: int,
    posts: int,
    digest_readers: int,
    connections: int,
    timeout: float,
    dkim: bool = False,
) -> Round:
    sink = CountingSink()
    try:
        cfg, env = write_config(work, database)
        settings = parse_settings(tomllib.loads(cfg.read_text("utf-8")), env, work)
        runtime = open_runtime(settings, migrate=False)
        try:
            readers = add_readers(runtime, DeliveryMode.EACH, subscribers)
            digesters = add_readers(runtime, DeliveryMode.DIGEST, digest_readers)
        except BaseException:
            runtime.close()
            raise
        env = {
            **env,
            "EDISCUSS_RELAY_HOST": "127.0.0.1",
            "EDISCUSS_RELAY_PORT": str(sink.port),
            "EDISCUSS_RELAY_SECURITY": "none",
        }
        if dkim:  # every copy signed, as a deployment with [dkim] does
            key = work / "var" / "dkim.key"
            if not key.exists():
                generate_key(key, "bench", settings.service.domain, 2048)
            env |= {
                "EDISCUSS_DKIM_SELECTOR": "bench",
                "EDISCUSS_DKIM_KEY_FILE": str(key),
            }
        port = int(env["EDISCUSS_INBOUND_LISTEN"].rsplit(":", 1)[1])
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailer", "--config", str(cfg), "serve"],
            cwd=work,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        digest = None
        try:
            wait_port(port, proc)
            wait_settled(proc.pid)
            db_cpu = BackendCpu(database) if database.startswith("postgresql") else None
            if db_cpu is not None:
                db_cpu.start()
            before = sink.count()
            cpu_before = {p: cpu_seconds(p) for p in [proc.pid, *children_of(proc.pid)]}
            expected = readers * posts
            batch = messages(posts)
            posts_before = count_posts(runtime)
            since = datetime.now(UTC)
            start = time.perf_counter()
            deadline = start + timeout
            sent = send_all(port, batch, connections)
            got = sink.wait_for(before + expected, deadline, proc) - before
            took = time.perf_counter() - start
            cpu_after = {p: cpu_seconds(p) for p in [proc.pid, *children_of(proc.pid)]}
            serve_cpu = cpu_after[proc.pid] - cpu_before[proc.pid]
            processing_cpu = sum(
                cpu - cpu_before.get(p, 0.0)
                for p, cpu in cpu_after.items()
                if p != proc.pid
            )
            # the copies' database CPU only, before the digest phase
            db_seconds = db_cpu.stop() if db_cpu is not None else None
            if digest_readers:
                wait_posts(runtime, posts_before + posts, deadline)
                # Copies the first phase left unsent (it timed out) go first:
                # the digests are all sent once the sink has counted everything.
                start = time.perf_counter()
                queued = queue_digest(runtime, since, f"fanout-{time.time_ns()}")
                queue_seconds = time.perf_counter() - start
                counted = sink.wait_for(
                    before + expected + digesters, start + timeout, proc
                )
                digest = DigestFigures(
                    queue_seconds=queue_seconds,
                    sent_seconds=time.perf_counter() - start,
                    sent=min(max(counted - before - expected, 0), queued),
                    expected=digesters,
                    largest=sink.counts()[1],
                )
            pids = [proc.pid, *children_of(proc.pid)]
            peaks = [(process_name(p), peak_rss_mb(p)) for p in pids]
        finally:
            runtime.close()
            proc.terminate()
            _, err = proc.communicate(timeout=30)
        if proc.returncode not in (0, -15):
            print(err.decode()[-2000:], file=sys.stderr)
    finally:
        sink.close()
    return Round(
        accept_rate=posts / sent.seconds,
        p50=sent.percentile(0.5),
        p99=sent.percentile(0.99),
        copies=got,
        expected=expected,
        copies_rate=got / took,
        peaks=peaks,
        digest=digest,
        db_cpu=db_seconds,
        serve_cpu=serve_cpu,
        processing_cpu=processing_cpu,
    )


def report(number: int, r: Round) -> None:
    misses = r.misses()
    each = ", ".join(f"{name} {mb:.1f}" for name, mb in r.peaks)
    print(
        f"round {number}  (load average {os.getloadavg()[0]:.1f})\n"
        f"  acceptance  {r.accept_rate:8.1f} msg/s   p50 {r.p50 * 1000:7.1f} ms"
        f"   p99 {r.p99 * 1000:7.1f} ms\n"
        f"  deliveries  {r.copies_rate:8.0f} copies/s ({r.copies} of {r.expected})"
    )
    d = r.digest
    if d is not None:
        print(
            f"  digests     queued in {d.queue_seconds:5.2f} s, all sent in"
            f" {d.sent_seconds:5.2f} s ({d.sent} of {d.expected}),"
            f" largest {d.largest:,} bytes"
        )
    copies = max(r.copies, 1)
    print(
        f"  serve CPU   {r.serve_cpu:7.1f} s = {1000 * r.serve_cpu / copies:.3f} ms a copy"
        f" (processing {r.processing_cpu:.1f} s ="
        f" {1000 * r.processing_cpu / copies:.3f} ms a copy)"
    )
    if r.db_cpu is not None:
        print(
            f"  database CPU {r.db_cpu:7.1f} s = "
            f"{1000 * r.db_cpu / max(r.copies, 1):.3f} ms a copy"
        )
    print(
        f"  peak memory {r.peak_mb:8.1f} MB ({each})\n"
        f"  goals       {'met' if not misses else 'missed: ' + '; '.join(misses)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--digest-readers",
        type=int,
        help="digest subscribers (default: as many as --subscribers; 0: no digest)",
    )
    parser.add_argument(
        "--dkim", action="store_true", help="serve signs every copy (rsa-2048)"
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds a phase may take at most"
    )
    parser.add_argument("--database", help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    digest_readers = (
        args.subscribers if args.digest_readers is None else args.digest_readers
    )
    backend = (args.database or "sqlite:").split(":", 1)[0]
    print(
        f"fanout: {args.subscribers} each-post subscribers, {args.posts} posts over "
        f"{args.connections} SMTP connections, then a digest to {digest_readers};"
        f" {backend}{', DKIM' if args.dkim else ''}, {args.rounds} round(s)"
    )
    missed = 0
    for number in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="ediscuss-fanout-") as tmp:
            work = Path(tmp)
            database = args.database or f"sqlite:///{work}/bench.db"
            r = run_round(
                work,
                database,
                args.subscribers,
                args.posts,
                digest_readers,
                args.connections,
                args.timeout,
                args.dkim,
            )
        missed += bool(r.misses())
        report(number, r)
    print(f"goals met in {args.rounds - missed} of {args.rounds} round(s)")
    return 1 if missed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
