"""What every route of the web archive shares: the :class:`Web` object and a request's :class:`Page`.

:class:`Web` renders templates and runs store queries in the thread pool, so no
database call ever blocks the event loop; the routes in :mod:`mailer.web.pages`,
:mod:`mailer.web.subscribe` and :mod:`mailer.web.exports` each receive it, and
:mod:`mailer.web.app` assembles them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

import jinja2
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from mailer.config.settings import DiscussionSettings
from mailer.core.copies import CopyKind, QuotedCopy
from mailer.core.redact import mark_for
from mailer.core.search import MAX_QUERY
from mailer.links import own_links
from mailer.web.i18n import LANGUAGE_NAMES, UI_LANGUAGES, Translator, negotiate_language
from mailer.web.security import (
    CSRF_COOKIE,
    csrf_form_token,
    new_csrf_cookie,
)
from mailer.web.text import display_name, published_post, render_published_text
from store.archive import ArchivePost, approved_posts

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.web")

HERE = Path(__file__).resolve().parent
T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """The language of one request and what templates need to write links in it."""

    language: str
    explicit: bool  # chosen with ?lang=, so links carry it on
    t: Translator
    languages: tuple[str, ...]

    def url(self, path: str, **params: str | int) -> str:
        """*path* with ``?lang=`` when the reader chose the language, and *params*."""
        query = {"lang": self.language} if self.explicit else {}
        query.update({k: str(v) for k, v in params.items()})
        return f"{path}?{urlencode(query)}" if query else path


class Web:
    """What every route shares: the runtime, the templates and the redacting post reader."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.https = self.settings.service.base_url.startswith("https://")
        css = (HERE / "static" / "style.css").read_bytes()
        self.static_url = f"/static/style.css?v={hashlib.sha256(css).hexdigest()[:10]}"
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        domain = self.settings.service.domain
        self.own = own_links(domain, self.settings.service.base_url)
        self.env.filters["post_text"] = jinja2.pass_context(
            lambda context, text: render_published_text(
                text,
                self.own,
                domain,
                lambda copy: _copy_line(context["t"], copy, domain),
            )
        )
        self.env.filters["person"] = lambda text: display_name(text, domain)
        self.env.filters["paragraphs"] = _paragraphs
        self.env.globals["attachment_path"] = attachment_path
        self.env.globals["max_query"] = MAX_QUERY

    def approved_posts(
        self, session: Session, discussion: DiscussionSettings, **which: Any
    ) -> list[ArchivePost]:
        """The approved posts every page, feed and export shows, as published.

        The archive's one way to read posts: no personal link of the service
        leaves through it (see :func:`mailer.web.text.published_post`).
        """
        mark = mark_for(discussion.default_language)
        return [
            published_post(p, self.own, mark)
            for p in approved_posts(session, discussion.slug, **which)
        ]

    async def read(self, query: Callable[[Session], T]) -> T:
        """Run *query* in a read session on a worker thread."""
        return await run_in_threadpool(self._run, query, False)

    async def write(self, change: Callable[[Session], T]) -> T:
        """Run *change* in a transaction on a worker thread; commits when it returns."""
        return await run_in_threadpool(self._run, change, True)

    def _run(self, work: Callable[[Session], T], commit: bool) -> T:
        if commit:
            with self.runtime.sessions.begin() as session:
                return work(session)
        with self.runtime.sessions() as session:
            return work(session)

    def discussion(self, slug: str) -> DiscussionSettings:
        """The configured discussion *slug*, or a 404."""
        found = self.settings.discussion(slug)
        if found is None:
            raise HTTPException(404)
        return found

    def page(
        self,
        request: Request,
        discussion: DiscussionSettings | None = None,
        prefer: str | None = None,
    ) -> Page:
        """The language of *request*: ``?lang=``, then *prefer*, then Accept-Language."""
        if discussion is not None:
            available = tuple(discussion.languages)
            default = discussion.default_language
            zone = discussion.time_zone
        else:
            available = UI_LANGUAGES
            default = self.settings.discussions[0].default_language
            zone = self.settings.discussions[0].time_zone
        requested = request.query_params.get("lang")
        language, explicit = negotiate_language(
            requested,
            None if prefer in available else request.headers.get("accept-language"),
            available,
            prefer if prefer in available else default,
        )
        return Page(language, explicit, Translator(language, zone), available)

    async def render(
        self,
        request: Request,
        page: Page,
        template: str,
        context: Mapping[str, Any],
        *,
        status: int = 200,
        form: bool = False,
        cache: str = "no-cache",
    ) -> Response:
        """Render *template*; with *form*, a CSRF cookie is set and a token passed in."""
        cookie = request.cookies.get(CSRF_COOKIE)
        fresh_cookie = None
        csrf = ""
        if form:
            if not cookie or len(cookie) > 64:
                cookie = fresh_cookie = new_csrf_cookie()
            csrf = csrf_form_token(self.runtime.key, cookie)
            cache = "private, no-store"
        # Rendering a long thread is CPU work: off the event loop, like the queries.
        html = await run_in_threadpool(
            self.env.get_template(template).render,
            page=page,
            t=page.t,
            lang=page.language,
            language_names=LANGUAGE_NAMES,
            static_url=self.static_url,
            language_url=_language_links(request, context),
            csrf=csrf,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        response.headers["cache-control"] = cache
        response.headers["vary"] = (
            "Accept-Language, Cookie" if form else "Accept-Language"
        )
        if fresh_cookie is not None:
            response.set_cookie(
                CSRF_COOKIE,
                fresh_cookie,
                httponly=True,
                secure=self.https,
                samesite="strict",
                path="/",
            )
        return response

    async def message(
        self,
        request: Request,
        page: Page,
        title: str,
        body: str,
        *,
        status: int = 200,
        discussion: DiscussionSettings | None = None,
    ) -> Response:
        """A short page with a title and a sentence (results and errors)."""
        return await self.render(
            request,
            page,
            "message.html",
            {"title": title, "body": body, "discussion": discussion},
            status=status,
            cache="no-store",
        )


# What a page reads of its query, and so what its language links keep.
_KEPT_PARAMETERS = ("q", "page")


def _language_links(
    request: Request, context: Mapping[str, Any]
) -> Callable[[str], str]:
    """Where a page's link to its *code* version leads: the page itself, when it can be fetched.

    The page's own query (a search's words, a page number) stays, so a
    reader who changes language sees the same results; nothing else of it,
    and no longer than a search may be, is echoed. A page that answers
    a form (the sign-up's result or its errors) has only a POST route; its
    language links lead to the discussion's page instead.
    """
    kept: list[tuple[str, str]] = []
    if request.method in ("GET", "HEAD"):
        path = quote(request.url.path)
        params = request.query_params
        kept = [
            (k, params[k][: MAX_QUERY + 1]) for k in _KEPT_PARAMETERS if k in params
        ]
    else:
        disc = context.get("discussion")
        path = f"/d/{quote(disc.slug)}" if isinstance(disc, DiscussionSettings) else "/"
    return lambda code: f"{path}?{urlencode([*kept, ('lang', code)])}"


def attachment_path(slug: str, post_id: int, attachment_id: int) -> str:
    """Where an attachment is downloaded from."""
    return f"/d/{quote(slug)}/posts/{post_id}/attachments/{attachment_id}"


def _copy_line(t: Translator, copy: QuotedCopy, domain: str) -> str:
    """The one line that stands for a quoted copy of the service's mail."""
    if copy.kind is CopyKind.POST:
        name = display_name(copy.author, domain)
        return t("quoted_copy_post", name=name) if name else t("quoted_copy_a_post")
    if copy.kind is CopyKind.DIGEST:
        return t("quoted_copy_digest")
    return t("quoted_copy_message")


def _paragraphs(text: str) -> list[str]:
    """Configured text split at blank lines."""
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
