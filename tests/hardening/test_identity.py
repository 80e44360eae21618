"""Promise 5: identity is not a header.

Over raw SMTP to the running service with the shipped policies (first post
held, unknown senders held): nothing a stranger writes into From, Sender,
Reply-To, a display name or an Authentication-Results header makes them a
moderator, lets a post skip moderation, or runs a moderator command; and no
answer ever goes to the stranger's own address.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from store.models import Discussion, DiscussionState, PostStatus, Question
from tests.fixtures.service import (
    MODERATOR,
    SLUG,
    ServiceProcess,
    address,
    finish,
    message,
    prepare_service,
)

pytestmark = [pytest.mark.hardening, pytest.mark.xdist_group("hardening-identity")]

MALLORY = "mallory@evil.example"

# (From, extra headers): ways of claiming to be the moderator.
DISGUISES = {
    "forged From": (f"Ashwani Aggarwal <{MODERATOR}>", {}),
    "moderator in the display name": (f'"{MODERATOR}" <{MALLORY}>', {}),
    "encoded moderator name": (
        f"=?utf-8?q?Ashwani_Aggarwal_=3C{MODERATOR.replace('@', '=40')}=3E?= <{MALLORY}>",
        {},
    ),
    "Sender header": (f"<{MALLORY}>", {"Sender": MODERATOR}),
    "Reply-To header": (f"<{MALLORY}>", {"Reply-To": MODERATOR}),
    "stranger's Authentication-Results": (
        f"<{MODERATOR}>",
        {
            "Authentication-Results": (
                "mx.discuss.example.org; dkim=pass header.d=ilo.example.org "
                "header.i=@ilo.example.org; spf=pass smtp.mailfrom=ilo.example.org"
            )
        },
    ),
    "two addresses in From": (f"{MODERATOR}, {MALLORY}", {}),
    "encoded address as the display name": (
        f"=?utf-8?q?{MODERATOR.replace('@', '=40')}?= <{MALLORY}>",
        {},
    ),
    "encoded address before a bare address": (
        f"=?utf-8?q?{MODERATOR.replace('@', '=40')}?= {MALLORY}",
        {},
    ),
    "encoded address as the local part": (
        f"=?utf-8?q?{MODERATOR.replace('@', '=40')}?=@evil.example",
        {},
    ),
    "moderator as an unquoted display name": (f"{MODERATOR} <{MALLORY}>", {}),
    "moderator in a comment": (f"{MALLORY} ({MODERATOR})", {}),
    "moderator in a leading comment": (f"({MODERATOR}) {MALLORY}", {}),
    "text after the angle address": (f"<{MODERATOR}>@evil.example", {}),
    "angle address inside another": (f"<{MALLORY} <{MODERATOR}>>", {}),
    "moderator in a group": (f"staff: {MODERATOR}, {MALLORY};", {}),
    "source route": (f"<@ilo.example.org:{MALLORY}>", {}),
    "encoded CR LF adding a From": (
        f"=?utf-8?q?x=0D=0AFrom:_{MODERATOR.replace('@', '=40')}?= <{MALLORY}>",
        {},
    ),
    "encoded Sender and Reply-To": (
        f"<{MALLORY}>",
        {
            "Sender": f"=?utf-8?q?{MODERATOR.replace('@', '=40')}?= <{MALLORY}>",
            "Reply-To": f"=?utf-8?q?{MODERATOR.replace('@', '=40')}?= {MALLORY}",
        },
    ),
}
# What the archive must say wrote each disguised post ("": no readable address).
AUTHORS = {
    "forged From": MODERATOR,  # held: a From alone proves nothing (DKIM or a round trip)
    "moderator in the display name": MALLORY,
    "encoded moderator name": MALLORY,
    "Sender header": MALLORY,
    "Reply-To header": MALLORY,
    "stranger's Authentication-Results": MODERATOR,
    "two addresses in From": MODERATOR,  # held as suspicious
    "encoded address as the display name": MALLORY,
    "encoded address before a bare address": "",
    "encoded address as the local part": (
        f"=?utf-8?q?{MODERATOR.replace('@', '=40')}?=@evil.example"
    ),
    "moderator as an unquoted display name": MALLORY,
    "moderator in a comment": MALLORY,
    "moderator in a leading comment": MALLORY,
    "text after the angle address": "",
    "angle address inside another": "",
    "moderator in a group": MODERATOR,  # two addresses: held as suspicious
    "source route": MALLORY,
    "encoded CR LF adding a From": MALLORY,
    "encoded Sender and Reply-To": MALLORY,
}


def _with_from(raw: bytes, value: str) -> bytes:
    """*raw* with its From line written verbatim (a mail library would rewrite it)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = [
        b"From: " + value.encode() if line.startswith(b"From:") else line
        for line in head.split(b"\r\n")
    ]
    return b"\r\n".join(lines) + sep + body


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The shipped policies: first posts and unknown senders are held."""
    svc = prepare_service(
        tmp_path_factory.mktemp("identity"),
        moderation="first-post",
        unknown_senders="hold",
    )
    svc.start()
    yield svc
    finish([svc])


@pytest.mark.parametrize("name", sorted(DISGUISES))
def test_a_claimed_moderator_post_is_still_moderated(
    service: ServiceProcess, name: str
) -> None:
    sender, headers = DISGUISES[name]
    mid = f"<claim-{sorted(DISGUISES).index(name)}@evil.example>"
    raw = _with_from(message(message_id=mid, headers=headers), sender)
    service.accepted(raw, address("+q2"), mail_from=MALLORY)
    service.processed(mid)
    (post,) = service.posts(mid)
    assert post.status is PostStatus.HELD, (name, post.hold_reason)
    # The archive names the address the header holds, never one decoded
    # out of a display name or a comment.
    assert post.author_email == AUTHORS[name], (name, post.author_email)
    assert MODERATOR not in post.author_name and "@" not in post.author_name
    # Held: nobody got a copy, and the stranger got nothing either.
    assert not [r for r in service.outbox("post") if r.message_id == mid]
    assert MALLORY not in [r.recipient for r in service.outbox()]


@pytest.mark.parametrize("name", sorted(DISGUISES))
def test_a_claimed_moderator_command_changes_nothing(
    service: ServiceProcess, name: str
) -> None:
    sender, headers = DISGUISES[name]
    mid = f"<cmd-{sorted(DISGUISES).index(name)}@evil.example>"
    raw = message(
        message_id=mid,
        headers=headers,
        subject="release week 2",
        body="release week 2\nclose\nban ana@example.net\n",
        to=address("-moderators"),
    )
    service.accepted(_with_from(raw, sender), address("-moderators"), mail_from=MALLORY)
    service.processed(mid)

    def state(s: object) -> tuple[DiscussionState, int]:
        from sqlalchemy.orm import Session

        assert isinstance(s, Session)
        disc = s.scalars(select(Discussion).where(Discussion.slug == SLUG)).one()
        released = s.scalars(
            select(Question.number).where(
                Question.discussion_id == disc.id, Question.released_at.is_not(None)
            )
        ).all()
        return disc.state, len(released)

    assert service.query(state) == (DiscussionState.OPEN, 6)
    # At most a confirmation request, and only to the moderator's own address.
    for row in service.outbox():
        assert row.recipient.lower() != MALLORY
        if row.kind not in ("post", "notice"):
            assert row.recipient.lower() in (
                MODERATOR,
                "comyn@ilo.example.org",
                "moreno@ilo.example.org",
            ), (row.kind, row.recipient)


def test_an_encoded_word_in_mail_from_is_refused(service: ServiceProcess) -> None:
    # aiosmtpd would decode it into the envelope sender.
    encoded = f"=?utf-8?q?{MODERATOR.replace('@', '=40')}?=@evil.example"
    raw = message(message_id="<envelope-encoded@evil.example>")
    reply = service.send(raw, address("+q2"), mail_from=encoded)
    assert reply.code == 553, reply
    assert not service.inbound("<envelope-encoded@evil.example>")
