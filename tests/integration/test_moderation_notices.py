"""Moderators' held-post mail under a burst: one notice, then one summary a window.

Twenty strangers write within a minute. Each moderator hears of the first at
once and of the rest in one summary half an hour later, sent by the scheduler's
round through a real relay on loopback; each entry's address approves or
rejects its post; two moderators acting on one post from their summaries
publish it once. Two ``serve`` nodes running the same round send each
summary once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from mailer.core.addresses import AddressBook
from mailer.links import held_post_address
from mailer.mailings.due import anything_due, next_wakeups, run_due
from mailer.outbound.worker import OutboxSender
from mailer.runtime import Runtime, open_runtime
from store.models import PostStatus
from tests.fixtures.moderation import (
    DOMAIN,
    SLUG,
    TRUSTED_MTA,
    DkimKey,
    Listener,
    SettableClock,
    StubDns,
    command_mail,
    dkim_sign,
    outbox,
    read,
    text_of,
)
from tests.fixtures.relay import CapturingRelay
from tests.fixtures.settings import SettingsFactory
from tests.integration.moderation_setup import (
    AGGARWAL,
    COMYN,
    MORENO,
    add_subscribers,
    contribution,
    held_posts,
    post,
    process,
    release_directly,
)

MODERATORS = (AGGARWAL, COMYN, MORENO)


@pytest.fixture
def relayed(
    db_url: str,
    make_settings: SettingsFactory,
    stub_dns: StubDns,
    clock: SettableClock,
    relay: CapturingRelay,
) -> Iterator[Runtime]:
    """A runtime whose outgoing mail goes to the capturing relay."""
    settings = make_settings(
        db_url,
        {
            "inbound": {
                "dkim_resolver": f"127.0.0.1:{stub_dns.port}",
                "trusted_authserv_id": TRUSTED_MTA,
            },
            "relay": {"host": "127.0.0.1", "port": relay.port, "security": "none"},
        },
    )
    runtime = open_runtime(settings, clock=clock, migrate=False)
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture
def smtp_in(relayed: Runtime) -> Iterator[Listener]:
    """The service's SMTP listener."""
    server = Listener(relayed)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _burst(listener: Listener, rt: Runtime, clock: SettableClock, n: int) -> None:
    for i in range(n):
        author = f"writer{i:02d}@example.net"
        listener.send(
            contribution(author, f"Writer {i}", 1, f"Point number {i} on training.\n"),
            f"{SLUG}+q1@{DOMAIN}",
        )
        clock.advance(seconds=3)
        process(rt)


