"""Charsets and HTML: decoded correctly, guesses named in a defect, never a crash."""

from __future__ import annotations

import time
from email.message import Message

import pytest

from mailer.core.charsets import decode_bytes, decode_header_text, repair_mojibake
from mailer.core.html_text import html_to_text
from mailer.core.mime import _info, unflow
from mailer.core.parse import parse_message


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        ("Café crème – “quoted” it’s 5 €", "windows-1252"),
        ("Zażółć gęślą jaźń", "iso-8859-2"),
        ("Coût : 350 €", "iso-8859-15"),
        ("Привет, как дела?", "koi8-r"),
        ("職業訓練について", "iso-2022-jp"),
        ("在宅学習①", "shift_jis"),
        ("Ausbildung für Jugendliche", "utf-8"),
    ],
)
def test_declared_charsets_decode_without_defect(text: str, charset: str) -> None:
    codec = "cp932" if charset == "shift_jis" else charset
    decoded = decode_bytes(text.encode(codec), charset)
    assert decoded.text == text
    assert decoded.defect == ""


def test_iso_8859_1_is_read_as_windows_1252() -> None:
    data = "it’s “fine”".encode("cp1252")
    assert decode_bytes(data, "ISO-8859-1").text == "it’s “fine”"


@pytest.mark.parametrize("declared", ["utf-8", "iso-8859-1", None, "x-unknown"])
@pytest.mark.parametrize("wide", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_or_utf32_with_a_byte_order_mark_under_another_label(
    declared: str | None, wide: str
) -> None:
    text = "Formación en línea, ¿y la práctica?"
    bom = {"utf-16": b"", "utf-16-be": b"\xfe\xff", "utf-32": b""}[wide]
    decoded = decode_bytes(bom + text.encode(wide), declared)
    assert decoded.text == text
    assert "UTF-" in decoded.defect  # said, not silent


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe" + bytes(range(0x80, 0x100)) * 2,  # lone surrogates in UTF-16
        b"\xff\xfe" + b"\x07\x00\x1b\x00" * 40,  # reads as control characters
    ],
)
def test_bytes_that_only_start_like_a_byte_order_mark_are_not_utf16(
    data: bytes,
) -> None:
    assert not decode_bytes(data, "iso-8859-1").codec.startswith("utf-16")


def test_a_right_label_reads_utf16_without_a_defect() -> None:
    decoded = decode_bytes("Formación".encode("utf-16"), "utf-16")
    assert (decoded.text, decoded.defect) == ("Formación", "")


def test_utf8_declared_as_latin1_is_recognised() -> None:
    decoded = decode_bytes("formación dual".encode(), "iso-8859-1")
    assert decoded.text == "formación dual"
    assert "UTF-8" in decoded.defect


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("Grüße aus München, die Ausbildung läuft", "latin-1"),
        ("Привет, как дела? Это тест", "koi8-r"),
    ],
)
def test_missing_charset_is_guessed_and_said(text: str, codec: str) -> None:
    decoded = decode_bytes(text.encode(codec), None)
    assert decoded.text == text
    assert "without a charset" in decoded.defect


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"\x1b$B-!\x1b(B \x1b$B-j\x1b(B", "① ㈱"),  # NEC special characters
        (b'\x1b$B$3$s\x1b(B\r\n\x1b$B-"\x1b(B', "こん\r\n②"),
        (b"\x1b$B$3\x1b(I1\x1b(B!", "こｱ!"),  # half-width katakana
    ],
)
def test_iso_2022_jp_with_microsoft_extensions(data: bytes, text: str) -> None:
    """Outlook writes ① and ㈱ under the iso-2022-jp label; Python's codecs refuse them."""
    decoded = decode_bytes(data, "ISO-2022-JP")
    assert (decoded.text, decoded.defect) == (text, "")


def test_unknown_charset_and_8bit_ascii_are_said() -> None:
    assert "unknown charset" in decode_bytes("café".encode(), "x-klingon").defect
    assert "us-ascii" in decode_bytes("café".encode("latin-1"), "us-ascii").defect


def test_header_words_joined_before_decoding() -> None:
    # A UTF-8 character split across two encoded words, as Outlook writes them.
    text, defects = decode_header_text("=?UTF-8?B?TWFyw61h?= =?UTF-8?B?IEpvc8Op?= x")
    assert (text, defects) == ("María José x", ())
    text, defects = decode_header_text("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=")
    assert text == "café"


def test_header_with_raw_8bit_bytes() -> None:
    assert decode_header_text("J\udcc3\udcb6rg")[0] == "Jörg"
    text, defects = decode_header_text("Ren\udce9e")
    assert text == "Renée" and defects


def test_broken_encoded_words_do_not_raise() -> None:
    for value in [
        "=?utf-8?b?@@@?=",
        "=?x?q?=ZZ?=",
        "=?utf-8?q?",
        "=??q??=",
        "=?utf-8*en?q?a?=",
    ]:
        decode_header_text(value)


def test_double_encoded_utf8_is_repaired() -> None:
    broken = "La formación funcionó en España".encode().decode("cp1252")
    repaired = repair_mojibake(broken)
    assert repaired.text == "La formación funcionó en España"
    assert "double-encoded" in repaired.defect
    assert repair_mojibake("Ação é ótima").defect == ""


