"""Planning moderators' held-post mail: a notice at once, then at most a summary a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailer.core.modnotices import (
    HeldMailKind,
    NoticePlan,
    Told,
    next_summary_at,
    plan_on_hold,
    plan_summaries,
)

T0 = datetime(2027, 3, 30, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)
A, B, C = "a@ilo.example.org", "b@ilo.example.org", "c@ilo.example.org"


def fresh(*moderators: str) -> list[Told]:
    return [Told(m, None) for m in moderators]


def test_the_first_held_post_is_noticed_at_once_to_everyone() -> None:
    plans = plan_on_hold(1, [1], fresh(A, B, C), T0, WINDOW)
    assert plans == [NoticePlan(m, HeldMailKind.SINGLE, (1,)) for m in (A, B, C)]


def test_a_post_held_within_the_window_waits_for_the_summary() -> None:
    told = [Told(A, T0, frozenset({1}))]
    assert plan_on_hold(2, [1, 2], told, T0 + timedelta(minutes=5), WINDOW) == []
    # ...even when the first was decided meanwhile (nothing untold before it).
    assert plan_on_hold(2, [2], told, T0 + timedelta(minutes=29), WINDOW) == []


def test_once_the_window_is_over_an_empty_queue_means_a_notice_at_once() -> None:
    told = [Told(A, T0, frozenset({1}))]
    later = T0 + WINDOW
    assert plan_on_hold(2, [1, 2], told, later, WINDOW) == [
        NoticePlan(A, HeldMailKind.SINGLE, (2,))
    ]


def test_no_notice_at_once_while_something_else_waits_untold() -> None:
    told = [Told(A, T0 - timedelta(hours=2), frozenset())]
    assert plan_on_hold(3, [2, 3], told, T0, WINDOW) == []
    # A post already told of (a second call) is not noticed again.
    assert plan_on_hold(2, [2], [Told(A, None, frozenset({2}))], T0, WINDOW) == []


def test_each_moderator_on_their_own_clock() -> None:
    told = [
        Told(A, T0, frozenset({1})),
        Told(B, T0 - timedelta(hours=1), frozenset({1})),
    ]
    plans = plan_on_hold(2, [1, 2], told, T0 + timedelta(minutes=1), WINDOW)
    assert [p.moderator for p in plans] == [B]


def test_a_burst_of_twenty_makes_one_notice_and_one_summary_a_window() -> None:
    held: list[int] = []
    told = {m: Told(m, None) for m in (A, B)}
    mails: dict[str, list[tuple[datetime, NoticePlan]]] = {A: [], B: []}

    def apply(plans: list[NoticePlan], now: datetime) -> None:
        for p in plans:
            t = told[p.moderator]
            told[p.moderator] = Told(p.moderator, now, t.told | set(p.new))
            mails[p.moderator].append((now, p))

    for n in range(1, 21):  # one held post every 20 seconds
        now = T0 + timedelta(seconds=20 * n)
        held.append(n)
        apply(plan_on_hold(n, held, told.values(), now, WINDOW), now)
        apply(plan_summaries(held, told.values(), now, WINDOW), now)
    assert (
        next_summary_at(held, told.values(), now, WINDOW)
        == T0 + timedelta(seconds=20) + WINDOW
    )
    for minute in range(7, 120):  # the scheduler's ticks, for two hours
        now = T0 + timedelta(minutes=minute)
        apply(plan_summaries(held, told.values(), now, WINDOW), now)
    for m in (A, B):
        kinds = [(p.kind, p.new) for _, p in mails[m]]
        assert kinds == [
            (HeldMailKind.SINGLE, (1,)),
            (HeldMailKind.SUMMARY, tuple(range(2, 21))),
        ]
        (first, _), (second, summary) = mails[m]
        assert second - first >= WINDOW and summary.waiting == (1,)
    assert next_summary_at(held, told.values(), now, WINDOW) is None


def test_a_summary_lists_new_posts_first_and_what_still_waits() -> None:
    told = [Told(A, T0, frozenset({1, 3})), Told(B, T0 + timedelta(minutes=20))]
    at = T0 + WINDOW
    assert plan_summaries([1, 3, 4, 5], told, at, WINDOW) == [
        NoticePlan(A, HeldMailKind.SUMMARY, (4, 5), (1, 3))
    ]
    assert next_summary_at([1, 3, 4, 5], told, at, WINDOW) == at  # A's, now
    after = [Told(A, at, frozenset({1, 3, 4, 5})), told[1]]
    assert next_summary_at([1, 3, 4, 5], after, at, WINDOW) == T0 + timedelta(
        minutes=50
    )
    # Nothing untold: no summary, however long ago the last mail was.
    done = [Told(A, T0, frozenset({1, 3}))]
    assert plan_summaries([1, 3], done, T0 + timedelta(days=2), WINDOW) == []


def test_a_moderator_never_mailed_is_due_now() -> None:
    assert next_summary_at([7], fresh(A), T0, WINDOW) == T0
    assert plan_summaries([7], fresh(A), T0, WINDOW) == [
        NoticePlan(A, HeldMailKind.SUMMARY, (7,))
    ]


def test_plans_check_themselves() -> None:
    with pytest.raises(ValueError):
        NoticePlan(A, HeldMailKind.SUMMARY, ())
    with pytest.raises(ValueError):
        NoticePlan(A, HeldMailKind.SINGLE, (1, 2))
