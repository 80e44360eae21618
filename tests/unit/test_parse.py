"""Focused cases of parse_message: header safety, canonical input, limits, values."""

from __future__ import annotations

import base64
import itertools
import re
import time
from datetime import UTC

import pytest

from mailer.core.errors import MalformedMessage
from mailer.core.message import MessageClass, ParseLimits
from mailer.core.parse import count_links, parse_message

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def mail(*headers: str, body: str = "Hello.\r\n", sep: str = "\r\n") -> bytes:
    return (sep.join(headers) + sep + sep + body).encode("utf-8", "surrogateescape")


BASE = (
    "From: Ana <ana@example.net>",
    "To: q@discuss.example.org",
    "Date: Tue, 5 May 2020 10:00:00 +0200",
    "Message-ID: <a1@example.net>",
)


def test_cve_2024_6923_encoded_newline_in_subject_is_neutralised() -> None:
    raw = mail(*BASE, "Subject: =?utf-8?q?hi=0D=0ABcc:_x@evil?=")
    parsed = parse_message(raw)
    assert parsed.subject == "hi Bcc: x@evil"
    assert not _CONTROL.search(parsed.subject)
    assert parsed.header("subject") == "hi Bcc: x@evil"
    assert all(not _CONTROL.search(v) for _, v in parsed.headers)
    assert parsed.suspicious
    assert any("control characters" in r for r in parsed.suspicious_reasons)


def test_the_stdlib_itself_lets_the_encoded_newline_through() -> None:
    """Why header_safe is needed at all: the standard library keeps the CR LF."""
    from email import policy
    from email.parser import BytesParser

    raw = mail(*BASE, "Subject: =?utf-8?q?hi=0D=0ABcc:_x@evil?=")
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert "\r\n" in str(msg["Subject"])


@pytest.mark.parametrize(
    "encoded",
    [
        "=?utf-8?b?" + base64.b64encode(b"a\r\nBcc: v@x\x00\x1b[31m").decode() + "?=",
        "=?iso-8859-1?q?a=0ABcc:_v@x?=",
        "=?utf-8?q?a=E2=80=A8b=C2=85c?=",  # U+2028 and NEL
    ],
)
def test_no_control_character_survives_in_any_header(encoded: str) -> None:
    raw = mail(
        *BASE,
        f"Subject: {encoded}",
        f"X-Custom: {encoded}",
        f"Reply-To: {encoded} <r@x.org>",
    )
    parsed = parse_message(raw)
    for value in (parsed.subject, parsed.reply_to, *(v for _, v in parsed.headers)):
        assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029\u0085]", value), value


def test_encoded_newline_in_display_name_cannot_change_the_address() -> None:
    raw = mail(
        "From: =?utf-8?q?Eve=0D=0ABcc:_victim@example.com?= <eve@example.org>",
        "Subject: x",
        "Message-ID: <e@x>",
        "Date: Tue, 5 May 2020 10:00:00 +0000",
    )
    parsed = parse_message(raw)
    assert parsed.from_address == "eve@example.org"
    assert "\n" not in parsed.from_name and "@" not in parsed.from_name


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            b"From: a@x.org\r\nSubject: s\nFrom: mod@x.org\r\nMessage-ID: <m@x>\r\n\r\nb\r\n",
            "bare LF",
        ),
        (
            b"From: a@x.org\r\nSubject: s\rBcc: v@x.org\r\nMessage-ID: <m@x>\r\n\r\nb\r\n",
            "bare CR",
        ),
    ],
)
def test_bare_cr_or_lf_in_headers_is_recorded_and_suspicious(
    raw: bytes, reason: str
) -> None:
    parsed = parse_message(raw)
    assert parsed.suspicious
    assert any(reason in d for d in parsed.defects)
    assert any(reason in r for r in parsed.suspicious_reasons)


def test_a_bare_lf_is_an_lf_without_a_cr_just_before_it() -> None:
    from mailer.core.parse import _canonical_defects

    pieces = [b"a", b"\r", b"\n", b"\r\n", b"\x00", b" "]
    sections = [b"".join(combo) for combo in itertools.product(pieces, repeat=4)]
    for section in sections:
        bare_lf = re.search(rb"(?<!\r)\n", section) is not None
        expected = bare_lf and b"\r\n" in section
        found = "bare LF in the header section" in _canonical_defects(section)
        assert found is expected, section


