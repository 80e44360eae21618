"""axe-core in Chromium on every kind of page the web archive serves, at 390 and 1280 px.

The routes come from the application's own routing table: each ``METHOD path``
must name the cases below that show it in a browser (:data:`HTML_ROUTES`), or
say why it serves no HTML page (:data:`NOT_HTML`). A route added without
either fails :func:`test_every_route_has_an_axe_case`, so a new page cannot
land without an accessibility check.

The browser test walks every case in English, Spanish and French (a context
per language, its Accept-Language set as a reader's browser would) against
``ediscuss serve``: the archive's pages, the sign-up answers, the confirm and
unsubscribe pages with good, used and bogus tokens, the 404 page, and, once
the discussion is closed, the closed discussion and its report. Each page is
checked at 1280 px and again at 390 px (the same document, the viewport
resized: the media queries apply, nothing is posted twice).
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import time
from collections.abc import Callable
from email import policy

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page
from starlette.routing import Mount, Route

from mailer.runtime import open_runtime
from mailer.web.app import build_app
from tests.browser.test_archive_reading import SPANISH, send
from tests.browser.test_browser import browser, link_in, wait_for_text
from tests.fixtures.settings import SettingsFactory
from tests.fixtures.web import SLUG, Served

__all__ = ["browser"]  # the module's Chromium

LANGUAGES = ("en", "es", "fr")
OTHER = "skills-next"  # a second discussion, so that / lists them (with one it redirects)  # the languages the web pages are translated into
WIDTHS = ((1280, 900), (390, 844))

# Every route that answers with an HTML page -> the cases (below) that show it.
# A route missing here and from NOT_HTML fails the test; add its case to
# _visit_every_page and its key here.
HTML_ROUTES: dict[str, tuple[str, ...]] = {
    "GET /": ("index",),
    "GET /d/{slug}": ("discussion", "discussion, closed"),
    "GET /d/{slug}/q/{number:int}": ("question",),
    "GET /d/{slug}/posts/{post_id:int}": ("post",),
    "GET /d/{slug}/report": ("report",),
    "POST /d/{slug}/signup": ("sign-up error", "sign-up sent", "sign-up, too many"),
    "GET /confirm/{token}": ("confirm", "confirm, used token", "confirm, bad token"),
    "POST /confirm/{token}": ("confirmed",),
    "GET /unsubscribe/{token}": (
        "unsubscribe",
        "unsubscribe, already left",
        "unsubscribe, bad token",
    ),
    "POST /unsubscribe/{token}": ("mode changed", "unsubscribed"),
    "GET /manage/{token}": ("manage", "manage, bad token", "manage, ended"),
    "POST /manage/{token}": ("manage saved",),
    "GET /d/{slug}/search": ("search results", "search, too long"),
    "404": ("not found",),  # any path no route takes, and a route's own 404
}

# Routes that serve no HTML page, and what they serve instead.
NOT_HTML: dict[str, str] = {
    "GET /robots.txt": "plain text",
    "GET /d/{slug}/feed.atom": "an Atom feed",
    "GET /d/{slug}/export.json": "a JSON export",
    "GET /d/{slug}/export.mbox": "an mbox export",
    "GET /d/{slug}/posts/{post_id:int}/attachments/{attachment_id:int}": (
        "a post's attachment, as sent"
    ),
    "GET /static": "stylesheets and icons (mounted files)",
}


def app_routes(settings_factory: SettingsFactory) -> set[str]:
    """``METHOD path`` of every route in the web application's routing table."""
    runtime = open_runtime(settings_factory())
    try:
        app = build_app(runtime)
    finally:
        runtime.close()
    found: set[str] = set()
    for route in app.routes:
        if isinstance(route, Route):
            methods = (route.methods or set()) - {"HEAD"}
            found |= {f"{m} {route.path}" for m in methods}
        elif isinstance(route, Mount):
            found.add(f"GET {route.path}")
        else:
            found.add(f"? {route!r}")
    return found


