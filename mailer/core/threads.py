"""Where a reply belongs, from Message-ID, In-Reply-To and References only.

There is no subject guessing: two people writing "Re: question 3" about
different posts must not be merged, and a subject line can be edited freely.
public-inbox's ``SearchThread.pm`` explains the same choice. A parent that
would make a loop (a message that is its own ancestor) is refused.

A reply that arrives before its parent waits for it: :func:`awaited_ids` says
which Message-IDs it waits for, and :func:`adoptions` which waiting posts move
under a post when it arrives.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_QUESTION_ROOT = re.compile(r"^<q([1-9][0-9]{0,3})\.([a-z0-9-]{1,40})@([^<>@\s]+)>$")


@dataclass(frozen=True)
class KnownPost:
    """A post of the discussion that a reply may point at, with its ancestry."""

    post_id: int
    question_number: int
    message_id: str
    ancestors: tuple[str, ...] = ()  # Message-IDs of its parent, grandparent, ...


@dataclass(frozen=True)
class ThreadPlace:
    """Where a message threads: under a question, and under a post or at the top."""

    question_number: int
    parent: KnownPost | None
    found_by: str  # the header value that decided it


def candidate_ids(
    in_reply_to: Sequence[str], references: Sequence[str]
) -> tuple[str, ...]:
    """Message-IDs to try, nearest first: In-Reply-To, then References from the end.

    RFC 5322 section 3.6.4: the last entry of References is the parent, the
    first the thread root. Duplicates are dropped, the first place kept.
    """
    ordered = [*reversed(in_reply_to), *reversed(references)]
    return tuple(dict.fromkeys(m for m in ordered if m))


def question_root_number(message_id: str, slug: str, domain: str) -> int | None:
    """The question number of a thread-root Message-ID ``<q{n}.{slug}@{domain}>``."""
    m = _QUESTION_ROOT.match(message_id.strip().lower())
    if m is None or m.group(2) != slug or m.group(3) != domain.lower().rstrip("."):
        return None
    return int(m.group(1))


def makes_loop(own_message_id: str | None, parent: KnownPost) -> bool:
    """True when *parent* is the message itself or has it among its ancestors.

    Also True when the parent's recorded ancestry repeats itself, which only
    a corrupted store could produce; such a parent is never trusted.
    """
    chain = (parent.message_id, *parent.ancestors)
    if len(set(chain)) != len(chain):
        return True
    return own_message_id is not None and own_message_id in chain


def find_thread(
    *,
    own_message_id: str | None,
    in_reply_to: Sequence[str],
    references: Sequence[str],
    known_posts: Mapping[str, KnownPost],
    slug: str,
    domain: str,
) -> ThreadPlace | None:
    """The nearest known post or question root the headers name, or None.

    A known post wins over a question root at any distance only when it is
    nearer in the header order, so a reply to a post threads under that post
    (and that post's question, whatever address the reply was sent to).
    """
    for mid in candidate_ids(in_reply_to, references):
        if mid == own_message_id:
            continue
        post = known_posts.get(mid)
        if post is not None:
            if makes_loop(own_message_id, post):
                continue
            return ThreadPlace(post.question_number, post, mid)
        number = question_root_number(mid, slug, domain)
        if number is not None:
            return ThreadPlace(number, None, mid)
    return None


# A reply names its parent, grandparent, ... in References; a parent that
# arrives late is looked for this far up, nearest first.
MAX_AWAITED = 20


def awaited_ids(
    place: ThreadPlace,
    *,
    own_message_id: str | None,
    in_reply_to: Sequence[str],
    references: Sequence[str],
    slug: str,
    domain: str,
) -> tuple[str, ...]:
    """Message-IDs nearer than *place* that no known post has: parents that may arrive later.

    A reply can arrive before its parent (greylisting, two MX hosts, several
    connections): it is placed under the nearest ancestor known, or the
    question, and these are the posts that would have been a nearer place.
    A reply address decides its parent itself, so it awaits nothing.
    """
    if place.found_by == "reply address":
        return ()
    awaited: list[str] = []
    for mid in candidate_ids(in_reply_to, references):
        if place.parent is not None and mid == place.found_by:
            break
        if mid == own_message_id or question_root_number(mid, slug, domain) is not None:
            continue
        awaited.append(mid)
    return tuple(awaited[:MAX_AWAITED])


@dataclass(frozen=True)
class WaitingPost:
    """A stored post that named a missing Message-ID, *distance* places from its nearest."""

    post_id: int
    message_id: str
    distance: int


def adoptions(
    parent: KnownPost, waiting: Sequence[WaitingPost]
) -> tuple[WaitingPost, ...]:
    """The waiting posts that move under *parent*, the post that has just arrived.

    A post that is *parent* itself or one of its ancestors stays where it is:
    moving it would make a loop.
    """
    chain = {parent.message_id, *parent.ancestors}
    return tuple(
        w for w in waiting if w.post_id != parent.post_id and w.message_id not in chain
    )
