"""From SMTP on loopback to the store: posts, threads, notices, drops, failures."""

from __future__ import annotations

import smtplib
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import select

from mailer.core.addresses import AddressBook
from mailer.inbound.pipeline import process_one, process_pending
from mailer.links import question_message_id, reply_address
from mailer.runtime import Runtime
from store.models import (
    Attachment,
    AuditEntry,
    Ban,
    Discussion,
    InboundState,
    PostStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.fixtures.inbound import (
    DOMAIN,
    OPEN_POLICY,
    SLUG,
    MailhostFactory,
    Served,
    address,
    mail,
    wait_until,
)


def test_reply_to_a_question_address_becomes_a_post(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    body = (
        "Most workplace training stopped in March; we moved theory online.\n\n"
        "On Fri, 27 Mar 2027 at 10:00, Skills e-discussion wrote:\n"
        "> What technical hurdles have you observed?\n"
    )
    host.send(
        mail(to=address("+q3"), message_id="<a1@example.net>", body=body),
        [address("+q3")],
    )
    assert host.process() == 1
    [post] = host.posts()
    assert host.question_number(post) == 3
    assert post.parent_id is None and post.status is PostStatus.APPROVED
    assert post.message_id == "<a1@example.net>"
    assert post.author_email == "ana@example.net" and post.author_name == "Ana Ruiz"
    assert (
        post.body == "Most workplace training stopped in March; we moved theory online."
    )
    assert "wrote:" in post.full_text
    [row] = host.inbound()
    assert (row.state, row.kind, row.attempts) == (InboundState.PROCESSED, "post", 1)


def test_a_quoted_copy_loses_its_personal_links_before_it_is_stored(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    base = host.runtime.settings.service.base_url
    unsubscribe = f"{base}/unsubscribe/12.abcdefghijklmnop"
    bounce = address("-bounces+s12.abcdefghijklmnop")
    body = (
        "We saw the same in our region, see http://example.net/a?x=1 too.\n\n"
        "On Fri, 27 Mar 2027 at 10:00, Ana Ruiz via Skills wrote:\n"
        "> Most workplace training stopped in March.\n"
        f"> To answer question 3, write to {address('+q3')}\n"
        f"> Unsubscribe: {unsubscribe}\n"
        f"> Return-Path: <{bounce}>\n"
    )
    host.send(
        mail(to=address("+q3"), message_id="<a9@example.net>", body=body),
        [address("+q3")],
    )
    assert host.process() == 1
    [post] = host.posts()
    assert "abcdefghijklmnop" not in post.full_text + post.body
    assert post.full_text.count("[personal link removed]") == 2
    assert address("+q3") in post.full_text and "http://example.net/a?x=1" in post.body
    raw = host.inbound()[0].raw
    assert unsubscribe.encode() in raw  # what was received is kept as it came


def test_first_post_of_a_subscriber_is_held(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(moderation="first-post", unknown_senders="hold")
    host.send(mail(to=address("+q1"), message_id="<h1@example.net>"), [address("+q1")])
    host.process()
    [post] = host.posts()
    assert post.status is PostStatus.HELD
    assert post.hold_reason == "unknown sender; first post"
    assert host.inbound()[0].kind == "held"


def test_replies_thread_by_headers(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(**OPEN_POLICY)
    root = "<root@example.net>"
    host.send(mail(to=address("+q2"), message_id=root), [address("+q2")])
    host.process()
    # A subscriber's reply to the copy they got: In-Reply-To is the post's own
    # Message-ID, sent to the discussion address (the copy's Reply-To).
    reply = mail(
        to=address(""),
        message_id="<r1@example.org>",
        sender="Li Wei <li@example.org>",
        subject="Re: Apprenticeships",
        headers={"In-Reply-To": root, "References": root},
    )
    host.send(reply, [address("")], mail_from="li@example.org")
    # A reply to the announcement of question 4 (References carries its root).
    announce = mail(
        to=address(""),
        message_id="<r2@example.org>",
        sender="li@example.org",
        subject="Re: Question 4 is open",
        headers={
            "In-Reply-To": "<announce.123@discuss.example.org>",
            "References": f"{question_message_id(DOMAIN, SLUG, 4)} "
            "<announce.123@discuss.example.org>",
        },
    )
    host.send(announce, [address("")], mail_from="li@example.org")
    # A reply to the reply, by the question address: still under its parent.
    deeper = mail(
        to=address("+q2"),
        message_id="<r3@example.net>",
        headers={
            "In-Reply-To": "<r1@example.org>",
            "References": f"{root} <r1@example.org>",
        },
    )
    host.send(deeper, [address("+q2")])
    host.process()
    posts = {p.message_id: p for p in host.posts()}
    assert posts["<r1@example.org>"].parent_id == posts[root].id
    assert host.question_number(posts["<r1@example.org>"]) == 2
    assert posts["<r2@example.org>"].parent_id is None
    assert host.question_number(posts["<r2@example.org>"]) == 4
    assert posts["<r3@example.net>"].parent_id == posts["<r1@example.org>"].id


def test_reply_token_threads_and_a_forged_one_is_refused(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    host.send(mail(to=address("+q1"), message_id="<p@example.net>"), [address("+q1")])
    host.process()
    [parent] = host.posts()
    good = reply_address(AddressBook(SLUG, DOMAIN), host.runtime.key, parent.id)
    host.send(mail(to=good, message_id="<t1@example.net>"), [good])
    forged = address(f"+r-{parent.id}.aaaaaaaaaaaaaaaa")
    host.send(
        mail(
            to=forged,
            message_id="<t2@example.net>",
            headers={"In-Reply-To": "<p@example.net>"},
        ),
        [forged],
    )
    host.process()
    posts = {p.message_id: p for p in host.posts()}
    assert posts["<t1@example.net>"].parent_id == parent.id
    assert "<t2@example.net>" not in posts
    [notice] = host.outbox()
    assert notice.kind == "notice" and notice.recipient == "ana@example.net"
    assert notice.dedupe_key.startswith("auto:bad-reply-address:ana@example.net:")
    audits = host.query(lambda s: list(s.scalars(select(AuditEntry))))
    assert [(a.action, a.actor) for a in audits] == [("refused", "ana@example.net")]
    assert "forged reply token" in audits[0].detail


def test_unreleased_question_gets_one_notice_a_day_and_auto_replies_none(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    for i in (1, 2):
        host.send(
            mail(to=address("+q9"), message_id=f"<n{i}@example.net>"), [address("+q9")]
        )
    auto = mail(
        to=address("+q9"),
        message_id="<ooo@example.net>",
        subject="Out of office",
        headers={"Auto-Submitted": "auto-replied"},
    )
    host.send(auto, [address("+q9")])
    host.process()
    assert host.posts() == []
    [notice] = host.outbox()
    assert notice.dedupe_key.startswith("auto:not-released:ana@example.net:")
    msg = message_from_bytes(notice.raw, policy=policy.default)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["In-Reply-To"] == "<n1@example.net>"
    assert msg["To"].addresses[0].addr_spec == "ana@example.net"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "question 9" in text and address("+q1") in text
    kinds = [r.kind for r in host.inbound()]
    assert kinds == ["notice", "notice-limited", "dropped"]


def test_a_question_no_discussion_has_is_refused_at_rcpt(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(released=(1,), **OPEN_POLICY)
    with smtplib.SMTP("127.0.0.1", host.port, timeout=10) as client:
        client.ehlo("mx.example.net")
        assert client.mail("ana@example.net")[0] == 250
        code, text = client.rcpt(address("+q999"))
        assert (code, text[:5]) == (550, b"5.1.1")
        assert client.rcpt(address("+q12"))[0] == 550  # the model has 11
        assert client.rcpt(address("+q11"))[0] == 250  # exists, not released yet
    host.send(
        mail(to=address("+q11"), message_id="<q11@example.net>"), [address("+q11")]
    )
    host.process()
    [notice] = host.outbox()  # still answered, as before
    assert notice.dedupe_key.startswith("auto:not-released:ana@example.net:")
    assert len(host.inbound()) == 1


def test_notice_is_in_the_subscribers_language(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(**OPEN_POLICY)

    def subscribe(s):  # type: ignore[no-untyped-def]
        disc = s.scalar(select(Discussion))
        person = Subscriber(email="ana@example.net", created_at=host.now)
        s.add(person)
        s.flush()
        s.add(
            Subscription(
                discussion_id=disc.id,
                subscriber_id=person.id,
                language="es",
                status=SubscriptionStatus.ACTIVE,
                created_at=host.now,
            )
        )

    host.execute(subscribe)
    host.close_discussion()
    host.send(mail(to=address("+q1"), message_id="<c1@example.net>"), [address("+q1")])
    host.process()
    assert host.posts() == []
    [notice] = host.outbox()
    msg = message_from_bytes(notice.raw, policy=policy.default)
    assert msg["Content-Language"] == "es"
    assert "ha concluido" in str(msg["Subject"])


def test_bare_address_without_thread_lists_the_open_questions(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(
        **OPEN_POLICY,
    )
    host.send(mail(to=address(""), message_id="<b1@example.net>"), [address("")])
    host.process()
    assert host.posts() == []
    [notice] = host.outbox()
    msg = message_from_bytes(notice.raw, policy=policy.default)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for n in range(1, 7):
        assert address(f"+q{n}") in text
    assert address("+q7") not in text


def test_banned_sender_is_dropped_with_an_audit_entry(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)

    def ban(s):  # type: ignore[no-untyped-def]
        disc = s.scalar(select(Discussion))
        s.add(
            Ban(
                discussion_id=disc.id,
                email="ana@example.net",
                created_at=host.now,
                created_by="aggarwal@ilo.example.org",
            )
        )

    host.execute(ban)
    host.send(mail(to=address("+q1"), message_id="<x1@example.net>"), [address("+q1")])
    host.process()
    assert host.posts() == [] and host.outbox() == []
    [row] = host.inbound()
    assert (row.state, row.kind) == (InboundState.PROCESSED, "dropped")
    [audit] = host.query(lambda s: list(s.scalars(select(AuditEntry))))
    assert (audit.action, audit.actor, audit.target) == (
        "dropped",
        "ana@example.net",
        "<x1@example.net>",
    )
    assert "banned sender" in audit.detail


def test_same_message_twice_is_one_post(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(**OPEN_POLICY)
    raw = mail(to=address("+q1"), message_id="<twice@example.net>")
    host.send(raw, [address("+q1")])
    host.send(raw, [address("+q1")])
    # The same words to two questions in one message: one post too.
    both = mail(to=address("+q1"), message_id="<both@example.net>")
    host.send(both, [address("+q1"), address("+q2")])
    host.process()
    assert sorted(p.message_id for p in host.posts()) == [
        "<both@example.net>",
        "<twice@example.net>",
    ]
    assert len(host.inbound()) == 2


def test_poison_message_is_quarantined_and_the_next_flows(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost({"inbound": {"max_processing_attempts": 3}}, **OPEN_POLICY)
    host.send(b"\r\n", [address("+q1")])  # nothing a parser can read
    host.send(
        mail(to=address("+q1"), message_id="<next@example.net>"), [address("+q1")]
    )
    host.process()
    poison, good = host.inbound()
    assert good.state is InboundState.PROCESSED
    assert [p.message_id for p in host.posts()] == ["<next@example.net>"]
    assert (poison.state, poison.attempts) == (InboundState.FAILED, 1)
    assert "MalformedMessage" in (poison.error or "")
    for expected in (InboundState.FAILED, InboundState.QUARANTINED):
        outcome = process_one(host.runtime, poison.id)
        assert outcome is not None and outcome.state is expected
    assert process_one(host.runtime, poison.id) is None  # quarantined stays put
    poison = host.inbound()[0]
    assert (poison.state, poison.attempts) == (InboundState.QUARANTINED, 3)


def test_two_nodes_process_each_message_once(make_mailhost: MailhostFactory) -> None:
    first = make_mailhost(**OPEN_POLICY)
    second = make_mailhost(**OPEN_POLICY)  # another node on the same database
    for i in range(40):
        node = first if i % 2 else second
        to = address(f"+q{i % 6 + 1}")
        node.send(mail(to=to, message_id=f"<n{i}@example.net>"), [to])
    errors: list[BaseException] = []

    def drain(runtime: Runtime) -> None:
        try:
            while process_pending(runtime, 7):
                pass
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [
        threading.Thread(target=drain, args=(host.runtime,)) for host in (first, second)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    rows = first.inbound()
    assert len(rows) == 40
    assert {(r.state, r.attempts) for r in rows} == {(InboundState.PROCESSED, 1)}
    assert len(first.posts()) == 40


def test_serve_processes_a_message_promptly(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(listen=False, **OPEN_POLICY)
    served = Served(host.runtime)
    try:
        host.send(
            mail(to=address("+q1"), message_id="<now@example.net>"), [address("+q1")]
        )
        took = wait_until(lambda: len(host.posts()) == 1)
    finally:
        served.close()
    assert took < 5


def _with_files(message_id: str) -> bytes:
    m = EmailMessage()
    m["From"] = "Ana Ruiz <ana@example.net>"
    m["To"] = address("+q2")
    m["Subject"] = "Our course material"
    m["Message-ID"] = message_id
    m.set_content("Two files from our training centre.\n")
    m.add_attachment(
        b"x" * 500, maintype="application", subtype="pdf", filename="small.pdf"
    )
    m.add_attachment(
        b"y" * 5000, maintype="application", subtype="pdf", filename="big.pdf"
    )
    return m.as_bytes(policy=policy.SMTP)


def test_attachments_kept_up_to_the_limit_and_the_rest_noted(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost({"inbound": {"max_attachment_bytes": 1000}}, **OPEN_POLICY)
    host.send(_with_files("<files@example.net>"), [address("+q2")])
    host.process()
    [post] = host.posts()
    assert post.status is PostStatus.APPROVED
    assert post.body.startswith("Two files from our training centre.")
    assert (
        "[Attachment big.pdf (4.9 KB) was not kept: it is larger than 1000 bytes.]"
        in (post.body)
    )
    files = host.query(
        lambda s: [
            (a.filename, a.size, a.content)
            for a in s.scalars(select(Attachment).order_by(Attachment.id))
        ]
    )
    assert files == [("small.pdf", 500, b"x" * 500), ("big.pdf", 5000, None)]


def test_oversize_attachment_holds_the_post_when_configured(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(
        {"inbound": {"max_attachment_bytes": 1000, "oversize_attachments": "hold"}},
        **OPEN_POLICY,
    )
    host.send(_with_files("<held-files@example.net>"), [address("+q2")])
    host.process()
    [post] = host.posts()
    assert post.status is PostStatus.HELD
    assert post.hold_reason == "attachment over the size limit: big.pdf"
    assert "was not kept" not in post.body


def test_a_signature_logo_is_not_stored_as_an_attachment(
    make_mailhost: MailhostFactory,
) -> None:
    m = EmailMessage()
    m["From"] = "Tom Hale <tom@example.net>"
    m["To"] = address("+q2")
    m["Subject"] = "RE: Question 2"
    m["Message-ID"] = "<logo@example.net>"
    m.set_content("Our report is attached.\n\nTom Hale\n[cid:image001.png@01DB]\n")
    m.add_alternative(
        '<p>Our report is attached.</p><p>Tom Hale<br><img src="cid:image001.png@01DB">'
        "</p>",
        subtype="html",
    )
    html = list(m.iter_parts())[1]
    html.add_related(
        b"\x89PNG" + b"z" * 2000,
        "image",
        "png",
        cid="<image001.png@01DB>",
        filename="image001.png",
        disposition="inline",
    )
    m.add_attachment(
        b"r" * 600, maintype="application", subtype="pdf", filename="r.pdf"
    )
    host = make_mailhost(**OPEN_POLICY)
    host.send(m.as_bytes(policy=policy.SMTP), [address("+q2")])
    host.process()
    [post] = host.posts()
    assert post.body == "Our report is attached."
    files = host.query(
        lambda s: [
            a.filename for a in s.scalars(select(Attachment).order_by(Attachment.id))
        ]
    )
    assert files == ["r.pdf"]
