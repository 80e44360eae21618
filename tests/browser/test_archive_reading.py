"""Reading the archive in Chromium: languages of posts, post pages, the sign-up form, axe-core.

Against ``ediscuss serve`` with posts sent by SMTP. JavaScript is on in the
browser because axe-core runs on timers; the pages themselves carry none
(their CSP allows no script), so they behave as with it off.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.browser.test_browser import (
    browser,
    no_sideways_scroll,
    shot,
    wait_for_text,
    watch,
)
from tests.fixtures.web import SLUG, Served

__all__ = ["browser"]  # the module's Chromium, shared with the reader's visit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SPANISH = (
    "Nuestros centros de formación cerraron en marzo y los aprendices están en "
    "casa; las empresas no pueden acogerlos y los cursos a distancia no bastan."
)


def send(served: Served, sender: str, body: str, subject: str, parent: str = "") -> str:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "skills-covid19+q1@discuss.example.org"
    msg["Subject"] = subject
    msg["Message-ID"] = mid = make_msgid(domain="example.net")
    if parent:
        msg["In-Reply-To"] = parent
        msg["References"] = parent
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as client:
        client.send_message(msg)
    return mid


def no_axe_violations(page: Page, where: str) -> None:
    results = Axe().run(page)
    found = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
    assert found == [], f"{where}: {found}"


def test_reading_posts_and_the_sign_up_form(
    browser: Browser, make_served: Callable[..., Served]
) -> None:
    served = make_served()
    base = served.base_url
    first = send(
        served,
        "Ana Ruiz <ana@example.net>",
        SPANISH,
        "Re: [skills-covid19] Resumen del 29 de marzo de 2027: 10 nuevas aportaciones",
    )
    send(
        served,
        "Bo Lind <bo@example.org>",
        "We moved every course online within a week; the workshops were harder.",
        "AW: [skills-covid19] Q1: Workshops",
        parent=first,
    )
    problems: list[str] = []
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        watch(page, problems)
        size = "desktop" if width > 500 else "phone"

        wait_for_text(page, f"{base}/d/{SLUG}/q/1", "the workshops were harder")
        spanish = page.locator("article .text", has_text="aprendices")
        assert spanish.get_attribute("lang") == "es"
        english = page.locator("article .text", has_text="workshops")
        assert english.get_attribute("lang") == "en"
        assert page.locator("article h3.author").all_inner_texts() == [
            "Ana Ruiz",
            "Bo Lind",
        ]
        assert page.locator("article .subject").all_inner_texts() == ["Workshops"]
        assert "Resumen del" not in page.content()
        no_axe_violations(page, f"{size} question")
        no_sideways_scroll(page)
        shot(page, f"{size}-question-titles")

        page.get_by_role("link", name="Link to this post by Bo Lind").click()
        assert re.fullmatch(rf"{re.escape(base)}/d/{SLUG}/posts/\d+", page.url)
        target = page.locator("article.target")
        assert target.locator("h2.author").inner_text() == "Bo Lind"
        assert page.locator("link[rel=canonical]").get_attribute("href") == page.url
        no_axe_violations(page, f"{size} post")
        no_sideways_scroll(page)
        shot(page, f"{size}-post")

        page.goto(f"{base}/d/{SLUG}")
        jump = page.get_by_role("link", name="Go to the questions")
        assert jump.is_visible() == (size == "phone")
        no_axe_violations(page, f"{size} discussion")
        # A refused address: the answer lands on the form, not at the page's top.
        page.evaluate("document.querySelector('.signup form').noValidate = true")
        page.fill("#f-email", "plainly-wrong")
        page.get_by_role("button", name="Sign up").click()
        assert page.url.endswith(f"/d/{SLUG}/signup#signup")
        error = page.locator("#signup-error")
        box = error.bounding_box()
        assert box is not None and 0 <= box["y"] <= height - box["height"], box
        assert page.evaluate("window.scrollY") > 500
        no_axe_violations(page, f"{size} sign-up error")
        shot(page, f"{size}-signup-error")
        page.get_by_role("link", name="Español").click()
        assert page.url == f"{base}/d/{SLUG}?lang=es"
        assert page.locator("html").get_attribute("lang") == "es"
        context.close()
    # The refused sign-up answers 400 on purpose; nothing else may fail.
    expected = (
        f"400 {base}/d/{SLUG}/signup",
        "console: Failed to load resource: the server responded with a status of 400",
    )
    assert [p for p in problems if not p.startswith(expected)] == []
