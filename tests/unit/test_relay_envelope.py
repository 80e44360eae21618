"""The relay's envelope addresses and DATA bytes are those smtplib would write."""

from __future__ import annotations

import re
import smtplib

import pytest

from mailer.outbound.relay import _data_bytes, _quoted

ADDRESSES = [
    "ana@example.net",
    "skills-covid19-bounces+AbC_12-x=y@discuss.example.org",
    "o'brien@example.ie",
    "a+b{c}|d~e@mail-1.example.org",
    "a.b@c",
    "a..b@c",
    ".a@c",
    "a.@c",
    "a@b..c",
    '"two words"@example.net',
    "Ana Ruiz <ana@example.net>",
    "<ana@example.net>",
    "a@[192.0.2.1]",
    "josé@example.es",
    " ana@example.net",
    "ana@example.net ",
    "a@b@c",
    "",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_an_address_is_quoted_as_smtplib_quotes_it(address: str) -> None:
    assert _quoted(address) == smtplib.quoteaddr(address)


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: x\r\n\r\n.hidden\r\n..two\r\nend.\r\n. \r\n",
        b".first line\r\nno end",
        b"",
        b".",
        b"a\n.b\n",
        b"plain\r\n",
    ],
)
def test_data_doubles_leading_dots_as_smtplib_does(raw: bytes) -> None:
    quoted = re.sub(rb"(?m)^\.", b"..", raw)  # smtplib's own rule
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    assert _data_bytes(raw) == quoted + b".\r\n"
