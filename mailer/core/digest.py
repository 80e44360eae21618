"""The daily digest as a plan: which posts, in what order, threaded, for one language.

Pure: the approved posts (with the addresses and links the adapter signed for
them), the questions and a window go in; a :class:`DigestPlan` comes out, and
templates turn it into text and HTML. Posts are grouped by question in
question order; within a question a reply sits under its parent when both are
in the digest, and a reply to an older post starts its own thread and names
whom it answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from mailer.core.texts import Texts

MAX_DEPTH = 3  # deeper replies are shown at this depth: narrow screens
MAX_BODY_CHARS = 4000  # longer posts end with a link to the rest
# An abridged entry's first lines: two lines of a narrow screen, or one when
# a day is so large that even two lines each would not fit (60 characters
# and "…" stay on one line at the deepest indentation).
ABRIDGED_CHARS = (150, 60)

_BLANKS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class PostItem:
    """An approved post as the digest needs it; addresses already signed."""

    id: int
    question: int
    parent_id: int | None
    author_name: str
    organisation: str
    constituency: str
    body: str
    approved_at: datetime
    reply_address: str
    url: str
    parent_author: str = ""  # the parent's author, for a reply to an older post

    def __post_init__(self) -> None:
        if self.approved_at.tzinfo is None:
            raise ValueError("approved_at must be timezone-aware")


@dataclass(frozen=True)
class QuestionItem:
    """A question: its texts per language, its address and page, and whether it is out."""

    number: int
    text: Texts
    address: str
    url: str
    released: bool


@dataclass(frozen=True)
class OpenQuestion:
    """A question in the digest's header, in the digest's language."""

    number: int
    text: str
    address: str
    url: str


@dataclass(frozen=True)
class DigestEntry:
    """One post in its place: how deep it sits, and its (possibly shortened) text.

    An *abridged* entry shows only the first lines of the post (its body is
    the excerpt) and sends the reader to the web for the rest: a digest too
    large for a mailbox is made to fit so (see :mod:`mailer.core.digest_fit`).
    """

    post: PostItem
    depth: int
    body: str
    shortened: bool
    in_reply_to: str  # author of a parent that is not in this digest, or ""
    abridged: bool = False

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """The body split at blank lines (for the HTML part)."""
        return tuple(p for p in self.body.split("\n\n") if p.strip())

    @property
    def author(self) -> str:
        """The author's name, or their organisation when the name is unknown."""
        return self.post.author_name or self.post.organisation

    @property
    def organisation(self) -> str:
        """The organisation, when it is not already standing in for the name."""
        return self.post.organisation if self.post.author_name else ""


@dataclass(frozen=True)
class DigestSection:
    """The new posts under one question, threaded."""

    number: int
    text: str
    address: str
    url: str
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True)
class DigestPlan:
    """Everything one language's digest says; empty when nothing is new."""

    language: str
    day: date
    since: datetime | None
    until: datetime
    final: bool
    open_questions: tuple[OpenQuestion, ...]
    sections: tuple[DigestSection, ...]

    @property
    def count(self) -> int:
        """How many posts the digest carries."""
        return sum(len(s.entries) for s in self.sections)

    @property
    def empty(self) -> bool:
        """True when there is nothing new: no digest is sent."""
        return not self.sections

    @property
    def entries(self) -> tuple[DigestEntry, ...]:
        """Every entry in the order the digest shows them."""
        return tuple(e for s in self.sections for e in s.entries)

    @property
    def abridged_count(self) -> int:
        """How many entries show only their first lines."""
        return sum(e.abridged for e in self.entries)

    def abridge(
        self, whole: Sequence[bool], chars: int = ABRIDGED_CHARS[0]
    ) -> DigestPlan:
        """The plan with each entry whole where *whole* (in :attr:`entries` order)
        says so, and abridged to its first *chars* characters where not."""
        if len(whole) != self.count:
            raise ValueError(f"{len(whole)} flags for {self.count} entries")
        flags = iter(whole)
        sections = tuple(
            replace(
                s,
                entries=tuple(
                    e if next(flags) else _abridged(e, chars) for e in s.entries
                ),
            )
            for s in self.sections
        )
        return replace(self, sections=sections)