def test_lf_only_message_is_canonical() -> None:
    parsed = parse_message(mail(*BASE, "Subject: s", sep="\n"))
    assert not parsed.suspicious
    assert parsed.defects == ()


@pytest.mark.parametrize("name", ["From", "Subject", "Message-ID", "Sender"])
def test_duplicate_identity_headers_make_it_suspicious(name: str) -> None:
    raw = mail(*BASE, "Subject: s", "Sender: s@x.org", f"{name}: second <2@x.org>")
    parsed = parse_message(raw)
    assert parsed.suspicious
    assert any(f"duplicate {name.lower()}" in d for d in parsed.defects)


def test_first_of_duplicates_wins() -> None:
    raw = mail(
        "From: First <first@x.org>",
        "From: Second <second@x.org>",
        "Subject: one",
        "Subject: two",
        "Message-ID: <1@x>",
        "Message-ID: <2@x>",
    )
    parsed = parse_message(raw)
    assert (parsed.from_address, parsed.subject, parsed.message_id) == (
        "first@x.org",
        "one",
        "<1@x>",
    )
    assert parsed.header_values("subject") == ("one", "two")


def test_from_with_two_addresses_is_suspicious() -> None:
    parsed = parse_message(
        mail("From: a@x.org, b@y.org", "Subject: s", "Message-ID: <1@x>")
    )
    assert parsed.from_address == "a@x.org"
    assert parsed.suspicious


def test_header_lookup_is_case_insensitive() -> None:
    parsed = parse_message(mail(*BASE, "Subject: s", "X-Thing: 1", "x-thing: 2"))
    assert parsed.header("X-THING") == "1"
    assert parsed.header_values("x-Thing") == ("1", "2")
    assert parsed.header("missing") is None
    assert parsed.header_values("missing") == ()


def test_addresses_are_addr_specs_with_lowercase_domains() -> None:
    raw = mail(
        'From: "Ruiz, Ana" <Ana.Ruiz@Example.NET>',
        "To: a@B.org, Bob <bob@C.org>",
        "Cc: undisclosed-recipients:;",
        "Reply-To: Other <other@D.org>",
        "Sender: list@E.org",
        "Subject: s",
        "Message-ID: <m@x>",
    )
    parsed = parse_message(raw)
    assert parsed.from_address == "Ana.Ruiz@example.net"
    assert parsed.from_name == "Ruiz, Ana"  # as people read it; headers drop the comma
    assert parsed.to == ("a@b.org", "bob@c.org")
    assert parsed.cc == ()
    assert parsed.reply_to == "other@d.org"
    assert parsed.sender == "list@e.org"


def test_ids_are_normalised_and_references_bounded() -> None:
    refs = " ".join(f"<r{i}@x.org>" for i in range(150))
    raw = mail(
        "From: a@x.org",
        "Subject: s",
        "Message-ID:\r\n <m1@x.org> (comment)",
        "In-Reply-To: <p@x.org> <q@x.org>",
        f"References: {refs}",
    )
    parsed = parse_message(raw)
    assert parsed.message_id == "<m1@x.org>"
    assert parsed.in_reply_to == ("<p@x.org>", "<q@x.org>")
    assert len(parsed.references) == 100
    assert (
        parsed.references[0] == "<r50@x.org>"
        and parsed.references[-1] == "<r149@x.org>"
    )
    assert any("References" in d for d in parsed.defects)
    assert not parsed.suspicious


def test_missing_message_id_and_date() -> None:
    parsed = parse_message(mail("From: a@x.org", "Subject: s"))
    assert parsed.message_id is None and parsed.date is None
    assert "no Message-ID header" in parsed.defects
    assert "no Date header" in parsed.defects


