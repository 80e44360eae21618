"""Shared steps of the moderation tests: seed the store, post, process, read mail."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import select, update

from mailer.inbound.pipeline import process_pending
from mailer.runtime import Runtime
from store.models import (
    AuditEntry,
    DeliveryMode,
    Discussion,
    InboundMessage,
    InboundState,
    Post,
    PostStatus,
    Question,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.fixtures.moderation import DOMAIN, SLUG, Listener

MODERATORS = "skills-covid19-moderators@discuss.example.org"
AGGARWAL = "aggarwal@ilo.example.org"
COMYN = "comyn@ilo.example.org"
MORENO = "moreno@ilo.example.org"


def process(runtime: Runtime) -> None:
    """Run the inbound pipeline until every stored message is processed."""
    for _ in range(20):
        if process_pending(runtime) == 0:
            break
    with runtime.sessions() as s:
        states = list(s.scalars(select(InboundMessage.state)))
    assert all(st is InboundState.PROCESSED for st in states), states


def release_directly(runtime: Runtime, numbers: list[int], now: datetime) -> None:
    """Mark questions released in the store (set-up only; commands are tested apart)."""
    with runtime.sessions.begin() as s:
        s.execute(
            update(Question)
            .where(Question.number.in_(numbers))
            .values(released_at=now, released_by="setup")
        )


def add_subscribers(
    runtime: Runtime, people: list[tuple[str, str, str]], now: datetime
) -> None:
    """Active subscriptions: (email, language, mode) each."""
    with runtime.sessions.begin() as s:
        disc = s.scalars(select(Discussion).where(Discussion.slug == SLUG)).one()
        for email, language, mode in people:
            person = Subscriber(
                email=email, name=email.split("@")[0].title(), created_at=now
            )
            s.add(person)
            s.flush()
            s.add(
                Subscription(
                    discussion_id=disc.id,
                    subscriber_id=person.id,
                    status=SubscriptionStatus.ACTIVE,
                    mode=DeliveryMode(mode),
                    language=language,
                    created_at=now,
                    confirmed_at=now,
                )
            )


def contribution(
    author: str, name: str, question: int, text: str, subject: str = ""
) -> bytes:
    """A participant's contribution to a question's address."""
    msg = EmailMessage()
    msg["From"] = f"{name} <{author}>"
    msg["To"] = f"{SLUG}+q{question}@{DOMAIN}"
    msg["Subject"] = subject or f"On question {question}"
    msg["Message-ID"] = make_msgid(domain=author.rpartition("@")[2])
    msg["Date"] = "Mon, 30 Mar 2027 09:00:00 +0000"
    msg.set_content(text)
    return msg.as_bytes()


def held_posts(runtime: Runtime) -> list[Post]:
    """Posts waiting for moderation, oldest first."""
    with runtime.sessions() as s:
        return list(
            s.scalars(
                select(Post).where(Post.status == PostStatus.HELD).order_by(Post.id)
            )
        )


def post(runtime: Runtime, post_id: int) -> Post:
    """One post as stored now."""
    with runtime.sessions() as s:
        found = s.get(Post, post_id)
        assert found is not None
        return found


def question(runtime: Runtime, number: int) -> Question:
    """One question's runtime row."""
    with runtime.sessions() as s:
        return s.scalars(select(Question).where(Question.number == number)).one()


def audit(runtime: Runtime) -> list[AuditEntry]:
    """The audit log, oldest first."""
    with runtime.sessions() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def hold_three(listener: Listener, runtime: Runtime) -> list[int]:
    """Three strangers write to question 1: three held posts (unknown senders)."""
    for i, (addr, name) in enumerate(
        [
            ("ana@example.net", "Ana Ruiz"),
            ("bo@example.com", "Bo Lin"),
            ("chloe@example.fr", "Chloé Martin"),
        ]
    ):
        listener.send(
            contribution(addr, name, 1, f"Contribution number {i} about training.\n"),
            f"{SLUG}+q1@{DOMAIN}",
            addr,
        )
    process(runtime)
    return [p.id for p in held_posts(runtime)]
