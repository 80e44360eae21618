"""Run authenticated moderator commands, one result line each, each one audited.

The caller has already decided the commands may run (DKIM, trusted
Authentication-Results, a confirmed token, or the operator's shell); this
module only does what they say, inside the caller's transaction.

What a command sets going in the mailings (publishing an approved post,
releasing questions, closing or reopening the discussion) sits a layer above
moderation: whoever runs the commands hands those functions in as one
:class:`MailingCalls` (``mailer.mailings.MAILING_CALLS``), so this module calls
them without importing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings, Moderator
from mailer.core.modauth import AuthMethod
from mailer.core.modcommands import Command, Verb
from mailer.core.schedule import (
    ReleaseOutcome,
    ReleaseResult,
    StateOutcome,
    StateResult,
)
from mailer.moderation.audit import record_audit
from mailer.moderation.queue import (
    DecisionCode,
    DecisionResult,
    approve_post,
    hold_post,
    reject_post,
    tell_other_moderators,
)
from mailer.moderation.stats import discussion_stats, subscriber_counts
from store.discussions import discussion_by_slug, questions_of
from store.models import Ban
from store.writes import conflict_insert

if TYPE_CHECKING:
    from mailer.runtime import Runtime


StateChange = Callable[
    [Session, "Runtime", str, datetime, str, AuthMethod], StateResult
]


@dataclass(frozen=True)
class MailingCalls:
    """The mailings a moderator's command may set going, handed down from the layer that owns them.

    Each runs inside the caller's transaction, as a direct call would.
    """

    publish: Callable[[Session, Runtime, int, datetime], int]
    release: Callable[
        [Session, Runtime, str, Iterable[int], datetime, str, AuthMethod],
        ReleaseResult,
    ]
    close: StateChange
    reopen: StateChange


@dataclass(frozen=True)
class ResultLine:
    """What one command did: a code the templates turn into words, and its values."""

    code: str
    line: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Actor:
    """Who runs the commands and how that was proven."""

    email: str
    auth: AuthMethod
    moderator: Moderator | None = None


def display_name(discussion: DiscussionSettings, who: str) -> str:
    """A moderator's name for an address, else the address itself."""
    for m in discussion.moderators:
        if m.email == who.lower():
            return m.name
    return who