@pytest.mark.parametrize(
    ("value", "hour"),
    [("Tue, 5 May 2020 10:00:00 +0200", 8), ("Tue, 5 May 2020 10:00:00 -0000", 10)],
)
def test_dates_are_aware(value: str, hour: int) -> None:
    parsed = parse_message(mail("From: a@x.org", f"Date: {value}"))
    assert parsed.date is not None and parsed.date.tzinfo is not None
    assert parsed.date.astimezone(UTC).hour == hour


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \r\n\r\n", b"\r\n", b"\n\t\n", b"\x00\x00\x00", b"\r\n\x1b\x07\r\n"],
)
def test_nothing_but_white_space_raises_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse_message(raw)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (
            b"\r\nTraining stopped.\r\nWe moved online.\r\n",
            "Training stopped.\nWe moved online.",
        ),
        (b"\nTraining stopped.\n", "Training stopped."),
        (b"just some words\nand more\n", "just some words\nand more"),
        (
            b"Note: training stopped\r\nin March.\r\n",
            "Note: training stopped\nin March.",
        ),
        (
            b"X-Only: a header no message has\r\n\r\nbody",
            "X-Only: a header no message has\n\nbody",
        ),
        (b"\r\nFrom: a@x.org\r\n\r\nbody\r\n", "From: a@x.org\n\nbody"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "\ufffdPNG"),
        (b"\r\n\x1b[31m\r\n", "[31m"),
    ],
)
def test_a_message_without_a_header_section_is_read_as_a_body(
    raw: bytes, text: str
) -> None:
    parsed = parse_message(raw)
    assert parsed.text.strip() == text
    assert parsed.headers == () and parsed.from_address == ""
    assert parsed.suspicious  # a moderator decides what it is
    assert "no header section: read as a body" in parsed.suspicious_reasons
    assert "no header section: read as a body" in parsed.defects
    # Nothing of the body is taken for a header: not even a From in it.
    assert not any("NUL byte in the header" in d for d in parsed.defects)


@pytest.mark.parametrize(
    ("name", "lines", "body", "defect", "text"),
    [
        (
            "no boundary parameter",
            ["Content-Type: multipart/mixed"],
            "--zz\r\nContent-Type: text/plain\r\n\r\nhello there\r\n--zz--\r\n",
            "without a boundary",
            "hello there",
        ),
        (
            "boundary never in the body",
            ["Content-Type: multipart/mixed; boundary=abc"],
            "hello there\r\n",
            "boundary not found",
            "hello there",
        ),
        (
            "no closing boundary",
            ["Content-Type: multipart/mixed; boundary=abc"],
            "--abc\r\nContent-Type: text/plain\r\n\r\nhello there\r\n",
            "closing boundary missing",
            "hello there",
        ),
        (
            "truncated base64",
            [
                "Content-Type: text/plain; charset=utf-8",
                "Content-Transfer-Encoding: base64",
            ],
            base64.b64encode(b"hello there, all of you").decode()[:-5] + "\r\n",
            "base64",
            "hello there",
        ),
        (
            "header line without a colon",
            ["this is no header line"],
            "hello there\r\n",
            "without a colon",
            "hello there",
        ),
        (
            "multipart with no parts",
            ["Content-Type: multipart/mixed; boundary=abc"],
            "--abc--\r\n",
            "without parts",
            "",
        ),
        (
            "NUL bytes in the body",
            [],
            "hel\x00lo there\r\n",
            "NUL byte in the body",
            "hello there",
        ),
        (
            "8-bit header in no charset",
            ["X-Note: \xe9t\xe9 \udcff"],
            "hello there\r\n",
            "8-bit header",
            "hello there",
        ),
        (
            "body in a charset nobody knows",
            ["Content-Type: text/plain; charset=x-martian"],
            "hello there\r\n",
            "",
            "hello there",
        ),
    ],
)
def test_broken_mime_is_read_as_well_as_it_can_be(
    name: str, lines: list[str], body: str, defect: str, text: str
) -> None:
    raw = mail(*BASE, "Subject: s", *lines, body=body)
    parsed = parse_message(raw)
    assert parsed.from_address == "ana@example.net", name
    assert text in parsed.text, (name, parsed.text)
    assert any(defect.lower() in d.lower() for d in parsed.defects), parsed.defects


def test_a_nesting_bomb_is_read_as_headers_and_not_trusted() -> None:
    nested = "".join(
        f"Content-Type: multipart/mixed; boundary=n{i}\r\n\r\n--n{i}\r\n"
        for i in range(500)
    )
    started = time.perf_counter()
    parsed = parse_message(mail(*BASE, "Subject: s", body=nested + "\r\ndeep\r\n"))
    assert time.perf_counter() - started < 1
    assert parsed.from_address == "ana@example.net"
    assert parsed.suspicious and parsed.over_limits


