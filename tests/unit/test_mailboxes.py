"""Addresses come from the header's structure; a decoded display name is only a name.

Each case is a way of making a header read as someone else's address: encoded
words, quoted strings and comments that hold an address, text around an angle
address, nested angles, groups, source routes, characters that fold to ASCII.
"""

from __future__ import annotations

import time

import pytest

from mailer.core.mailboxes import read_mailboxes
from mailer.core.parse import parse_message

MODERATOR = "aggarwal@ilo.example.org"
EVIL = "x@evil.test"


def _from(value: str, *extra: str) -> bytes:
    lines = [
        f"From: {value}",
        "To: skills-covid19+q1@discuss.example.org",
        "Subject: s",
        "Message-ID: <m1@evil.test>",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\nHello.\r\n").encode("utf-8")


# (From value, the address it holds or "" when it holds none that can be read)
CASES = {
    "encoded address as the display name": (
        "=?utf-8?q?aggarwal=40ilo.example.org?= <x@evil.test>",
        EVIL,
    ),
    "encoded address, base64": (
        "=?utf-8?b?YWdnYXJ3YWxAaWxvLmV4YW1wbGUub3Jn?= <x@evil.test>",
        EVIL,
    ),
    "encoded angle address as the display name": (
        "=?utf-8?q?Ashwani_=3Caggarwal=40ilo.example.org=3E?= <x@evil.test>",
        EVIL,
    ),
    "encoded word in a quoted display name": (
        '"=?utf-8?q?aggarwal=40ilo.example.org?=" <x@evil.test>',
        EVIL,
    ),
    "encoded word before a bare address": (
        "=?utf-8?q?aggarwal=40ilo.example.org?= x@evil.test",
        "",
    ),
    "encoded word as the local part": (
        "=?utf-8?q?aggarwal=40ilo.example.org?=@evil.test",
        "=?utf-8?q?aggarwal=40ilo.example.org?=@evil.test",
    ),
    "encoded word alone": ("=?utf-8?q?aggarwal=40ilo.example.org?=", ""),
    "address in a quoted display name": (f'"{MODERATOR}" <{EVIL}>', EVIL),
    "quoted display name, the other way round": (f'"{EVIL}" <{MODERATOR}>', MODERATOR),
    "address as an unquoted display name": (f"{MODERATOR} <{EVIL}>", EVIL),
    "address in a trailing comment": (f"{EVIL} ({MODERATOR})", EVIL),
    "address in a leading comment": (f"({MODERATOR}) {EVIL}", EVIL),
    "comment inside the angle address": (f"Ana <(x) {EVIL} (y)>", EVIL),
    "nested comments": (f"(a ({MODERATOR}) b) {EVIL}", EVIL),
    "text after the angle address": (f"<{MODERATOR}>@evil.test", ""),
    "angle inside angle": (f"<{EVIL} <{MODERATOR}>>", ""),
    "doubled angles": (f"<<{MODERATOR}>> <{EVIL}>", ""),
    "two bare addresses side by side": (f"{MODERATOR} {EVIL}", ""),
    "obsolete source route": (f"<@relay.example:{EVIL}>", EVIL),
    "source route of two hops": (f"Eve <@a.example,@b.example:{EVIL}>", EVIL),
    "quoted local part holding an address": (f'<"{MODERATOR}"@evil.test>', ""),
    "group of one": (f"friends: {EVIL};", EVIL),
    "empty group": ("undisclosed-recipients:;", ""),
    "NUL and CR LF in an encoded display name": (
        f"=?utf-8?q?a=00b=0D=0AFrom:_{MODERATOR.replace('@', '=40')}?= <{EVIL}>",
        EVIL,
    ),
    "UTF-8 local part and IDN domain (RFC 6532)": (
        "José <josé@bücher.example>",
        "josé@bücher.example",
    ),
    "IDN domain in A-labels, upper case": (
        "J <J@XN--BCHER-KVA.EXAMPLE>",
        "J@xn--bcher-kva.example",
    ),
    "fullwidth domain stays what it is": (
        "<aggarwal@ｉｌｏ.example.org>",
        "aggarwal@ｉｌｏ.example.org",
    ),
    "Kelvin sign that lower-cases to k": ("<\u212airk@ilo.example.org>", ""),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_from_is_read_from_the_structure(name: str) -> None:
    value, expected = CASES[name]
    parsed = parse_message(_from(value))
    assert parsed.from_address == expected, (value, parsed.from_address)
    assert parsed.from_address.lower() != MODERATOR or expected == MODERATOR
    assert "@" not in parsed.from_name and "<" not in parsed.from_name
    if not expected:
        assert "unreadable From address" in parsed.defects


@pytest.mark.parametrize("header", ["Reply-To", "Sender", "To", "Cc"])
@pytest.mark.parametrize(
    "name",
    [
        "encoded address as the display name",
        "address in a quoted display name",
        "encoded word before a bare address",
        "text after the angle address",
        "address in a trailing comment",
    ],
)
def test_other_address_headers_read_the_same_way(header: str, name: str) -> None:
    value, expected = CASES[name]
    parsed = parse_message(_from("Ana <ana@example.net>", f"{header}: {value}"))
    got = {
        "Reply-To": [parsed.reply_to] if parsed.reply_to else [],
        "Sender": [parsed.sender] if parsed.sender else [],
        "To": [a for a in parsed.to if "discuss.example.org" not in a],
        "Cc": list(parsed.cc),
    }[header]
    assert got == ([expected] if expected else []), value
    assert parsed.from_address == "ana@example.net"


def test_two_addresses_in_from_make_the_message_suspicious() -> None:
    parsed = parse_message(_from(f"{MODERATOR}, {EVIL}"))
    assert parsed.suspicious
    assert "From holds 2 addresses" in parsed.suspicious_reasons


def test_a_group_in_from_with_two_members_is_suspicious() -> None:
    parsed = parse_message(_from(f"staff: {MODERATOR}, {EVIL};"))
    assert parsed.suspicious


def test_display_names_are_decoded_and_kept_as_names() -> None:
    boxes = read_mailboxes(
        '=?utf-8?q?Jos=C3=A9?= "de la" =?iso-8859-1?q?Pe=F1a?= <jose@example.org>,'
        " Bob (work) <bob@example.org>, plain@example.org"
    )
    assert [(b.display_name, b.address) for b in boxes] == [
        ("José de la Peña", "jose@example.org"),
        ("Bob", "bob@example.org"),
        ("", "plain@example.org"),
    ]


def test_unreadable_mailboxes_say_why() -> None:
    (box,) = read_mailboxes(f"<{EVIL} <{MODERATOR}>>")
    assert box.address == "" and "angle" in box.problem
    (box,) = read_mailboxes(f"{MODERATOR} {EVIL}")
    assert box.address == "" and "word" in box.problem


@pytest.mark.parametrize("piece", ['"', "(", "\\", "<", "a.", "=?", ",", "a@"])
def test_hostile_headers_are_read_in_linear_time(piece: str) -> None:
    # parse.py reads at most 8,192 characters of a header; twice that here.
    # The modern parser took over a second on 8,000 quote marks.
    started = time.perf_counter()
    read_mailboxes(piece * (16_384 // len(piece)) + " <x@evil.test>")
    assert time.perf_counter() - started < 1
