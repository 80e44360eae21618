"""Searching the archive in Chromium: the box, a marked snippet, the next page, axe-core.

Against ``ediscuss serve`` with posts sent by SMTP, at 1280 and 390 px.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from playwright.sync_api import Browser

from mailer.web.search import PER_PAGE
from tests.browser.test_archive_reading import no_axe_violations
from tests.browser.test_browser import (
    browser,
    no_sideways_scroll,
    shot,
    wait_for_text,
    watch,
)
from tests.fixtures.web import SLUG, Served

__all__ = ["browser"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COUNT = PER_PAGE + 3  # one page and a bit


def send_many(served: Served) -> None:
    """*COUNT* posts on question 1, each by its own sender, all about broadband."""
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=30) as client:
        for n in range(COUNT):
            msg = EmailMessage()
            msg["From"] = f"Reader {n} <reader{n}@example.net>"
            msg["To"] = "skills-covid19+q1@discuss.example.org"
            msg["Subject"] = f"Villages, note {n}"
            msg["Message-ID"] = make_msgid(domain="example.net")
            msg.set_content(
                f"Note {n}: in the villages the apprentices had no broadband, "
                "so the workshops went on by telephone and on paper."
            )
            client.send_message(msg)


def test_searching_marks_the_words_and_pages_forward(
    browser: Browser, make_served: Callable[..., Served]
) -> None:
    served = make_served()
    base = served.base_url
    send_many(served)
    problems: list[str] = []
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        watch(page, problems)
        size = "desktop" if width > 500 else "phone"
        # Posts are processed after the SMTP answer: wait until all are in.
        wait_for_text(
            page, f"{base}/d/{SLUG}/search?q=broadband", f"{COUNT} contributions"
        )

        page.goto(f"{base}/d/{SLUG}")
        page.get_by_label("Words to look for").fill('broadband "villages')
        page.get_by_role("button", name="Search").click()
        assert page.url.startswith(f"{base}/d/{SLUG}/search?q=")
        heading = page.get_by_role("heading", level=2)
        assert heading.first.inner_text() == f"{COUNT} contributions found"
        results = page.locator("li.result")
        assert results.count() == PER_PAGE
        marks = results.first.locator(".snippet mark").all_inner_texts()
        assert [m.lower() for m in marks] == ["villages", "broadband"]
        link = results.first.get_by_role("link")
        assert re.fullmatch(
            rf"/d/{SLUG}/posts/\d+", link.get_attribute("href") or ""
        ), link.get_attribute("href")
        no_axe_violations(page, f"{size} search results")
        no_sideways_scroll(page)
        shot(page, f"{size}-search")

        page.get_by_role("link", name="Next page").first.click()
        assert "page=2" in page.url
        assert page.locator("li.result").count() == COUNT - PER_PAGE
        assert page.get_by_role("link", name="Previous page").first.is_visible()
        no_axe_violations(page, f"{size} search page 2")

        page.locator("li.result").first.get_by_role("link").click()
        assert re.fullmatch(rf"{re.escape(base)}/d/{SLUG}/posts/\d+", page.url)
        assert page.locator("article.target").count() == 1

        page.goto(f"{base}/d/{SLUG}/search?q=" + "x" * 300)
        assert page.locator("#search-error").is_visible()
        no_axe_violations(page, f"{size} search refused")
        context.close()
    assert problems == []
