"""Playing the script against the running service, moment by moment, and telling it.

For each step: run the clock to its time (the scheduler releases questions,
sends digests and closes the discussion on its way), send the step's mail,
wait until the service is quiet, send what answers the service's questions
(confirmations), wait again, then say what happened.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from mailer.demo import script
from mailer.demo.account import Account, excerpt, plural
from mailer.demo.player import Player, Sent
from mailer.demo.stage import SentRow, Stage
from mailer.mailings.due import next_wakeups
from store.models import DigestRun

_HOW = {
    "command": "in one command mail",
    "notice": "by replying to each held-post notice",
}


class Scenario:
    """The story played through :class:`Player` and told through :class:`Account`."""

    def __init__(
        self,
        stage: Stage,
        player: Player,
        account: Account,
        opening_day: date,
        zone: ZoneInfo,
    ) -> None:
        self.stage = stage
        self.player = player
        self.account = account
        self.opening_day = opening_day
        self.zone = zone

    def play(self, story: Sequence[script.Step]) -> None:
        """Play every step, then let the service finish what is scheduled (the last digest)."""
        for number, st in enumerate(story):
            self.step(st, f"s{number}")
        while True:
            wakeups = next_wakeups(self.stage.runtime, self.stage.clock())
            if not wakeups:
                break
            self.stage.advance(min(wakeups.values()), self.scheduled)

    # -- one step --------------------------------------------------------------

    def step(self, st: script.Step, key: str) -> None:
        """Run the clock to the step, send its mail, wait, answer, wait, tell."""
        at = st.at(self.opening_day, self.zone)
        self.stage.advance(at, self.scheduled)
        meanwhile = self.stage.new_rows()  # reminders, expiry: the scheduler's rounds
        if meanwhile:
            self.account.moment(at, "Meanwhile, the scheduler's rounds:")
            self.account.service_sent(meanwhile)
        sent: list[tuple[script.Action, Sent]] = []
        for action in st.actions:
            sent.append((action, self.player.play(action, key)))
        self.player.flush()
        self.stage.settle()
        follow_ups = [s.follow_up for _, s in sent if s.follow_up is not None]
        for follow_up in follow_ups:
            follow_up()
        if self.player.flush():
            self.stage.settle()
        self.tell(at, st, sent)

    def tell(
        self, at: datetime, st: script.Step, sent: list[tuple[script.Action, Sent]]
    ) -> None:
        """Say what the step's people did and what became of it."""
        acc, actions = self.account, st.actions
        if st.note:
            acc.moment(at, f"» {st.note[0].upper()}{st.note[1:]}")
        subscribers = [a for a in actions if isinstance(a, script.Join)]
        confirms = [a for a in actions if isinstance(a, script.Confirm)]
        if subscribers:
            people = [self.player.who(a.who) for a in subscribers]
            acc.moment(
                at,
                f"{len(people)} people ask to subscribe by mail: "
                + ", ".join(f"{p.name} ({p.language}, {p.mode})" for p in people),
            )
        if confirms:
            names = [self.player.who(a.who).name for a in confirms]
            acc.moment(
                at,
                f"{len(names)} confirm by replying to the service's request: "
                + ", ".join(names),
            )
        for action, what in sent:
            self._tell_one(at, action, what)
        acc.service_sent(self.stage.new_rows())

    def _tell_one(self, at: datetime, action: script.Action, sent: Sent) -> None:
        acc, player = self.account, self.player
        if isinstance(action, script.Contribute):
            person = player.who(action.who)
            acc.contribution(at, person, action)
            acc.outcome(player.message_ids[action.key], action.posts)
        elif isinstance(action, script.Approve):
            m = player.moderators[action.moderator]
            names = ", ".join(self._author(p) for p in action.posts)
            acc.moment(
                at,
                f"{m.name} approves {plural(len(action.posts), 'held post')} "
                f"({names}) {_HOW[action.by]}, {self._proof(action.moderator)}",
            )
        elif isinstance(action, script.Reject):
            m = player.moderators[action.moderator]
            acc.moment(
                at,
                f"{m.name} rejects the post of {self._author(action.post)} by "
                f"replying to its notice: “{action.reason}”, {self._proof(action.moderator)}",
            )
        elif isinstance(action, script.CommandMail):
            m = player.moderators[action.moderator]
            acc.moment(
                at,
                f"{m.name} sends the command “{action.text}”, {self._proof(action.moderator)}",
            )
            if action.text.strip() == "stats":
                self._tell_stats(m.email)
        elif isinstance(action, script.Forged):
            victim = player.moderators[action.as_moderator]
            forger = player.who(action.who)
            acc.moment(
                at,
                f"Someone at {forger.email.rpartition('@')[2]} sends “{action.text}” "
                f"to the moderators with {victim.name}'s address in From, unsigned: "
                f"the service asks {victim.name} to confirm; he never does, so nothing happens",
            )
        elif isinstance(action, script.Stranger):
            p = player.who(action.who)
            acc.moment(
                at,
                f"{p.name}, not a moderator, sends “{player._fill(action.text)}” "
                "to the moderators: refused, and no answer",
            )
        elif isinstance(action, script.OutOfOffice):
            p = player.who(action.who)
            target = {
                "reply-to": "its Reply-To (a post's reply address)",
                "return-path": "its return path",
                "from": "its From address",
            }[action.target]
            kinds = [self.stage.inbound_kind(m) for m in sent.message_ids.values()]
            what = {
                "dropped": "dropped as automatic mail",
                "bounce-auto-reply": "an absence notice, not a bounce: ignored",
            }.get(kinds[0] if kinds else "", kinds[0] if kinds else "?")
            acc.moment(
                at,
                f"{p.name}'s out-of-office answers the newest mail, to {target}: "
                f"{what}; no post, no answer",
            )
        elif isinstance(action, script.Bounce):
            p = player.who(action.who)
            acc.moment(
                at,
                f"{p.name}'s old mail server returns the messages it got as "
                "undeliverable (5.1.1): his subscription is disabled and the moderators told",
            )
        elif isinstance(action, script.ChangeMode):
            p = player.who(action.who)
            acc.moment(at, f"{p.name} switches to “{action.mode}” by mail")
        elif isinstance(action, script.Leave):
            p = player.who(action.who)
            acc.moment(at, f"{p.name} unsubscribes by mail and confirms by replying")

    def _proof(self, moderator: int) -> str:
        if self.player.moderators[moderator].key in self.player.signing:
            return "DKIM-signed"
        return "unsigned, so the service asks to confirm and the moderator replies"

    def _author(self, post_key: str) -> str:
        post = self.stage.post(self.player.message_ids[post_key])
        return post.author_name if post is not None else post_key

    def _tell_stats(self, address: str) -> None:
        self.player.mailboxes.refresh()
        mail = self.player.mailboxes.latest(address, "mod-result")
        if mail is None:
            return
        for line in mail.text.splitlines():
            if re.match(r"^\s*(Posts:|total |active, by )", line):
                self.account.detail("  " + line.strip())

    # -- the scheduler's moments -------------------------------------------------

    def scheduled(self, at: datetime) -> None:
        """Say what the scheduler did at *at* (a release, a digest, the close)."""
        rows = self.stage.new_rows()
        if not rows:
            return
        kinds = Counter(r.kind for r in rows)
        if "announce" in kinds:
            numbers = _released(rows)
            self.account.moment(
                at, f"The scheduler releases questions {numbers}: announcements go out"
            )
        if "closing" in kinds:
            self.account.moment(at, "The scheduler closes the discussion")
        if "digest" in kinds:
            label = next(r.dedupe_key.split(":")[2] for r in rows if r.kind == "digest")
            self.account.moment(
                at,
                f"The scheduler sends the digest {label} "
                f"({plural(self._digest_posts(label), 'contribution')})",
            )
        if not kinds.keys() & {"announce", "closing", "digest"}:
            self.account.moment(at, "The scheduler's round")
        self.account.service_sent(rows)

    def _digest_posts(self, label: str) -> int:
        with self.stage.runtime.sessions() as s:
            return int(
                s.scalar(select(DigestRun.posts).where(DigestRun.label == label)) or 0
            )


def _released(rows: list[SentRow]) -> str:
    numbers = next(r.dedupe_key.split(":")[2] for r in rows if r.kind == "announce")
    return excerpt(numbers.replace(",", ", "), 40)
