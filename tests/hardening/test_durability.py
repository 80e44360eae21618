"""Promise 2: acknowledged means durable.

The service says 250 only after the raw message is committed. Clients stream
mail while the server is killed with SIGKILL at random (seeded) moments and
started again; every message a client saw acknowledged must be in the store
exactly once afterwards, and become exactly one post. A long run of the same
test is ``bench/crash.py``.
"""

from __future__ import annotations

import os

import pytest

from tests.fixtures.crash import crash_run
from tests.fixtures.service import ServiceFactory

pytestmark = [pytest.mark.hardening, pytest.mark.xdist_group("hardening-crash")]

SEED = int(os.environ.get("EDISCUSS_CRASH_SEED", "20270328"))


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    db_url: str, backend: str, make_service: ServiceFactory
) -> None:
    service = make_service(db_url=db_url)
    # Each restart costs a few seconds of imports: five kills on SQLite, two on
    # PostgreSQL here; bench/crash.py runs hundreds.
    kills = 5 if backend == "sqlite" else 2
    report = crash_run(service, kills=kills, seed=SEED, min_gap=0.2, max_gap=1.0)
    assert report.acked > 20, report
    assert report.missing == [], report
    assert report.duplicated == [], report
    assert report.posts_missing == [], report
    assert report.posts_duplicated == [], report
    assert service.starts == kills + 1
