"""The long crash run of issue 9, promise 2: many SIGKILLs while clients stream mail.

``ediscuss serve`` runs as a child process; three SMTP clients send messages
with unique Message-IDs without pause; the server is killed with SIGKILL at
random moments (seeded) and started again at once, ``--kills`` times. Every
message a client saw acknowledged with 250 must be in the store exactly once
and become exactly one post; messages cut off mid-DATA are sent again, as an
MTA would, and must not be stored twice. Exits 1 on any loss or duplicate.

Usage: python bench/crash.py [--kills 100] [--seed N] [--database URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.crash import crash_run
from tests.fixtures.service import finish, prepare_service


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20270328)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument(
        "--database", default="", help="a migrated PostgreSQL URL (default: SQLite)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ediscuss-crash-") as tmp:
        service = prepare_service(Path(tmp) / "svc", db_url=args.database or None)
        service.start()
        started = time.monotonic()
        try:
            report = crash_run(
                service, kills=args.kills, seed=args.seed, clients=args.clients
            )
        finally:
            finish([service])
        elapsed = time.monotonic() - started
    print(
        f"kills={report.kills} seconds={elapsed:.0f} acknowledged={report.acked} "
        f"cut-off-mid-DATA={report.unknown} refused={report.refused} "
        f"stored={report.stored}"
    )
    print(
        f"missing={len(report.missing)} duplicated={len(report.duplicated)} "
        f"posts-missing={len(report.posts_missing)} "
        f"posts-duplicated={len(report.posts_duplicated)}"
    )
    bad = (
        report.missing
        or report.duplicated
        or report.posts_missing
        or report.posts_duplicated
    )
    if bad:
        print("FAILED: an acknowledged message was lost or stored twice", bad[:10])
        return 1
    print("OK: every acknowledged message stored once and posted once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
