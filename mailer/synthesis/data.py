"""What the synthesis report says, computed from the approved posts (pure but for :func:`load_report`).

Per question, the contributions in the order they were published, with their
authors and constituencies; counts by constituency and by language; and how
many contributions each local day of the discussion brought.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from babel.dates import format_date, format_datetime

from mailer.config.settings import DiscussionSettings
from mailer.core.redact import mask_address
from mailer.synthesis.labels import labels_for
from store.reports import ReportPost, report_posts

if TYPE_CHECKING:
    from mailer.runtime import Runtime

CONSTITUENCY_ORDER = (
    "government",
    "employers",
    "workers",
    "training-provider",
    "ngo",
    "individual",
    "other",
    "moderator",
    "",
)
_LOCALES = {"en": "en_GB", "es": "es", "fr": "fr"}


@dataclass(frozen=True)
class Contribution:
    """One published contribution, ready to print."""

    id: int
    author: str
    organisation: str
    constituency: str  # the label, in the report's language
    language: str
    when: str  # local date and time, in the report's language
    reply_to: str  # "in reply to Ana Ruiz", or ''
    body: str


@dataclass(frozen=True)
class QuestionSection:
    """One question and its contributions, in publishing order."""

    number: int
    week: int
    text: str
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class Report:
    """Everything the report shows."""

    language: str
    labels: dict[str, str]
    slug: str
    title: str
    window: str
    generated: str
    total: int
    participants: int
    by_constituency: tuple[tuple[str, int], ...]
    by_language: tuple[tuple[str, int], ...]
    per_day: tuple[tuple[date, dict[str, int]], ...]  # every day, language -> count
    languages: tuple[str, ...]
    questions: tuple[QuestionSection, ...]


def build_report(
    posts: Sequence[ReportPost],
    discussion: DiscussionSettings,
    language: str,
    now: datetime,
) -> Report:
    """The report of *discussion* from its approved *posts*, in *language*."""
    words = labels_for(language)
    locale = _LOCALES.get(language, "en_GB")
    zone = discussion.time_zone

    moderators = {m.email.lower() for m in discussion.moderators}
    posts = [
        replace(p, constituency="moderator")
        if p.author_email.lower() in moderators
        else p
        for p in posts
    ]

    def label(constituency: str) -> str:
        return (
            words.get(constituency, constituency)
            if constituency
            else words["not_given"]
        )

    sections = []
    for q in sorted(discussion.questions, key=lambda q: q.number):
        mine = [p for p in posts if p.question == q.number]
        sections.append(
            QuestionSection(
                q.number,
                q.week,
                q.text.in_language(language, discussion.default_language),
                tuple(
                    Contribution(
                        p.id,
                        p.author_name or mask_address(p.author_email),
                        p.organisation,
                        label(p.constituency),
                        p.language,
                        format_datetime(
                            p.approved_at.astimezone(zone),
                            "d MMM, HH:mm",
                            locale=locale,
                        ),
                        words["in_reply_to"].format(name=p.parent_author)
                        if p.parent_author
                        else "",
                        p.body,
                    )
                    for p in mine
                ),
            )
        )
    constituencies = Counter(p.constituency for p in posts)
    by_constituency = tuple(
        (label(c), constituencies[c]) for c in CONSTITUENCY_ORDER if constituencies[c]
    ) + tuple(
        (label(c), n)
        for c, n in sorted(constituencies.items())
        if c not in CONSTITUENCY_ORDER
    )
    languages = Counter(p.language or "?" for p in posts)
    first = discussion.opens_at.astimezone(zone).date()
    last = discussion.closes_at.astimezone(zone).date()
    if posts:
        first = min(first, *(p.approved_at.astimezone(zone).date() for p in posts))
        last = max(last, *(p.approved_at.astimezone(zone).date() for p in posts))
    days: dict[date, Counter[str]] = {
        first + timedelta(days=i): Counter() for i in range((last - first).days + 1)
    }
    for p in posts:
        days[p.approved_at.astimezone(zone).date()][p.language or "?"] += 1
    order = [x for x in discussion.languages if languages[x]]
    order += sorted(x for x in languages if x not in order)
    return Report(
        language=language,
        labels=words,
        slug=discussion.slug,
        title=discussion.title.in_language(language, discussion.default_language),
        window=words["window"].format(
            opens=format_date(discussion.opens_at.astimezone(zone), "long", locale=locale),
            closes=format_date(discussion.closes_at.astimezone(zone), "long", locale=locale),
        ),
        generated=words["generated"].format(
            when=format_datetime(now.astimezone(zone), "d MMMM y, HH:mm zzz", locale=locale)
        ),
        total=len(posts),
        participants=len({p.author_email for p in posts}),
        by_constituency=by_constituency,
        by_language=tuple((words.get(x, x), languages[x]) for x in order),
        per_day=tuple((d, dict(c)) for d, c in days.items()),
        languages=tuple(order),
        questions=tuple(sections),
    )  # fmt: skip


def load_report(
    runtime: Runtime, discussion: DiscussionSettings, language: str
) -> Report:
    """Read the approved posts of *discussion* from the store and build its report."""
    with runtime.sessions() as session:
        posts = report_posts(session, discussion.slug)
    return build_report(posts, discussion, language, runtime.clock())
