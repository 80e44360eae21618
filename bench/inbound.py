"""Inbound throughput: SMTP in to posts in the store, beside a null SMTP sink, same run.

N messages (default 2,000; realistic replies of about 2 KB with quoted history,
spread over the six released questions, from N different senders) are sent
over SMTP on loopback twice, by the same client code and concurrency:

* the ceiling: a null aiosmtpd sink in its own process that answers 250 to
  everything and keeps nothing;
* end to end: ``ediscuss serve`` in its own process, timed from the first
  message sent until the last one is a post in the database (stored, parsed,
  routed, threaded and committed; posts approved, so each is published).

Prints messages per second for both, the ratio (target: at least 50% on
SQLite in 4 of every 5 rounds), and the CPU per message and peak resident memory (VmHWM) of every
process: the sink; serve's listener and its processing workers (child
processes, ``inbound.workers``), measured once they have started and settled.
The sink's rate swings with whatever else the machine does (its runs are short:
under a second), so each round brackets serve's run between two sink runs and
takes their mean as that round's ceiling, and the median ratio over several
rounds is the result. Each round
also prints the most each side could reach when CPU-bound (the CPUs divided by
the CPU one message costs the server and the client together).

Usage: python bench/inbound.py [--count 2000] [--connections 4] [--rounds 3]
                               [--database URL]
"""

from __future__ import annotations

import argparse
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 0.50  # end to end at least half the null sink's rate
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update

from mailer.config import parse_settings
from mailer.runtime import open_runtime
from store.models import InboundMessage, InboundState, Post, Question

SINK = """
import sys
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

QUOTE = "\n".join(
    "> " + line
    for line in (
        "What technical hurdles have you observed in delivering online",
        "training and skills development? Please share examples from your",
        "country, your sector or your organisation, and say what helped.",
    )
    * 6
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listening on {port}")


def messages(count: int) -> list[tuple[str, str, bytes]]:
    """(sender, recipient, bytes) of *count* distinct replies."""
    out = []
    for i in range(count):
        q = i % 6 + 1
        m = EmailMessage()
        sender = f"person{i}@example.net"
        m["From"] = f"Person {i} <{sender}>"
        m["To"] = f"skills-covid19+q{q}@discuss.example.org"
        m["Subject"] = f"Re: Question {q}: experience from region {i % 50}"
        m["Message-ID"] = f"<bench-{i}-{time.time_ns()}@example.net>"
        m["Date"] = "Sat, 28 Mar 2027 10:00:00 +0100"
        m.set_content(
            f"In our region ({i % 50}) most workplace training stopped in March.\n"
            "We moved theory online within two weeks, but practical sessions\n"
            "and assessments are on hold, and apprentices in small firms lost\n"
            "contact with their trainers. Connectivity is the first hurdle.\n\n"
            "Best regards,\nPerson\n\n"
            f"On Fri, 27 Mar 2027 at 10:00, Skills e-discussion wrote:\n{QUOTE}\n"
        )
        out.append((sender, m["To"], m.as_bytes(policy=policy.SMTP)))
    return out


@dataclass(frozen=True)
class Sent:
    """What sending a batch took: seconds in all, and each transaction's wait."""

    seconds: float
    waits: list[float]  # from MAIL FROM to the answer after the data, sorted

    def percentile(self, share: float) -> float:
        """The wait *share* of the transactions did not exceed (0.5: the median)."""
        return self.waits[min(len(self.waits) - 1, int(len(self.waits) * share))]


