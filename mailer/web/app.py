"""The web archive as a Starlette application: routes, templates, language and safety.

``build_app(runtime)`` returns the ASGI app; :mod:`mailer.web.server` serves it
inside ``ediscuss serve``. Routes live by concern in :mod:`mailer.web.pages`,
:mod:`mailer.web.subscribe` and :mod:`mailer.web.exports`; they share one
:class:`~mailer.web.context.Web` object for rendering and for running store
queries in the thread pool, so no database call ever blocks the event loop.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mailer.web import exports, manage, pages, report, search, subscribe
from mailer.web.context import HERE, Web
from mailer.web.security import SecurityHeaders

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.web")


def build_app(runtime: Runtime) -> Starlette:
    """The ASGI application of the web archive for *runtime*."""
    web = Web(runtime)
    routes = [
        *pages.routes(web),
        *search.routes(web),
        *subscribe.routes(web),
        *manage.routes(web),
        *exports.routes(web),
        *report.routes(web),
        Route("/robots.txt", _robots, methods=["GET"]),
        Mount("/static", app=_Static(directory=HERE / "static"), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        if status != 404:
            return PlainTextResponse(str(getattr(exc, "detail", "")), status)
        page = web.page(request)
        return await web.message(
            request,
            page,
            page.t("not_found_title"),
            page.t("not_found_body"),
            status=404,
        )

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("web error path=%s", request.url.path, exc_info=exc)
        return PlainTextResponse("Internal error", 500)

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders, https=web.https),
            Middleware(GZipMiddleware, minimum_size=1000),
        ],
        exception_handlers={HTTPException: not_found, 500: server_error},
    )
    app.state.web = web
    return app


# The archive is public and meant to be found; personal links are not pages.
ROBOTS = "User-agent: *\nDisallow: /confirm/\nDisallow: /unsubscribe/\n"


async def _robots(request: Request) -> Response:
    return PlainTextResponse(ROBOTS, headers={"cache-control": "public, max-age=86400"})


class _Static(StaticFiles):
    """Static files with a long cache: their URLs carry a content hash."""

    async def get_response(self, path: str, scope: Any) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["cache-control"] = "public, max-age=31536000, immutable"
        return response
