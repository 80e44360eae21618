"""What the demonstration's script must lead to, worked out from the script and the rules.

The rules are the documented ones: a subscriber's first post waits for a
moderator, later ones are published at once; a sender without a confirmed
subscription always waits (a From header proves nothing, even a moderator's),
but a moderator whose mail server signs with DKIM is published at once;
each-post readers get a copy of every post published while they read that
way; digest readers get one digest a day when that day brought something;
every reader gets the announcements and the closing while subscribed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailer.demo import script
from mailer.demo.cast import CastMember
from mailer.demo.runner import SIGNING

SETTLE = timedelta(seconds=30)  # a digest starts half a minute after its hour


@dataclass
class Reader:
    """One subscription over time: (from, until, mode) spans while active."""

    email: str
    language: str
    spans: list[tuple[datetime, datetime | None, str]] = field(default_factory=list)
    confirmed: bool = False
    ended: str = ""  # "unsubscribed" | "disabled" | ""

    def mode_at(self, when: datetime) -> str | None:
        """The delivery mode at *when*, or None when not an active subscriber then."""
        for start, until, mode in self.spans:
            if start <= when and (until is None or when < until):
                return mode
        return None

    def stop(self, when: datetime) -> None:
        """End the current span at *when*."""
        start, _, mode = self.spans[-1]
        self.spans[-1] = (start, when, mode)


@dataclass
class Expected:
    """One contribution that must be a post."""

    key: str
    author: CastMember
    question: int
    parent: str | None
    body: str
    received_at: datetime
    status: str = "held"
    approved_at: datetime | None = None


@dataclass
class Model:
    """The end state the script must produce."""

    readers: dict[str, Reader]
    posts: dict[str, Expected]
    not_posts: dict[str, datetime]  # contributions that must get a notice instead
    releases: list[datetime]
    closes_at: datetime
    digest_days: list[tuple[datetime, list[str]]]  # (digest start, post keys)
    held: list[str]  # every post that waited for a moderator, in order
    decisions: Counter[tuple[int, str]]  # (moderator, "approve" | "reject") -> posts

    def list_mail(self, email: str) -> Counter[str]:
        """How many announcements, copies, digests and closings *email* must have got."""
        reader = self.readers[email]
        out: Counter[str] = Counter()
        for at in self.releases:
            out["announce"] += reader.mode_at(at) is not None
        out["closing"] += reader.mode_at(self.closes_at) is not None
        for post in self.posts.values():
            if post.approved_at is not None and post.status == "approved":
                out["post"] += reader.mode_at(post.approved_at) == "each"
        for start, keys in self.digest_days:
            out["digest"] += bool(keys) and reader.mode_at(start) == "digest"
        return +out


def signs(person: CastMember) -> bool:
    """A moderator (``mod<n>``) whose mail server signs with DKIM: their From is proven."""
    number = person.key.removeprefix("mod")
    return (
        person.key.startswith("mod")
        and number.isdigit()
        and int(number) < len(SIGNING)
        and SIGNING[int(number)]
    )


def build(
    story: tuple[script.Step, ...],
    who: dict[str, CastMember],
    opening: datetime,
    closes_at: datetime,
    zone: ZoneInfo,
    digest_hour: int,
) -> Model:
    """Play the script on paper."""
    opening_day = opening.astimezone(zone).date()
    readers: dict[str, Reader] = {}
    posts: dict[str, Expected] = {}
    not_posts: dict[str, datetime] = {}
    approved: Counter[str] = Counter()
    held: list[str] = []
    decisions: Counter[tuple[int, str]] = Counter()
    releases = [opening]
    for st in story:
        t = st.at(opening_day, zone)
        for a in st.actions:
            if isinstance(a, script.Join):
                p = who[a.who]
                readers[p.email] = Reader(p.email, p.language)
            elif isinstance(a, script.Confirm):
                p = who[a.who]
                assert p.mode is not None
                readers[p.email].spans.append((t, None, p.mode))
                readers[p.email].confirmed = True
            elif isinstance(a, script.ChangeMode):
                r = readers[who[a.who].email]
                r.stop(t)
                r.spans.append((t, None, a.mode))
            elif isinstance(a, (script.Leave, script.Bounce)):
                r = readers[who[a.who].email]
                r.stop(t)
                r.ended = "unsubscribed" if isinstance(a, script.Leave) else "disabled"
            elif isinstance(a, script.CommandMail) and a.text == "release week 2":
                releases.append(t)
            elif isinstance(a, script.Contribute) and not a.posts:
                not_posts[a.key] = t
            elif isinstance(a, script.Contribute):
                p = who[a.who]
                parent = (
                    a.via.post
                    if isinstance(a.via, script.ReplyToCopy | script.ReplyToDigest)
                    else None
                )
                if a.question is not None:
                    question = a.question
                else:
                    assert parent is not None, a.key
                    question = posts[parent].question
                e = Expected(a.key, p, question, parent, a.body.strip(), t)
                reader = readers.get(p.email)
                if signs(p) or (reader and reader.mode_at(t) and approved[p.email]):
                    e.status, e.approved_at = "approved", t
                    approved[p.email] += 1
                else:
                    held.append(a.key)
                posts[a.key] = e
            elif isinstance(a, script.Approve):
                decisions[(a.moderator, "approve")] += len(a.posts)
                for key in a.posts:
                    e = posts[key]
                    e.status, e.approved_at = "approved", t
                    approved[e.author.email] += 1
            elif isinstance(a, script.Reject):
                decisions[(a.moderator, "reject")] += 1
                posts[a.post].status = "rejected"
    return Model(
        readers,
        posts,
        not_posts,
        releases,
        closes_at,
        _digests(posts, opening_day, closes_at, zone, digest_hour),
        held,
        decisions,
    )


def _digests(
    posts: dict[str, Expected],
    opening_day: date,
    closes_at: datetime,
    zone: ZoneInfo,
    hour: int,
) -> list[tuple[datetime, list[str]]]:
    out = []
    since: datetime | None = None
    day = opening_day
    while True:
        until = datetime.combine(day, time(hour), zone)
        until = min(until, closes_at)
        keys = [
            e.key
            for e in posts.values()
            if e.status == "approved"
            and e.approved_at is not None
            and (since is None or e.approved_at >= since)
            and e.approved_at < until
        ]
        out.append((until + SETTLE, keys))
        if until >= closes_at:
            return out
        since, day = until, day + timedelta(days=1)