def _relayed(relay: CapturingRelay) -> list[EmailMessage]:
    """What reached the relay, as the moderators' clients read it."""
    found = []
    for r in relay.received:
        msg = message_from_bytes(r.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        found.append(msg)
    return found


def _deliver(rt: Runtime) -> None:
    sender = OutboxSender(rt)
    try:
        sender.drain()
    finally:
        sender.close()


def _plain(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _held_mail(relay: CapturingRelay) -> Counter[tuple[str, str]]:
    """(moderator, kind) of each held-post mail the relay took."""
    got: Counter[tuple[str, str]] = Counter()
    for msg in _relayed(relay):
        to = msg["To"].addresses[0].addr_spec
        mid = str(msg["Message-ID"])
        if mid.startswith(("<mod-held.", "<mod-summary.")):
            got[(to, mid[1:].split(".")[0])] += 1
    return got


def test_a_burst_of_twenty_makes_one_notice_and_one_summary_per_moderator(
    smtp_in: Listener,
    relayed: Runtime,
    relay: CapturingRelay,
    dkim_key: DkimKey,
    clock: SettableClock,
) -> None:
    rt = relayed
    add_subscribers(rt, [("reader@example.org", "en", "each")], clock.now)
    release_directly(rt, [1], clock.now)
    _burst(smtp_in, rt, clock, 20)
    held = [p.id for p in held_posts(rt)]
    assert len(held) == 20
    run_due(rt, clock.now)  # a round within the window sends nothing more
    _deliver(rt)
    assert _held_mail(relay) == {(m, "mod-held"): 1 for m in MODERATORS}
    # The summary is a wake-up of the scheduler, half an hour after the notice.
    [wake] = next_wakeups(rt, clock.now).values()
    assert not anything_due(rt, clock.now)
    clock.now = wake
    assert anything_due(rt, clock.now)
    assert run_due(rt, clock.now).summaries == 3
    assert run_due(rt, clock.now).summaries == 0
    _deliver(rt)
    assert _held_mail(relay) == {
        **{(m, "mod-held"): 1 for m in MODERATORS},
        **{(m, "mod-summary"): 1 for m in MODERATORS},
    }
    book = AddressBook(SLUG, DOMAIN)
    summaries = {
        msg["To"].addresses[0].addr_spec: msg
        for msg in _relayed(relay)
        if str(msg["Message-ID"]).startswith("<mod-summary.")
    }
    for moderator, msg in summaries.items():
        text = _plain(msg)
        # Every held post has its own address in it: 19 new, 1 still waiting.
        for pid in held:
            assert held_post_address(book, rt.key, pid) in text, (moderator, pid)
        assert msg["Auto-Submitted"] == "auto-generated"
    assert "19 new held posts, 1 still waiting" in " ".join(
        str(summaries[AGGARWAL]["Subject"]).split()
    )
    assert "19 aportaciones nuevas retenidas" in " ".join(
        str(summaries[MORENO]["Subject"]).split()
    )

    # Ashwani and Paul both approve post 5 from their summaries, Ashwani first.
    target = held[4]
    to = held_post_address(book, rt.key, target)
    for sender in (AGGARWAL, COMYN):
        raw = dkim_sign(
            command_mail(sender, to, "approve\n", "Re: held posts"), dkim_key
        )
        smtp_in.send(raw, to)
        process(rt)
    assert post(rt, target).status is PostStatus.APPROVED
    assert post(rt, target).moderated_by == AGGARWAL
    results = [text_of(r) for r in outbox(rt, "mod-result")]
    assert f"Post {target} approved and published." in " ".join(results[0].split())
    assert "already approved" in " ".join(results[1].split())
    copies = [r for r in outbox(rt, "post") if r.recipient == "reader@example.org"]
    assert len(copies) == 1  # published once
    # Pedro rejects post 6 by its summary address; Writer 5 is told why.
    to6 = held_post_address(book, rt.key, held[5])
    raw = dkim_sign(
        command_mail(MORENO, to6, "reject Please write to question 2\n"), dkim_key
    )
    smtp_in.send(raw, to6)
    process(rt)
    assert post(rt, held[5]).status is PostStatus.REJECTED
    [rejected] = outbox(rt, "post-rejected")
    assert rejected.recipient == "writer05@example.net"
    # The others are told, threaded under the summary that told them.
    handled = outbox(rt, "mod-handled")
    assert Counter(r.recipient for r in handled) == {
        COMYN: 2,  # Ashwani's approval and Pedro's rejection
        MORENO: 1,
        AGGARWAL: 1,
    }
    for row in handled:
        parent = read(row)["In-Reply-To"]
        assert parent == summaries[row.recipient]["Message-ID"]

    # Two more held in the next window wait for the next summary, which lists
    # them as new and the 18 undecided as waiting.
    clock.advance(minutes=1)
    _burst(smtp_in, rt, clock, 2)
    assert run_due(rt, clock.now).summaries == 0
    clock.now = summaries[COMYN]["Date"].datetime + timedelta(minutes=29)
    assert run_due(rt, clock.now).summaries == 0  # a minute early
    clock.advance(minutes=1)
    assert run_due(rt, clock.now).summaries == 3
    _deliver(rt)
    assert _held_mail(relay) == {
        **{(m, "mod-held"): 1 for m in MODERATORS},
        **{(m, "mod-summary"): 2 for m in MODERATORS},
    }
    last = next(r for r in reversed(outbox(rt, "mod-summary")) if r.recipient == COMYN)
    assert "2 new held posts, 18 still waiting" in " ".join(
        read(last)["Subject"].split()
    )


def test_two_nodes_send_each_summary_once(
    smtp_in: Listener, relayed: Runtime, clock: SettableClock
) -> None:
    rt = relayed
    release_directly(rt, [1], clock.now)
    _burst(smtp_in, rt, clock, 5)
    other = open_runtime(rt.settings, clock=clock, migrate=False)  # a second node
    try:
        clock.advance(minutes=30)
        start = threading.Barrier(2)
        counts: list[int] = []

        def node(runtime: Runtime) -> None:
            start.wait()
            done = run_due(runtime, clock.now)
            assert done.failed == ()
            counts.append(done.summaries)

        threads = [threading.Thread(target=node, args=(r,)) for r in (rt, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(counts) == 2 and sum(counts) == 3, counts
        assert run_due(other, clock.now).summaries == 0
    finally:
        other.close()
    summaries = outbox(rt, "mod-summary")
    assert Counter(r.recipient for r in summaries) == {m: 1 for m in MODERATORS}
    for row in summaries:  # each lists the four held after the first notice
        assert "4 new held posts, 1 still waiting" in " ".join(
            read(row)["Subject"].split()
        ) or "4 aportaciones nuevas retenidas" in " ".join(read(row)["Subject"].split())
