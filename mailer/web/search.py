"""The search page of a discussion: its published posts that hold the reader's words.

``GET /d/<slug>/search?q=...&page=N``, a plain form, no script. The words are
plain terms (:func:`mailer.core.search.search_terms`); the posts come through
:meth:`mailer.web.context.Web.approved_posts`, so a snippet shows only what
the post's own page shows: redacted text, addresses shortened, quoted copies
of the service's mail left out. Snippets are cut for the page's rows only,
and counting stops after :data:`MAX_RESULTS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import Markup, escape
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailer.config.settings import DiscussionSettings
from mailer.core.copies import find_quoted_copies
from mailer.core.language import guess_language
from mailer.core.search import MAX_QUERY, Piece, search_terms, snippet
from mailer.web.context import Web
from mailer.web.pages import title_of
from mailer.web.text import clean_text, hide_addresses
from store.archive import ArchivePost
from store.search import search_posts

PER_PAGE = 20  # results on a page
MAX_RESULTS = 1000  # counted and reachable by paging; beyond: "more than 1,000"
_MAX_PAGE = 999  # a page number longer than this is no page of ours


@dataclass(frozen=True)
class SearchResult:
    """One post found, as the results list shows it."""

    post: ArchivePost
    title: str
    language: str  # of the post's text, for its lang attribute ("" when unclear)
    snippet: Markup


@dataclass(frozen=True)
class SearchResults:
    """One page of a search, or why there is none (no words, too long)."""

    query: str
    terms: tuple[str, ...]
    too_long: bool
    results: tuple[SearchResult, ...]
    total: int
    capped: bool
    page: int
    page_count: int


def find_posts(
    web: Web,
    session: Session,
    disc: DiscussionSettings,
    query: str,
    page: int = 1,
) -> SearchResults:
    """Page *page* of the published posts of *disc* holding every word of *query*.

    The search page's whole work, apart from rendering (the bench times it).
    """
    too_long = len(query) > MAX_QUERY
    terms = () if too_long else search_terms(query)
    empty = SearchResults(query, terms, too_long, (), 0, False, 1, 0)
    if not terms:
        return empty
    hits = search_posts(
        session,
        disc.slug,
        terms,
        offset=(page - 1) * PER_PAGE,
        limit=PER_PAGE,
        cap=MAX_RESULTS,
    )
    reachable = min(hits.total, MAX_RESULTS)
    pages = -(-reachable // PER_PAGE)
    posts = web.approved_posts(
        session, disc, ids=hits.ids, moderators=[m.email for m in disc.moderators]
    )
    by_id = {p.id: p for p in posts}
    results = tuple(
        SearchResult(
            post,
            title_of(disc, post),
            post.language or guess_language(post.body),
            _snippet_html(web, post, terms),
        )
        for post_id in hits.ids
        if (post := by_id.get(post_id)) is not None  # unless moderated away meanwhile
    )
    return SearchResults(
        query, terms, False, results, hits.total, hits.capped, page, pages
    )


def _snippet_html(web: Web, post: ArchivePost, terms: Sequence[str]) -> Markup:
    """The post's words around the first match, escaped, matches in ``<mark>``."""
    lines = clean_text(post.body).split("\n")
    for copy in reversed(find_quoted_copies("\n".join(lines), web.own)):
        del lines[copy.start : copy.end]
    shown = hide_addresses("\n".join(lines), web.settings.service.domain)
    return _marked(snippet(shown, terms))


def _marked(pieces: Sequence[Piece]) -> Markup:
    return Markup("").join(
        Markup("<mark>{}</mark>").format(p.text) if p.hit else escape(p.text)
        for p in pieces
    )


def routes(web: Web) -> Sequence[BaseRoute]:
    """The search route, bound to *web*."""

    async def search(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])
        page = web.page(request, disc)
        query = request.query_params.get("q", "")
        raw = request.query_params.get("page", "1")
        if not raw.isdigit() or not 1 <= int(raw) <= _MAX_PAGE:
            raise HTTPException(404)
        number = int(raw)
        found = await web.read(lambda s: find_posts(web, s, disc, query, number))
        if number > max(found.page_count, 1):
            raise HTTPException(404)
        path = f"/d/{quote(disc.slug)}/search"

        def page_url(n: int) -> str:
            return page.url(path, q=query, page=n) if n > 1 else page.url(path, q=query)

        return await web.render(
            request,
            page,
            "search.html",
            {
                "discussion": disc,
                "title": disc.title.in_language(page.language, disc.default_language),
                "found": found,
                "max_results": MAX_RESULTS,
                "per_page": PER_PAGE,
                "previous_url": page_url(number - 1) if number > 1 else "",
                "next_url": page_url(number + 1) if number < found.page_count else "",
            },
            cache="public, max-age=60",
        )

    return [Route("/d/{slug}/search", search, methods=["GET"])]
