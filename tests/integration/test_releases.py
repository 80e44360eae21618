"""Releases by hand and by schedule: outcomes for the commands, once under concurrency.

Also that the scheduler's round reminds unconfirmed sign-ups once and expires
them later (the subscriber functions, called by run_due on the clock).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mailer.core.modauth import AuthMethod
from mailer.core.schedule import ReleaseOutcome, ReleaseResult, StateOutcome
from mailer.mailings.due import run_due
from mailer.mailings.releases import (
    UnknownDiscussion,
    close_discussion,
    release_questions,
    release_week,
    reopen_discussion,
)
from mailer.runtime import Runtime
from mailer.subscriptions.notices import place_for
from mailer.subscriptions.signup import queue_confirmation
from store.models import (
    AuditEntry,
    DeliveryMode,
    Discussion,
    DiscussionState,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.fixtures.schedule import SLUG, MovableClock, outbox, subscribe

NOW = datetime(2027, 3, 26, 12, 0, tzinfo=UTC)


def state(rt: Runtime) -> DiscussionState:
    with rt.sessions() as s:
        found = s.scalar(select(Discussion.state).where(Discussion.slug == SLUG))
    assert found is not None
    return found


def test_outcomes_for_the_moderators_commands(sim_runtime: Runtime) -> None:
    rt = sim_runtime
    sub = subscribe(rt, "ana@example.net", language="fr", mode=DeliveryMode.EACH)
    with rt.sessions.begin() as s:
        early = release_questions(
            s, rt, SLUG, [3], NOW, "aggarwal@ilo.example.org", auth=AuthMethod.DKIM
        )
    assert early == ReleaseResult(SLUG, ((3, ReleaseOutcome.RELEASED),), True, 1)
    assert state(rt) is DiscussionState.OPEN
    with rt.sessions.begin() as s:
        week = release_week(
            s, rt, SLUG, 1, NOW, "comyn@ilo.example.org", AuthMethod.CONFIRMED
        )
        nothing = release_week(s, rt, SLUG, 5, NOW, "comyn@ilo.example.org")
    assert week.released == (1, 2, 4, 5, 6) and not week.opened
    assert week.outcome(3) is ReleaseOutcome.ALREADY_RELEASED
    assert nothing.outcomes == ()
    keys = [m.key for m in outbox(rt)]
    assert keys == [
        f"announce:{SLUG}:3:{sub}",
        f"announce:{SLUG}:1,2,4,5,6:{sub}",
    ]
    single = outbox(rt)[0]
    assert single.subject.startswith(
        "[skills-covid19] La discussion est ouverte : question 3 : Quels obstacles"
    )
    assert single.message["Reply-To"] == "skills-covid19+q3@discuss.example.org"
    with rt.sessions() as s:
        audit = [
            (a.actor, a.action, a.target, a.auth)
            for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    assert audit == [
        ("aggarwal@ilo.example.org", "release", "q3", "dkim"),
        ("comyn@ilo.example.org", "release", "q1,q2,q4,q5,q6", "confirmed"),
    ]

    with rt.sessions.begin() as s:
        assert close_discussion(s, rt, SLUG, NOW, "m").outcome is StateOutcome.CLOSED
        again = close_discussion(s, rt, SLUG, NOW, "m")
        assert again.outcome is StateOutcome.ALREADY_CLOSED and again.announced == 0
        closed = release_questions(s, rt, SLUG, [7], NOW, "m")
        assert closed.outcome(7) is ReleaseOutcome.DISCUSSION_CLOSED
        assert reopen_discussion(s, rt, SLUG, NOW, "m").outcome is StateOutcome.REOPENED
        assert (
            reopen_discussion(s, rt, SLUG, NOW, "m").outcome is StateOutcome.NOT_CLOSED
        )
        with pytest.raises(UnknownDiscussion):
            release_questions(s, rt, "no-such-discussion", [1], NOW, "m")
    assert [m.kind for m in outbox(rt)] == ["announce", "announce", "closing"]


def test_two_moderators_releasing_a_week_at_once_announce_it_once(
    sim_runtime: Runtime,
) -> None:
    rt = sim_runtime
    subs = [subscribe(rt, f"r{i}@example.net", language="es") for i in range(30)]
    barrier = threading.Barrier(2)

    def release(by: str) -> ReleaseResult:
        with rt.sessions.begin() as s:
            barrier.wait()
            return release_week(s, rt, SLUG, 1, NOW, by)

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(release, f"mod{i}@ilo.example.org") for i in range(2)]
        results = [f.result(timeout=60) for f in futures]
    released = sorted(len(r.released) for r in results)
    assert released == [0, 6]  # one made the change, the other learnt it was done
    assert sorted(r.announced for r in results) == [0, len(subs)]
    keys = [m.key for m in outbox(rt)]
    assert sorted(keys) == sorted(f"announce:{SLUG}:1,2,3,4,5,6:{s}" for s in subs)


def test_the_round_reminds_unconfirmed_sign_ups_once_then_expires_them(
    sim_runtime: Runtime, sim_clock: MovableClock
) -> None:
    rt = sim_runtime
    sub_id = subscribe(
        rt, "pat@example.net", status=SubscriptionStatus.PENDING, now=NOW
    )
    with rt.sessions.begin() as s:
        sub = s.get(Subscription, sub_id)
        person = s.scalar(
            select(Subscriber).where(Subscriber.email == "pat@example.net")
        )
        assert sub is not None and person is not None
        queue_confirmation(s, rt, place_for(s, rt, SLUG), sub, person, NOW)
    assert run_due(rt, NOW + timedelta(hours=47)).reminded == 0
    assert run_due(rt, NOW + timedelta(hours=49)).reminded == 1
    assert run_due(rt, NOW + timedelta(hours=50)).reminded == 0
    assert [m.kind for m in outbox(rt)] == ["confirm", "reminder"]
    assert run_due(rt, NOW + timedelta(days=8)).expired == 1
    with rt.sessions() as s:
        found = s.get(Subscription, sub_id)
        assert found is not None and found.status is SubscriptionStatus.EXPIRED
