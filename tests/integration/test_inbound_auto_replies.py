"""Auto-replies over SMTP: one known only by its words is held, a robot's is dropped."""

from __future__ import annotations

from collections import Counter
from email import message_from_bytes, policy

from mailer.core.route import AUTO_REPLY_HOLD
from store.models import PostStatus
from tests.fixtures.inbound import OPEN_POLICY, MailhostFactory, address, mail

ABSENCE = (
    "Hello,\n\n"
    "I am on leave until 14 December 2027. For anything urgent about the\n"
    "apprenticeship survey, please contact Luis Ortega.\n"
)

# The hold reason as the moderators read it, in English and Spanish.
REASONS = (
    AUTO_REPLY_HOLD,
    "parece una respuesta automática: revísela antes de publicarla",
)


def test_an_absence_in_words_is_held_once_and_a_robot_s_is_dropped(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)  # nothing else would hold it
    q3 = address("+q3")
    for n in (1, 2):  # the same absence, twice in a day, to the same question
        host.send(mail(to=q3, message_id=f"<away{n}@example.net>", body=ABSENCE), [q3])
    host.send(  # the same words, but a header says a program sent them
        mail(
            to=q3,
            message_id="<robot@example.org>",
            sender="Bruno Silva <bruno@example.org>",
            subject="Apprenticeships in our region",
            body=ABSENCE,
            headers={"Auto-Submitted": "auto-replied"},
        ),
        [q3],
    )
    host.send(  # another question: held again
        mail(to=address("+q1"), message_id="<away3@example.net>", body=ABSENCE),
        [address("+q1")],
    )
    assert host.process() == 4
    posts = sorted(host.posts(), key=lambda p: p.message_id)
    assert [p.message_id for p in posts] == [
        "<away1@example.net>",
        "<away3@example.net>",
    ]
    for post in posts:
        assert post.status is PostStatus.HELD
        assert post.hold_reason == AUTO_REPLY_HOLD
        assert "I am on leave until 14 December 2027" in post.body
    assert [host.question_number(p) for p in posts] == [3, 1]
    kinds = {r.message_id: r.kind for r in host.inbound()}
    assert kinds == {
        "<away1@example.net>": "held",
        "<away2@example.net>": "dropped",
        "<robot@example.org>": "dropped",
        "<away3@example.net>": "held",
    }
    # Nothing answers the senders; each moderator hears at once of the first
    # hold (the next ones wait for the held-post summary).
    out = host.outbox()
    assert {o.recipient for o in out}.isdisjoint(
        {"ana@example.net", "bruno@example.org"}
    )
    assert {o.kind for o in out} == {"mod-held"}
    per_moderator = Counter(o.recipient for o in out)
    assert per_moderator and set(per_moderator.values()) == {1}
    for o in out:  # the configuration's moderators read English and Spanish
        msg = message_from_bytes(o.raw, policy=policy.default)
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert REASONS[o.recipient.startswith("moreno@")] in text, text
