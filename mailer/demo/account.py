"""The readable account of the demonstration: what each person did and what the service sent.

One block per day, one line per moment: who wrote what from which client and
what became of it (published, held and why, a notice, dropped), what the
moderators did and how their mail was proven, and what the service sent in
answer, counted by kind and, for list mail, by the subscribers' delivery mode.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from mailer.demo import script
from mailer.demo.cast import CastMember
from mailer.demo.stage import SentRow, Stage

_CLIENTS = {
    "gmail": "Gmail",
    "outlook": "Outlook",
    "iphone": "an iPhone",
    "android": "an Android phone",
    "thunderbird": "Thunderbird",
    "apple": "Apple Mail",
    "html": "an HTML-only client",
    "plain": "a plain-text client",
}
_KINDS = {  # kind: (one, many)
    "confirm": ("confirmation request", "confirmation requests"),
    "welcome": ("welcome mail", "welcome mails"),
    "announce": ("announcement", "announcements"),
    "post": ("post copy", "post copies"),
    "digest": ("digest", "digests"),
    "closing": ("closing announcement", "closing announcements"),
    "mod-held": ("held-post notice to a moderator", "held-post notices to moderators"),
    "mod-summary": (
        "summary of held posts to a moderator",
        "summaries of held posts to moderators",
    ),
    "mod-result": ("command result", "command results"),
    "mod-confirm": ("request to confirm a command", "requests to confirm a command"),
    "mod-handled": (
        "'handled' note to another moderator",
        "'handled' notes to the other moderators",
    ),
    "notice": ("automatic notice", "automatic notices"),
    "post-rejected": ("rejection notice", "rejection notices"),
    "bounce-notice": ("bounce report to a moderator", "bounce reports to moderators"),
    "reminder": ("reminder to confirm", "reminders to confirm"),
    "goodbye": ("goodbye mail", "goodbye mails"),
    "confirm-unsubscribe": (
        "request to confirm leaving",
        "requests to confirm leaving",
    ),
    "command-result": ("answer to a request", "answers to requests"),
}
_LIST_KINDS = ("announce", "post", "digest", "closing")
INDENT = " " * 9


def plural(n: int, noun: str, many: str = "") -> str:
    """``1 digest``, ``3 digests``, ``2 post copies`` (*many*: the plural when not +s)."""
    return f"{n} {noun}" if n == 1 else f"{n} {many or noun + 's'}"


def excerpt(text: str, width: int = 70) -> str:
    """The start of *text* on one line, cut on a word."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rsplit(" ", 1)[0] + "…"


class Account:
    """Writes the account to *out* as the demonstration goes."""

    def __init__(
        self,
        out: TextIO,
        stage: Stage,
        zone: ZoneInfo,
        people: Iterable[CastMember],
        authors: dict[str, str],
    ) -> None:
        self.out = out
        self.stage = stage
        self.zone = zone
        self.names = {p.email.lower(): p.name for p in people}
        self.authors = authors  # post key -> author's name
        self._day: date | None = None

    def line(self, text: str = "") -> None:
        """One line of the account."""
        self.out.write(text + "\n")
        self.out.flush()

    def moment(self, when: datetime, text: str) -> None:
        """A line under its day's heading, with the local time in front."""
        local = when.astimezone(self.zone)
        if local.date() != self._day:
            self._day = local.date()
            self.line()
            self.line(f"{local:%A %d %B %Y}")
        wrapped = textwrap.wrap(text, 100 - len(INDENT), break_long_words=False)
        self.line(f"  {local:%H:%M}  " + (wrapped[0] if wrapped else ""))
        for more in wrapped[1:]:
            self.line(INDENT + more)

    def detail(self, text: str) -> None:
        """An indented line under the last moment."""
        for piece in textwrap.wrap(text, 100 - len(INDENT), break_long_words=False):
            self.line(INDENT + piece)

    def service_sent(self, rows: list[SentRow]) -> None:
        """What the service queued in answer, by kind (list mail by delivery mode)."""
        if not rows:
            return
        modes = self.stage.modes()
        parts = []
        for kind, n in Counter(r.kind for r in rows).items():
            one, many = _KINDS.get(kind, (kind, kind))
            text = plural(n, one, many)
            if kind in _LIST_KINDS:
                by_mode = Counter(
                    modes.get(r.subscription_id or 0, "?")
                    for r in rows
                    if r.kind == kind
                )
                text += (
                    " ("
                    + ", ".join(f"{m} {c}" for m, c in sorted(by_mode.items()))
                    + ")"
                )
            parts.append(text)
        self.detail("→ service: " + "; ".join(parts))

    def name(self, email: str) -> str:
        """The person behind *email*, or the address."""
        return self.names.get(email.lower(), email)

    def who(self, person: CastMember) -> str:
        """A person with their affiliation: "Ana Ruiz (Ministerio de Trabajo; government, es)"."""
        if person.key.startswith("mod"):
            return f"{person.name} (moderator)"
        about = [person.organisation] if person.organisation else []
        about.append(f"{person.constituency}, {person.language}")
        return f"{person.name} ({'; '.join(about)})"

    def contribution(
        self, when: datetime, person: CastMember, action: script.Contribute
    ) -> None:
        """Who wrote, where to, from which client, and the first words."""
        via = action.via
        where = f"Q{action.question}" if action.question else "the discussion"
        how = {
            script.Fresh: f"writes to {where}",
            script.ReplyToAnnouncement: f"answers the announcement, to {where}",
            script.ReplyToCopy: "replies to the copy of a post",
            script.ReplyToDigest: "replies to an entry of the digest",
            script.ReplyToListAddress: "replies to the announcement's own address",
        }[type(via)]
        if isinstance(via, (script.ReplyToCopy, script.ReplyToDigest)):
            how += f" by {self.authors.get(via.post, via.post)}"
        self.moment(when, f"{self.who(person)} {how}, from {_CLIENTS[person.client]}:")
        self.detail(f"“{excerpt(action.body)}”")

    def outcome(self, message_id: str, expect_post: bool) -> None:
        """What the service made of a contribution."""
        post = self.stage.post(message_id)
        if post is None:
            kind = self.stage.inbound_kind(message_id)
            self.detail(
                {
                    "notice": "not a post: the sender gets a notice explaining why",
                    "dropped": "dropped",
                }.get(kind, kind or "not processed")
            )
            return
        where = (
            f"threaded under post {post.parent_id}"
            if post.parent_id
            else "a new thread"
        )
        if post.status.value == "approved":
            self.detail(f"published as post {post.id}, {where}")
        else:
            self.detail(f"held as post {post.id} ({post.hold_reason}), {where}")
