"""The model discussion played end to end by email, as ``ediscuss demo --fast`` plays it.

Forty-odd participants and readers sign up by mail and confirm, write from
their own mail clients in three languages, reply to copies, digests and
announcements; moderators release week two and approve by mail (DKIM or a
confirmation round trip); auto-replies, bounces and a forged command come in.
Then the end state is checked exactly against what the script and the
documented rules say (:mod:`tests.acceptance.model`), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select

from mailer.demo import DemoOptions, DemoRun, run_demo
from mailer.demo.cast import EVERYONE, CastMember
from mailer.demo.mailboxes import DemoMailboxes
from mailer.demo.runner import moderators_of
from mailer.demo.story_late import STORY
from mailer.runtime import Runtime, open_runtime
from store.models import (
    AuditEntry,
    Discussion,
    HeldNotice,
    InboundMessage,
    InboundState,
    OutboxMessage,
    OutboxState,
    Post,
    Question,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Token,
)
from tests.acceptance.model import Model, build
from tests.fixtures.settings import SettingsFactory

pytestmark = pytest.mark.acceptance


@pytest.fixture
def played(
    db_url: str, make_settings: SettingsFactory, tmp_path: Path
) -> Iterator[tuple[DemoRun, Runtime, Model, str, float]]:
    """The demonstration played without pauses, its store, and what it must have led to."""
    settings = make_settings(db_url)
    out = io.StringIO()
    start = time.monotonic()
    run = run_demo(
        settings,
        DemoOptions(fast=True, database_url=db_url, state_dir=tmp_path / "demo"),
        out,
    )
    took = time.monotonic() - start
    d = run.settings.discussions[0]
    who: dict[str, CastMember] = dict(EVERYONE)
    who.update({m.key: m for m in moderators_of(d)})
    model = build(STORY, who, d.opens_at, d.closes_at, d.time_zone, d.digest_hour)
    rt = open_runtime(run.settings, migrate=False)
    try:
        yield run, rt, model, out.getvalue(), took
    finally:
        rt.close()


def test_the_model_discussion_played_by_email(
    played: tuple[DemoRun, Runtime, Model, str, float],
) -> None:
    # The duration (last item) is a benchmark figure that ediscuss demo prints,
    # not an assertion: a loaded machine must not fail a correct run.
    run, rt, model, account, _ = played
    assert run.finished, account[-2000:]
    check_posts(rt, run, model)
    check_nothing_left_and_nothing_twice(rt, run)
    check_mail_by_mode(rt, model)
    check_moderation(rt, run, model)
    assert "Summary" in account and "0 delivered twice" in account
    state = run.settings.service.state_dir
    assert f"Its files stay in {state}" in account  # --state DIR: kept, and said how
    assert (
        f" ediscuss report --discussion skills-covid19 --out {state}/report" in account
    )


def check_posts(rt: Runtime, run: DemoRun, model: Model) -> None:
    """Every contribution is a post, threaded where it belongs, with its trimmed text."""
    with rt.sessions() as s:
        rows = {
            post.message_id: (post, number)
            for post, number in s.execute(
                select(Post, Question.number).join(
                    Question, Question.id == Post.question_id
                )
            )
        }
        notices = dict(
            s.execute(select(InboundMessage.message_id, InboundMessage.kind)).all()
        )
    # Nothing from auto-replies, bounces, commands or notices became a post.
    assert len(rows) == len(model.posts)
    ids = {}
    for key, e in model.posts.items():
        found = rows.get(run.message_ids[key])
        assert found is not None, f"no post for {key}"
        post, number = found
        ids[key] = post.id
        assert post.body == e.body, key
        assert number == e.question, key
        assert post.author_email == e.author.email.lower(), key
        assert post.status.value == e.status, key
        assert post.received_at == e.received_at, key
        assert post.approved_at == e.approved_at, key
        assert post.language == e.author.language, key
        # What the author said when signing up (nothing when they never did).
        signed_up = e.author.mode is not None
        assert post.organisation == (e.author.organisation if signed_up else ""), key
        assert post.constituency == (e.author.constituency if signed_up else ""), key
    for key, e in model.posts.items():
        post, _ = rows[run.message_ids[key]]
        assert post.parent_id == (ids[e.parent] if e.parent else None), key
    for key in model.not_posts:
        assert run.message_ids[key] not in rows, key
        assert notices[run.message_ids[key]] == "notice", key


def check_nothing_left_and_nothing_twice(rt: Runtime, run: DemoRun) -> None:
    """Every received message processed, every queued mail sent, once."""
    with rt.sessions() as s:
        inbound = Counter(s.scalars(select(InboundMessage.state)))
        outbox = list(
            s.execute(
                select(
                    OutboxMessage.state,
                    OutboxMessage.recipient,
                    OutboxMessage.message_id,
                )
            )
        )
        kinds = Counter(s.scalars(select(InboundMessage.kind)))
    assert set(inbound) == {InboundState.PROCESSED}
    assert {state for state, _, _ in outbox} == {OutboxState.SENT}
    pairs = Counter((r.lower(), m) for _, r, m in outbox)
    assert max(pairs.values()) == 1  # one Message-ID to one recipient once
    box = DemoMailboxes(
        run.settings.service.state_dir / "outbox", run.settings.service.domain
    )
    box.refresh()
    delivered = Counter((d.recipient, d.message_id) for d in box.all)
    assert delivered == pairs
    # Auto-replies and bounces were never answered nor posted.
    assert kinds["bounce-auto-reply"] == 1  # the out-of-office to a return path
    assert kinds["bounce-disabled"] == 1
    assert kinds["dropped"] == 2  # out-of-office to a reply address and a list address


def check_mail_by_mode(rt: Runtime, model: Model) -> None:
    """Each reader got exactly the announcements, copies and digests their mode gives."""
    with rt.sessions() as s:
        rows = list(
            s.execute(
                select(
                    OutboxMessage.recipient,
                    OutboxMessage.kind,
                    OutboxMessage.dedupe_key,
                )
            )
        )
        status = dict(
            s.execute(
                select(Subscriber.email, Subscription.status).join(
                    Subscription, Subscription.subscriber_id == Subscriber.id
                )
            ).all()
        )
    got: dict[str, Counter[str]] = {}
    labels: dict[str, list[str]] = {}
    for recipient, kind, key in rows:
        got.setdefault(recipient.lower(), Counter())[kind] += 1
        if kind == "digest":
            labels.setdefault(recipient.lower(), []).append(key.split(":")[2])
    assert len(model.readers) == 43
    for email, reader in model.readers.items():
        mine = got.get(email, Counter())
        expected = model.list_mail(email)
        actual = Counter(
            {k: mine[k] for k in ("announce", "post", "digest", "closing")}
        )
        assert +actual == expected, email
        assert mine["confirm"] == 1, email
        assert mine["welcome"] == int(reader.confirmed), email
        days = labels.get(email, [])
        assert len(days) == len(set(days)), email  # one digest a day
        want = {
            "": SubscriptionStatus.ACTIVE,
            "unsubscribed": SubscriptionStatus.UNSUBSCRIBED,
            "disabled": SubscriptionStatus.DISABLED,
        }[reader.ended]
        if not reader.confirmed:
            want = SubscriptionStatus.EXPIRED
            assert mine["reminder"] == 1, email
        assert status[email] is want, email
    # Every kind of reader got something of its own.
    totals: Counter[str] = Counter()
    for email in model.readers:
        totals.update(model.list_mail(email))
    assert totals["post"] > 300 and totals["digest"] > 300 and totals["closing"] > 30


def check_moderation(rt: Runtime, run: DemoRun, model: Model) -> None:
    """Held posts told to each moderator once, a mail a window at most; decisions audited.

    Forgeries did nothing.
    """
    d = run.settings.discussions[0]
    moderators = [m.email for m in d.moderators]
    window = run.settings.moderation.notice_minutes * 60
    with rt.sessions() as s:
        told = Counter(s.execute(select(HeldNotice.post_id, HeldNotice.moderator)))
        mails = list(
            s.execute(
                select(
                    OutboxMessage.recipient,
                    OutboxMessage.kind,
                    OutboxMessage.created_at,
                )
                .where(OutboxMessage.kind.in_(("mod-held", "mod-summary")))
                .order_by(OutboxMessage.created_at)
            )
        )
        state = s.scalars(select(Discussion)).one()
        audit = Counter(
            s.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.auth))
        )
        tokens = list(s.scalars(select(Token).where(Token.purpose == "command")))
    assert len(told) == len(model.held) * len(moderators)
    assert set(told.values()) == {1}
    kinds = Counter(kind for _, kind, _ in mails)
    assert kinds["mod-summary"] >= len(moderators)  # the demo shows summaries
    # The demo's posts come one by one: never more mails than (post, moderator) pairs.
    assert kinds["mod-held"] + kinds["mod-summary"] <= len(told)
    for moderator in moderators:
        times = [at for who, _, at in mails if who == moderator]
        gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
        assert all(g >= window for g in gaps), (moderator, gaps)
    # Ashwani and Paul sign with DKIM; Pedro confirms each command by replying.
    ashwani, paul, pedro = moderators[:3]
    assert audit == {
        (ashwani, "approve", "dkim"): model.decisions[(0, "approve")],
        (ashwani, "reject", "dkim"): model.decisions[(0, "reject")],
        (paul, "approve", "dkim"): model.decisions[(1, "approve")],
        (paul, "release", "dkim"): 1,
        (paul, "stats", "dkim"): 1,
        (pedro, "approve", "confirmed"): model.decisions[(2, "approve")],
        (
            "mallory@forged.example.net",
            "refused",
            "none",
        ): 1,  # "approve" from a stranger
        ("schedule", "release", "system"): 1,  # week one; Paul released week two
        ("schedule", "close", "system"): 1,
    }
    # The forged "close" of day 5 asked Paul to confirm; he never did: closed on time.
    assert state.closed_at == d.closes_at
    assert [t.used_at for t in tokens if t.email == paul] == [None]
    assert all(t.used_at is not None for t in tokens if t.email == pedro)
