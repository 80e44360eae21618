"""The shape of the demonstration's script: when, who, and what they send.

The script is plain data (:mod:`mailer.demo.story` holds it): steps at local
times of the discussion, counted in days from its opening day, each with the
mails people send then. :mod:`mailer.demo.player` sends them; the acceptance
test reads the same data to know what must have happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Fresh:
    """A new mail to the question's address (found on the web page or an announcement)."""


@dataclass(frozen=True)
class ReplyToAnnouncement:
    """A reply to the announcement of the question, addressed to the question."""


@dataclass(frozen=True)
class ReplyToCopy:
    """A reply to the copy of post *post* that the author received (each-post mode)."""

    post: str


@dataclass(frozen=True)
class ReplyToDigest:
    """A reply to one entry of a daily digest: to that entry's own reply address."""

    post: str


@dataclass(frozen=True)
class ReplyToListAddress:
    """A reply to an announcement's From address: no question, so a notice comes back."""


Via = Fresh | ReplyToAnnouncement | ReplyToCopy | ReplyToDigest | ReplyToListAddress


@dataclass(frozen=True)
class Join:
    """*who* asks by mail for a subscription in their language and mode."""

    who: str


@dataclass(frozen=True)
class Confirm:
    """*who* replies to their confirmation mail."""

    who: str


@dataclass(frozen=True)
class ChangeMode:
    """*who* changes their delivery mode by mail."""

    who: str
    mode: str


@dataclass(frozen=True)
class Leave:
    """*who* unsubscribes by mail and confirms by replying."""

    who: str


@dataclass(frozen=True)
class Contribute:
    """*who* writes *body* to *question* (None: wherever *via* leads); *key* names the post."""

    key: str
    who: str
    question: int | None
    body: str
    via: Via = field(default_factory=Fresh)
    subject: str = ""
    posts: bool = True  # False when the service must not make a post of it


@dataclass(frozen=True)
class Approve:
    """Moderator number *moderator* approves held posts: by replying to each notice or in one command mail."""

    moderator: int
    posts: tuple[str, ...]
    by: str = "command"  # "command" | "notice"


@dataclass(frozen=True)
class Reject:
    """Moderator number *moderator* rejects a held post, with a reason for its author."""

    moderator: int
    post: str
    reason: str
    by: str = "notice"


@dataclass(frozen=True)
class CommandMail:
    """Moderator number *moderator* sends other commands (``release week 2``, ``stats``)."""

    moderator: int
    text: str


@dataclass(frozen=True)
class Forged:
    """*who* sends *text* to the moderators' address with a moderator's From (no proof)."""

    who: str
    as_moderator: int
    text: str


@dataclass(frozen=True)
class Stranger:
    """*who*, not a moderator, sends *text* to the moderators' address from their own address."""

    who: str
    text: str


@dataclass(frozen=True)
class OutOfOffice:
    """*who*'s vacation responder answers their newest mail, to *target*."""

    who: str
    target: str  # "reply-to" | "return-path" | "from"
    back: str


@dataclass(frozen=True)
class Bounce:
    """*who*'s mail server returns every message it got since the last time, undelivered."""

    who: str


Action = (
    Join
    | Confirm
    | ChangeMode
    | Leave
    | Contribute
    | Approve
    | Reject
    | CommandMail
    | Forged
    | Stranger
    | OutOfOffice
    | Bounce
)


@dataclass(frozen=True)
class Step:
    """What happens at one moment: *day* days after the opening day, at *hhmm* local time."""

    day: int
    hhmm: str
    actions: tuple[Action, ...]
    note: str = ""

    def at(self, opening_day: date, zone: ZoneInfo) -> datetime:
        """The step's instant for a discussion that opens on *opening_day* in *zone*."""
        hour, minute = (int(x) for x in self.hhmm.split(":"))
        return datetime.combine(
            opening_day + timedelta(days=self.day), time(hour, minute), zone
        )


def step(day: int, hhmm: str, *actions: Action, note: str = "") -> Step:
    """A :class:`Step` (a shorter way to write the story)."""
    return Step(day, hhmm, actions, note)
