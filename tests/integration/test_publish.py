"""publish_post: one copy per active each-mode subscriber, every header a good citizen's."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import select

from mailer.core.tokens import SignedFor, verify_token
from mailer.links import question_message_id, read_subscription_token
from mailer.mailings.publish import clean_subject, from_name, publish_post
from store.models import (
    DeliveryMode,
    Post,
    PostStatus,
    Question,
    SubscriptionStatus,
)
from tests.fixtures.settings import SettingsFactory
from tests.integration.outbound_setup import (
    add_subscriber,
    discussion_id,
    make_runtime,
    rows,
)

DOMAIN = "discuss.example.org"


def _post(rt, number: int, **kw: object) -> int:  # type: ignore[no-untyped-def]
    now = rt.clock()
    with rt.sessions.begin() as s:
        did = discussion_id(rt)
        qid = s.scalars(
            select(Question.id).where(
                Question.discussion_id == did, Question.number == number
            )
        ).one()
        values: dict[str, object] = {
            "discussion_id": did,
            "question_id": qid,
            "message_id": "<abc.123@mail.example.net>",
            "author_email": "ana@example.net",
            "author_name": "Ana Ruiz",
            "subject": "Apprenticeships in our region",
            "body": "Most workplace training stopped in March.\n\nWe moved theory online.",
            "status": PostStatus.APPROVED,
            "received_at": now,
            "approved_at": now,
        }
        values.update(kw)
        post = Post(**values)
        s.add(post)
        s.flush()
        return post.id


def _parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_publish_queues_one_copy_per_each_subscriber_once(
    db_url: str, make_settings: SettingsFactory
) -> None:
    rt = make_runtime(make_settings, db_url)
    try:
        en = add_subscriber(rt, "bob@example.net", name="Bob")
        es = add_subscriber(rt, "carla@example.es", language="es", name="Carla")
        fr = add_subscriber(rt, "didier@example.fr", language="fr")
        add_subscriber(rt, "dig@example.net", mode=DeliveryMode.DIGEST)
        add_subscriber(rt, "ann@example.net", mode=DeliveryMode.ANNOUNCEMENTS)
        add_subscriber(rt, "left@example.net", status=SubscriptionStatus.UNSUBSCRIBED)
        add_subscriber(rt, "bounced@example.net", status=SubscriptionStatus.DISABLED)
        parent = _post(rt, 3, message_id="<parent.1@mail.example.net>")
        post = _post(rt, 3, parent_id=parent, message_id="<child.2@mail.example.net>")
        with rt.sessions.begin() as s:
            assert publish_post(s, rt, post, rt.clock()) == 3
        with rt.sessions.begin() as s:
            assert publish_post(s, rt, post, rt.clock()) == 0  # dedupe keys
        copies = {r.recipient: r for r in rows(rt)}
        assert set(copies) == {
            "bob@example.net",
            "carla@example.es",
            "didier@example.fr",
        }
        assert copies["carla@example.es"].dedupe_key == f"post:{post}:{es}"
        assert copies["bob@example.net"].subscription_id == en
        assert copies["didier@example.fr"].subscription_id == fr

        msg = _parse(copies["carla@example.es"].whole())
        sender = msg["From"].addresses[0]
        assert sender.addr_spec == f"skills-covid19@{DOMAIN}"
        assert sender.display_name == "Ana Ruiz vía E-debate sobre competencias"
        assert "ana@example.net" not in str(msg["From"])  # DMARC: never the author
        reply_to = msg["Reply-To"].addresses[0].addr_spec
        token = reply_to.split("+r-", 1)[1].split("@")[0]
        assert verify_token(rt.key, SignedFor.REPLY, token) == str(post)
        assert msg["Message-ID"] == "<child.2@mail.example.net>"
        assert msg["In-Reply-To"] == "<parent.1@mail.example.net>"
        root = question_message_id(DOMAIN, "skills-covid19", 3)
        assert msg["References"].split() == [root, "<parent.1@mail.example.net>"]
        assert (
            str(msg["Subject"]) == "[skills-covid19] P3: Apprenticeships in our region"
        )
        assert msg["List-Id"].endswith("<skills-covid19.discuss.example.org>")
        assert msg["List-Post"] == f"<mailto:skills-covid19+q3@{DOMAIN}>"
        assert (
            msg["List-Help"] == f"<mailto:skills-covid19-request@{DOMAIN}?subject=help>"
        )
        assert msg["List-Archive"] == "<http://127.0.0.1:8080/d/skills-covid19>"
        # RFC 5064: the copy's own page in the archive, the post's canonical URL.
        assert (
            msg["Archived-At"]
            == f"<http://127.0.0.1:8080/d/skills-covid19/posts/{post}>"
        )
        unsub = str(msg["List-Unsubscribe"])
        assert f"<mailto:skills-covid19-request@{DOMAIN}?subject=unsubscribe>" in unsub
        url = unsub.split("<", 1)[1].split(">", 1)[0]
        assert url.startswith("http://127.0.0.1:8080/unsubscribe/")
        link = read_subscription_token(
            rt.key, SignedFor.UNSUBSCRIBE, url.rsplit("/", 1)[1]
        )
        assert link.subscription_id == es
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["Precedence"] == "list"
        assert (
            msg["Auto-Submitted"] is None
        )  # a person's words, not an automatic answer
        assert msg["X-Loop"] == f"skills-covid19@{DOMAIN}"
        assert msg["Content-Language"] == "es"
        assert msg["Date"] is not None
        assert msg.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in msg.iter_parts()]
        assert parts == ["text/plain", "text/html"]
        text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
        assert text.startswith("Most workplace training stopped in March.")
        assert "Pregunta 3:" in text and "/d/skills-covid19/posts/" in text
        assert "\n--\nAna Ruiz\n" in text
        assert url in text

        fr_msg = _parse(copies["didier@example.fr"].whole())
        assert str(fr_msg["Subject"]).startswith("[skills-covid19] Q3 : ")
        assert "Se désabonner" in fr_msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        en_msg = _parse(copies["bob@example.net"].whole())
        assert en_msg["To"].addresses[0].display_name == "Bob"
        assert str(en_msg["Subject"]).startswith("[skills-covid19] Q3: ")
        for row in copies.values():
            assert b"\n" not in row.whole().replace(b"\r\n", b"")
            assert max(len(line) for line in row.whole().split(b"\r\n")) <= 998
    finally:
        rt.close()


def test_hostile_names_and_subjects_cannot_inject(
    db_url: str, make_settings: SettingsFactory
) -> None:
    rt = make_runtime(make_settings, db_url)
    try:
        add_subscriber(rt, "bob@example.net", name="Bob\r\nBcc: spy@evil.example")
        post = _post(
            rt,
            1,
            author_name="Zoë Ñúñez\r\nBcc: victim@evil.example\u202e <x@evil.example>",
            subject="Re: [skills-covid19] Q1: Hi\r\nCc: other@evil.example "
            + "ü" * 400,
            message_id="<m1@mail.example.net>\r\nBcc: x@evil.example",
        )
        unapproved = _post(rt, 1, status=PostStatus.HELD, message_id="<m2@x.net>")
        with rt.sessions.begin() as s:
            assert publish_post(s, rt, unapproved, rt.clock()) == 0
            assert publish_post(s, rt, post, rt.clock()) == 1
        (row,) = rows(rt)
        assert row.whole().isascii()  # names and subject as RFC 2047 encoded words
        assert b"\n" not in row.whole().replace(b"\r\n", b"")
        assert max(len(line) for line in row.whole().split(b"\r\n")) <= 998
        msg = _parse(row.whole())
        for header in ("Bcc", "Cc"):
            assert msg[header] is None
        assert [a.addr_spec for a in msg["To"].addresses] == ["bob@example.net"]
        assert [a.addr_spec for a in msg["From"].addresses] == [
            f"skills-covid19@{DOMAIN}"
        ]
        name = msg["From"].addresses[0].display_name
        assert name.startswith("Zoë Ñúñez Bcc") and "\u202e" not in name
        assert "@" not in name
        subject = str(msg["Subject"])
        assert subject.startswith("[skills-covid19] Q1: Re: Hi Cc: other@evil.example")
        assert msg["Message-ID"] == "<m1@mail.example.net>"
    finally:
        rt.close()


def test_subject_and_from_helpers() -> None:
    assert clean_subject("RE: Aw: [Skills-Covid19] Q2: Tools", "skills-covid19") == (
        "Re: Tools"
    )
    assert clean_subject("  Many\n  spaces ", "x") == "Many spaces"
    assert from_name("", "Debate", "fr") == "Un participant via Debate"
    assert from_name("Ana", "Debate", "es") == "Ana vía Debate"
