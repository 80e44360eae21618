"""The reading pages: the discussion list, a discussion, a question's thread, a post's link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from mailer.config.settings import DiscussionSettings
from mailer.core.addresses import AddressBook
from mailer.core.command_values import CONSTITUENCIES
from mailer.core.headers import header_safe
from mailer.core.language import guess_language
from mailer.core.titles import post_title
from mailer.links import post_url, reply_address
from mailer.web.context import Page, Web
from store.archive import (
    ArchivePost,
    DiscussionView,
    PostLink,
    QuestionProgress,
    approved_links,
    approved_participants,
    approved_post_question,
    discussion_state,
)
from store.models import DiscussionState

MAX_REPLIES_SHOWN = 200  # a post's own page: the post and this many replies at most
THREADS_PER_PAGE = 25  # a page stays small on a slow line; threads are never split
MAX_DEPTH = 4  # deeper replies are shown at this indent; "in reply to" says where
MAX_ID = 2**31 - 1  # ids beyond a 32-bit column are not ours: 404, not an SQL error
MODES = ("each", "digest", "announcements")


@dataclass(frozen=True)
class QuestionListing:
    """One question as the discussion page lists it."""

    number: int
    week: int
    text: str
    released: bool
    release_at: datetime
    approved: int
    address: str


@dataclass(frozen=True)
class ThreadEntry:
    """A post in thread order with its display depth."""

    post: ArchivePost
    depth: int
    reply_mailto: str
    title: str
    language: str  # of the post's text, for its lang attribute ("" when unclear)


def routes(web: Web) -> Sequence[BaseRoute]:
    """The reading routes, bound to *web*."""

    async def index(request: Request) -> Response:
        settings = web.settings
        page = web.page(request)
        if len(settings.discussions) == 1:
            only = settings.discussions[0]
            return RedirectResponse(page.url(f"/d/{quote(only.slug)}"), 302)
        items = [
            (d.slug, d.title.in_language(page.language, d.default_language))
            for d in settings.discussions
        ]
        return await web.render(request, page, "index.html", {"discussions": items})

    async def discussion(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])
        page = web.page(request, disc)
        view = await web.read(lambda s: discussion_state(s, disc.slug))
        if view is None:
            raise HTTPException(404)
        return await render_discussion(web, request, page, disc, view)

    async def question(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])
        number = _small(request.path_params["number"])
        conf = disc.question(number)
        if conf is None:
            raise HTTPException(404)
        page = web.page(request, disc)

        def load(session: Any) -> tuple[DiscussionView | None, list[PostLink]]:
            return (
                discussion_state(session, disc.slug),
                approved_links(session, disc.slug, number),
            )

        view, links = await web.read(load)
        state = view.question(number) if view else None
        if view is None or state is None:
            raise HTTPException(404)
        pages = thread_pages(thread_order(links))
        index = _page_number(request, len(pages))
        shown = pages[index - 1]
        wanted = [link.id for link, _ in shown]
        posts = await web.read(
            lambda s: web.approved_posts(
                s, disc, question=number, ids=wanted, moderators=_mods(disc)
            )
        )
        entries = _entries(web, disc, posts, shown)
        book = AddressBook(disc.slug, web.settings.service.domain)
        path = f"/d/{quote(disc.slug)}/q/{number}"
        return await web.render(
            request,
            page,
            "question.html",
            {
                "discussion": disc,
                "title": disc.title.in_language(page.language, disc.default_language),
                "number": number,
                "text": conf.text.in_language(page.language, disc.default_language),
                "state": state,
                "accepting": _accepting(view, state),
                "address": book.question(number),
                "entries": entries,
                "total": len(links),
                "page_number": index,
                "page_count": len(pages),
                "previous_url": _page_url(page, path, index - 1) if index > 1 else "",
                "next_url": _page_url(page, path, index + 1)
                if index < len(pages)
                else "",
                "authors": {p.id: p.author_name for p in posts},
                "zone": _zone_name(disc, page),
                "constituency_key": _constituency_key,
            },
            cache="public, max-age=60",
        )

    async def post(request: Request) -> Response:
        slug = request.path_params["slug"]
        disc = web.discussion(slug)
        post_id = _small(request.path_params["post_id"])
        number = await web.read(lambda s: approved_post_question(s, disc.slug, post_id))
        conf = disc.question(number) if number is not None else None
        if number is None or conf is None:
            raise HTTPException(404)

        def load(session: Any) -> tuple[DiscussionView | None, list[PostLink]]:
            return (
                discussion_state(session, disc.slug),
                approved_links(session, disc.slug, number),
            )

        view, links = await web.read(load)
        state = view.question(number) if view else None
        if view is None or state is None:
            raise HTTPException(404)
        ordered = thread_order(links)
        index = next(
            (
                n
                for n, entries in enumerate(thread_pages(ordered), 1)
                if any(link.id == post_id for link, _ in entries)
            ),
            1,  # moderated away meanwhile: the question's first page
        )
        shown = thread_order(replies_of(links, post_id))[:MAX_REPLIES_SHOWN]
        wanted = [link.id for link, _ in shown]
        posts = await web.read(
            lambda s: web.approved_posts(
                s, disc, question=number, ids=wanted, moderators=_mods(disc)
            )
        )
        entries = _entries(web, disc, posts, shown)
        if not entries or entries[0].post.id != post_id:
            raise HTTPException(404)  # moderated away between the reads
        page = web.page(request, disc)
        path = f"/d/{quote(disc.slug)}/q/{number}"
        parents = {p.parent_id for p in posts if p.parent_id}
        authors = await web.read(
            lambda s: {
                p.id: p.author_name
                for p in web.approved_posts(s, disc, question=number, ids=parents)
            }
        )
        return await web.render(
            request,
            page,
            "post.html",
            {
                "discussion": disc,
                "title": disc.title.in_language(page.language, disc.default_language),
                "number": number,
                "text": conf.text.in_language(page.language, disc.default_language),
                "accepting": _accepting(view, state),
                "entries": entries,
                "target": post_id,
                "canonical": post_url(
                    web.settings.service.base_url, disc.slug, post_id
                ),
                "thread_url": f"{_page_url(page, path, index)}#p{post_id}",
                "authors": authors,
                "zone": _zone_name(disc, page),
                "constituency_key": _constituency_key,
            },
            cache="public, max-age=60",
        )

    return [
        Route("/", index, methods=["GET"]),
        Route("/d/{slug}", discussion, methods=["GET"]),
        Route("/d/{slug}/q/{number:int}", question, methods=["GET"]),
        Route("/d/{slug}/posts/{post_id:int}", post, methods=["GET"]),
    ]


async def render_discussion(
    web: Web,
    request: Request,
    page: Page,
    disc: DiscussionSettings,
    view: DiscussionView,
    *,
    form: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    """The discussion page, optionally with the sign-up form refilled and an error."""
    lang = page.language
    book = AddressBook(disc.slug, web.settings.service.domain)
    items: list[QuestionListing] = []
    for conf in disc.questions:
        state = view.question(conf.number)
        items.append(
            QuestionListing(
                number=conf.number,
                week=conf.week,
                text=conf.text.in_language(lang, disc.default_language),
                released=bool(state and state.released_at),
                release_at=state.release_at if state else conf.release_at,
                approved=state.approved if state else 0,
                address=book.question(conf.number),
            )
        )
    weeks = week_spans(disc, items)
    values = {
        "email": "",
        "name": "",
        "organisation": "",
        "constituency": "",
        "language": lang,
        "mode": "each",
    }
    values.update(form or {})
    closed = view.state is DiscussionState.CLOSED
    participants = (
        await web.read(lambda s: approved_participants(s, disc.slug)) if closed else 0
    )
    return await web.render(
        request,
        page,
        "discussion.html",
        {
            "discussion": disc,
            "title": disc.title.in_language(lang, disc.default_language),
            "introduction": disc.introduction.in_language(lang, disc.default_language),
            "guidelines": disc.guidelines.in_language(lang, disc.default_language),
            "view": view,
            "closed": closed,
            "participants": participants,
            "report_url": page.url(f"/d/{quote(disc.slug)}/report") if closed else "",
            "contributions": sum(q.approved for q in view.questions),
            "released": sum(1 for q in items if q.released),
            "weeks": weeks,
            "form": values,
            "error": error,
            "constituencies": CONSTITUENCIES,
            "modes": MODES,
        },
        status=status,
        form=not closed,
    )


@dataclass(frozen=True)
class Week:
    """A week of questions and the days it runs, as the discussion page heads it."""

    number: int
    questions: list[QuestionListing]
    starts: datetime
    ends: datetime


def week_spans(
    disc: DiscussionSettings, items: Sequence[QuestionListing]
) -> list[Week]:
    """Each week's questions, from its first release to the day before the next week's.

    The last week ends when the discussion closes.
    """
    weeks = []
    for w in disc.weeks:
        questions = [q for q in items if q.week == w]
        weeks.append((w, questions, min(q.release_at for q in questions)))
    return [
        Week(
            w,
            questions,
            starts,
            weeks[n + 1][2] - timedelta(days=1)
            if n + 1 < len(weeks)
            else disc.closes_at,
        )
        for n, (w, questions, starts) in enumerate(weeks)
    ]


class Linked(Protocol):
    """Anything with an id and the id of its (visible) parent."""

    @property
    def id(self) -> int: ...

    @property
    def parent_id(self) -> int | None: ...


P = TypeVar("P", bound=Linked)


def thread_order(posts: Sequence[P]) -> list[tuple[P, int]]:
    """Posts depth-first under their parents, siblings by arrival; orphans at the top.

    A post whose parent is not shown (held, rejected, elsewhere) starts a thread.
    Depth is capped at :data:`MAX_DEPTH`; a cycle cannot loop (each post once).
    """
    shown = {p.id for p in posts}
    children: dict[int, list[P]] = {}
    roots: list[P] = []
    for p in posts:
        if p.parent_id is not None and p.parent_id in shown and p.parent_id != p.id:
            children.setdefault(p.parent_id, []).append(p)
        else:
            roots.append(p)
    out: list[tuple[P, int]] = []
    seen: set[int] = set()
    stack = [(p, 0) for p in reversed(roots)]
    while stack:
        p, depth = stack.pop()
        if p.id in seen:
            continue
        seen.add(p.id)
        out.append((p, min(depth, MAX_DEPTH)))
        stack.extend((c, depth + 1) for c in reversed(children.get(p.id, [])))
    # Posts only reachable through a cycle: show them rather than lose them.
    out.extend((p, 0) for p in posts if p.id not in seen)
    return out


def thread_pages(
    ordered: Sequence[tuple[P, int]], per_page: int = THREADS_PER_PAGE
) -> list[list[tuple[P, int]]]:
    """Thread order cut into pages of *per_page* threads (always at least one page)."""
    pages: list[list[tuple[P, int]]] = [[]]
    threads = 0
    for item in ordered:
        if item[1] == 0:
            if threads == per_page:
                pages.append([])
                threads = 0
            threads += 1
        pages[-1].append(item)
    return pages


def replies_of(links: Sequence[PostLink], post_id: int) -> list[PostLink]:
    """The post *post_id* and every reply under it, at any depth, in their order.

    The post comes first with no parent, so :func:`thread_order` puts it at the top.
    """
    children: dict[int, list[int]] = {}
    for link in links:
        if link.parent_id is not None:
            children.setdefault(link.parent_id, []).append(link.id)
    under = {post_id}
    stack = [post_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in under:
                under.add(child)
                stack.append(child)
    return [
        PostLink(link.id, None) if link.id == post_id else link
        for link in links
        if link.id in under
    ]


def _entries(
    web: Web,
    disc: DiscussionSettings,
    posts: Sequence[ArchivePost],
    shown: Sequence[tuple[PostLink, int]],
) -> list[ThreadEntry]:
    """The *shown* links, in their order and depth, with what their articles show."""
    by_id = {p.id: p for p in posts}
    book = AddressBook(disc.slug, web.settings.service.domain)
    return [
        ThreadEntry(
            post,
            depth,
            _reply_mailto(web, book, post),
            title_of(disc, post),
            post.language or guess_language(post.body),
        )
        for link, depth in shown
        if (post := by_id.get(link.id)) is not None  # unless moderated away meanwhile
    ]


def _mods(disc: DiscussionSettings) -> list[str]:
    return [m.email for m in disc.moderators]


def title_of(disc: DiscussionSettings, post: ArchivePost) -> str:
    """The post's title as pages, feeds and exports show it (``""``: none)."""
    conf = disc.question(post.question)
    asked = conf.text.values.values() if conf is not None else ()
    return post_title(post.subject, asked)


def _page_number(request: Request, count: int) -> int:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= count:
        raise HTTPException(404)
    return int(raw)


def _page_url(page: Page, path: str, number: int) -> str:
    return page.url(path, page=number) if number > 1 else page.url(path)


def _accepting(view: DiscussionView, state: QuestionProgress) -> bool:
    return state.released_at is not None and view.state is not DiscussionState.CLOSED


def _reply_mailto(web: Web, book: AddressBook, post: ArchivePost) -> str:
    address = reply_address(book, web.runtime.key, post.id)
    subject = header_safe(post.subject, 150)
    if subject and not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return (
        f"mailto:{address}?subject={quote(subject)}" if subject else f"mailto:{address}"
    )


def _constituency_key(value: str) -> str | None:
    key = value.strip().lower()
    return f"constituency_{key}" if key in CONSTITUENCIES else None


def _zone_name(disc: DiscussionSettings, page: Page) -> str:
    from babel.dates import get_timezone_location

    locale = {"en": "en_GB"}.get(page.language, page.language)
    return str(get_timezone_location(disc.time_zone, locale=locale))


def _small(value: int) -> int:
    if not 0 < value <= MAX_ID:
        raise HTTPException(404)
    return value
