"""A post by mail carries the organisation and constituency its author signed up with.

Digests, post copies, held-post notices and the archive show them beside the
author's name; a sender who never signed up has none.
"""

from __future__ import annotations

from sqlalchemy import update

from store.models import Subscriber
from tests.fixtures.inbound import OPEN_POLICY, MailhostFactory, address, mail
from tests.fixtures.schedule import subscribe


def test_posts_keep_the_authors_sign_up_details(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(**OPEN_POLICY)
    subscribe(host.runtime, "ana@example.net", name="Ana Ruiz")
    with host.runtime.sessions.begin() as s:
        s.execute(
            update(Subscriber)
            .where(Subscriber.email == "ana@example.net")
            .values(organisation="Ministerio de Trabajo", constituency="government")
        )
    host.send(mail(to=address("+q1"), message_id="<a1@example.net>"), [address("+q1")])
    host.send(
        mail(
            to=address("+q1"),
            message_id="<b1@example.org>",
            sender="Bo Lin <bo@example.org>",
        ),
        [address("+q1")],
        mail_from="bo@example.org",
    )
    host.process()
    by_author = {p.author_email: p for p in host.posts()}
    ana, bo = by_author["ana@example.net"], by_author["bo@example.org"]
    assert (ana.organisation, ana.constituency) == (
        "Ministerio de Trabajo",
        "government",
    )
    assert (bo.organisation, bo.constituency) == ("", "")
