"""A batch of received mail applied in short transactions (SQLite) or one (PostgreSQL).

Whatever the cut, a message sees what the ones before it in the batch did: a
reply threads under a post made a few messages earlier, and a failing message
sends only its own transaction's messages through one by one.
"""

from __future__ import annotations

import pytest

from mailer.inbound import apply
from mailer.inbound.pipeline import BATCH, WRITE_CHUNK, process_pending
from store.models import InboundState
from tests.fixtures.inbound import OPEN_POLICY, MailhostFactory, address, mail


def test_a_reply_threads_under_a_post_of_an_earlier_transaction_of_its_batch(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    q1 = address("+q1")
    host.send(mail(to=q1, message_id="<first@example.net>"), [q1])
    for i in range(WRITE_CHUNK + 2):
        host.send(mail(to=q1, message_id=f"<filler{i}@example.net>"), [q1])
    host.send(
        mail(
            to=q1,
            message_id="<reply@example.net>",
            headers={"In-Reply-To": "<first@example.net>"},
            subject="Re: Apprenticeships in our region",
        ),
        [q1],
    )
    assert WRITE_CHUNK + 4 <= BATCH
    assert process_pending(host.runtime) == WRITE_CHUNK + 4  # one batch
    posts = {p.message_id: p for p in host.posts()}
    assert posts["<reply@example.net>"].parent_id == posts["<first@example.net>"].id
    assert {(r.state, r.attempts) for r in host.inbound()} == {
        (InboundState.PROCESSED, 1)
    }


def test_a_failing_message_sends_only_its_own_transaction_one_by_one(
    make_mailhost: MailhostFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    real = apply.apply_one
    calls: list[str] = []

    def one(lookups, item, parsed, rcpt, own_id):  # type: ignore[no-untyped-def]
        calls.append(str(parsed.message_id))
        if parsed.message_id == "<bad@example.net>":
            raise RuntimeError("a bug met while applying")
        return real(lookups, item, parsed, rcpt, own_id)

    monkeypatch.setattr(apply, "apply_one", one)
    q1 = address("+q1")
    names = [f"m{i}" for i in range(WRITE_CHUNK + 4)]
    names[WRITE_CHUNK + 1] = "bad"
    for name in names:
        host.send(mail(to=q1, message_id=f"<{name}@example.net>"), [q1])
    process_pending(host.runtime)
    states = {r.message_id: r.state for r in host.inbound()}
    assert states.pop("<bad@example.net>") is InboundState.FAILED
    assert set(states.values()) == {InboundState.PROCESSED}
    after = calls[calls.index("<bad@example.net>") + 1 :]
    again = {m for m in after if m != "<bad@example.net>"}
    if host.runtime.engine.dialect.name == "sqlite":
        # Only the bad message's transaction was rolled back and gone through again.
        assert 0 < len(again) < WRITE_CHUNK
    else:  # one transaction for the batch
        assert len(again) == len(names) - 1
