"""Routing decisions: many small cases over plain values."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mailer.core.addresses import AddressKind, Recipient
from mailer.core.choices import Moderation, OversizeAttachments, UnknownSenders
from mailer.core.message import MessageClass, ParsedAttachment, ParsedMessage
from mailer.core.route import (
    AUTO_REPLY_HOLD,
    Action,
    Decision,
    Facts,
    NoticeKind,
    Policy,
    PostPlan,
    QuestionState,
    Role,
    SenderStanding,
    TokenState,
    auto_reply_by_words,
    is_automatic,
    robot_by_headers,
    route_message,
)
from mailer.core.threads import KnownPost

SLUG, DOMAIN = "skills-covid19", "discuss.example.org"
ROOT3 = f"<q3.{SLUG}@{DOMAIN}>"
P1 = KnownPost(1, 3, "<p1@example.net>")
P5 = KnownPost(5, 5, "<p5@example.net>")
QUESTIONS = {
    1: QuestionState.RELEASED,
    3: QuestionState.RELEASED,
    5: QuestionState.RELEASED,
    7: QuestionState.NOT_RELEASED,
}
REGULAR = SenderStanding(Role.SUBSCRIBER, approved_posts=2, language="es")


def msg(**changes: Any) -> ParsedMessage:
    base = ParsedMessage(
        message_id="<new@example.net>",
        in_reply_to=(),
        references=(),
        from_address="ana@example.net",
        from_name="Ana",
        reply_to="",
        sender="",
        to=(),
        cc=(),
        subject="Apprenticeships",
        date=None,
        text="Most workplace training stopped.",
        html=None,
        new_text="Most workplace training stopped.",
        language="en",
        attachments=(),
        headers=(),
        defects=(),
        message_class=MessageClass.NORMAL,
        bounce=None,
    )
    return dataclasses.replace(base, **changes)


def facts(**changes: Any) -> Facts:
    base = Facts(
        slug=SLUG,
        domain=DOMAIN,
        standing=REGULAR,
        envelope_from="ana@example.net",
        policy=Policy(languages=("en", "es", "fr")),
        questions=QUESTIONS,
        known_posts={P1.message_id: P1, P5.message_id: P5},
    )
    return dataclasses.replace(base, **changes)


def to_q(n: int) -> Recipient:
    return Recipient(AddressKind.QUESTION, SLUG, str(n))


BARE = Recipient(AddressKind.DISCUSSION, SLUG)
REPLY = Recipient(AddressKind.REPLY, SLUG, "1.abcdef")


def test_question_address_becomes_an_approved_post() -> None:
    d = route_message(to_q(3), msg(), facts())
    assert d.action is Action.POST and d.post is not None
    assert (d.post.question_number, d.post.parent_id, d.post.approved) == (
        3,
        None,
        True,
    )


def test_reply_to_a_copy_threads_under_the_post() -> None:
    d = route_message(to_q(3), msg(in_reply_to=("<p1@example.net>",)), facts())
    assert d.post is not None and d.post.parent_id == 1 and d.post.question_number == 3


def test_reply_to_a_post_of_another_question_goes_to_that_question() -> None:
    d = route_message(to_q(3), msg(in_reply_to=("<p5@example.net>",)), facts())
    assert d.post is not None and (d.post.question_number, d.post.parent_id) == (5, 5)


def test_question_root_reference_does_not_override_the_question_address() -> None:
    d = route_message(to_q(1), msg(references=(ROOT3,)), facts())
    assert d.post is not None and d.post.question_number == 1


def test_bare_address_threads_by_announcement_reference() -> None:
    d = route_message(BARE, msg(references=(ROOT3,)), facts())
    assert d.post is not None and (d.post.question_number, d.post.parent_id) == (
        3,
        None,
    )


def test_bare_address_threads_by_in_reply_to() -> None:
    d = route_message(BARE, msg(in_reply_to=("<p5@example.net>",)), facts())
    assert d.post is not None and d.post.parent_id == 5


def test_bare_address_without_thread_asks_for_a_question_address() -> None:
    d = route_message(BARE, msg(subject="Re: question 3"), facts())
    assert d.action is Action.NOTICE
    assert d.notice is NoticeKind.USE_QUESTION_ADDRESS
    assert d.notice_to == "ana@example.net" and d.language == "es"


def test_valid_reply_token_threads_under_its_post() -> None:
    d = route_message(REPLY, msg(), facts(token_state=TokenState.VALID, token_post=P5))
    assert d.post is not None and (d.post.question_number, d.post.parent_id) == (5, 5)


def test_forged_reply_token_is_refused_with_a_notice_even_with_headers() -> None:
    d = route_message(
        REPLY,
        msg(in_reply_to=("<p1@example.net>",)),
        facts(token_state=TokenState.FORGED),
    )
    assert d.action is Action.NOTICE and d.notice is NoticeKind.BAD_REPLY_ADDRESS
    assert d.audit


def test_reply_token_for_a_vanished_post_falls_back_to_headers() -> None:
    d = route_message(
        REPLY,
        msg(in_reply_to=("<p1@example.net>",)),
        facts(token_state=TokenState.UNKNOWN_POST),
    )
    assert d.post is not None and d.post.parent_id == 1
    d = route_message(REPLY, msg(), facts(token_state=TokenState.UNKNOWN_POST))
    assert d.notice is NoticeKind.BAD_REPLY_ADDRESS


def test_not_released_question_gets_a_notice() -> None:
    d = route_message(to_q(7), msg(), facts())
    assert d.action is Action.NOTICE and d.notice is NoticeKind.NOT_RELEASED
    assert d.question_number == 7


def test_question_address_that_does_not_exist_is_dropped_without_a_notice() -> None:
    # Only IMAP brings it here (SMTP refuses it at RCPT): no backscatter either.
    d = route_message(to_q(42), msg(), facts())
    assert d.action is Action.DROP and d.notice is None
    assert d.reason == "no question 42: an address that does not exist gets no answer"


def test_reply_to_a_known_post_at_an_unknown_question_address_threads() -> None:
    d = route_message(to_q(42), msg(in_reply_to=("<p5@example.net>",)), facts())
    assert d.post is not None and d.post.parent_id == 5


def test_closed_discussion_gets_a_notice() -> None:
    d = route_message(to_q(3), msg(), facts(discussion_closed=True))
    assert d.notice is NoticeKind.CLOSED


@pytest.mark.parametrize(
    "cls", [MessageClass.AUTO_REPLY, MessageClass.BOUNCE, MessageClass.LOOP]
)
def test_automatic_mail_is_dropped_never_answered(cls: MessageClass) -> None:
    robot = msg(message_class=cls, headers=(("Auto-Submitted", "auto-replied"),))
    for f in (facts(), facts(discussion_closed=True)):
        for rcpt in (to_q(3), to_q(7), BARE):
            d = route_message(rcpt, robot, f)
            assert d.action is Action.DROP and d.notice is None


ABSENCE = "I am on leave until 14 December. For anything urgent, write to Luis."


def by_words(**changes: Any) -> ParsedMessage:
    """An auto-reply that only its text calls one (no robot header)."""
    return msg(message_class=MessageClass.AUTO_REPLY, new_text=ABSENCE, **changes)


def test_an_auto_reply_known_only_by_its_words_is_held_with_the_reason() -> None:
    d = route_message(to_q(3), by_words(), facts())
    assert d.action is Action.POST and d.post is not None
    assert not d.post.approved
    assert d.post.hold_reasons == (AUTO_REPLY_HOLD,)
    assert d.notice is None
    assert auto_reply_by_words(by_words(), "ana@example.net", DOMAIN)


@pytest.mark.parametrize(
    ("headers", "envelope"),
    [
        ((("Auto-Submitted", "auto-replied"),), "ana@example.net"),
        ((("X-Autoreply", "yes"),), "ana@example.net"),
        ((("Precedence", "auto_reply"),), "ana@example.net"),
        ((("Precedence", "bulk"),), "ana@example.net"),
        ((("X-Auto-Response-Suppress", "All"),), "ana@example.net"),
        ((("Return-Path", "<>"),), "ana@example.net"),
        ((), ""),
        ((), "MAILER-DAEMON@mx.example.net"),
        ((), "no-reply@example.net"),
        ((("List-Id", "<staff.lists.example.net>"),), "ana@example.net"),
        (
            (
                (
                    "Content-Type",
                    'multipart/report; report-type="disposition-notification"',
                ),
            ),
            "ana@example.net",
        ),
    ],
)
def test_an_auto_reply_a_header_names_is_dropped_never_held(
    headers: tuple[tuple[str, str], ...], envelope: str
) -> None:
    parsed = by_words(headers=headers)
    assert robot_by_headers(parsed, envelope, DOMAIN)
    d = route_message(to_q(3), parsed, facts(envelope_from=envelope))
    assert d.action is Action.DROP and d.post is None and d.notice is None


@pytest.mark.parametrize(
    "subject",
    ["Automatic reply: Q3", "Out of Office: Re: Q3", "Abwesenheitsnotiz: Q3"],
)
def test_a_responder_s_subject_is_certain(subject: str) -> None:
    # Exchange, Outlook and their kin title their answers so; a person's
    # contribution does not begin that way.
    parsed = by_words(subject=subject)
    assert robot_by_headers(parsed, "ana@example.net", DOMAIN)
    d = route_message(to_q(3), parsed, facts())
    assert d.action is Action.DROP and d.post is None


def test_a_mailer_daemon_from_is_certain_whatever_the_envelope() -> None:
    parsed = by_words(from_address="MAILER-DAEMON@mx.example.net")
    assert robot_by_headers(parsed, "ana@example.net", DOMAIN)


@pytest.mark.parametrize("cls", [MessageClass.BOUNCE, MessageClass.LOOP])
def test_bounces_and_loops_are_certain_without_a_header(cls: MessageClass) -> None:
    parsed = msg(message_class=cls)
    assert robot_by_headers(parsed, "ana@example.net", DOMAIN)
    assert route_message(to_q(3), parsed, facts()).action is Action.DROP


def test_a_person_s_mail_is_not_an_auto_reply_by_words() -> None:
    assert not auto_reply_by_words(msg(), "ana@example.net", DOMAIN)
    assert route_message(to_q(3), msg(), facts()).post is not None


def test_an_auto_reply_by_words_is_held_once_a_day_per_question() -> None:
    held_for_3 = facts(auto_replies_held=frozenset({3}))
    d = route_message(to_q(3), by_words(), held_for_3)
    assert d.action is Action.DROP and "already held" in d.reason
    other = route_message(to_q(1), by_words(), held_for_3)
    assert other.post is not None and AUTO_REPLY_HOLD in other.post.hold_reasons
    # A person's own mail to the same question is never limited by it.
    assert route_message(to_q(3), msg(), held_for_3).post is not None


def test_an_auto_reply_by_words_is_never_answered() -> None:
    for rcpt, f in (
        (to_q(7), facts()),  # not released
        (to_q(3), facts(discussion_closed=True)),
        (BARE, facts()),  # no question address
        (
            to_q(3),
            facts(
                standing=SenderStanding(Role.UNKNOWN),
                policy=Policy(unknown_senders=UnknownSenders.REJECT),
            ),
        ),
    ):
        d = route_message(rcpt, by_words(), f)
        assert d.action is Action.DROP and d.notice is None, d


def test_a_banned_sender_s_auto_reply_is_not_held() -> None:
    d = route_message(to_q(3), by_words(), facts(standing=SenderStanding(Role.BANNED)))
    assert d.action is Action.DROP and d.post is None


def test_other_hold_reasons_follow_the_auto_reply_one() -> None:
    d = route_message(to_q(3), by_words(), facts(standing=SenderStanding(Role.UNKNOWN)))
    assert d.post is not None
    assert d.post.hold_reasons[0] == AUTO_REPLY_HOLD
    assert "unknown sender" in d.post.hold_reasons


@pytest.mark.parametrize(
    "sender", ["", "<>", "MAILER-DAEMON@mx.example.net", "postmaster@example.net"]
)
def test_null_or_daemon_sender_never_gets_a_notice(sender: str) -> None:
    d = route_message(to_q(7), msg(), facts(envelope_from=sender))
    assert d.action is Action.DROP


def test_no_notice_to_our_own_domain() -> None:
    d = route_message(to_q(7), msg(), facts(envelope_from=f"someone@{DOMAIN.upper()}"))
    assert d.action is Action.DROP and "cannot be answered" in d.reason


def test_banned_sender_dropped_with_audit_before_any_notice() -> None:
    banned = SenderStanding(Role.BANNED)
    for f in (facts(standing=banned), facts(standing=banned, discussion_closed=True)):
        d = route_message(to_q(3), msg(), f)
        assert d.action is Action.DROP and d.audit and "banned" in d.reason


def test_already_posted_message_is_dropped() -> None:
    d = route_message(to_q(3), msg(message_id="<p1@example.net>"), facts())
    assert d.action is Action.DROP and "already posted as post 1" in d.reason


@pytest.mark.parametrize(
    ("policy", "standing", "expected"),
    [
        ("none", SenderStanding(Role.SUBSCRIBER), ()),
        ("first-post", SenderStanding(Role.SUBSCRIBER), ("first post",)),
        ("first-post", SenderStanding(Role.SUBSCRIBER, approved_posts=1), ()),
        ("first-post", SenderStanding(Role.MODERATOR), ()),
        ("all", SenderStanding(Role.SUBSCRIBER, 3), ("every post is moderated",)),
    ],
)
def test_moderation_policy(
    policy: str, standing: SenderStanding, expected: tuple[str, ...]
) -> None:
    f = facts(standing=standing, policy=Policy(moderation=Moderation(policy)))
    d = route_message(to_q(3), msg(), f)
    assert d.post is not None and d.post.hold_reasons == expected
    assert d.post.approved == (not expected)


def test_unknown_sender_policies() -> None:
    unknown = SenderStanding(Role.UNKNOWN)
    d = route_message(
        to_q(3),
        msg(),
        facts(standing=unknown, policy=Policy(unknown_senders=UnknownSenders.REJECT)),
    )
    assert d.notice is NoticeKind.UNKNOWN_SENDER and d.language == "en"
    d = route_message(
        to_q(3),
        msg(),
        facts(standing=unknown, policy=Policy(unknown_senders=UnknownSenders.HOLD)),
    )
    assert d.post is not None and "unknown sender" in d.post.hold_reasons
    d = route_message(
        to_q(3),
        msg(),
        facts(
            standing=SenderStanding(Role.UNKNOWN, approved_posts=1),
            policy=Policy(unknown_senders=UnknownSenders.ACCEPT),
        ),
    )
    assert d.post is not None and d.post.approved


def test_limits_hold_a_post() -> None:
    links = " ".join(f"https://example.com/{i}" for i in range(3))
    f = facts(policy=Policy(max_links=2, max_post_chars=50, max_posts_per_hour=2))
    d = route_message(to_q(3), msg(new_text=links), f)
    assert d.post is not None and d.post.hold_reasons == (
        "too many links (3 > 2)",
        "too long (65 > 50 characters)",
    )
    busy = SenderStanding(Role.SUBSCRIBER, approved_posts=4, posts_last_hour=2)
    d = route_message(to_q(3), msg(), dataclasses.replace(f, standing=busy))
    assert d.post is not None and d.post.hold_reasons == (
        "posting rate (3 in an hour, limit 2)",
    )


def test_suspicious_and_empty_messages_are_held() -> None:
    d = route_message(
        to_q(3), msg(suspicious=True, limit_reasons=("two From headers",)), facts()
    )
    assert d.post is not None
    assert d.post.hold_reasons == ("message not trusted: two From headers",)
    d = route_message(to_q(3), msg(new_text="  \n"), facts())
    assert d.post is not None and d.post.hold_reasons == ("no new text",)


def test_an_encrypted_message_is_held_saying_so() -> None:
    """Not "no new text": the moderator should know there may be words inside."""
    d = route_message(to_q(3), msg(new_text="", encrypted=True), facts())
    assert d.post is not None
    assert d.post.hold_reasons == ("encrypted: its text cannot be read here",)


def test_oversize_attachment_policy() -> None:
    big = ParsedAttachment("report.pdf", "application/pdf", 9_000_000, b"", kept=False)
    small = ParsedAttachment("a.png", "image/png", 10, b"0123456789", kept=True)
    m = msg(attachments=(big, small))
    d = route_message(to_q(3), m, facts())
    assert d.post is not None and d.post.approved
    assert d.post.dropped_attachments == ("report.pdf",)
    d = route_message(
        to_q(3), m, facts(policy=Policy(oversize_attachments=OversizeAttachments.HOLD))
    )
    assert d.post is not None and not d.post.approved
    assert d.post.hold_reasons == ("attachment over the size limit: report.pdf",)


@pytest.mark.parametrize(
    "kind", [AddressKind.REQUEST, AddressKind.MODERATORS, AddressKind.CONFIRM]
)
def test_answering_addresses_are_handed_over_but_never_automatic_mail(
    kind: AddressKind,
) -> None:
    rcpt = Recipient(kind, SLUG, "tok" if kind is AddressKind.CONFIRM else "")
    d = route_message(rcpt, msg(), facts())
    assert d.action is Action.HANDOFF and d.handler is kind
    for cls in (MessageClass.AUTO_REPLY, MessageClass.BOUNCE, MessageClass.LOOP):
        assert route_message(rcpt, msg(message_class=cls), facts()).action is (
            Action.DROP
        )
    assert route_message(rcpt, msg(), facts(envelope_from="")).action is Action.DROP


def test_bounces_and_postmaster_are_always_handed_over() -> None:
    for kind in (AddressKind.BOUNCES, AddressKind.POSTMASTER):
        rcpt = Recipient(kind, SLUG if kind is AddressKind.BOUNCES else "", "t")
        d = route_message(
            rcpt, msg(message_class=MessageClass.BOUNCE), facts(envelope_from="")
        )
        assert d.action is Action.HANDOFF and d.handler is kind


def test_is_automatic() -> None:
    assert not is_automatic(msg(), "ana@example.net")
    assert is_automatic(msg(), "")
    assert is_automatic(msg(message_class=MessageClass.AUTO_REPLY), "ana@example.net")


def test_decision_values_check_themselves() -> None:
    with pytest.raises(ValueError):
        Decision(Action.POST, "x")
    with pytest.raises(ValueError):
        Decision(Action.NOTICE, "x", notice=NoticeKind.CLOSED)
    with pytest.raises(ValueError):
        PostPlan(3, None, approved=True, hold_reasons=("first post",))
    with pytest.raises(ValueError):
        Policy(moderation="sometimes")  # type: ignore[arg-type]
