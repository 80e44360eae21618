"""Sign-up, confirmation and one-click unsubscribe on the web.

Sign-up only asks for a subscription: the double opt-in mail decides.
Confirmation links are shown with a button (GET) and acted on by POST, because
mail scanners fetch every link they see. Unsubscribe POST is RFC 8058 one-click:
a mail client posts ``List-Unsubscribe=One-Click`` with no cookie, so the signed
token in the URL is the only authority it needs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailer.config.settings import DiscussionSettings
from mailer.core.addresses import AddressBook
from mailer.core.choices import SignupSource, UnsubscribeVia
from mailer.core.command_values import CONSTITUENCIES
from mailer.core.errors import BadToken, EdiscussError
from mailer.core.tokens import SignedFor, hash_token
from mailer.links import read_subscription_token
from mailer.subscriptions import (
    ConfirmOutcome,
    InvalidAddress,
    InvalidValue,
    SignupForm,
    UnsubscribeOutcome,
    confirm_token,
    request_subscription,
    unsubscribe_subscription,
)
from mailer.web.context import Page, Web
from mailer.web.pages import MODES, render_discussion
from mailer.web.security import (
    BAD_TOKEN,
    BAD_TOKENS_PER_HOUR,
    CSRF_COOKIE,
    CSRF_FIELD,
    SIGNUP,
    allow_request,
    client_key,
    csrf_valid,
)
from mailer.web.text import hide_address
from store.archive import (
    SubscriptionView,
    TokenView,
    discussion_state,
    subscription_view,
    token_view,
)
from store.models import DeliveryMode, SubscriptionStatus, TokenPurpose
from store.subscribers import set_mode

log = logging.getLogger("ediscuss.web")

MAX_FORM_BYTES = 8192
ONE_CLICK = ("List-Unsubscribe", "One-Click")
_LIMITS = {"email": 320, "name": 200, "organisation": 200}
_INSTEAD = (DeliveryMode.DIGEST.value, DeliveryMode.ANNOUNCEMENTS.value)
_LIVE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PENDING)


class FormTooLarge(EdiscussError):
    """The request body is over :data:`MAX_FORM_BYTES`."""


async def read_form(request: Request, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """A urlencoded form body, read up to *limit* bytes; the first value of each name."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FormTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise FormTooLarge
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/x-www-form-urlencoded", ""):
        return {}
    fields: dict[str, str] = {}
    text = body.decode("utf-8", "replace")
    for name, value in parse_qsl(text, keep_blank_values=True, max_num_fields=50):
        fields.setdefault(name, value)
    return fields