class _Run:
    """One batch of commands against one discussion."""

    def __init__(
        self,
        session: Session,
        runtime: Runtime,
        discussion: DiscussionSettings,
        actor: Actor,
        now: datetime,
        calls: MailingCalls,
    ) -> None:
        row = discussion_by_slug(session, discussion.slug)
        if row is None:
            raise LookupError(f"discussion {discussion.slug} is not in the store")
        self.session = session
        self.runtime = runtime
        self.discussion = discussion
        self.row = row
        self.actor = actor
        self.now = now
        self.calls = calls
        self.results: list[ResultLine] = []

    def say(self, code: str, cmd: Command, **params: Any) -> None:
        self.results.append(ResultLine(code, cmd.line, params))

    def audit(self, cmd: Command, action: str, target: str, detail: str) -> None:
        record_audit(
            self.session,
            discussion_id=self.row.id,
            actor=self.actor.email,
            action=action,
            target=target,
            detail=detail,
            auth=self.actor.auth,
            now=self.now,
        )

    # -- questions ------------------------------------------------------

    def release(self, cmd: Command, numbers: Sequence[int], week: int | None) -> None:
        result = self.calls.release(
            self.session,
            self.runtime,
            self.discussion.slug,
            numbers,
            self.now,
            self.actor.email,
            self.actor.auth,
        )
        rows = {q.number: q for q in questions_of(self.session, self.discussion.slug)}
        for n, outcome in result.outcomes:
            if outcome is ReleaseOutcome.RELEASED:
                self.say("released", cmd, n=n)
            elif outcome is ReleaseOutcome.ALREADY_RELEASED:
                q = rows[n]
                by = display_name(self.discussion, q.released_by or "")
                self.say("already_released", cmd, n=n, at=q.released_at, by=by)
            elif outcome is ReleaseOutcome.NO_SUCH_QUESTION:
                self.say("no_question", cmd, n=n)
            else:
                self.say("discussion_closed", cmd, n=n)
        if not result.released:  # a release that changed nothing leaves a trace too
            target = (
                f"week:{week}"
                if week is not None
                else ",".join(f"q{n}" for n in numbers)
            )
            detail = "; ".join(f"q{n}: {o.value}" for n, o in result.outcomes)
            self.audit(cmd, "release", target, f"nothing released ({detail})")

    def release_week(self, cmd: Command) -> None:
        week = cmd.numbers[0]
        numbers = [q.number for q in self.discussion.questions if q.week == week]
        if not numbers:
            weeks = ", ".join(str(w) for w in self.discussion.weeks)
            self.say("no_week", cmd, week=week, weeks=weeks)
            self.audit(cmd, "release", f"week:{week}", "no such week")
            return
        self.release(cmd, numbers, week)

    # -- posts ----------------------------------------------------------

    def _decision(
        self, cmd: Command, done: str, d: DecisionResult, **extra: Any
    ) -> None:
        if d.code is DecisionCode.DONE:
            self.say(done, cmd, post=d.post_id, **extra)
        elif d.code is DecisionCode.NO_POST:
            self.say("no_post", cmd, post=d.post_id)
        else:
            self.say(
                "already",
                cmd,
                post=d.post_id,
                status=d.status,
                by=display_name(self.discussion, d.by),
                at=d.at,
            )

    def _tell_others(self, d: DecisionResult, reason: str) -> None:
        if d.code is DecisionCode.DONE:
            tell_other_moderators(
                self.session,
                self.runtime,
                self.discussion,
                self.row.id,
                d,
                self.actor.moderator,
                reason,
                self.now,
            )

    def approve(self, cmd: Command) -> None:
        d = approve_post(
            self.session,
            self.runtime,
            self.row.id,
            cmd.post_id,
            self.actor.email,
            self.now,
            self.calls.publish,
        )
        self._decision(cmd, "approved", d)
        self._tell_others(d, "")
        self.audit(cmd, "approve", f"post:{cmd.post_id}", d.code.value)

    def reject(self, cmd: Command) -> None:
        d = reject_post(
            self.session,
            self.runtime,
            self.discussion,
            self.row.id,
            cmd.post_id,
            self.actor.email,
            cmd.text,
            cmd.rejection,
            self.now,
        )
        self._decision(cmd, "rejected", d, reason=cmd.text, notified=d.notified)
        self._tell_others(d, cmd.text)
        self.audit(cmd, "reject", f"post:{cmd.post_id}", f"{d.code.value}: {cmd.text}")

    def hold(self, cmd: Command) -> None:
        d = hold_post(self.session, self.row.id, cmd.post_id, self.actor.email)
        if d.code is DecisionCode.ALREADY and d.status == "held":
            self.say("already_held", cmd, post=d.post_id)
        else:
            self._decision(cmd, "held", d)
        self.audit(cmd, "hold", f"post:{cmd.post_id}", d.code.value)

    # -- the discussion -------------------------------------------------

    def _change_state(self, change: StateChange) -> StateResult:
        """Close or reopen (*change*) as the actor; the row is read again after."""
        result = change(
            self.session,
            self.runtime,
            self.discussion.slug,
            self.now,
            self.actor.email,
            self.actor.auth,
        )
        self.session.refresh(self.row)
        return result

    def close(self, cmd: Command) -> None:
        result = self._change_state(self.calls.close)
        if result.outcome is StateOutcome.CLOSED:
            self.say("closed", cmd, announced=result.announced)
        else:
            self.say("already_closed", cmd, at=self.row.closed_at)
            self.audit(cmd, "close", self.discussion.slug, "already closed")

    def reopen(self, cmd: Command) -> None:
        result = self._change_state(self.calls.reopen)
        if result.outcome is StateOutcome.REOPENED:
            self.say("reopened", cmd)
        else:
            self.say("not_closed", cmd)
            self.audit(cmd, "reopen", self.discussion.slug, "was not closed")

    def ban(self, cmd: Command) -> None:
        address = cmd.text
        if self.discussion.is_moderator(address):
            self.say("cannot_ban_moderator", cmd, address=address)
            self.audit(cmd, "ban", address, "refused: a moderator")
            return
        values = {
            "discussion_id": self.row.id,
            "email": address,
            "created_at": self.now,
            "created_by": self.actor.email,
        }
        stmt = (
            conflict_insert(self.session, Ban)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["discussion_id", "email"])
            .returning(Ban.id)
        )
        new = self.session.scalar(stmt) is not None
        self.say("banned" if new else "already_banned", cmd, address=address)
        self.audit(cmd, "ban", address, "banned" if new else "already banned")

    def unban(self, cmd: Command) -> None:
        address = cmd.text
        gone = self.session.scalars(
            delete(Ban)
            .where(Ban.discussion_id == self.row.id, Ban.email == address)
            .returning(Ban.id)
        ).all()
        self.say("unbanned" if gone else "not_banned", cmd, address=address)
        self.audit(cmd, "unban", address, "unbanned" if gone else "was not banned")

    def stats(self, cmd: Command) -> None:
        data = discussion_stats(
            self.session, self.row.id, self.discussion.slug, self.now
        )
        self.say("stats", cmd, stats=data, state=self.row.state.value)
        self.audit(cmd, "stats", self.discussion.slug, "")

    def subscribers(self, cmd: Command) -> None:
        self.say(
            "subscribers", cmd, counts=subscriber_counts(self.session, self.row.id)
        )
        self.audit(cmd, "subscribers", self.discussion.slug, "")

    def release_numbers(self, cmd: Command) -> None:
        self.release(cmd, cmd.numbers, None)

    def help(self, cmd: Command) -> None:
        self.say("help", cmd)

    def run(self, cmd: Command) -> None:
        _ACTIONS.get(cmd.verb, _Run.help)(self, cmd)


_ACTIONS: dict[Verb, Callable[[_Run, Command], None]] = {
    Verb.RELEASE: _Run.release_numbers,
    Verb.RELEASE_WEEK: _Run.release_week,
    Verb.APPROVE: _Run.approve,
    Verb.REJECT: _Run.reject,
    Verb.HOLD: _Run.hold,
    Verb.CLOSE: _Run.close,
    Verb.REOPEN: _Run.reopen,
    Verb.BAN: _Run.ban,
    Verb.UNBAN: _Run.unban,
    Verb.STATS: _Run.stats,
    Verb.SUBSCRIBERS: _Run.subscribers,
}


def run_commands(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    commands: Sequence[Command],
    actor: Actor,
    now: datetime,
    calls: MailingCalls,
) -> list[ResultLine]:
    """Run *commands* in order for *actor*; one or more result lines per command.

    *calls* are the mailings the commands may set going (see :class:`MailingCalls`).
    """
    batch = _Run(session, runtime, discussion, actor, now, calls)
    for cmd in commands:
        batch.run(cmd)
    return batch.results


def is_banned(session: Session, discussion_id: int, address: str) -> bool:
    """Whether *address* is banned from the discussion (the pipeline drops its mail)."""
    found = session.scalar(
        select(Ban.id).where(
            Ban.discussion_id == discussion_id, Ban.email == address.strip().lower()
        )
    )
    return found is not None