def send_all(port: int, batch: list[tuple[str, str, bytes]], connections: int) -> Sent:
    """Send every message over *connections* parallel SMTP sessions, timing each."""
    errors: list[BaseException] = []
    waits: list[float] = []
    lock = threading.Lock()

    def worker(part: list[tuple[str, str, bytes]]) -> None:
        mine = []
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
                for sender, rcpt, raw in part:
                    started = time.perf_counter()
                    refused = client.sendmail(sender, [rcpt], raw)
                    mine.append(time.perf_counter() - started)
                    if refused:
                        raise RuntimeError(refused)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        with lock:
            waits.extend(mine)

    threads = [
        threading.Thread(target=worker, args=(batch[i::connections],))
        for i in range(connections)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"sending failed: {errors[0]!r}")
    return Sent(time.perf_counter() - start, sorted(waits))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    """Every live descendant of *pid* (serve's processing workers)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
        for kid in kids:
            found += [kid, *children_of(kid)]
    return found


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of *pid* and of each of its live descendants."""
    out = {}
    for p in [pid, *children_of(pid)]:
        try:
            out[p] = cpu_seconds(p)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def wait_settled(pid: int, seconds: float = 60) -> None:
    """Wait until serve and its children have started and sit idle."""
    deadline = time.monotonic() + seconds
    before = tree_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = tree_cpu(pid)
        busy = sum(now.values()) - sum(before.get(p, 0.0) for p in now)
        if len(now) > 1 and set(now) == set(before) and busy < 0.03:
            return
        before = now


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_sink(
    batch: list[tuple[str, str, bytes]], connections: int
) -> tuple[float, float, float]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        wait_port(port, proc)
        cpu = cpu_seconds(proc.pid)
        seconds = send_all(port, batch, connections).seconds
        cpu = cpu_seconds(proc.pid) - cpu
        return len(batch) / seconds, peak_rss_mb(proc.pid), cpu / len(batch)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def write_config(work: Path, database: str) -> tuple[Path, dict[str, str]]:
    text = (ROOT / "config.toml").read_text("utf-8")
    text = text.replace('moderation = "first-post"', 'moderation = "none"')
    text = text.replace('unknown_senders = "hold"', 'unknown_senders = "accept"')
    cfg = work / "config.toml"
    cfg.write_text(text, "utf-8")
    port = free_port()
    env = {
        "EDISCUSS_SERVICE_STATE_DIR": str(work / "var"),
        "EDISCUSS_SERVICE_SECRET": "bench-secret",
        "EDISCUSS_SERVICE_LOG_LEVEL": "WARNING",
        "EDISCUSS_DATABASE_URL": database,
        "EDISCUSS_INBOUND_LISTEN": f"127.0.0.1:{port}",
        "EDISCUSS_WEB_LISTEN": f"127.0.0.1:{free_port()}",
    }
    raw = tomllib.loads(text)
    settings = parse_settings(raw, env, work)
    runtime = open_runtime(settings, migrate=True)
    try:
        with runtime.sessions.begin() as s:
            s.execute(
                update(Question)
                .where(Question.number <= 6)
                .values(released_at=datetime.now(UTC))
            )
    finally:
        runtime.close()
    return cfg, env


