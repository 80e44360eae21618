"""Whatever the bytes, parse_message raises nothing but MalformedMessage.

And when it returns, nothing it exposes as a header value holds a control
character (the CVE-2024-6923 guarantee), whatever was encoded in the input.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.core.errors import MalformedMessage
from mailer.core.message import ParsedMessage
from mailer.core.parse import parse_message
from mailer.core.trim import trim_reply

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]")
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def check(raw: bytes) -> ParsedMessage | None:
    try:
        parsed = parse_message(raw, own_domain="discuss.example.org")
    except MalformedMessage:
        return None
    for name, value in parsed.headers:
        assert not _CONTROL.search(name) and not _CONTROL.search(value)
    exposed = [
        parsed.subject,
        parsed.from_name,
        parsed.from_address,
        parsed.reply_to,
        parsed.sender,
        *parsed.to,
        *parsed.cc,
        *parsed.defects,
        *(a.filename for a in parsed.attachments),
    ]
    for value in exposed:
        assert not _CONTROL.search(value), value
    assert "\r" not in parsed.text
    return parsed


@FUZZ
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_after_a_plausible_header(tail: bytes) -> None:
    check(b"From: a@example.org\r\nSubject: s\r\n" + tail)


_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Reply-To",
        "Sender",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Date",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Auto-Submitted",
        "Precedence",
        "List-Id",
        "Return-Path",
        "X-Failed-Recipients",
        "Content-Language",
        "MIME-Version",
    ]
)
_CHARSETS = st.sampled_from(
    [
        "utf-8",
        "iso-8859-1",
        "windows-1252",
        "koi8-r",
        "iso-2022-jp",
        "shift_jis",
        "x-unknown",
        "utf-7",
        "",
        "us-ascii\x00",
        "utf-8*en",
    ]
)


@st.composite
def encoded_word(draw: st.DrawFn) -> str:
    import base64

    data = draw(st.binary(max_size=40))
    charset = draw(_CHARSETS)
    if draw(st.booleans()):
        return f"=?{charset}?b?{base64.b64encode(data).decode()}?="
    payload = "".join(f"={b:02X}" for b in data)
    return f"=?{charset}?q?{payload}?="


_VALUE = st.one_of(
    st.text(max_size=60),
    encoded_word(),
    st.builds(lambda a, b: f"{a} <{b}>", encoded_word(), st.emails()),
    st.sampled_from(
        [
            'multipart/mixed; boundary="b"',
            "multipart/alternative; boundary=b",
            "multipart/report; report-type=delivery-status; boundary=b",
            "text/plain; charset=x-bogus; format=flowed; delsp=yes",
            "text/html",
            "message/rfc822",
            "message/delivery-status",
            "base64",
            "quoted-printable",
            "attachment; filename*=utf-8''%E2%80%AE%0D%0A.exe",
            "<a@b>",
            "auto-replied",
        ]
    ),
)
_BODY_PIECE = st.one_of(
    st.sampled_from(
        [
            "--b\r\n",
            "--b--\r\n",
            "\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Type: multipart/mixed; boundary=b\r\n",
            "Content-Type: text/html\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
            "Content-Type: message/rfc822\r\n",
            "Content-Type: message/delivery-status\r\n",
            "Final-Recipient: rfc822; x@y\r\nAction: failed\r\nStatus: 5.1.1\r\n",
            "On Mon, 4 May 2020, X wrote:\r\n",
            "> quoted\r\n",
            "-- \r\n",
            "=E9=0D=0A\r\n",
            "<blockquote><div><a href='javascript:x'>l</a>",
            "Best regards,\r\n",
        ]
    ),
    st.text(max_size=80),
)


@FUZZ
@given(
    st.lists(st.tuples(_NAMES, _VALUE), max_size=14),
    st.lists(_BODY_PIECE, max_size=30),
    st.sampled_from(["\r\n", "\n", "\r"]),
)
def test_structured_mail(
    headers: list[tuple[str, str]], body: list[str], eol: str
) -> None:
    head = eol.join(f"{name}: {value}" for name, value in headers)
    raw = (head + eol + eol + "".join(body)).encode("utf-8", "surrogatepass")
    check(raw)


@FUZZ
@given(st.text(max_size=2000), st.text(max_size=40))
def test_trim_reply_never_raises_and_never_grows(text: str, name: str) -> None:
    trimmed = trim_reply(text, sender_name=name)
    assert len(trimmed) <= len(text) + 1
