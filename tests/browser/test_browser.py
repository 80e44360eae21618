"""A reader's visit in real headless Chromium, with JavaScript off, against ``ediscuss serve``.

Opens the discussion page, switches to Spanish, opens a question, signs up,
follows the confirmation link from the Maildir the outbox writes, confirms and
unsubscribes; on a desktop and on a 360-pixel phone. Screenshots go to
``tests/artifacts/`` (not tracked) for a person to look at.
"""

from __future__ import annotations

import email
import os
import re
import smtplib
import time
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.fixtures.web import SLUG, Served

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright; never a downloaded browser."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs the chromium package")
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def watch(page: Page, problems: list[str]) -> None:
    """Fail on anything a hostile post could make happen, or any CSP complaint."""

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))


def shot(page: Page, name: str, *parts: str) -> None:
    """The whole page, the first screen, and each of *parts* (CSS selectors)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-screen.png"))
    for n, selector in enumerate(parts, 1):
        page.locator(selector).first.screenshot(path=str(ARTIFACTS / f"{name}-{n}.png"))


def no_sideways_scroll(page: Page) -> None:
    """Nothing wider than the screen (Playwright evaluates even with page JS off)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert page.viewport_size is not None
    assert width <= page.viewport_size["width"], width


def link_in(mail: bytes, pattern: str) -> str:
    msg = email.message_from_bytes(mail, policy=policy.default)
    body = msg.get_body(("plain",))
    assert body is not None
    found = re.search(pattern, body.get_content())
    assert found is not None, body.get_content()
    return found.group(0)


def post_hostile_mail(served: Served) -> None:
    """An HTML-only mail full of active content, as a stranger could send it."""
    msg = EmailMessage()
    msg["From"] = "Eve <img src=x onerror=alert(1)> <eve@example.net>"
    msg["To"] = "skills-covid19+q1@discuss.example.org"
    msg["Subject"] = "<script>alert('subject')</script>"
    msg.set_content(
        "<html><body onload=\"alert('body')\"><p>Training moved "
        "<b>online</b>.</p><img src=x onerror=\"alert('img')\">"
        "<script>alert('script')</script>"
        "<a href=\"javascript:alert('link')\">click me</a> "
        "<svg onload=\"alert('svg')\"></svg></body></html>",
        subtype="html",
    )
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as client:
        client.send_message(msg)


def wait_for_text(page: Page, url: str, text: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        page.goto(url)
        if text in page.content() or time.monotonic() > deadline:
            return
        time.sleep(0.3)


def test_reader_visit_sign_up_confirm_unsubscribe(
    browser: Browser, make_served: Callable[..., Served]
) -> None:
    served = make_served()
    base = served.base_url
    post_hostile_mail(served)
    problems: list[str] = []
    desktop = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    page = desktop.new_page()
    watch(page, problems)

    page.goto(f"{base}/")  # redirects to the only discussion
    assert page.url == f"{base}/d/{SLUG}"
    assert page.locator("h1").inner_text().startswith("Continuing online learning")
    shot(page, "desktop-discussion-en")

    page.get_by_role("link", name="Español").click()
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Preguntas de la semana 1" in page.content()
    shot(page, "desktop-discussion-es")

    wait_for_text(page, f"{base}/d/{SLUG}/q/1?lang=es", "Training moved")
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Training moved online." in page.locator("article .text").first.inner_text()
    assert "<script>alert('subject')</script>" in page.locator("article").inner_text()
    assert (
        page.locator("article script, article img, article svg, article b").count() == 0
    )
    assert page.locator('a[href^="javascript"]').count() == 0
    shot(page, "desktop-question-es")

    page.get_by_role("link", name="Volver al debate").last.click()
    page.fill("#f-email", "lector@example.org")
    page.fill("#f-name", "Lector <b>Uno</b>")
    page.select_option("#f-const", "ngo")
    page.check("input[name=mode][value=digest]")
    page.get_by_role("button", name="Suscribirse").click()
    assert page.locator("h1").inner_text() == "Revise su buzón"
    shot(page, "desktop-signup-sent-es")

    [confirm_mail] = served.outbox_mail("lector@example.org")
    confirm = link_in(confirm_mail, rf"{re.escape(base)}/confirm/[a-z0-9]+")
    page.goto(confirm)
    assert page.locator("h1").inner_text() == "Confirme su suscripción"
    shot(page, "desktop-confirm-es")
    page.get_by_role("button", name="Confirmar").click()
    assert page.locator("h1").inner_text() == "Suscripción confirmada"

    deadline = time.monotonic() + 20
    while len(mails := served.outbox_mail("lector@example.org")) < 2:
        assert time.monotonic() < deadline, "no welcome mail"
        time.sleep(0.2)
    welcome = email.message_from_bytes(mails[-1], policy=policy.default)
    unsubscribe = re.search(
        r"<(http[^>]+/unsubscribe/[^>]+)>", welcome["List-Unsubscribe"]
    )
    assert unsubscribe is not None
    page.goto(unsubscribe.group(1))
    assert "Darme de baja" in page.content()
    # The page says whose link it is, masked, and offers less instead of leaving.
    assert "Este enlace es para la dirección l…@example.org." in page.content()
    assert "lector@" not in page.content()
    shot(page, "desktop-unsubscribe-es")
    page.get_by_role("button", name="Solo los anuncios (nuevas preguntas)").click()
    assert page.locator("h1").inner_text() == "Su modo de envío ha cambiado"
    page.goto(unsubscribe.group(1))
    assert page.get_by_role("button", name="Un resumen diario").count() == 1
    page.get_by_role("button", name="Darme de baja").click()
    assert page.locator("h1").inner_text() == "Se ha dado de baja"
    shot(page, "desktop-unsubscribed-es")
    desktop.close()

    phone = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=False,
    )
    page = phone.new_page()
    watch(page, problems)
    page.goto(f"{base}/d/{SLUG}?lang=fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    no_sideways_scroll(page)
    shot(page, "phone-discussion-fr", "ol.questions", ".signup")
    page.goto(f"{base}/d/{SLUG}/q/1")
    no_sideways_scroll(page)
    shot(page, "phone-question-en", "article.post")
    phone.close()
    assert problems == []