def test_every_route_has_an_axe_case(make_settings: SettingsFactory) -> None:
    """A route with no browser case and no reason to have none fails, named."""
    routes = app_routes(make_settings)
    listed = (set(HTML_ROUTES) - {"404"}) | set(NOT_HTML)
    missing = sorted(routes - listed)
    gone = sorted(listed - routes)
    problems = [
        f"{r}: no axe case; add one to HTML_ROUTES and _visit_every_page "
        "(or to NOT_HTML if it serves no HTML page)"
        for r in missing
    ]
    problems += [f"{r}: no such route any more; strike it" for r in gone]
    assert not problems, "\n".join(problems)
    assert set(HTML_ROUTES).isdisjoint(NOT_HTML)


def _two_discussions(config: str) -> str:
    """The shipped config with its discussion twice, the copy under another slug."""
    start = config.index("[[discussions]]")
    copy = config[start:].replace(f'slug = "{SLUG}"', f'slug = "{OTHER}"', 1)
    return f"{config}\n{copy}"


class _Checker:
    """Runs axe at both widths on the page as it stands, and remembers what it saw."""

    def __init__(self) -> None:
        self.axe = Axe()
        self.found: list[str] = []
        self.seen: set[str] = set()

    def check(self, page: Page, case: str, language: str | None) -> None:
        self.seen.add(case)
        if language is not None:
            got = page.locator("html").get_attribute("lang")
            if got != language:
                self.found.append(f"{case} [{language}]: html lang is {got!r}")
        for width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            results = self.axe.run(page)
            for v in results.response["violations"]:
                targets = [n["target"] for n in v["nodes"]][:3]
                self.found.append(
                    f"{case} [{language or '-'}, {width} px] {page.url}: "
                    f"{v['id']} ({v['impact']}): {targets}"
                )
        page.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})


@pytest.mark.browser
def test_the_check_reports_what_axe_finds(browser: Browser) -> None:
    """The check is not blind: a field without a label and a nameless image fail it."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content(
        '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
        '<h1>t</h1><input type="text"><img src="data:,"></main></body></html>'
    )
    axe = _Checker()
    axe.check(page, "made to fail", "en")
    context.close()
    rules = {line.split(": ")[1].split(" ")[0] for line in axe.found}
    assert {"label", "image-alt"} <= rules, axe.found
    assert sum(" 390 px]" in line for line in axe.found) >= 2  # at both widths


def _submit(page: Page, form: str = "form") -> int:
    """Press *form*'s first button; the status of the page it leads to."""
    with page.expect_navigation() as went:
        page.locator(f"{form} button[type=submit]").first.click()
    response = went.value
    return response.status if response is not None else 0


def _wrong_signup(page: Page, base: str) -> int:
    """Sign up with an address that is none, past the browser's own check."""
    page.goto(f"{base}/d/{SLUG}")
    page.evaluate("document.querySelector('.signup form').noValidate = true")
    page.fill("#f-email", "plainly-wrong")
    return _submit(page, ".signup form")


def _latest_mail(served: Served, to: str, count: int) -> bytes:
    deadline = time.monotonic() + 30
    while len(mails := served.outbox_mail(to)) < count:
        assert time.monotonic() < deadline, f"no mail {count} for {to}"
        time.sleep(0.2)
    return mails[-1]


