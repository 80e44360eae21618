"""Managing a subscription in Chromium: the link of the welcome mail, the page, axe-core.

Against ``ediscuss serve``: a reader signs up and confirms on the web, opens
the manage link of the welcome mail the service delivered, changes delivery
and language at a desktop width and at a phone's, and sees each change
confirmed; the unsubscribe link of the same mail names the masked address
and offers less mail instead. axe-core finds nothing on any of these pages.
"""

from __future__ import annotations

import email
import re
import time
from collections.abc import Callable
from email import policy

import pytest
from playwright.sync_api import Browser

from tests.browser.test_archive_reading import no_axe_violations
from tests.browser.test_browser import (
    browser,
    link_in,
    no_sideways_scroll,
    shot,
    watch,
)
from tests.fixtures.web import SLUG, Served

__all__ = ["browser"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

READER = "lee.park@example.org"
SIZES = ((1280, 900, "desktop"), (390, 844, "phone"))


def _welcome(served: Served) -> email.message.EmailMessage:
    deadline = time.monotonic() + 30
    while len(mails := served.outbox_mail(READER)) < 2:
        assert time.monotonic() < deadline, "no welcome mail"
        time.sleep(0.2)
    return email.message_from_bytes(mails[-1], policy=policy.default)


def test_manage_link_changes_delivery_and_language(
    browser: Browser, make_served: Callable[..., Served]
) -> None:
    served = make_served()
    base = served.base_url
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch(page, problems)
    page.goto(f"{base}/d/{SLUG}")
    page.fill("#f-email", READER)
    page.get_by_role("button", name="Sign up").click()
    [confirm_mail] = served.outbox_mail(READER)
    page.goto(link_in(confirm_mail, rf"{re.escape(base)}/confirm/[a-z0-9]+"))
    page.get_by_role("button", name="Confirm").click()
    context.close()
    welcome = _welcome(served)
    body = welcome.get_body(("plain",))
    assert body is not None
    manage = re.search(rf"{re.escape(base)}/manage/[a-z0-9.-]+", body.get_content())
    assert manage is not None
    unsubscribe = re.search(
        r"<(http[^>]+/unsubscribe/[^>]+)>", welcome["List-Unsubscribe"]
    )
    assert unsubscribe is not None

    # At each width: the page in the reader's language, then a change, confirmed.
    steps = [
        ("digest", "es", "Guardar", "Su suscripción está al día", "Un resumen diario"),
        (
            "announcements",
            "fr",
            "Enregistrer",
            "Votre abonnement est à jour",
            "Uniquement les annonces",
        ),
    ]
    reading = ("en", "Save", "Your subscription")
    for (width, height, size), step in zip(SIZES, steps, strict=True):
        mode, language, next_save, saved, said = step
        ctx = browser.new_context(viewport={"width": width, "height": height})
        page = ctx.new_page()
        watch(page, problems)
        page.goto(manage.group(0))
        assert page.locator("html").get_attribute("lang") == reading[0]
        assert page.locator("h1").inner_text() == reading[2]
        assert "l…@example.org" in page.content() and "lee.park@" not in page.content()
        no_axe_violations(page, f"{size} manage page")
        no_sideways_scroll(page)
        shot(page, f"{size}-manage")
        page.check(f"input[name=mode][value={mode}]")
        page.select_option("#m-lang", language)
        page.get_by_role("button", name=reading[1]).click()
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("h1").inner_text() == saved
        assert said in page.locator("ul.changes").inner_text()
        no_axe_violations(page, f"{size} manage result")
        no_sideways_scroll(page)
        shot(page, f"{size}-manage-saved")
        ctx.close()
        reading = (
            language,
            next_save,
            "Su suscripción" if language == "es" else "Votre abonnement",
        )

    # The unsubscribe link: whose it is, masked, and less mail instead of none.
    for width, height, size in SIZES:
        ctx = browser.new_context(viewport={"width": width, "height": height})
        page = ctx.new_page()
        watch(page, problems)
        page.goto(unsubscribe.group(1))
        assert page.locator("html").get_attribute("lang") == "fr"
        assert "l…@example.org" in page.content() and "lee.park@" not in page.content()
        assert page.get_by_role("button", name="Un résumé quotidien").count() == 1
        assert page.get_by_role("button", name="Me désinscrire").count() == 1
        no_axe_violations(page, f"{size} unsubscribe page")
        no_sideways_scroll(page)
        shot(page, f"{size}-unsubscribe-fr")
        ctx.close()
    assert problems == []
