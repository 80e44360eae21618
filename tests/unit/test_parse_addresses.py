"""The plain-address shortcut gives exactly what the modern header parser gives."""

from __future__ import annotations

import random
from email import policy

import pytest

from mailer.core.parse import simple_address


def _modern(value: str) -> list[tuple[str, str]]:
    header = policy.default.header_factory("From", value)
    return [(a.display_name, a.addr_spec) for a in header.addresses]


@pytest.mark.parametrize(
    "value",
    [
        "Person 1 <person1@example.net>",
        "  Ana   Ruiz\t<ana.ruiz@Example.ORG>  ",
        "O'Neil-Smith <o+tag@mail.example.co.uk>",
        "<a@x.org>",
        "a@x.org",
        " bob_1@x-y.example ",
        "1 <a@b>",
    ],
)
def test_plain_addresses_take_the_shortcut(value: str) -> None:
    found = simple_address(value)
    assert found is not None
    assert [found] == _modern(value)


@pytest.mark.parametrize(
    "value",
    [
        "a@b.c, d@e.f",
        '"Ruiz, Ana" <a@x.org>',
        "=?utf-8?q?Ana?= <a@x.org>",
        "J. Smith <j@x.org>",
        "a..b@x.org",
        ".a@x.org",
        "a@x..org",
        "a@-x.org",
        "Ana (work) <a@x.org>",
        "Ana <a@x.org> (work)",
        "Ana <a@x.org",
        "",
    ],
)
def test_anything_else_goes_to_the_modern_parser(value: str) -> None:
    assert simple_address(value) is None


def test_random_values_agree_with_the_modern_parser() -> None:
    rng = random.Random(2026)
    pieces = ["a", "Z", "9", "'", "-", " ", "\t", ".", "@", "<", ">", "_", "+", "x.y"]
    pieces += ['"', ",", "(", ")", "=?", "?=", "é", "!", "#", "~", "{", "}"]
    plain = ["a", "Z", "9", "'", "-", " ", "\t", "Ana", "x.y", "@", "+"]
    checked = 0
    for _ in range(20000):
        alphabet = plain if rng.random() < 0.5 else pieces
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
        if rng.random() < 0.5:
            value = f"{value} <{rng.choice(['a', 'b.c', 'x+y'])}@{rng.choice(['d', 'e.f'])}>"
        found = simple_address(value)
        if found is None:
            continue
        checked += 1
        assert [found] == _modern(value), value
    assert checked > 1000


def test_a_header_of_countless_quotes_is_read_quickly() -> None:
    # The modern parser is quadratic in quote marks (1.2 s for 8,000 of them),
    # backslashes, dots and commas (0.4 s): past what an honest header holds,
    # the simple reading takes over.
    import time

    from mailer.core.parse import parse_message

    # 90 quoted names go to the modern parser, 150 (300 quote marks) past it.
    few, many = (
        ", ".join(f'"Becker, Jonas {i}" <j{i}@example.org>' for i in range(n))
        for n in (90, 150)
    )
    hostile = [
        '"' * 8000,
        '"a' * 4000,
        "\\" * 8000,
        "x" + "." * 8000 + "@y",
        "," * 8000,
    ]
    for to in [*hostile, few, many]:
        raw = (
            f"From: Ana <ana@example.net>\r\nTo: {to}\r\nSubject: s\r\n"
            "Message-ID: <q@example.net>\r\n\r\nbody\r\n"
        ).encode()
        started = time.perf_counter()
        parsed = parse_message(raw)
        assert time.perf_counter() - started < 0.5
        assert parsed.from_address == "ana@example.net"
        if to in (few, many):
            assert parsed.to[:2] == ("j0@example.org", "j1@example.org")
            assert len(parsed.to) == to.count("<")