def _visit_every_page(
    page: Page, served: Served, language: str, post_url: str, axe: _Checker
) -> None:
    """Every case of HTML_ROUTES but the closed ones, in *language*."""
    base = served.base_url
    page.goto(f"{base}/")
    assert page.locator(f"a[href*='/d/{OTHER}']").count() == 1
    axe.check(page, "index", language)
    page.goto(f"{base}/d/{SLUG}")
    axe.check(page, "discussion", language)

    page.goto(f"{base}/d/{SLUG}/q/1")
    axe.check(page, "question", language)
    page.goto(post_url)
    axe.check(page, "post", language)
    page.goto(f"{base}/d/{SLUG}/search?q=workshops&lang={language}")
    assert page.locator("li.result mark").count() >= 1
    axe.check(page, "search results", language)
    page.goto(f"{base}/d/{SLUG}/search?q={'x' * 300}&lang={language}")
    axe.check(page, "search, too long", language)

    for missing in (f"/d/{SLUG}/q/99", "/no/such/page", f"/d/{SLUG}/posts/999999"):
        assert page.goto(f"{base}{missing}").status == 404  # type: ignore[union-attr]
        axe.check(page, "not found", language)

    assert _wrong_signup(page, base) == 400
    assert page.locator("#signup-error").count() == 1
    axe.check(page, "sign-up error", language)

    reader = f"axe-{language}@example.org"
    page.fill("#f-email", reader)
    page.fill("#f-name", f"Lectora {language.upper()}")
    assert _submit(page, ".signup form") == 200
    axe.check(page, "sign-up sent", language)

    confirm = link_in(
        _latest_mail(served, reader, 1), rf"{re.escape(base)}/confirm/[a-z0-9]+"
    )
    page.goto(confirm)
    axe.check(page, "confirm", language)
    _submit(page)
    axe.check(page, "confirmed", language)
    page.goto(confirm)
    axe.check(page, "confirm, used token", language)
    page.goto(f"{base}/confirm/not-a-token-at-all")
    axe.check(page, "confirm, bad token", language)

    welcome = email.message_from_bytes(
        _latest_mail(served, reader, 2), policy=policy.default
    )
    found = re.search(r"<(http[^>]+/unsubscribe/[^>]+)>", welcome["List-Unsubscribe"])
    assert found is not None
    unsubscribe = found.group(1)
    text = welcome.get_body(("plain",))
    assert text is not None
    manage = re.search(rf"{re.escape(base)}/manage/[a-z0-9.-]+", text.get_content())
    assert manage is not None
    page.goto(manage.group(0))
    axe.check(page, "manage", language)
    page.check("input[name=mode][value=digest]")
    assert _submit(page) == 200
    axe.check(page, "manage saved", language)
    page.goto(f"{base}/manage/not-a-token-at-all")
    axe.check(page, "manage, bad token", language)
    page.goto(unsubscribe)
    axe.check(page, "unsubscribe", language)
    _submit(page, "form:has(input[name=mode])")
    axe.check(page, "mode changed", language)
    page.goto(unsubscribe)
    _submit(page, "form:not(:has(input[name=mode]))")
    axe.check(page, "unsubscribed", language)
    page.goto(unsubscribe)
    axe.check(page, "unsubscribe, already left", language)
    page.goto(manage.group(0))  # the subscription it named has ended
    axe.check(page, "manage, ended", language)
    page.goto(f"{base}/unsubscribe/not-a-token-at-all")
    axe.check(page, "unsubscribe, bad token", language)


@pytest.mark.browser
@pytest.mark.slow
def test_axe_finds_nothing_on_any_page(
    browser: Browser, make_served: Callable[..., Served]
) -> None:
    served = make_served(edit=_two_discussions)
    base = served.base_url
    first = send(served, "Ana Ruiz <ana@example.net>", SPANISH, "Talleres")
    send(
        served,
        "Bo Lind <bo@example.org>",
        "We moved every course online within a week; the workshops were harder.",
        "Workshops",
        parent=first,
    )
    axe = _Checker()
    pages: dict[str, Page] = {}
    for language in LANGUAGES:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, locale=language
        )
        pages[language] = page = context.new_page()
        if language == LANGUAGES[0]:
            wait_for_text(page, f"{base}/d/{SLUG}/q/1", "the workshops were harder")
        page.goto(f"{base}/d/{SLUG}/q/1")
        href = page.locator("article a[href*='/posts/']").first.get_attribute("href")
        assert href is not None
        _visit_every_page(page, served, language, f"{base}{href}", axe)

    for language, page in pages.items():  # past the hour's sign-ups from here
        for _ in range(12):
            if _wrong_signup(page, base) == 429:
                break
        assert page.locator("h1").count() == 1
        axe.check(page, "sign-up, too many", language)

    subprocess.run(
        [sys.executable, "-m", "mailer", "--config", str(served.config)]
        + ["discussion", "close", "--discussion", SLUG],
        cwd=served.config.parent,
        check=True,
        capture_output=True,
    )
    for language, page in pages.items():
        page.goto(f"{base}/d/{SLUG}")
        axe.check(page, "discussion, closed", language)
        page.goto(f"{base}/d/{SLUG}/report")
        axe.check(page, "report", language)
        page.context.close()

    wanted = {case for cases in HTML_ROUTES.values() for case in cases}
    assert axe.seen == wanted, f"cases never visited: {sorted(wanted - axe.seen)}"
    assert axe.found == [], "\n".join(axe.found)