def run_service(
    work: Path, database: str, batch: list[tuple[str, str, bytes]], connections: int
) -> Served:
    cfg, env = write_config(work, database)
    port = int(env["EDISCUSS_INBOUND_LISTEN"].rsplit(":", 1)[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailer", "--config", str(cfg), "serve"],
        cwd=work,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    settings = parse_settings(tomllib.loads(cfg.read_text("utf-8")), env, work)
    runtime = open_runtime(settings, migrate=False)
    try:
        wait_port(port, proc)
        wait_settled(proc.pid)
        with runtime.sessions() as s:  # a --database may hold earlier rounds' posts
            posts_before = s.scalar(select(func.count(Post.id))) or 0
        cpu_before = tree_cpu(proc.pid)
        start = time.perf_counter()
        sent = send_all(port, batch, connections).seconds
        while True:
            with runtime.sessions() as s:
                posts = (s.scalar(select(func.count(Post.id))) or 0) - posts_before
                failed = s.scalar(
                    select(func.count(InboundMessage.id)).where(
                        InboundMessage.state != InboundState.PROCESSED,
                        InboundMessage.state != InboundState.NEW,
                    )
                )
            if posts >= len(batch) or failed:
                break
            if proc.poll() is not None:
                raise SystemExit("serve exited during the run")
            # Sending is over: the client is idle, so looking often costs
            # serve little, and the end is seen within 10 ms (not 100).
            time.sleep(0.01)
        total = time.perf_counter() - start
        cpu_after = tree_cpu(proc.pid)
        cpu = {p: t - cpu_before.get(p, 0.0) for p, t in cpu_after.items()}
        rss = {p: peak_rss_mb(p) for p in cpu_after}
    finally:
        runtime.close()
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    if failed:
        raise SystemExit(f"{failed} message(s) failed:\n{err.decode()[-2000:]}")
    n = len(batch)
    listener, workers = proc.pid, [p for p in cpu if p != proc.pid]
    return Served(
        rate=n / total,
        accept_rate=n / sent,
        posts=int(posts),
        listener_cpu=cpu.get(listener, 0.0) / n,
        workers_cpu=sum(cpu[p] for p in workers) / n,
        listener_rss=rss.get(listener, float("nan")),
        workers_rss=sum(rss[p] for p in workers),
        workers=len(workers),
    )


@dataclass(frozen=True)
class Served:
    """What the end-to-end run measured (CPU per message, RSS in MB)."""

    rate: float
    accept_rate: float
    posts: int
    listener_cpu: float
    workers_cpu: float
    listener_rss: float
    workers_rss: float
    workers: int


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="sink, serve and sink runs, one after the other, this many times (default 3)",
    )
    parser.add_argument("--database", help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    batch = messages(args.count)  # new Message-IDs each round: nothing is a duplicate
    backend = (args.database or "sqlite:").split(":", 1)[0]
    size = sum(len(raw) for _, _, raw in batch) / len(batch)
    print(
        f"inbound: {args.count} messages (~{size / 1024:.1f} KB each), "
        f"{args.connections} SMTP connections, {backend}, {args.rounds} round(s)"
    )
    ratios = []
    for number in range(1, args.rounds + 1):
        if number > 1:
            batch = messages(args.count)
        with tempfile.TemporaryDirectory(prefix="ediscuss-bench-") as tmp:
            work = Path(tmp)
            database = args.database or f"sqlite:///{work}/bench.db"
            client = time.process_time()
            before = run_sink(batch, args.connections)
            client_cpu = (time.process_time() - client) / len(batch)
            served = run_service(work, database, batch, args.connections)
            after = run_sink(batch, args.connections)
        sink = Sink(
            rate=statistics.mean((before[0], after[0])),
            rss=max(before[1], after[1]),
            cpu=statistics.mean((before[2], after[2])),
            runs=(before[0], after[0]),
        )
        ratios.append(served.rate / sink.rate)
        report(number, sink, client_cpu, served)
    ratio = statistics.median(ratios)
    held = sum(r >= GOAL_RATIO for r in ratios)
    needed = len(ratios) - len(ratios) // 5  # 4 of 5, 1 of 1
    print(
        f"end to end / sink, median of {len(ratios)}: {ratio:.0%}   (target >= "
        f"{GOAL_RATIO:.0%} in {needed} of {len(ratios)} rounds, held in {held};"
        f" rounds: {', '.join(f'{r:.0%}' for r in ratios)})"
    )
    return 0 if held >= needed else 1


@dataclass(frozen=True)
class Sink:
    """A round's ceiling: the mean of the sink runs before and after serve's."""

    rate: float
    rss: float
    cpu: float
    runs: tuple[float, float]


def report(number: int, sink: Sink, client_cpu: float, served: Served) -> None:
    """One round's figures, and what the CPUs allow each side at most."""
    cpus = os.cpu_count() or 1
    serve_cpu = served.listener_cpu + served.workers_cpu
    print(f"round {number}   (load average {os.getloadavg()[0]:.1f} on {cpus} CPUs)")
    print(
        f"  null sink (ceiling)      {sink.rate:8.0f} msg/s   peak RSS {sink.rss:6.1f} MB"
        f"   CPU {sink.cpu * 1000:5.2f} ms/msg"
        f"   (before serve {sink.runs[0]:.0f}, after {sink.runs[1]:.0f})"
    )
    print(
        f"  SMTP client              {'':8}         {'':17}   CPU {client_cpu * 1000:5.2f} ms/msg"
    )
    print(
        f"  serve, SMTP accept only  {served.accept_rate:8.0f} msg/s"
        "   (250 after commit)"
    )
    print(
        f"  serve, end to end        {served.rate:8.0f} msg/s"
        f"   peak RSS {served.listener_rss:6.1f} MB"
        f"   CPU {serve_cpu * 1000:5.2f} ms/msg"
        f" ({served.posts} posts)"
    )
    print(
        f"    listener process       {'':8}         {'':17}"
        f"   CPU {served.listener_cpu * 1000:5.2f} ms/msg"
    )
    print(
        f"    {served.workers} processing worker(s) {'':8}"
        f"   peak RSS {served.workers_rss:6.1f} MB"
        f"   CPU {served.workers_cpu * 1000:5.2f} ms/msg"
    )
    # Client and server share the machine's CPUs: neither side can go faster
    # than the CPUs divided by what one message costs both processes.
    sink_bound = cpus / (sink.cpu + client_cpu)
    serve_bound = cpus / (serve_cpu + client_cpu)
    print(
        f"  CPU-bound rate at most   sink {sink_bound:6.0f}, serve {serve_bound:6.0f} msg/s"
        f"   (ratio of the bounds {serve_bound / sink_bound:.0%})"
    )
    print(f"  end to end / sink        {served.rate / sink.rate:8.0%}")


if __name__ == "__main__":
    sys.exit(main())