def clean_body(text: str, limit: int = MAX_BODY_CHARS) -> tuple[str, bool]:
    """The body tidied for a digest (no trailing spaces or runs of blank lines).

    Cut at a paragraph or word boundary when longer than *limit*; the flag
    says whether it was.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")
    body = _BLANKS.sub("\n\n", "\n".join(line.rstrip() for line in lines)).strip("\n")
    if len(body) <= limit:
        return body, False
    cut = body[:limit]
    for sep in ("\n\n", "\n", " "):
        at = cut.rfind(sep)
        if at > limit // 2:
            cut = cut[:at]
            break
    return cut.rstrip() + " …", True


def abridge_body(text: str, limit: int = ABRIDGED_CHARS[0]) -> str:
    """The first words of *text* on one line, at most *limit* characters, then "…".

    Lines are joined with spaces (an abridged entry is a glance, not a layout)
    and the cut falls between words unless one word alone is longer.
    """
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit + 1]
    at = cut.rfind(" ")
    cut = cut[:at] if at > limit // 2 else flat[:limit]
    return cut.rstrip(" ,;:.-–—") + "…"  # glued: a wrapped line never starts with it


def _abridged(entry: DigestEntry, chars: int) -> DigestEntry:
    return replace(
        entry,
        body=abridge_body(entry.post.body, chars),
        shortened=False,
        abridged=True,
    )


def _thread(posts: Sequence[PostItem]) -> list[tuple[PostItem, int]]:
    """Depth-first order: each root by time, its replies under it by time."""
    ids = {p.id for p in posts}
    children: dict[int, list[PostItem]] = {}
    roots: list[PostItem] = []
    for p in posts:
        if p.parent_id is not None and p.parent_id in ids and p.parent_id != p.id:
            children.setdefault(p.parent_id, []).append(p)
        else:
            roots.append(p)
    out: list[tuple[PostItem, int]] = []
    seen: set[int] = set()

    def walk(p: PostItem, depth: int) -> None:
        if p.id in seen:  # a parent loop: never followed twice
            return
        seen.add(p.id)
        out.append((p, depth))
        for child in children.get(p.id, ()):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    for p in posts:  # members of a loop with no root: shown at the top
        walk(p, 0)
    return out


def plan_digest(
    posts: Iterable[PostItem],
    questions: Sequence[QuestionItem],
    since: datetime | None,
    until: datetime,
    language: str,
    default_language: str,
    day: date,
    final: bool = False,
) -> DigestPlan:
    """Plan the digest of posts approved in [since, until) for readers of *language*.

    Posts of unknown questions are left out (they cannot be answered by mail).
    """
    by_number = {q.number: q for q in questions}
    window = sorted(
        (
            p
            for p in posts
            if p.question in by_number
            and (since is None or p.approved_at >= since)
            and p.approved_at < until
        ),
        key=lambda p: (p.approved_at, p.id),
    )
    grouped: dict[int, list[PostItem]] = {}
    for p in window:
        grouped.setdefault(p.question, []).append(p)
    sections = []
    for number in sorted(grouped):
        q = by_number[number]
        entries = []
        in_digest = {p.id for p in grouped[number]}
        for post, depth in _thread(grouped[number]):
            body, shortened = clean_body(post.body)
            answers = (
                post.parent_author
                if post.parent_id is not None and post.parent_id not in in_digest
                else ""
            )
            entries.append(
                DigestEntry(post, min(depth, MAX_DEPTH), body, shortened, answers)
            )
        sections.append(
            DigestSection(
                number,
                q.text.in_language(language, default_language),
                q.address,
                q.url,
                tuple(entries),
            )
        )
    open_questions = (
        ()
        if final
        else tuple(
            OpenQuestion(
                q.number,
                q.text.in_language(language, default_language),
                q.address,
                q.url,
            )
            for q in sorted(questions, key=lambda q: q.number)
            if q.released
        )
    )
    return DigestPlan(
        language, day, since, until, final, open_questions, tuple(sections)
    )
