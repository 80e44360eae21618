"""Sending the script's mail: each person writes from their client, over real SMTP.

:class:`Player` turns one action of the script into the mail a person (or a
mail server) sends, reading their mailbox first when they answer something:
a confirmation request, an announcement, the copy of a post, a digest entry,
a held-post notice or summary. Everything goes to the service's SMTP listener on
loopback, as any other mail server would send it.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr, parsedate_to_datetime

from mailer.core.addresses import AddressBook
from mailer.core.errors import EdiscussError
from mailer.demo import automatic, script
from mailer.demo.cast import CastMember
from mailer.demo.clients import Draft, Quoted, message_id_for, write
from mailer.demo.dkimkey import DemoKey
from mailer.demo.mailboxes import Delivered, DemoMailboxes
from mailer.demo.phrases import (
    CONSTITUENCY_WORDS,
    LANGUAGE_WORDS,
    MODE_WORDS,
    ON_QUESTION,
    WORDS,
    YES,
)
from mailer.demo.stage import Stage
from mailer.links import held_post_address

PARALLEL = 8  # SMTP connections at once


class ScriptError(EdiscussError, RuntimeError):
    """The script asks for something the mailboxes do not hold (a bug in the script)."""


@dataclass
class Sent:
    """What one action sent: its Message-IDs (by post key) and a line for the account."""

    message_ids: dict[str, str] = field(default_factory=dict)
    follow_up: Callable[[], None] | None = None


class Player:
    """Sends each action's mail to the service, as the people of the script."""

    def __init__(
        self,
        stage: Stage,
        mailboxes: DemoMailboxes,
        people: dict[str, CastMember],
        moderators: list[CastMember],
        signing: dict[str, DemoKey],
    ) -> None:
        self.stage = stage
        self.mailboxes = mailboxes
        self.people = people
        self.moderators = moderators
        self.signing = signing  # moderator key -> the key their server signs with
        s = stage.runtime.settings
        self.slug = s.discussions[0].slug
        self.book = AddressBook(self.slug, s.service.domain)
        self.host = s.inbound.listen.host
        self.port = s.inbound.listen.port
        self.message_ids: dict[str, str] = {}  # contribution key -> Message-ID
        self._bounced: set[str] = set()
        self._outgoing: list[tuple[bytes, str, str]] = []

    # -- plumbing ----------------------------------------------------------

    def deliver(self, raw: bytes, rcpt: str, mail_from: str) -> None:
        """Queue one message for :meth:`flush` (a moment's mail goes out together)."""
        self._outgoing.append((raw, rcpt, mail_from))

    def flush(self) -> int:
        """Send the queued messages, each over its own SMTP connection, several at once.

        Many mail servers deliver to the service at the same moment, as they
        would: the listener commits their messages together. Returns how many.
        """
        batch, self._outgoing = self._outgoing, []
        if not batch:
            return 0
        with ThreadPoolExecutor(min(len(batch), PARALLEL)) as pool:
            list(pool.map(lambda m: self._smtp(*m), batch))
        return len(batch)

    def _smtp(self, raw: bytes, rcpt: str, mail_from: str) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=30) as client:
            refused = client.sendmail(mail_from, [rcpt], raw)
        if refused:
            raise ScriptError(f"the service refused {rcpt}: {refused}")

    def now(self) -> datetime:
        """The service's clock: mail is dated when it is written."""
        return self.stage.clock()

    def who(self, key: str) -> CastMember:
        """A person of the script, moderators included (``mod0``...)."""
        if key.startswith("mod"):
            return self.moderators[int(key[3:])]
        return self.people[key]

    def _send(
        self, author: CastMember, draft: Draft, rcpt: str, sign: bool = False
    ) -> None:
        raw = write(draft)
        key = self.signing.get(author.key) if sign else None
        if key is not None:
            raw = key.sign(raw)
        self.deliver(raw, rcpt, author.email)

    def _draft(
        self,
        author: CastMember,
        to: str,
        subject: str,
        body: str,
        key: str,
        quoted: Quoted | None = None,
        to_name: str = "",
    ) -> Draft:
        return Draft(author, to, subject, body, self.now(), key, quoted, to_name)

    # -- mailboxes -----------------------------------------------------------

    def _newest(
        self, address: str, kind: str, test: Callable[[Delivered], bool]
    ) -> Delivered:
        self.mailboxes.refresh()
        for item in reversed(self.mailboxes.of(address)):
            if item.kind == kind and test(item):
                return item
        raise ScriptError(f"{address} has no {kind} mail that fits")

    def _reply_subject(self, author: CastMember, subject: str) -> str:
        if re.match(r"(?i)^re\s?:", subject):
            return subject
        if author.client == "outlook":
            return ("RE : " if author.language == "fr" else "RE: ") + subject
        return "Re: " + subject

    # -- actions -------------------------------------------------------------

    def play(self, action: script.Action, step_key: str) -> Sent:
        """Send the mail of *action*; a follow-up (a confirmation) runs after the service answered."""
        handler = getattr(self, "_" + type(action).__name__.lower())
        result: Sent = handler(action, step_key)
        return result

    def _join(self, action: script.Join, step_key: str) -> Sent:
        p = self.who(action.who)
        assert p.mode is not None
        sub, name, org, con, _, _ = WORDS[p.language]
        mode = MODE_WORDS[p.mode][p.language]
        lines = [f"{sub} {LANGUAGE_WORDS[p.language]} {mode}", f"{name}: {p.name}"]
        if p.organisation:
            lines.append(f"{org}: {p.organisation}")
        words = CONSTITUENCY_WORDS[p.language]
        lines.append(f"{con}: {words.get(p.constituency, p.constituency)}")
        draft = self._draft(
            p,
            self.book.request(),
            sub.capitalize(),
            "\n".join(lines),
            f"subscribe:{p.key}",
        )
        self._send(p, draft, self.book.request())
        return Sent()

    def _reply_to_service(
        self, who: CastMember, kind: str, key: str, answering: str | None = None
    ) -> None:
        """Reply to the service's newest *kind* mail (the one answering *answering*)."""
        mail = self._newest(
            who.email,
            kind,
            lambda d: (
                bool(d.reply_to)
                and (answering is None or d.header("In-Reply-To") == answering)
            ),
        )
        draft = self._draft(
            who,
            mail.reply_to,
            self._reply_subject(who, mail.subject),
            YES[who.language],
            key,
            quoted(mail),
        )
        self._send(who, draft, mail.reply_to)

    def _confirm(self, action: script.Confirm, step_key: str) -> Sent:
        p = self.who(action.who)
        self._reply_to_service(p, "confirm", f"confirm:{p.key}")
        return Sent()

    def _changemode(self, action: script.ChangeMode, step_key: str) -> Sent:
        p = self.who(action.who)
        body = f"{WORDS[p.language][5]} {MODE_WORDS[action.mode][p.language]}"
        draft = self._draft(
            p, self.book.request(), body, body, f"mode:{p.key}:{step_key}"
        )
        self._send(p, draft, self.book.request())
        return Sent()

    def _leave(self, action: script.Leave, step_key: str) -> Sent:
        p = self.who(action.who)
        word = WORDS[p.language][4]
        draft = self._draft(p, self.book.request(), word, word, f"leave:{p.key}")
        self._send(p, draft, self.book.request())

        def confirm() -> None:
            self._reply_to_service(p, "confirm-unsubscribe", f"leave-confirm:{p.key}")

        return Sent(follow_up=confirm)

    def _contribute(self, action: script.Contribute, step_key: str) -> Sent:
        p = self.who(action.who)
        via, n = action.via, action.question
        subject = action.subject or ON_QUESTION[p.language].format(n=n)
        mail: Delivered | None = None
        if isinstance(via, script.ReplyToAnnouncement):
            mail = self._newest(p.email, "announce", lambda d: f"+q{n}@" in d.text)
            to = self.book.question(n or 0)
        elif isinstance(via, script.ReplyToListAddress):
            mail = self._newest(p.email, "announce", lambda d: True)
            to = parseaddr(mail.header("From"))[1]
        elif isinstance(via, script.ReplyToCopy):
            wanted = self.message_ids[via.post]
            mail = self._newest(p.email, "post", lambda d: d.message_id == wanted)
            to = mail.reply_to
        elif isinstance(via, script.ReplyToDigest):
            post_id = self.stage.post_id(self.message_ids[via.post])
            marker = f"+r-{post_id}."
            mail = self._newest(p.email, "digest", lambda d: marker in d.text)
            found = re.search(rf"[\w.-]+\+r-{post_id}\.[\w.-]+@[\w.-]+", mail.text)
            if found is None:
                raise ScriptError(f"no reply address of post {post_id} in the digest")
            to = found.group(0)
        else:
            to = self.book.question(n or 0)
        if mail is not None:
            subject = self._reply_subject(p, mail.subject)
        draft = self._draft(
            p, to, subject, action.body, action.key, quoted(mail) if mail else None
        )
        self.message_ids[action.key] = message_id_for(p, action.key)
        self._send(p, draft, to, sign=p.key.startswith("mod"))
        return Sent({action.key: self.message_ids[action.key]})

    def _moderate(
        self,
        moderator: int,
        body: str,
        key: str,
        to: str | None = None,
        answering: Delivered | None = None,
    ) -> Sent:
        m = self.moderators[moderator]
        rcpt = to or self.book.moderators()
        subject = (
            self._reply_subject(m, answering.subject)
            if answering
            else body.split("\n")[0]
        )
        draft = self._draft(
            m, rcpt, subject, body, key, quoted(answering) if answering else None
        )
        signs = m.key in self.signing
        self._send(m, draft, rcpt, sign=signs)
        if signs:
            return Sent()

        sent_id = message_id_for(m, key)

        def confirm() -> None:  # no proof in the mail: answer the service's question
            self._reply_to_service(m, "mod-confirm", f"{key}:confirm", sent_id)

        return Sent(follow_up=confirm)

    def _held_notice(self, moderator: int, post_key: str) -> tuple[Delivered, str]:
        """The newest mail that told the moderator of the post, and the address to act at.

        A notice's Reply-To is the post's own address; a summary lists it
        under the post, and the moderator writes to it from there.
        """
        m = self.moderators[moderator]
        post_id = self.stage.post_id(self.message_ids[post_key])
        held = held_post_address(self.book, self.stage.runtime.key, post_id)
        self.mailboxes.refresh()
        for item in reversed(self.mailboxes.of(m.email)):
            if (item.kind == "mod-held" and item.reply_to == held) or (
                item.kind == "mod-summary" and held in item.text
            ):
                return item, held
        raise ScriptError(f"{m.email} has no held-post mail about {post_key}")

    def _approve(self, action: script.Approve, step_key: str) -> Sent:
        if action.by == "notice":
            sent = Sent()
            for post in action.posts:
                notice, to = self._held_notice(action.moderator, post)
                one = self._moderate(
                    action.moderator, "approve", f"approve:{post}", to, notice
                )
                sent.follow_up = _chain(sent.follow_up, one.follow_up)
            return sent
        ids = [self.stage.post_id(self.message_ids[p]) for p in action.posts]
        body = "\n".join(f"approve {i}" for i in ids)
        return self._moderate(action.moderator, body, f"approve:{step_key}")

    def _reject(self, action: script.Reject, step_key: str) -> Sent:
        notice, to = self._held_notice(action.moderator, action.post)
        return self._moderate(
            action.moderator,
            f"reject {action.reason}",
            f"reject:{action.post}",
            to,
            notice,
        )

    def _commandmail(self, action: script.CommandMail, step_key: str) -> Sent:
        return self._moderate(action.moderator, action.text, f"command:{step_key}")

    def _fill(self, text: str) -> str:
        return re.sub(
            r"\{([\w-]+)\}",
            lambda m: str(self.stage.post_id(self.message_ids[m.group(1)])),
            text,
        )

    def _forged(self, action: script.Forged, step_key: str) -> Sent:
        forger = self.who(action.who)
        victim = self.moderators[action.as_moderator]
        posing = CastMember(
            forger.key, victim.name, victim.email, "en", "", "", "plain"
        )
        body = self._fill(action.text)
        draft = self._draft(
            posing, self.book.moderators(), body, body, f"forged:{step_key}"
        )
        self.deliver(write(draft), self.book.moderators(), forger.email)
        return Sent()

    def _stranger(self, action: script.Stranger, step_key: str) -> Sent:
        p = self.who(action.who)
        body = self._fill(action.text)
        draft = self._draft(
            p, self.book.moderators(), body, body, f"stranger:{step_key}"
        )
        self._send(p, draft, self.book.moderators())
        return Sent()

    def _outofoffice(self, action: script.OutOfOffice, step_key: str) -> Sent:
        p = self.who(action.who)
        self.mailboxes.refresh()
        newest = self.mailboxes.of(p.email)[-1]
        if action.target == "reply-to":
            to, mail_from = newest.reply_to, p.email
        elif action.target == "from":
            to, mail_from = parseaddr(newest.header("From"))[1], p.email
        else:
            to, mail_from = newest.return_path, ""
        raw = automatic.out_of_office(p, newest, to, self.now(), action.back)
        self.deliver(raw, to, mail_from)
        key = f"ooo:{p.key}:{step_key}"
        self.message_ids[key] = automatic.out_of_office_id(p, newest)
        return Sent({key: self.message_ids[key]})

    def _bounce(self, action: script.Bounce, step_key: str) -> Sent:
        p = self.who(action.who)
        self.mailboxes.refresh()
        mta = "mx." + p.email.rpartition("@")[2]
        for item in self.mailboxes.of(p.email):
            if item.name in self._bounced:
                continue
            self._bounced.add(item.name)
            raw = automatic.delivery_failure(item, mta, self.now())
            self.deliver(raw, item.return_path, "")
        return Sent()


def quoted(mail: Delivered) -> Quoted:
    """A received message as the client quotes it in a reply."""
    name, address = parseaddr(mail.header("From"))
    refs = tuple(re.findall(r"<[^>]+>", mail.header("References")))
    when = parsedate_to_datetime(mail.header("Date"))  # the service always dates mail
    return Quoted(mail.message_id, refs, mail.subject, name, address, when, mail.text)


def _chain(
    first: Callable[[], None] | None, second: Callable[[], None] | None
) -> Callable[[], None] | None:
    if first is None or second is None:
        return first or second

    def both() -> None:
        first()
        second()

    return both
