"""The plain SMTP path shortcut gives exactly what aiosmtpd's own reading gives."""

from __future__ import annotations

import random
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from mailer.inbound.smtp_paths import plain_path, sender_trick


class _Reader:
    local_part_limit = 0


def _aiosmtpd(arg: str) -> tuple[Any, Any]:
    return SMTP._getaddr(_Reader(), arg)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "arg",
    [
        "<ana@example.net>",
        " <ana.ruiz+tag@Example.ORG> SIZE=1234 BODY=8BITMIME",
        "<skills-covid19+q1@discuss.example.org>\tSMTPUTF8",
        "<a@b>  ",
        "<a@b.c>\r",
    ],
)
def test_plain_paths_take_the_shortcut(arg: str) -> None:
    found = plain_path(arg)
    assert found is not None
    assert found == _aiosmtpd(arg)


@pytest.mark.parametrize(
    "arg",
    [
        "<>",
        "ana@example.net",
        '<"ana ruiz"@example.net>',
        "<@relay.example:ana@example.net>",
        "<ana@example.net> (comment) SIZE=1",
        "<a..b@example.net>",
        "<=?utf-8?q?ana?=@example.net>",
        "< ana@example.net >",
        "<ana@[127.0.0.1]>",
        "<ana@example.net",
    ],
)
def test_anything_else_is_read_by_aiosmtpd(arg: str) -> None:
    assert plain_path(arg) is None


def test_random_paths_agree_with_aiosmtpd() -> None:
    rng = random.Random(5321)
    pieces = ["a", "Z", "9", ".", "-", "+", "=", "?", "_", "!", "#", "@", "<", ">"]
    pieces += [" ", "\t", '"', "(", ")", ":", ",", "[", "]", "\\", "é", "x.y", "=?"]
    plain = ["a", "Z", "9", ".", "-", "+", "_", "x.y"]
    checked = 0
    for _ in range(20000):
        alphabet = plain if rng.random() < 0.4 else pieces
        local = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        domain = rng.choice(["b", "b.c", "ex-ample.org", "-x.y", "b..c", "[1.2.3.4]"])
        rest = rng.choice(["", " SIZE=1", "\tBODY=7BIT ", " (c) X=1", "x", '"'])
        arg = f"{rng.choice(['', ' ', chr(9)])}<{local}@{domain}>{rest}"
        found = plain_path(arg)
        if found is None:
            continue
        checked += 1
        assert found == _aiosmtpd(arg), arg
    assert checked > 1000


@pytest.mark.parametrize(
    ("arg", "why"),
    [
        ("FROM:<=?utf-8?q?aggarwal=40ilo.example.org?=@evil.test>", "encoded word"),
        ("FROM:<x@evil.test>\x00", "control character"),
    ],
)
def test_a_sender_aiosmtpd_would_decode_is_refused(arg: str, why: str) -> None:
    # aiosmtpd's reading decodes the encoded word: the sender would be made of it.
    if why == "encoded word":
        assert "aggarwal@ilo.example.org" in str(_aiosmtpd(arg[5:])[0])
    assert why in (sender_trick(arg) or "")


@pytest.mark.parametrize(
    "arg",
    [
        "FROM:<ana@example.net> SIZE=100",
        "FROM:<>",
        "FROM:<@relay.example:ana@example.net>",  # a source route is ignored
        'FROM:<"ana ruiz"@example.net>',
    ],
)
def test_ordinary_senders_pass(arg: str) -> None:
    assert sender_trick(arg) is None
