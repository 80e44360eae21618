"""A reply that arrives before its parent moves under it when the parent arrives.

Greylisting, two MX hosts or several SMTP connections deliver out of order.
Threading stays by Message-ID, In-Reply-To and References only, and a move
that would make a loop is refused.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import event, select

from mailer.inbound.pipeline import BATCH, WRITE_CHUNK, process_pending
from mailer.links import question_message_id
from store.models import Post, PostStatus, ThreadWait
from tests.fixtures.inbound import DOMAIN, OPEN_POLICY, MailhostFactory, address, mail
from tests.fixtures.service import ServiceFactory
from tests.fixtures.service import message as service_message

ROOT2 = question_message_id(DOMAIN, "skills-covid19", 2)


def _reply(mid: str, *chain: str, to: str = "+q2", root: str = ROOT2) -> bytes:
    """A reply to the last of *chain* (References: root, then *chain*)."""
    headers = {"References": " ".join([root, *chain])}
    if chain:
        headers["In-Reply-To"] = chain[-1]
    return mail(to=address(to), message_id=mid, headers=headers)


def _by_mid(posts: list[Post]) -> dict[str, Post]:
    return {p.message_id: p for p in posts}


def test_a_reply_stored_first_moves_under_its_parent(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    host.send(_reply("<child@example.org>", "<parent@example.net>"), [address("+q2")])
    host.process()
    (child,) = host.posts()
    assert child.parent_id is None and host.question_number(child) == 2

    host.send(_reply("<parent@example.net>"), [address("+q2")])
    host.process()
    posts = _by_mid(host.posts())
    assert posts["<child@example.org>"].parent_id == posts["<parent@example.net>"].id
    assert posts["<child@example.org>"].status is PostStatus.APPROVED
    assert host.query(lambda s: list(s.scalars(select(ThreadWait)))) == []


def test_a_chain_arriving_backwards_is_rebuilt(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(**OPEN_POLICY)
    a, b, c = "<a@example.net>", "<b@example.org>", "<c@example.net>"
    # c (a reply to b, a reply to a) first, then b, then a; one batch each.
    for raw in (_reply(c, a, b), _reply(b, a), _reply(a)):
        host.send(raw, [address("+q2")])
        host.process()
    posts = _by_mid(host.posts())
    assert posts[a].parent_id is None
    assert posts[b].parent_id == posts[a].id
    assert posts[c].parent_id == posts[b].id


def test_a_reply_under_its_grandparent_moves_to_its_parent(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    a, b, c = "<ga@example.net>", "<gb@example.org>", "<gc@example.net>"
    host.send(_reply(a), [address("+q2")])
    host.process()
    host.send(_reply(c, a, b), [address("+q2")])  # b has not arrived
    host.process()
    posts = _by_mid(host.posts())
    assert posts[c].parent_id == posts[a].id  # the nearest ancestor known
    host.send(_reply(b, a), [address("+q2")])
    host.process()
    posts = _by_mid(host.posts())
    assert posts[b].parent_id == posts[a].id
    assert posts[c].parent_id == posts[b].id


def test_out_of_order_in_one_batch(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(**OPEN_POLICY)
    a, b, c = "<oa@example.net>", "<ob@example.org>", "<oc@example.net>"
    host.send(_reply(b, a), [address("+q2")])
    host.send(_reply(a), [address("+q2")])
    host.send(_reply(c, a, b), [address("+q2")])  # after the move, in the same batch
    assert host.process() == 3
    posts = _by_mid(host.posts())
    assert posts[b].parent_id == posts[a].id
    assert posts[c].parent_id == posts[b].id


def test_a_reply_waits_for_a_parent_of_a_later_transaction_of_its_batch(
    make_mailhost: MailhostFactory,
) -> None:
    """On SQLite a batch is cut in short transactions: the wait recorded in one is
    read by the next, which stores the parent."""
    host = make_mailhost(**OPEN_POLICY)
    child, parent = "<wc@example.org>", "<wp@example.net>"
    host.send(_reply(child, parent), [address("+q2")])
    for i in range(WRITE_CHUNK + 1):
        host.send(_reply(f"<wfill{i}@example.net>"), [address("+q2")])
    host.send(_reply(parent), [address("+q2")])
    assert WRITE_CHUNK + 3 <= BATCH
    assert process_pending(host.runtime) == WRITE_CHUNK + 3  # one batch
    posts = _by_mid(host.posts())
    assert posts[child].parent_id == posts[parent].id
    assert host.query(lambda s: list(s.scalars(select(ThreadWait)))) == []


def test_posts_nobody_waits_for_are_looked_up_once_per_transaction(
    make_mailhost: MailhostFactory,
) -> None:
    """Whether a reply waits for a new post is asked once for all the posts of a
    write transaction, not once for each post."""
    host = make_mailhost(**OPEN_POLICY)
    for i in range(10):
        host.send(_reply(f"<once{i}@example.net>"), [address("+q2")])
    statements: list[str] = []

    def seen(*args: object) -> None:
        statement = str(args[2])
        if "FROM thread_waits" in statement:
            statements.append(statement)

    event.listen(host.runtime.engine, "before_cursor_execute", seen)
    try:
        assert process_pending(host.runtime) == 10
    finally:
        event.remove(host.runtime.engine, "before_cursor_execute", seen)
    assert len(host.posts()) == 10
    assert len(statements) == 1


def test_a_moved_reply_follows_its_parent_to_its_question(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    p, r, rr = "<qp@example.net>", "<qr@example.org>", "<qrr@example.net>"
    # The reply and a reply to it went to question 1's address; the parent is
    # a contribution to question 3.
    host.send(_reply(r, p, to="+q1"), [address("+q1")])
    host.process()
    host.send(_reply(rr, p, r, to="+q1"), [address("+q1")])
    host.process()
    root3 = question_message_id(DOMAIN, "skills-covid19", 3)
    host.send(_reply(p, to="+q3", root=root3), [address("+q3")])
    host.process()
    posts = _by_mid(host.posts())
    assert posts[r].parent_id == posts[p].id
    assert posts[rr].parent_id == posts[r].id
    assert {host.question_number(posts[m]) for m in (p, r, rr)} == {3}


def test_a_loop_is_refused(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(**OPEN_POLICY)
    x, y = "<lx@example.net>", "<ly@example.org>"
    host.send(_reply(x, y), [address("+q2")])  # x says it answers y
    host.process()
    host.send(_reply(y, x), [address("+q2")])  # and y says it answers x
    host.process()
    posts = _by_mid(host.posts())
    assert posts[y].parent_id == posts[x].id  # y threads under x, which exists
    assert posts[x].parent_id is None  # x does not move under its own reply


def test_a_reply_address_keeps_its_post(make_mailhost: MailhostFactory) -> None:
    """A reply address names its parent itself; References do not move it later."""
    from mailer.core.addresses import AddressBook
    from mailer.links import reply_address

    host = make_mailhost(**OPEN_POLICY)
    host.send(_reply("<tp@example.net>"), [address("+q2")])
    host.process()
    (parent,) = host.posts()
    to = reply_address(
        AddressBook("skills-covid19", DOMAIN), host.runtime.key, parent.id
    )
    raw = mail(
        to=to,
        message_id="<tr@example.org>",
        headers={"In-Reply-To": "<other@example.net>"},
    )
    host.send(raw, [to])
    host.process()
    host.send(_reply("<other@example.net>"), [address("+q2")])
    host.process()
    posts = _by_mid(host.posts())
    assert posts["<tr@example.org>"].parent_id == parent.id


def test_the_running_service_rebuilds_the_thread(
    db_url: str, make_service: ServiceFactory
) -> None:
    """End to end: the child over SMTP first, then its parent, to `serve`."""
    service = make_service(db_url=db_url)
    child, parent = "<e2e-child@example.org>", "<e2e-parent@example.net>"
    service.accepted(
        service_message(
            to=address("+q2"),
            message_id=child,
            sender="Li Wei <li@example.org>",
            headers={"In-Reply-To": parent, "References": f"{ROOT2} {parent}"},
        ),
        address("+q2"),
        mail_from="li@example.org",
    )
    service.processed(child)
    (stored,) = service.posts(child)
    assert stored.parent_id is None
    service.accepted(
        service_message(
            to=address("+q2"), message_id=parent, headers={"References": ROOT2}
        ),
        address("+q2"),
    )
    service.processed(parent)
    (top,) = service.posts(parent)
    # Moved in the transaction that stored the parent.
    (stored,) = service.posts(child)
    assert stored.parent_id == top.id
    assert "threaded post=" in service.log()


def test_replies_over_four_connections_all_land_under_their_parents(
    db_url: str, make_service: ServiceFactory
) -> None:
    """25 posts and a reply to each, shuffled over 4 SMTP connections at once."""
    service = make_service(db_url=db_url)
    rng = random.Random(15)
    pairs = [(f"<tp{i}@example.net>", f"<tr{i}@example.org>") for i in range(25)]
    sends: list[tuple[str, bytes]] = []
    for parent, reply in pairs:
        sends.append(
            (
                parent,
                service_message(
                    to=address("+q2"), message_id=parent, headers={"References": ROOT2}
                ),
            )
        )
        sends.append(
            (
                reply,
                service_message(
                    to=address("+q2"),
                    message_id=reply,
                    sender="Li Wei <li@example.org>",
                    headers={"In-Reply-To": parent, "References": f"{ROOT2} {parent}"},
                ),
            )
        )
    rng.shuffle(sends)
    lanes = [sends[i::4] for i in range(4)]

    def deliver(lane: list[tuple[str, bytes]]) -> None:
        for _, raw in lane:
            service.accepted(raw, address("+q2"))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(deliver, lanes))
    for mid, _ in sends:
        service.processed(mid)
    posts = _by_mid(service.posts())
    under = sum(posts[r].parent_id == posts[p].id for p, r in pairs)
    assert under == len(pairs)
