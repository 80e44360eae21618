from __future__ import annotations

import pytest

from mailer.core.addresses import (
    AddressBook,
    AddressKind,
    Mailboxes,
    accept_recipient,
    parse_recipient,
)
from mailer.core.errors import UnknownRecipient

DOMAIN = "discuss.example.org"
SLUGS = ["skills-covid19"]


@pytest.mark.parametrize(
    ("address", "kind", "detail"),
    [
        ("skills-covid19@discuss.example.org", AddressKind.DISCUSSION, ""),
        ("skills-covid19+q3@discuss.example.org", AddressKind.QUESTION, "3"),
        ("Skills-COVID19+Q11@Discuss.Example.ORG", AddressKind.QUESTION, "11"),
        (
            "skills-covid19+r-12.abcdef@discuss.example.org",
            AddressKind.REPLY,
            "12.abcdef",
        ),
        ("skills-covid19-request@discuss.example.org", AddressKind.REQUEST, ""),
        ("skills-covid19-moderators@discuss.example.org", AddressKind.MODERATORS, ""),
        (
            "skills-covid19-moderators+p-4.xyz@discuss.example.org",
            AddressKind.MODERATORS,
            "p-4.xyz",
        ),
        (
            "skills-covid19-bounces+o9.mac@discuss.example.org",
            AddressKind.BOUNCES,
            "o9.mac",
        ),
        ("skills-covid19-bounces@discuss.example.org", AddressKind.BOUNCES, ""),
        ("skills-covid19-confirm+abc@discuss.example.org", AddressKind.CONFIRM, "abc"),
        ("<skills-covid19+q1@discuss.example.org>", AddressKind.QUESTION, "1"),
        ("postmaster@discuss.example.org", AddressKind.POSTMASTER, ""),
        ("skills-covid19@discuss.example.org.", AddressKind.DISCUSSION, ""),
    ],
)
def test_own_addresses(address: str, kind: AddressKind, detail: str) -> None:
    r = parse_recipient(address, DOMAIN, SLUGS)
    assert (r.kind, r.detail) == (kind, detail)


@pytest.mark.parametrize(
    "address",
    [
        "anyone@gmail.com",
        "skills-covid19@gmail.com",
        "skills-covid19@discuss.example.org.evil.com",
        "anyone%gmail.com@discuss.example.org",
        "anyone!gmail.com@discuss.example.org",
        "gmail.com!anyone@discuss.example.org",
        "@discuss.example.org:anyone@gmail.com",
        '"anyone@gmail.com"@discuss.example.org',
        '"skills-covid19"@discuss.example.org',
        "skills-covid19@discuss.example.org@gmail.com",
        "other-list@discuss.example.org",
        "skills-covid19+q0@discuss.example.org",
        "skills-covid19+q1x@discuss.example.org",
        "skills-covid19+anything@discuss.example.org",
        "skills-covid19-request+x@discuss.example.org",
        "skills-covid19-confirm@discuss.example.org",
        "skills-covid19+r-@discuss.example.org",
        "=?utf-8?q?skills-covid19?=@discuss.example.org",
        "skills-covid19\r\n@discuss.example.org",
        "",
        "discuss.example.org",
    ],
)
def test_everything_else_is_refused(address: str) -> None:
    with pytest.raises(UnknownRecipient):
        parse_recipient(address, DOMAIN, SLUGS)


def test_address_book_round_trips() -> None:
    book = AddressBook("skills-covid19", DOMAIN)
    for address, kind in [
        (book.discussion(), AddressKind.DISCUSSION),
        (book.question(7), AddressKind.QUESTION),
        (book.reply("5.abc"), AddressKind.REPLY),
        (book.request(), AddressKind.REQUEST),
        (book.moderators(), AddressKind.MODERATORS),
        (book.bounces("o1.x"), AddressKind.BOUNCES),
        (book.confirm("tok"), AddressKind.CONFIRM),
    ]:
        assert parse_recipient(address, DOMAIN, SLUGS).kind is kind
    assert parse_recipient(book.question(7), DOMAIN, SLUGS).question_number == 7


MAILBOXES = Mailboxes.of(DOMAIN, [("skills-covid19", range(1, 12))])


@pytest.mark.parametrize(
    "address",
    [
        "skills-covid19+q1@discuss.example.org",
        "skills-covid19+q11@discuss.example.org",  # exists, whether released or not
        "Skills-Covid19+Q7@discuss.example.org",
        "skills-covid19@discuss.example.org",
        "skills-covid19+r-5.abc@discuss.example.org",  # the token is checked later
        "skills-covid19-request@discuss.example.org",
        "postmaster@discuss.example.org",
    ],
)
def test_existing_addresses_are_accepted(address: str) -> None:
    assert accept_recipient(address, MAILBOXES) == parse_recipient(
        address, DOMAIN, SLUGS
    )


@pytest.mark.parametrize(
    "address",
    [
        "skills-covid19+q12@discuss.example.org",
        "skills-covid19+q999@discuss.example.org",
        "skills-covid19+q9999@discuss.example.org",
        "other-list+q1@discuss.example.org",
        "anyone@gmail.com",
    ],
)
def test_a_question_no_discussion_has_does_not_exist(address: str) -> None:
    with pytest.raises(UnknownRecipient):
        accept_recipient(address, MAILBOXES)


def test_each_discussion_has_its_own_questions() -> None:
    boxes = Mailboxes.of(DOMAIN, [("first", [1, 2]), ("second", [3])])
    assert boxes.slugs == ("first", "second")
    assert accept_recipient(f"first+q2@{DOMAIN}", boxes).question_number == 2
    with pytest.raises(UnknownRecipient, match="no question 3"):
        accept_recipient(f"first+q3@{DOMAIN}", boxes)
    assert accept_recipient(f"second+q3@{DOMAIN}", boxes).slug == "second"