def test_format_flowed_is_unfolded() -> None:
    flowed = "A long line that \nwas wrapped.\n> quoted \n> continues\n-- \nsig"
    assert (
        unflow(flowed, delsp=False)
        == "A long line that was wrapped.\n> quoted continues\n-- \nsig"
    )
    assert unflow("abc\ndef", delsp=True) == "abc\ndef"
    assert unflow("wrap\u0020\nped", delsp=True) == "wrapped"


def test_html_to_text_keeps_structure_and_links() -> None:
    html = (
        "<html><head><style>p{}</style><script>alert(1)</script></head><body>"
        "<h1>Title</h1><p>See <a href='https://e.org/r'>the report</a> and "
        "<a href='https://e.org/x'>https://e.org/x</a>.</p><ul><li>one</li><li>two</li></ul>"
        "<table><tr><td>A</td><td>1</td></tr></table>"
        "<blockquote>old text<blockquote>older</blockquote></blockquote></body></html>"
    )
    text = html_to_text(html)
    assert "alert" not in text and "p{}" not in text
    assert "the report (https://e.org/r)" in text
    assert "https://e.org/x." in text and "(https://e.org/x)" not in text
    assert "* one" in text and "A  1" in text
    assert "> old text" in text and "> > older" in text


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<",
        "<div>" * 5000 + "deep",
        "\x00\x01<p>x</p>",
        "<?xml version='1.0'?><p>x</p>",
        "<svg onload=alert(1)><p>ok</p>",
        "<p>" + "a" * 100_000,
    ],
)
def test_html_to_text_never_raises(html: str) -> None:
    text = html_to_text(html)
    assert "<" not in text.replace("<<", "") or html == "<"


def test_scripts_styles_and_templates_are_not_text() -> None:
    html = (
        "<p>a</p><style>x</style><p>b</p><SCRIPT type=x>y</script ><p>c</p>"
        "<noscript>n</noscript><template><p>t</p></template><p>d</p>"
    )
    assert html_to_text(html) == "a\n\nb\n\nc\n\nd"


@pytest.mark.parametrize("opening", ["<style>", "<script>x", "<STYLE >", "<head>"])
def test_unclosed_hidden_elements_cost_linear_time(opening: str) -> None:
    """Each unclosed one used to send a search to the end of the markup."""
    html = "<p>start</p>" + opening * 40_000
    started = time.perf_counter()
    text = html_to_text(html)
    assert time.perf_counter() - started < 3  # was minutes
    assert text.startswith("start")


def test_long_inner_blank_runs_cost_linear_time() -> None:
    """Aligned columns of thousands of blanks: trailing-blank removal used to
    retry every blank of each run (seconds for 30 kB, found by fuzzing)."""
    html = "<pre>" + ("x" + " " * 6000 + "y   \n") * 30 + "</pre>"
    started = time.perf_counter()
    text = html_to_text(html)
    assert time.perf_counter() - started < 3  # was over 10 s
    assert text.splitlines()[0] == "x" + " " * 6000 + "y"
    assert html_to_text("<pre>a \t\nb&nbsp;</pre>") == "a\nb"


def test_an_attached_message_is_kept_as_received_and_quickly() -> None:
    """Its headers are not refolded: the stdlib took seconds refolding one long
    header of broken encoded words (found by fuzzing)."""
    to = b"=?x?b?////?=" * 1200
    inner = (
        b"From: a@example.org\r\nTo: " + to + b"\r\nSubject: Report\r\n"
        b"Message-ID: <i@example.org>\r\n\r\nhello\r\n"
    )
    raw = (
        b"From: b@example.net\r\nTo: x@discuss.example.org\r\nSubject: fwd\r\n"
        b"Message-ID: <o@example.net>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--b--\r\n"
    )
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 1  # was 1.5 s
    [attached] = parsed.attachments
    # As it came, but for the line break that belongs to the boundary after it.
    assert attached.content.replace(b"\n", b"\r\n") == inner.removesuffix(b"\r\n")


def test_deep_html_keeps_its_text() -> None:
    assert html_to_text("<div>" * 5000 + "deep &amp; more") == "deep & more"


def test_html_only_mail_is_converted_and_kept_raw() -> None:
    raw = (
        b"From: a@x.org\r\nSubject: s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Hello <b>all</b></p><div class='gmail_quote'>On Mon, X wrote:<br>"
        b"<blockquote>old</blockquote></div>"
    )
    parsed = parse_message(raw)
    assert parsed.text_from_html
    assert parsed.html is not None and "<b>all</b>" in parsed.html
    assert parsed.new_text == "Hello all"


def test_html_to_text_in_several_threads_gives_the_same_text() -> None:
    import concurrent.futures

    pages = [
        f"<p>Page {i}</p><blockquote>quote {i}</blockquote><ul><li>x</li></ul>"
        for i in range(40)
    ]
    want = [html_to_text(p) for p in pages]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(html_to_text, pages * 3)) == want * 3


def test_a_parts_content_headers_are_read_once_for_all_parts_like_it() -> None:
    first, second, digest_child = Message(), Message(), Message()
    for part in (first, second):
        part["Content-Type"] = 'text/plain; charset="iso-8859-1"; format=flowed'
    digest_child.set_default_type("message/rfc822")
    assert _info(first) is _info(second)
    assert _info(first).charset == "iso-8859-1"
    assert _info(first).params["format"] == "flowed"
    with pytest.raises(TypeError):
        _info(first).params["format"] = "fixed"  # type: ignore[index]
    assert _info(digest_child).ctype == "message/rfc822"
    assert _info(Message()).ctype == "text/plain"