def test_limits_are_defects_not_crashes() -> None:
    limits = ParseLimits(max_parts=8, max_depth=2, max_addresses=2, max_headers=8)
    parts = "".join(
        f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(9)
    )
    raw = mail(
        "From: a@x.org",
        "To: a@x.org, b@x.org, c@x.org",
        "Subject: s",
        "Message-ID: <m@x>",
        "Content-Type: multipart/mixed; boundary=b",
        body=parts + "--b--\r\n",
    )
    parsed = parse_message(raw, limits=limits)
    assert parsed.over_limits and parsed.suspicious
    assert any("parts" in r for r in parsed.limit_reasons)
    assert any("addresses" in r for r in parsed.limit_reasons)
    assert "part 0" in parsed.text and "part 8" not in parsed.text


def test_far_too_many_parts_are_not_even_parsed() -> None:
    parts = "".join(
        f"--b\r\nContent-Type: text/plain\r\n\r\np{i}\r\n" for i in range(50)
    )
    raw = mail(
        "From: a@x.org",
        "Subject: many",
        "Content-Type: multipart/mixed; boundary=b",
        body=parts + "--b--\r\n",
    )
    parsed = parse_message(raw, limits=ParseLimits(max_parts=5))
    assert parsed.over_limits and parsed.subject == "many"
    assert parsed.text == "" and parsed.attachments == ()


@pytest.mark.parametrize("word", ["boundary", "BOUNDARY", "BoUnDaRy"])
def test_too_many_boundaries_are_not_parsed(word: str) -> None:
    body = "Content-Type: text/plain\r\n\r\nx\r\n"
    for i in range(50):
        body = f"Content-Type: multipart/mixed; {word}=n{i}\r\n\r\n--n{i}\r\n{body}\r\n--n{i}--\r\n"
    parsed = parse_message(b"From: a@x.org\r\nSubject: deep\r\n" + body.encode())
    assert parsed.over_limits and parsed.text == ""
    assert any("boundaries" in r for r in parsed.limit_reasons)


def _report(blocks: int, kind: str = "message/delivery-status") -> bytes:
    block = "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
    return mail(
        "From: MAILER-DAEMON@example.net",
        "Subject: Undelivered Mail Returned to Sender",
        "Message-ID: <dsn@example.net>",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        body="--b\r\nContent-Type: text/plain\r\n\r\nIt failed.\r\n"
        f"--b\r\nContent-Type: {kind}\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n" + block * blocks + "--b--\r\n",
    )


def test_a_delivery_report_of_countless_blocks_is_not_parsed() -> None:
    # The parser makes a message of each block: 100,000 of them took seconds.
    assert parse_message(_report(3)).bounce.recipients == ("gone@example.org",)  # type: ignore[union-attr]
    started = time.perf_counter()
    parsed = parse_message(_report(100_000), limits=ParseLimits(max_parts=20))
    assert time.perf_counter() - started < 2
    assert parsed.message_class is MessageClass.BOUNCE  # still known by its type
    assert parsed.over_limits and parsed.text == ""
    assert any("delivery report" in r for r in parsed.limit_reasons)


@pytest.mark.parametrize("kind", ["Message/Delivery-Status", "MESSAGE/DELIVERY-STATUS"])
def test_a_delivery_report_is_counted_in_any_case(kind: str) -> None:
    parsed = parse_message(_report(300, kind), limits=ParseLimits(max_parts=20))
    assert parsed.over_limits and parsed.text == ""
    assert any("delivery report" in r for r in parsed.limit_reasons)
    assert not parse_message(
        _report(3, kind), limits=ParseLimits(max_parts=20)
    ).over_limits


def test_nesting_deeper_than_the_limit_stops_the_walk() -> None:
    body = "Content-Type: text/plain\r\n\r\ndeep inside\r\n"
    for i in range(25):
        body = f"Content-Type: multipart/mixed; boundary=n{i}\r\n\r\n--n{i}\r\n{body}\r\n--n{i}--\r\n"
    parsed = parse_message(b"From: a@x.org\r\nMessage-ID: <m@x>\r\n" + body.encode())
    assert parsed.over_limits
    assert any("nested" in r for r in parsed.limit_reasons)
    assert "deep inside" not in parsed.text


def test_absurd_nesting_does_not_recurse_forever() -> None:
    body = "Content-Type: text/plain\r\n\r\nx\r\n"
    for i in range(3000):
        body = f"Content-Type: multipart/mixed; boundary=n{i}\r\n\r\n--n{i}\r\n{body}\r\n--n{i}--\r\n"
    parsed = parse_message(b"From: a@x.org\r\nSubject: deep\r\n" + body.encode())
    assert parsed.over_limits
    assert parsed.subject == "deep"


