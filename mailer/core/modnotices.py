"""When moderators hear of held posts: a notice at once, then at most one summary a window.

Each held post used to mail every moderator; a burst of held posts made a
burst of mail. The rule, per moderator:

- a post held while nothing else waits un-told for this moderator, and no
  notice or summary reached them in the last window, is noticed at once
  (``HeldMailKind.SINGLE``: its own mail, its Reply-To bound to the post);
- otherwise it waits; once the window since their last notice has passed, one
  ``HeldMailKind.SUMMARY`` lists every post not told yet, and the ones told
  before that still wait.

Values in, plan out: the adapters read the held posts and the moderators'
last notices, send what the plan says, and record it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


class HeldMailKind(enum.Enum):
    """A single held-post notice, or a summary of what waits."""

    SINGLE = "single"
    SUMMARY = "summary"


@dataclass(frozen=True)
class Told:
    """One moderator as the store knows them: their last notice, and the held posts they know of."""

    moderator: str
    last_notice_at: datetime | None
    told: frozenset[int] = frozenset()

    def due_at(self, window: timedelta) -> datetime | None:
        """When this moderator may be mailed again (None: at any time)."""
        return None if self.last_notice_at is None else self.last_notice_at + window


@dataclass(frozen=True)
class NoticePlan:
    """One mail to one moderator: the posts it tells of first, and those still waiting."""

    moderator: str
    kind: HeldMailKind
    new: tuple[int, ...]
    waiting: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.new:
            raise ValueError("a notice tells of at least one post")
        if self.kind is HeldMailKind.SINGLE and (len(self.new) != 1 or self.waiting):
            raise ValueError("a single notice tells of one post only")


def _untold(held: Sequence[int], told: Told) -> tuple[int, ...]:
    return tuple(p for p in held if p not in told.told)


def plan_on_hold(
    post_id: int,
    held: Sequence[int],
    told: Iterable[Told],
    now: datetime,
    window: timedelta,
) -> list[NoticePlan]:
    """The immediate notices when *post_id* is held (*held*: every held post, it included).

    Only moderators for whom the queue was empty get one: nothing held and
    un-told before this post, and their window since the last notice over.
    """
    plans = []
    for t in told:
        if _untold(held, t) != (post_id,):
            continue
        due = t.due_at(window)
        if due is None or due <= now:
            plans.append(NoticePlan(t.moderator, HeldMailKind.SINGLE, (post_id,)))
    return plans


def plan_summaries(
    held: Sequence[int], told: Iterable[Told], now: datetime, window: timedelta
) -> list[NoticePlan]:
    """The summaries due at *now*: one per moderator with untold posts whose window is over.

    *held* is in the order the posts should be listed (oldest first).
    """
    plans = []
    for t in told:
        new = _untold(held, t)
        due = t.due_at(window)
        if new and (due is None or due <= now):
            waiting = tuple(p for p in held if p in t.told)
            plans.append(NoticePlan(t.moderator, HeldMailKind.SUMMARY, new, waiting))
    return plans


def next_summary_at(
    held: Sequence[int], told: Iterable[Told], now: datetime, window: timedelta
) -> datetime | None:
    """The earliest moment a summary is due (*now* for a moderator never mailed; None: none)."""
    times = [t.due_at(window) or now for t in told if _untold(held, t)]
    return min(times, default=None)
