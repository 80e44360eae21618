"""The web archive's pure parts: strings, language choice, text rendering, CSRF, limits."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mailer.web.exports import (
    ExportCache,
    content_disposition,
    safe_content_type,
    safe_filename,
)
from mailer.web.i18n import Translator, negotiate_language
from mailer.web.messages import MESSAGES
from mailer.web.pages import thread_order
from mailer.web.security import client_key, csrf_form_token, csrf_valid
from mailer.web.text import display_name, hide_addresses, render_post_text
from store.archive import ArchivePost

OWN = "discuss.example.org"


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_language_has_every_string_with_the_same_placeholders() -> None:
    english = MESSAGES["en"]
    assert set(MESSAGES) == {"en", "es", "fr"}
    for lang, messages in MESSAGES.items():
        assert set(messages) == set(english), lang
        for key, text in messages.items():
            assert text.strip(), (lang, key)
            assert _fields(text) == _fields(english[key]), (lang, key)
    assert MESSAGES["es"]["signup_button"] != english["signup_button"]
    assert MESSAGES["fr"]["signup_button"] != english["signup_button"]


@pytest.mark.parametrize(
    ("requested", "header", "expected"),
    [
        ("es", "fr", ("es", True)),
        ("ES", None, ("es", True)),
        ("de", "fr-CH, fr;q=0.9, en;q=0.8", ("fr", False)),
        (None, "de, en;q=0.5, es;q=0.7", ("es", False)),
        (None, "es;q=0, fr;q=0.1", ("fr", False)),
        (None, "*", ("en", False)),
        (None, "x;q=abc, ;;;, fr;q=bad", ("en", False)),
        (None, None, ("en", False)),
    ],
)
def test_language_negotiation(
    requested: str | None, header: str | None, expected: tuple[str, bool]
) -> None:
    assert negotiate_language(requested, header, ("en", "es", "fr"), "en") == expected


def test_plurals_and_dates_follow_the_language() -> None:
    zone = ZoneInfo("Europe/Zurich")
    fr, en, es = (Translator(x, zone) for x in ("fr", "en", "es"))
    assert fr.plural("contributions", 0) == "0 contribution"  # French: 0 is singular
    assert en.plural("contributions", 0) == "0 contributions"
    assert es.plural("contributions", 1) == "1 aportación"
    moment = datetime(2027, 4, 3, 7, 0, tzinfo=UTC)
    assert en.date(moment) == "3 April 2027"
    assert es.date(moment) == "3 de abril de 2027"
    assert fr.datetime(moment) == "3 avr. 2027, 09:00"
    assert fr.size(1_500_000) == "1,5 MB" and en.size(999) == "999 B"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<script>x</script>", "&lt;script&gt;x&lt;/script&gt;"),
        ("javascript:alert(1)", "javascript:alert(1)"),
        ("data:text/html,<b>", "data:text/html,&lt;b&gt;"),
        (
            "see https://a.org/x_(y).",
            (
                'see <a href="https://a.org/x_(y)" rel="nofollow ugc noopener">'
                "https://a.org/x_(y)</a>."
            ),
        ),
        (
            "(http://a.org/p?q=1&r=2)",
            (
                '(<a href="http://a.org/p?q=1&amp;r=2" rel="nofollow ugc noopener">'
                "http://a.org/p?q=1&amp;r=2</a>)"
            ),
        ),
        (
            'http://a.org/"onclick=x',
            (
                '<a href="http://a.org/" rel="nofollow ugc noopener">http://a.org/</a>'
                "&#34;onclick=x"
            ),
        ),
        ("hxxp://a.org ftp://b.org", "hxxp://a.org ftp://b.org"),
        ("mail ana@example.net!", "mail a…@example.net!"),
        ("mailto:bob@x.org", "b…@x.org"),
        ("https://a.org/?e=ana@example.net", "https://a.org/?e=a…@example.net"),
        (
            f"mailto:team@{OWN}",
            f'<a href="mailto:team@{OWN}" rel="nofollow ugc noopener">team@{OWN}</a>',
        ),
        ("bell\x07 nul\x00 cr\r\nlf", "bell nul cr\nlf"),
    ],
)
def test_post_text_is_escaped_and_linked_safely(text: str, html: str) -> None:
    assert str(render_post_text(text, OWN)) == html


def test_long_links_are_shortened_in_text_only() -> None:
    url = "https://example.org/" + "a" * 200
    html = str(render_post_text(url, OWN))
    assert f'href="{url}"' in html and html.count("a" * 150) == 1
    assert html.endswith("…</a>")


def test_names_hide_addresses() -> None:
    assert display_name("Ana <ana@example.net>", OWN) == "Ana <a…@example.net>"
    assert display_name("x\n" * 100, OWN).endswith("…")
    assert hide_addresses(f"a@{OWN} b@other.org", OWN) == f"a@{OWN} b…@other.org"


def test_csrf_token_is_bound_to_its_cookie_and_key() -> None:
    key = b"k" * 32
    token = csrf_form_token(key, "cookie-1")
    assert token != csrf_form_token(key, "cookie-1")  # fresh nonce each time
    assert csrf_valid(key, "cookie-1", token)
    assert not csrf_valid(key, "cookie-2", token)
    assert not csrf_valid(b"other", "cookie-1", token)
    assert not csrf_valid(key, None, token)
    assert not csrf_valid(key, "cookie-1", None)
    assert not csrf_valid(key, "cookie-1", token.replace(".", ""))
    assert not csrf_valid(key, "cookie-1", "x" * 500)
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[0-9a-f]{32}", token)


def test_client_key_groups_ipv6_by_64() -> None:
    assert client_key("2001:db8:1:2:3:4:5:6") == client_key("2001:db8:1:2::9")
    assert client_key("2001:db8:1:2::9") != client_key("2001:db8:1:3::9")
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_key("192.0.2.1") == "192.0.2.1"
    assert client_key(None) == "unknown"


def _post(pid: int, parent: int | None) -> ArchivePost:
    when = datetime(2027, 3, 28, tzinfo=UTC)
    return ArchivePost(
        pid, 1, parent, f"<{pid}@x>", "", "", "", "", "", "", when, when, ()
    )


def test_thread_order_nests_caps_depth_and_survives_cycles() -> None:
    posts = [_post(1, None), _post(2, 1), _post(3, 2), _post(4, None), _post(5, 1)]
    posts += [_post(6, 3), _post(7, 6), _post(8, 7)]
    order = [(p.id, d) for p, d in thread_order(posts)]
    assert order == [(1, 0), (2, 1), (3, 2), (6, 3), (7, 4), (8, 4), (5, 1), (4, 0)]
    loop = [_post(10, 11), _post(11, 10), _post(12, 12)]
    assert sorted(p.id for p, _ in thread_order(loop)) == [10, 11, 12]


@pytest.mark.parametrize(
    ("declared", "sent"),
    [
        ("application/pdf", "application/pdf"),
        ("IMAGE/PNG; name=x", "image/png"),
        ("text/plain; charset=latin1", "text/plain; charset=utf-8"),
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("application/javascript", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
def test_attachment_types_are_from_a_safe_list(declared: str, sent: str) -> None:
    assert safe_content_type(declared) == sent


def test_attachment_names_cannot_escape_their_header() -> None:
    assert safe_filename("../../etc/passwd") == "etc_passwd"
    assert safe_filename('a"b\r\nc;d') == "a_b_c_d"
    assert safe_filename("...") == "attachment"
    header = content_disposition("informe año.pdf")
    assert header == (
        "attachment; filename=\"informe a_o.pdf\"; filename*=UTF-8''informe%20a%C3%B1o.pdf"
    )


def test_export_cache_keeps_a_value_for_its_ttl() -> None:
    now = [0.0]
    cache = ExportCache(60, clock=lambda: now[0])
    assert cache.get(("s", "json")) is None
    cache.put(("s", "json"), b"[]")
    now[0] = 59
    assert cache.get(("s", "json")) == b"[]"
    assert cache.get(("s", "mbox")) is None
    now[0] = 61
    assert cache.get(("s", "json")) is None