def test_attachment_over_the_limit_is_described_but_not_kept() -> None:
    payload = base64.b64encode(b"x" * 5000).decode()
    raw = mail(
        "From: a@x.org",
        "Subject: s",
        "Content-Type: multipart/mixed; boundary=b",
        body="--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n"
        "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; filename=big.pdf\r\n\r\n{payload}\r\n--b--\r\n",
    )
    small = parse_message(raw, max_attachment_bytes=1000).attachments[0]
    assert (small.filename, small.size, small.kept, small.content) == (
        "big.pdf",
        5000,
        False,
        b"",
    )
    large = parse_message(raw, max_attachment_bytes=10_000).attachments[0]
    assert large.kept and large.content == b"x" * 5000


def test_nameless_attachment_gets_a_name_from_its_type() -> None:
    raw = mail(
        "From: a@x.org",
        "Subject: s",
        "Content-Type: multipart/mixed; boundary=b",
        body="--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: image/png\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n",
    )
    (attachment,) = parse_message(raw).attachments
    assert attachment.filename == "attachment-1.png"


def test_own_mail_coming_back_is_a_loop_only_with_our_domain() -> None:
    raw = mail(
        "From: x@discuss.example.org",
        "Subject: s",
        "Message-ID: <d.1@discuss.example.org>",
    )
    assert (
        parse_message(raw, own_domain="discuss.example.org").message_class
        is MessageClass.LOOP
    )
    assert parse_message(raw).message_class is MessageClass.NORMAL


def test_null_envelope_sender_is_automatic() -> None:
    raw = mail(*BASE, "Subject: Re: question")
    assert parse_message(raw, envelope_from="").message_class is MessageClass.AUTO_REPLY
    failure = mail(*BASE, "Subject: Undelivered Mail Returned to Sender")
    assert parse_message(failure, envelope_from="").message_class is MessageClass.BOUNCE
    assert (
        parse_message(raw, envelope_from="ana@example.net").message_class
        is MessageClass.NORMAL
    )


def test_language_from_content_language_then_words() -> None:
    raw = mail(
        *BASE, "Content-Language: pt-BR", body="Hello, this is English text.\r\n"
    )
    assert parse_message(raw).language == "pt"
    raw = mail(
        *BASE,
        "Content-Language: ja",
        body="Nous avons formé les formateurs à distance.\r\n",
    )
    assert parse_message(raw).language == "fr"
    assert parse_message(mail(*BASE, body="ok\r\n")).language == ""


def test_count_links() -> None:
    assert count_links("see https://a.org/x and www.b.org, http://c.org.") == 3
    assert count_links("no links, just example.org") == 0
    assert count_links("HTTPS://A.ORG/X, Www.B.org and hTtP://c.org") == 3


def test_text_keeps_the_history_new_text_does_not() -> None:
    body = "My answer.\r\n\r\nOn Mon, 4 May 2020 at 10:02, Mod <m@x.org> wrote:\r\n> question\r\n"
    parsed = parse_message(mail(*BASE, "Subject: Re: q", body=body))
    assert parsed.new_text == "My answer."
    assert "> question" in parsed.text


def test_a_forgotten_boundary_is_read_from_the_body() -> None:
    body = (
        "This is a message in MIME format.\r\n"
        "--part.42\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello there\r\n"
        "--part.42\r\nContent-Type: text/html\r\n\r\n<p>hello there</p>\r\n"
        "--part.42--\r\n"
    )
    parsed = parse_message(
        mail(*BASE, "Subject: s", "Content-Type: multipart/alternative", body=body)
    )
    assert parsed.text.strip() == "hello there"
    assert "Content-Type" not in parsed.text and "--part.42" not in parsed.text
    assert any("boundary read from the body" in d for d in parsed.defects)
    assert parsed.header("content-type") == 'multipart/alternative; boundary="part.42"'
    # Without a boundary line in the body there is nothing to guess: read as text.
    parsed = parse_message(
        mail(*BASE, "Subject: s", "Content-Type: multipart/mixed", body="hello\r\n")
    )
    assert parsed.text.strip() == "hello"
    assert any("without a boundary parameter" in d for d in parsed.defects)
