"""Soak: a sustained mixed load on loopback for a set time, then nothing lost or doubled.

``ediscuss serve`` runs as a child process (SQLite by default) with 10,000
digest subscribers, a digest and a question release both due when it
starts (so a digest and an announcement fan out to all of them while the
load runs), and a relay on loopback that answers 451 to a tenth of the
recipients on their first attempt. Meanwhile ``--clients`` SMTP clients send
replies to the released questions, one in ten a command to the request
address, for ``--seconds`` (bounded also by ``--max-messages``).

Reports throughput, acknowledgement latency (p50, p95, max), the service's
peak memory (VmHWM), and at the end checks that every acknowledged message
is stored once and processed, that every reply became exactly one post, and
that each subscriber got exactly one digest and one announcement.

Usage: python bench/soak.py [--seconds 60] [--clients 8] [--subscribers 10000]
"""

from __future__ import annotations

import argparse
import random
import smtplib
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from email.parser import BytesHeaderParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select

from store.models import InboundMessage, InboundState, OutboxMessage, OutboxState, Post
from tests.fixtures.relay import CapturingRelay
from tests.fixtures.service import address, finish, message, prepare_service
from tests.hardening.test_exactly_once import _due_setup, _week_two_now


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--max-messages", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    relay = CapturingRelay().start()
    for i in range(args.subscribers):
        if rng.random() < 0.1:  # a tenth of the recipients: 451 on the first try
            relay.answer_rcpt(f"digest{i}@example.net", "451 4.3.0 try again later")
    with tempfile.TemporaryDirectory(prefix="ediscuss-soak-") as tmp:
        service = prepare_service(
            Path(tmp) / "svc",
            env={
                "EDISCUSS_RELAY_HOST": "127.0.0.1",
                "EDISCUSS_RELAY_PORT": str(relay.port),
                "EDISCUSS_RELAY_SECURITY": "none",
                "EDISCUSS_OUTBOX_BATCH_SIZE": "200",
                "EDISCUSS_INBOUND_MAX_CONNECTIONS_PER_IP": "100",
            },
            replace=_week_two_now(),
        )
        _due_setup(service.runtime(), digest=args.subscribers, announcements=0)
        service.start()
        assert service.proc is not None
        pid = service.proc.pid
        try:
            return _run(service, relay, args, pid)
        finally:
            finish([service])
            relay.stop()


def _run(service, relay, args, pid) -> int:  # type: ignore[no-untyped-def]
    lock = threading.Lock()
    acked: list[str] = []
    latencies: list[float] = []
    refused = Counter[int]()
    stop = threading.Event()
    counter = iter(range(args.max_messages))

    def client(n: int) -> None:
        smtp = None
        while not stop.is_set():
            try:
                i = next(counter)
            except StopIteration:
                return
            mid = f"<soak-{i}@example.net>"
            command = i % 10 == 9
            to = address("-request") if command else address(f"+q{1 + i % 6}")
            raw = message(
                message_id=mid,
                to=to,
                sender=f"Person {i} <p{i}@example.net>",
                body="help\n" if command else f"Reply {i}: " + "words " * 60 + "\n",
            )
            try:
                if smtp is None:
                    smtp = smtplib.SMTP("127.0.0.1", service.smtp_port, timeout=60)
                    smtp.ehlo("soak.example.net")
                smtp.mail(f"p{i}@example.net")
                smtp.rcpt(to)
                started = time.monotonic()
                code, _ = smtp.data(raw)
                took = time.monotonic() - started
            except (OSError, smtplib.SMTPException):
                smtp = None
                continue
            with lock:
                if code == 250:
                    acked.append(mid)
                    latencies.append(took)
                else:
                    refused[code] += 1
        if smtp is not None:
            smtp.quit()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - started
    sessions = service.sessions()

    def pending() -> tuple[int, int]:
        with sessions() as s:
            new = s.scalar(
                select(func.count())
                .select_from(InboundMessage)
                .where(InboundMessage.state == InboundState.NEW)
            )
            unsent = s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.state.in_([OutboxState.QUEUED, OutboxState.SENDING])
                )
            )
        return int(new or 0), int(unsent or 0)

    drain_started = time.monotonic()
    while pending() != (0, 0) and time.monotonic() - drain_started < 600:
        time.sleep(1)
    drained = time.monotonic() - drain_started
    peak = _peak_kib(pid)
    with sessions() as s:
        stored = Counter(
            s.scalars(
                select(InboundMessage.message_id).where(
                    InboundMessage.message_id.like("<soak-%")
                )
            )
        )
        posts = Counter(
            s.scalars(select(Post.message_id).where(Post.message_id.like("<soak-%")))
        )
        states = Counter(
            s.scalars(
                select(InboundMessage.state).where(
                    InboundMessage.message_id.like("<soak-%")
                )
            )
        )
    per = Counter()
    for r in list(relay.received):
        mid = str(BytesHeaderParser().parsebytes(r.data).get("Message-ID", ""))
        per[(r.rcpt_tos[0], mid.strip("<").split(".", 1)[0])] += 1
    digests = {rcpt for (rcpt, kind), _ in per.items() if kind == "digest"}
    announcements = {rcpt for (rcpt, kind), _ in per.items() if kind != "digest"}
    lat = sorted(latencies)
    p95 = lat[int(len(lat) * 0.95) - 1] if lat else 0.0
    replies = [m for m in acked if int(m[6:].split("@")[0]) % 10 != 9]
    print(f"load: {args.seconds:.0f} s, {args.clients} clients, "
          f"{args.subscribers} digest subscribers, relay 451 to 10% on first try")  # fmt: skip
    print(f"acknowledged: {len(acked)} in {elapsed:.1f} s = {len(acked) / elapsed:.1f} msg/s; "
          f"refused: {dict(refused)}")  # fmt: skip
    if lat:
        print(f"250 latency: p50 {statistics.median(lat) * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")  # fmt: skip
    print(f"drained (all processed, all sent) {drained:.1f} s after the load; "
          f"relay accepted {len(relay.received)} messages")  # fmt: skip
    print(f"peak memory of serve (VmHWM): {peak / 1024:.0f} MiB")
    lost = [m for m in acked if stored[m] != 1]
    unprocessed = sum(n for st, n in states.items() if st is not InboundState.PROCESSED)
    post_problems = [m for m in replies if posts[m] != 1]
    doubled = [k for k, n in per.items() if n > 1]
    missing_digests = args.subscribers - len(digests)
    print(f"lost or doubled in store: {len(lost)}; not processed: {unprocessed}; "
          f"replies without exactly one post: {len(post_problems)}")  # fmt: skip
    print(f"relay: duplicates {len(doubled)}; digests {len(digests)}/{args.subscribers}; "
          f"announcements {len(announcements)}")  # fmt: skip
    ok = not (lost or unprocessed or post_problems or doubled or missing_digests)
    print("OK: nothing lost, nothing duplicated" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