def routes(web: Web) -> Sequence[BaseRoute]:
    """The sign-up, confirm and unsubscribe routes, bound to *web*."""

    async def signup(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])
        page = web.page(request, disc)
        form = await posted_form(web, request, page, disc)
        if isinstance(form, Response):
            return form
        client = client_key(request.client.host if request.client else None)
        limit = web.settings.web.signup_per_hour
        if not await web.write(
            lambda s: allow_request(s, SIGNUP, client, limit, web.runtime.clock())
        ):
            log.info(
                "signup refused discussion=%s client=%s reason=rate", disc.slug, client
            )
            response = await error_page(web, request, page, "error_rate", 429, disc)
            response.headers["retry-after"] = "3600"
            return response
        values = _clean(form, disc, page)
        if "@" not in values["email"] or len(values["email"]) > 320:
            return await _form_again(web, request, page, disc, values)

        def change(session: Any) -> None:
            signup = SignupForm(
                values["email"],
                name=values["name"],
                organisation=values["organisation"],
                constituency=values["constituency"],
                language=values["language"],
                mode=values["mode"],
                source=SignupSource.WEB,
            )
            request_subscription(
                session, web.runtime, disc.slug, signup, web.runtime.clock()
            )

        try:
            await web.write(change)
        except (InvalidAddress, InvalidValue):  # the address or a value was refused
            return await _form_again(web, request, page, disc, values)
        return await web.message(
            request,
            page,
            page.t("signup_sent_title"),
            page.t("signup_sent_body"),
            discussion=disc,
        )

    async def confirm_show(request: Request) -> Response:
        token = request.path_params["token"]
        view, disc, page = await _token_page(web, request, token)
        if view is None or not view.usable or disc is None:
            return await invalid_page(web, request, page, "confirm_invalid", view, disc)
        title = disc.title.in_language(page.language, disc.default_language)
        return await web.render(
            request,
            page,
            "confirm.html",
            {
                "discussion": disc,
                "title": title,
                "action": request.url.path,
                "leaving": view.purpose is TokenPurpose.UNSUBSCRIBE,
            },
            form=True,
        )

    async def confirm_do(request: Request) -> Response:
        token = request.path_params["token"]
        view, disc, page = await _token_page(web, request, token)
        form = await posted_form(web, request, page, disc)
        if isinstance(form, Response):
            return form
        if view is None or not view.usable or disc is None:
            return await invalid_page(web, request, page, "confirm_invalid", view, disc)
        try:
            result = await web.write(
                lambda s: confirm_token(s, web.runtime, token, web.runtime.clock())
            )
        except BadToken:  # used or expired meanwhile
            return await invalid_page(web, request, page, "confirm_invalid", view, disc)
        title = disc.title.in_language(page.language, disc.default_language)
        if result.outcome in (
            ConfirmOutcome.UNSUBSCRIBED,
            ConfirmOutcome.ALREADY_UNSUBSCRIBED,
        ):
            done_title, done_body = "unsubscribed_title", "unsubscribed_body"
        else:
            done_title, done_body = "confirmed_title", "confirmed_body"
        return await web.message(
            request,
            page,
            page.t(done_title),
            page.t(done_body, title=title),
            discussion=disc,
        )

    async def unsubscribe_show(request: Request) -> Response:
        linked = await linked_subscription(
            web, SignedFor.UNSUBSCRIBE, request.path_params["token"]
        )
        found = linked.view
        disc = web.settings.discussion(found.slug) if found else None
        page = web.page(request, disc, prefer=found.language if found else None)
        if found is None or disc is None:
            return await invalid_page(
                web, request, page, "unsubscribe_invalid", None, None
            )
        if not linked.alive and found.status in _LIVE:
            # Too old, or made before this subscription began: an ended one
            # still gets its "you are unsubscribed" below.
            return await expired_page(web, request, page, "unsubscribe_expired", disc)
        title = disc.title.in_language(page.language, disc.default_language)
        return await web.render(
            request,
            page,
            "unsubscribe.html",
            {
                "discussion": disc,
                "title": title,
                "action": request.url.path,
                "done": found.status is not SubscriptionStatus.ACTIVE
                and found.status is not SubscriptionStatus.PENDING,
                "address": hide_address(found.email, web.settings.service.domain),
                "instead": [
                    m.value
                    for m in (DeliveryMode.DIGEST, DeliveryMode.ANNOUNCEMENTS)
                    if m is not found.mode
                ]
                if found.status is SubscriptionStatus.ACTIVE
                else [],
            },
            cache="no-store",
        )

    async def unsubscribe_do(request: Request) -> Response:
        linked = await linked_subscription(
            web, SignedFor.UNSUBSCRIBE, request.path_params["token"]
        )
        found = linked.view
        disc = web.settings.discussion(found.slug) if found else None
        page = web.page(request, disc, prefer=found.language if found else None)
        try:
            form = await read_form(request)
        except FormTooLarge:
            form = {}
        if found is None or disc is None:
            return await invalid_page(
                web, request, page, "unsubscribe_invalid", None, None
            )
        if not linked.alive and found.status in _LIVE:
            # Too old, or made before this subscription began: an ended one
            # still gets its "you are unsubscribed" below.
            return await expired_page(web, request, page, "unsubscribe_expired", disc)
        # Our own page's button sends no List-Unsubscribe field: a person clicked,
        # so a goodbye mail may follow; a mail client's one-click POST gets none.
        one_click = form.get(ONE_CLICK[0]) == ONE_CLICK[1]
        if not one_click and form.get("mode") in _INSTEAD:
            return await _receive_less(web, request, page, disc, found, form["mode"])
        via = UnsubscribeVia.ONE_CLICK if one_click else UnsubscribeVia.WEB
        return await leave(web, request, page, disc, found, via)

    return [
        Route("/d/{slug}/signup", signup, methods=["POST"]),
        Route("/confirm/{token}", confirm_show, methods=["GET"]),
        Route("/confirm/{token}", confirm_do, methods=["POST"]),
        Route("/unsubscribe/{token}", unsubscribe_show, methods=["GET"]),
        Route("/unsubscribe/{token}", unsubscribe_do, methods=["POST"]),
    ]


async def leave(
    web: Web,
    request: Request,
    page: Page,
    disc: DiscussionSettings,
    found: SubscriptionView,
    via: UnsubscribeVia,
    spent: str = "unsubscribe_expired",
) -> Response:
    """Unsubscribe *found* now (a goodbye mail follows unless *via* is one-click).

    The link's run of the subscription is checked again inside the write: one
    that ended and began anew meanwhile gets the *spent* page, untouched.
    """
    outcome = await web.write(
        lambda s: unsubscribe_subscription(
            s,
            web.runtime,
            found.id,
            web.runtime.clock(),
            via,
            generation=found.link_generation,
        )
    )
    if outcome is UnsubscribeOutcome.LINK_SPENT:
        return await expired_page(web, request, page, spent, disc)
    title = disc.title.in_language(page.language, disc.default_language)
    return await web.message(
        request,
        page,
        page.t("unsubscribed_title"),
        page.t("unsubscribed_body", title=title),
        discussion=disc,
    )


