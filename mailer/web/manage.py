"""The page that manages one subscription: what it receives, its language, or leaving.

Its link is in every mail a subscriber gets and in the answer to ``manage``
by mail: a token signed for this purpose only, naming one run of one
subscription and the day it was made (see :mod:`mailer.links`). GET only
shows the settings (mail scanners fetch every link); the changes are POSTed
with the CSRF token the other forms carry, so another site cannot make a
reader's browser change them. The page speaks the subscriber's language, and
its answer the language just chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailer.config.settings import DiscussionSettings
from mailer.core.choices import UnsubscribeVia
from mailer.core.tokens import SignedFor
from mailer.subscriptions.manage import SettingsChange, change_settings
from mailer.web.context import Page, Web
from mailer.web.i18n import LANGUAGE_NAMES, Translator
from mailer.web.pages import MODES
from mailer.web.subscribe import (
    LinkedSubscription,
    expired_page,
    invalid_page,
    leave,
    linked_subscription,
    posted_form,
)
from mailer.web.text import hide_address
from store.archive import SubscriptionView
from store.models import DeliveryMode, SubscriptionStatus

log = logging.getLogger("ediscuss.web")


def routes(web: Web) -> Sequence[BaseRoute]:
    """The manage page's routes, bound to *web*."""

    async def look_up(
        request: Request,
    ) -> tuple[LinkedSubscription, DiscussionSettings | None, Page]:
        linked = await linked_subscription(
            web, SignedFor.MANAGE, request.path_params["token"]
        )
        found = linked.view
        disc = web.settings.discussion(found.slug) if found else None
        page = web.page(request, disc, prefer=found.language if found else None)
        return linked, disc, page

    async def refused(
        request: Request,
        linked: LinkedSubscription,
        disc: DiscussionSettings | None,
        page: Page,
    ) -> Response | None:
        """The page for a link that cannot act, or None when it can."""
        if linked.view is None or disc is None:
            return await invalid_page(web, request, page, "manage_invalid", None, None)
        if not linked.alive or linked.view.status is not SubscriptionStatus.ACTIVE:
            return await expired_page(web, request, page, "manage_expired", disc)
        return None

    async def manage_show(request: Request) -> Response:
        linked, disc, page = await look_up(request)
        no = await refused(request, linked, disc, page)
        if no is not None:
            return no
        assert linked.view is not None and disc is not None
        found = linked.view
        return await web.render(
            request,
            page,
            "manage.html",
            {
                "discussion": disc,
                "title": disc.title.in_language(page.language, disc.default_language),
                "action": request.url.path,
                "address": hide_address(found.email, web.settings.service.domain),
                "mode": found.mode.value,
                "reads": found.language,
                "modes": MODES,
            },
            form=True,
        )

    async def manage_do(request: Request) -> Response:
        linked, disc, page = await look_up(request)
        form = await posted_form(web, request, page, disc)
        if isinstance(form, Response):
            return form
        no = await refused(request, linked, disc, page)
        if no is not None:
            return no
        assert linked.view is not None and disc is not None
        found = linked.view
        if form.get("leave"):
            return await leave(
                web, request, page, disc, found, UnsubscribeVia.WEB, "manage_expired"
            )
        mode = form.get("mode", "")
        language = form.get("language", "")
        change = await web.write(
            lambda s: change_settings(
                s,
                found.id,
                found.link_generation,
                DeliveryMode(mode) if mode in MODES else found.mode,
                language if language in disc.languages else found.language,
            )
        )
        if change is None:  # ended or begun anew since the page was shown
            return await expired_page(web, request, page, "manage_expired", disc)
        return await _saved(web, request, page, disc, found, change)

    return [
        Route("/manage/{token}", manage_show, methods=["GET"]),
        Route("/manage/{token}", manage_do, methods=["POST"]),
    ]


async def _saved(
    web: Web,
    request: Request,
    page: Page,
    disc: DiscussionSettings,
    found: SubscriptionView,
    change: SettingsChange,
) -> Response:
    """What changed, said in the language the subscriber reads from now on."""
    if change.language_changed and not page.explicit:
        page = Page(
            change.language,
            False,
            Translator(change.language, disc.time_zone),
            page.languages,
        )
    t = page.t
    lines: list[str] = []
    if change.mode_changed:
        lines.append(t("manage_now_mode", mode=t(f"mode_{change.mode.value}")))
    if change.language_changed:
        name = LANGUAGE_NAMES.get(change.language, change.language)
        if change.language in ("es", "fr"):
            name = name.lower()  # "en español", "en français" inside a sentence
        lines.append(t("manage_now_language", language=name))
    if not lines:
        lines.append(t("manage_unchanged"))
    return await web.render(
        request,
        page,
        "manage_saved.html",
        {
            "discussion": disc,
            "title": disc.title.in_language(page.language, disc.default_language),
            "address": hide_address(found.email, web.settings.service.domain),
            "lines": lines,
            "back": request.url.path,
        },
        cache="no-store",
    )
