"""Personal links and addresses of the service never reach published text, in any encoding."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from mailer.core.redact import MARKS, mark_for, own_service, redact_personal
from mailer.core.tokens import SignedFor, sign_token
from mailer.links import manage_url

SERVICE = own_service(("discuss.example.org",), ("http://127.0.0.1:8080",))
KEY = b"k" * 32
UNSUB = sign_token(KEY, SignedFor.UNSUBSCRIBE, "12")
REPLY = sign_token(KEY, SignedFor.REPLY, "7")
BOUNCE = sign_token(KEY, SignedFor.BOUNCE, "s12")
HELD = sign_token(KEY, SignedFor.HELD_POST, "p7")
CONFIRM = "mfrggzdfmztwq2lknnwg23tpob"  # the shape random_token() makes
GONE = "[personal link removed]"


def redact(text: str) -> str:
    return redact_personal(text, SERVICE)


@pytest.mark.parametrize(
    "link",
    [
        f"http://127.0.0.1:8080/unsubscribe/{UNSUB}",
        f"http://127.0.0.1:8080/confirm/{CONFIRM}",
        f"http://127.0.0.1:8080/manage/{UNSUB}",
        f"HTTP://127.0.0.1:8080/Unsubscribe/{UNSUB.upper()}",
        f"127.0.0.1:8080/unsubscribe/{UNSUB}",
        f"http://127.0.0.1/some/new/route?t={CONFIRM}",
        f"skills-covid19+r-{REPLY}@discuss.example.org",
        f"skills-covid19-bounces+{BOUNCE}@discuss.example.org",
        f"skills-covid19-moderators+{HELD}@discuss.example.org",
        f"skills-covid19-confirm+{CONFIRM}@discuss.example.org",
        f"skills-covid19-confirm+{CONFIRM}@DISCUSS.EXAMPLE.ORG",
        f"skills-covid19-request+{CONFIRM}@discuss.example.org",
        f"<skills-covid19-bounces+{BOUNCE}@discuss.example.org>",
        f"<mailto:skills-covid19-confirm+{CONFIRM}@discuss.example.org>",
        f"mailto:skills-covid19+r-{REPLY}@discuss.example.org?subject=Re%3A%20Training",
        f"<http://127.0.0.1:8080/unsubscribe/{UNSUB}>",
    ],
)
def test_each_personal_form_becomes_the_mark(link: str) -> None:
    text = f"Before {link}, after.\nNext line."
    assert redact(text) == f"Before {GONE}, after.\nNext line."


@pytest.mark.parametrize(
    "encoded",
    [
        # quoted-printable soft breaks, also under a quote prefix, and escapes
        f"http://127.0.0.1:8080/unsubscribe/{UNSUB[:6]}=\n{UNSUB[6:]}",
        f"http://127.0.0.1:8080/unsub=\n> > scribe/{UNSUB}",
        f"skills-covid19-confirm+{CONFIRM}=40discuss.example.org",
        f"skills-covid19-bounces=2B{BOUNCE}=40discuss.exam=\nple.org",
        # HTML entities, named and numbered
        f"skills-covid19-confirm+{CONFIRM}&#64;discuss&#x2E;example.org",
        f"skills-covid19-confirm&plus;{CONFIRM}&commat;discuss.example.org",
        f"http:&#x2F;&#x2F;127.0.0.1:8080&#x2F;unsubscribe&#x2F;{UNSUB}",
        # percent-encoded, also inside another site's redirect link
        f"http%3A%2F%2F127.0.0.1%3A8080%2Funsubscribe%2F{UNSUB}",
        (
            "https://eur01.safelinks.example.com/?url=http%3A%2F%2F127.0.0.1%3A8080"
            f"%2Fconfirm%2F{CONFIRM}&data=05%7C01"
        ),
        f"mailto:skills-covid19-confirm%2B{CONFIRM}%40discuss.example.org",
    ],
)
def test_encoded_forms_are_found_and_cut_whole(encoded: str) -> None:
    out = redact(f"Quoted: {encoded}\nThe end.")
    assert out == f"Quoted: {GONE}\nThe end."


@pytest.mark.parametrize("prefix", ["", "> ", ">> ", "> > "])
def test_a_url_wrapped_over_lines_goes_whole(prefix: str) -> None:
    cut = f"{prefix}Unsubscribe: http://127.0.0.1:8080/unsubscribe/{UNSUB[:8]}\n{prefix}{UNSUB[8:]}\n{prefix}Thanks"
    assert redact(cut) == f"{prefix}Unsubscribe: {GONE}\n{prefix}Thanks"
    route = (
        f"{prefix}http://127.0.0.1:8080/unsubs\n{prefix}cribe/{UNSUB}.\n{prefix}Thanks"
    )
    assert redact(route) == f"{prefix}{GONE}.\n{prefix}Thanks"
    three = f"{prefix}http://127.0.0.1:8080/\n{prefix}unsubscribe/\n{prefix}{UNSUB} ok"
    assert redact(three) == f"{prefix}{GONE} ok"


def test_a_whole_link_does_not_take_the_next_line() -> None:
    text = f"http://127.0.0.1:8080/unsubscribe/{UNSUB}\nabcdef thanks"
    assert redact(text) == f"{GONE}\nabcdef thanks"
    text = f"http://127.0.0.1:8080/unsubscribe/{UNSUB[:8]}\nThanks, Ana"
    assert redact(text) == f"{GONE}\nThanks, Ana"


@pytest.mark.parametrize(
    "public",
    [
        "skills-covid19+q3@discuss.example.org",
        "<skills-covid19+q11@discuss.example.org>",
        "skills-covid19@discuss.example.org",
        "skills-covid19-request@discuss.example.org",
        "skills-covid19-moderators@discuss.example.org",
        "mailto:skills-covid19-request@discuss.example.org?subject=help",
        "http://127.0.0.1:8080/d/skills-covid19/q/3",
        "http://127.0.0.1:8080/d/skills-covid19/posts/12?lang=es",
        "http://127.0.0.1:8080/d/skills-covid19/feed.atom",
        "http://127.0.0.1:8080/",
        "ana+lists@example.net",
        f"https://elsewhere.example.com/unsubscribe/{UNSUB}",
        f"someone+{CONFIRM}@discuss.example.org.evil.example",
        "price=3D 4 and 100% =\nsure &amp; fine",
    ],
)
def test_public_links_and_other_addresses_stay(public: str) -> None:
    text = f"See {public} here.\nhttp://127.0.0.1:8080/d/skills-covid19/q/3\nend"
    assert redact(text) == text


def test_every_link_of_a_quoted_copy_goes_and_its_words_stay() -> None:
    copy = (
        "Thanks, I agree.\n\n"
        "On Mon, 29 Mar 2027, Ana Ruiz via Skills <skills-covid19@discuss.example.org> wrote:\n"
        "> Most workplace training stopped in March.\n"
        "> Read it on the web: http://127.0.0.1:8080/d/skills-covid19/posts/4\n"
        "> To answer question 1, write to skills-covid19+q1@discuss.example.org\n"
        f"> Unsubscribe: http://127.0.0.1:8080/unsubscribe/{UNSUB}\n"
    )
    out = redact(copy)
    assert UNSUB not in out
    assert out == copy.replace(f"http://127.0.0.1:8080/unsubscribe/{UNSUB}", GONE)


def test_the_mark_is_in_the_reader_language() -> None:
    text = f"x http://127.0.0.1:8080/confirm/{CONFIRM} y"
    assert redact_personal(text, SERVICE, mark_for("es")) == f"x {MARKS['es']} y"
    assert mark_for("fr") == MARKS["fr"]
    assert mark_for("pt") == MARKS["en"]


def test_more_than_one_host_and_domain() -> None:
    both = own_service(
        ("discuss.example.org", "talk.example.com"),
        ("https://discuss.example.org", "http://127.0.0.1:8080"),
    )
    text = (
        f"a https://discuss.example.org/unsubscribe/{UNSUB} "
        f"b x-confirm+{CONFIRM}@talk.example.com c"
    )
    assert redact_personal(text, both) == f"a {GONE} b {GONE} c"


def test_long_text_is_quick() -> None:
    line = "A line of ordinary words, with 100% of the = signs & links http://x.example/a.\n"
    text = line * 3000 + f"http://127.0.0.1:8080/unsubscribe/{UNSUB}\n"
    start = time.perf_counter()
    out = redact(text)
    assert time.perf_counter() - start < 2.0
    assert out.endswith(f"{GONE}\n") and out.startswith(line * 3000)


MANAGE = manage_url(
    "http://127.0.0.1:8080", KEY, 123456, 2, datetime(2027, 3, 28, tzinfo=UTC)
)
MANAGE_TOKEN = MANAGE.rsplit("/", 1)[1]


@pytest.mark.parametrize(
    "quoted",
    [
        f"Manage your subscription: {MANAGE}",
        f"Gérer votre abonnement : <{MANAGE}>",
        # quoted-printable: a soft break inside the token, and inside the route
        f"Manage your subscription: {MANAGE[:-12]}=\n{MANAGE[-12:]}",
        f"> Manage: http://127.0.0.1:8080/man=\n> age/{MANAGE_TOKEN}",
        # the HTML footer, its entities, and percent-encoding
        f'<a href="{MANAGE}">Manage your subscription</a>',
        f"http:&#x2F;&#x2F;127.0.0.1:8080&#x2F;manage&#x2F;{MANAGE_TOKEN}",
        f"http%3A%2F%2F127.0.0.1%3A8080%2Fmanage%2F{MANAGE_TOKEN}",
        # wrapped by a mail client, inside the value and at the dot, under quotes
        f"> {MANAGE[:-25]}\n> {MANAGE[-25:]}",
        f"> > {MANAGE[:-17]}\n> > {MANAGE[-17:]}",
    ],
)
def test_manage_links_go_in_every_form(quoted: str) -> None:
    out = redact(f"Thanks.\n{quoted}\nThe end.")
    assert MANAGE_TOKEN not in out and MANAGE_TOKEN[-16:] not in out, out
    assert GONE in out and out.endswith("\nThe end.")