async def _receive_less(
    web: Web,
    request: Request,
    page: Page,
    disc: DiscussionSettings,
    found: SubscriptionView,
    mode: str,
) -> Response:
    """The unsubscribe page's other answer: stay, with a digest or announcements only."""
    changed = await web.write(lambda s: set_mode(s, found.id, DeliveryMode(mode)))
    if not changed:
        return await invalid_page(
            web, request, page, "unsubscribe_invalid", found, disc
        )
    log.info("subscription %d: mode %s by web", found.id, mode)
    title = disc.title.in_language(page.language, disc.default_language)
    address = hide_address(found.email, web.settings.service.domain)
    return await web.message(
        request,
        page,
        page.t("mode_changed_title"),
        page.t(
            "mode_changed_body",
            address=address,
            title=title,
            mode=page.t(f"mode_{mode}"),
        ),
        discussion=disc,
    )


def _clean(
    form: dict[str, str], disc: DiscussionSettings, page: Page
) -> dict[str, str]:
    values = {
        name: " ".join(form.get(name, "").split())[:limit]
        for name, limit in _LIMITS.items()
    }
    constituency = form.get("constituency", "")
    values["constituency"] = constituency if constituency in CONSTITUENCIES else ""
    language = form.get("language", "")
    values["language"] = language if language in disc.languages else page.language
    mode = form.get("mode", "")
    values["mode"] = mode if mode in MODES else "each"
    return values


async def _form_again(
    web: Web,
    request: Request,
    page: Page,
    disc: DiscussionSettings,
    values: dict[str, str],
) -> Response:
    view = await web.read(lambda s: discussion_state(s, disc.slug))
    assert view is not None
    return await render_discussion(
        web,
        request,
        page,
        disc,
        view,
        form=values,
        error=page.t("error_email"),
        status=400,
    )


async def _token_page(
    web: Web, request: Request, token: str
) -> tuple[TokenView | None, DiscussionSettings | None, Page]:
    """The token behind a confirmation link, its discussion, and the page language."""
    view = await web.read(
        lambda s: token_view(s, hash_token(token), web.runtime.clock())
    )
    if view is not None and view.purpose not in (
        TokenPurpose.SUBSCRIBE,
        TokenPurpose.UNSUBSCRIBE,
    ):
        view = None  # command tokens are confirmed by mail, not here
    disc = web.settings.discussion(view.slug) if view and view.slug else None
    page = web.page(request, disc, prefer=view.language if view else None)
    return view, disc, page


@dataclass(frozen=True)
class LinkedSubscription:
    """The subscription a signed link names (None: the link names nothing), and
    whether the link still acts on it: not too old, made for this run of it."""

    view: SubscriptionView | None
    alive: bool


async def linked_subscription(
    web: Web, purpose: SignedFor, token: str
) -> LinkedSubscription:
    """What an unsubscribe or manage link acts on, checked against the store."""
    try:
        link = read_subscription_token(web.runtime.key, purpose, token)
    except (BadToken, ValueError):
        return LinkedSubscription(None, False)
    view = await web.read(lambda s: subscription_view(s, link.subscription_id))
    if view is None:
        return LinkedSubscription(None, False)
    alive = link.alive(
        view.link_generation,
        web.runtime.clock(),
        web.settings.subscribers.link_ttl_days,
    )
    return LinkedSubscription(view, alive)


async def expired_page(
    web: Web,
    request: Request,
    page: Page,
    key: str,
    disc: DiscussionSettings,
) -> Response:
    """A link that was good once: say so, and how to get a fresh one by mail."""
    request_address = AddressBook(disc.slug, web.settings.service.domain).request()
    return await web.render(
        request,
        page,
        "link_expired.html",
        {
            "discussion": disc,
            "body": page.t(key),
            "request_address": request_address,
            "word": page.t("manage_word"),
        },
        status=410,
        cache="no-store",
    )


async def error_page(
    web: Web,
    request: Request,
    page: Page,
    key: str,
    status: int,
    disc: DiscussionSettings | None,
) -> Response:
    return await web.message(
        request,
        page,
        page.t("error_title"),
        page.t(key),
        status=status,
        discussion=disc,
    )


async def invalid_page(
    web: Web,
    request: Request,
    page: Page,
    key: str,
    view: Any,
    disc: DiscussionSettings | None,
) -> Response:
    if view is None:
        # A link that names nothing: one person mistypes, a prober tries many.
        client = client_key(request.client.host if request.client else None)
        if not await web.write(
            lambda s: allow_request(
                s, BAD_TOKEN, client, BAD_TOKENS_PER_HOUR, web.runtime.clock()
            )
        ):
            log.info("token page refused client=%s reason=rate", client)
            response = await error_page(
                web, request, page, "error_rate_links", 429, disc
            )
            response.headers["retry-after"] = "3600"
            return response
    status = 410 if view is not None else 404
    return await error_page(web, request, page, key, status, disc)


async def posted_form(
    web: Web, request: Request, page: Page, disc: DiscussionSettings | None
) -> dict[str, str] | Response:
    """The form one of our pages posted, or the error page: too large, or no valid CSRF token."""
    try:
        form = await read_form(request)
    except FormTooLarge:
        return await error_page(web, request, page, "error_too_large", 413, disc)
    if not csrf_valid(
        web.runtime.key, request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)
    ):
        return await error_page(web, request, page, "error_form", 403, disc)
    return form
