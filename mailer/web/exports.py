"""Exports of the approved posts (JSON, mbox, Atom) and attachment downloads.

The public exports carry no participant address: JSON has the keys of
``ediscuss export`` without ``author_email``; the mbox writes each post as
sent by the discussion on the author's behalf; addresses inside texts are
shortened as on the pages. Attachments are only ever downloads, with a type
from a short safe list, never rendered by the browser.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailer.config.settings import DiscussionSettings
from mailer.core.addresses import AddressBook
from mailer.core.headers import display_name_safe, header_safe
from mailer.links import post_url, question_url, reply_address
from mailer.web.context import Web
from mailer.web.i18n import Translator
from mailer.web.pages import MAX_ID, title_of
from mailer.web.text import clean_text, display_name, hide_addresses
from store.archive import ArchivePost, approved_attachment

FEED_ENTRIES = 50
# Types a browser may be told; anything else is application/octet-stream.
SAFE_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain",
        "text/csv",
    }
)
_MBOXRD_FROM = re.compile(r"^(>*From )")
_XML_INVALID = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_FILENAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|;]+')


def safe_content_type(declared: str) -> str:
    """The type to send for an attachment: declared when on the safe list, else binary."""
    base = declared.split(";")[0].strip().lower()
    if base not in SAFE_TYPES:
        return "application/octet-stream"
    return "text/plain; charset=utf-8" if base == "text/plain" else base


def safe_filename(name: str) -> str:
    """A file name with no path, control or quoting characters (never empty)."""
    flat = _FILENAME_UNSAFE.sub("_", clean_text(name)).strip(" ._")
    return flat[:120] or "attachment"


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    safe = safe_filename(name)
    ascii_name = safe.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(safe)}"


def export_record(post: ArchivePost, domain: str) -> dict[str, Any]:
    """One post with the keys of ``ediscuss export``, minus any email address."""
    return {
        "id": post.id,
        "question": post.question,
        "parent_id": post.parent_id,
        "author_name": display_name(post.author_name, domain),
        "subject": hide_addresses(clean_text(post.subject), domain),
        "body": hide_addresses(clean_text(post.body), domain),
        "status": "approved",
        "message_id": post.message_id,
        "received_at": post.received_at.isoformat(),
    }


def mbox_bytes(
    posts: Sequence[ArchivePost],
    disc: DiscussionSettings,
    book: AddressBook,
    key: bytes,
) -> bytes:
    """The posts as an mboxrd file, each From the discussion in the author's name.

    Written directly rather than through :mod:`email` (milliseconds a message):
    every header value is ours or passed :func:`header_safe`; non-ASCII ones
    become RFC 2047 encoded words; the body is UTF-8, ``From `` lines quoted.
    """
    by_id = {p.id: p for p in posts}
    domain = book.domain
    list_name = header_safe(disc.name.in_language(disc.default_language), 120)
    out: list[str] = []
    for post in posts:
        author = display_name_safe(display_name(post.author_name, domain))
        sender = display_name_safe(f"{author} via {list_name}" if author else list_name)
        stamp = post.received_at.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")
        out.append(f"From {book.discussion()} {stamp}")
        out.append("From: " + formataddr((sender, book.discussion()), charset="utf-8"))
        out.append("Reply-To: " + reply_address(book, key, post.id))
        # A post without a title of its own is named by its question, as in copies.
        title = title_of(disc, post) or _question_text(disc, post.question)
        subject = header_safe(hide_addresses(title, domain), 250)
        out.append(_header("Subject", subject))
        out.append("Date: " + format_datetime(post.received_at))
        out.append("Message-ID: " + header_safe(post.message_id, 998))
        parent = by_id.get(post.parent_id) if post.parent_id else None
        if parent is not None:
            out.append("In-Reply-To: " + header_safe(parent.message_id, 998))
        out.append("MIME-Version: 1.0")
        out.append("Content-Type: text/plain; charset=utf-8")
        out.append("Content-Transfer-Encoding: 8bit")
        out.append("")
        body = hide_addresses(clean_text(post.body), domain).rstrip("\n")
        out.extend(_MBOXRD_FROM.sub(r">\1", line) for line in body.split("\n"))
        out.append("")
    return ("\n".join(out) + "\n").encode("utf-8") if out else b""


def _question_text(disc: DiscussionSettings, number: int) -> str:
    conf = disc.question(number)
    text = conf.text.in_language(disc.default_language) if conf else ""
    return f"Q{number}: {text}".strip()


def _header(name: str, value: str) -> str:
    if value.isascii():
        return f"{name}: {value}"
    return f"{name}: {Header(value, 'utf-8', header_name=name).encode()}"


class ExportCache:
    """Built exports kept for *ttl* seconds: each is a full read, and anyone may ask."""

    def __init__(
        self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self._items: dict[tuple[str, ...], tuple[float, bytes]] = {}

    def get(self, key: tuple[str, ...]) -> bytes | None:
        """The value stored under *key* if it is still fresh."""
        found = self._items.get(key)
        if found is None or self.clock() - found[0] > self.ttl:
            return None
        return found[1]

    def put(self, key: tuple[str, ...], value: bytes) -> None:
        """Keep *value* under *key* from now on."""
        self._items[key] = (self.clock(), value)


def _xml(text: str) -> str:
    return _XML_INVALID.sub("", text)


def routes(web: Web) -> Sequence[BaseRoute]:
    """The export, feed and attachment routes, bound to *web*."""
    domain = web.settings.service.domain
    cache = ExportCache()

    async def cached(key: tuple[str, ...], build: Callable[[Session], bytes]) -> bytes:
        # Built in the thread pool (query and CPU work alike), at most once a minute.
        found = cache.get(key)
        if found is None:
            found = await web.read(build)
            cache.put(key, found)
        return found

    async def export_json(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])

        def build(session: Session) -> bytes:
            records = [
                export_record(p, domain) for p in web.approved_posts(session, disc)
            ]
            return json.dumps(records, ensure_ascii=False, indent=1).encode()

        return Response(
            await cached((disc.slug, "json"), build),
            media_type="application/json",
            headers={
                "cache-control": "public, max-age=60",
                "content-disposition": f'inline; filename="{disc.slug}.json"',
            },
        )

    async def export_mbox(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])
        book = AddressBook(disc.slug, domain)

        def build(session: Session) -> bytes:
            posts = web.approved_posts(session, disc)
            return mbox_bytes(posts, disc, book, web.runtime.key)

        return Response(
            await cached((disc.slug, "mbox"), build),
            media_type="application/mbox",
            headers={
                "cache-control": "public, max-age=60",
                "content-disposition": f'attachment; filename="{disc.slug}.mbox"',
            },
        )

    async def feed(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])
        page = web.page(request, disc)

        def build(session: Session) -> bytes:
            posts = web.approved_posts(
                session, disc, newest_first=True, limit=FEED_ENTRIES
            )
            return atom_feed(web, disc, page.t, posts).encode()

        return Response(
            await cached((disc.slug, "atom", page.language), build),
            media_type="application/atom+xml",
            headers={"cache-control": "public, max-age=60"},
        )

    async def attachment(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])
        post_id = request.path_params["post_id"]
        attachment_id = request.path_params["attachment_id"]
        if not (0 < post_id <= MAX_ID and 0 < attachment_id <= MAX_ID):
            raise HTTPException(404)
        found = await web.read(
            lambda s: approved_attachment(s, disc.slug, post_id, attachment_id)
        )
        if found is None:
            raise HTTPException(404)
        return Response(
            found.content,
            media_type=None,
            headers={
                "content-type": safe_content_type(found.content_type),
                "content-disposition": content_disposition(found.filename),
                "content-security-policy": "default-src 'none'; sandbox",
                "cache-control": "public, max-age=3600",
            },
        )

    return [
        Route("/d/{slug}/export.json", export_json, methods=["GET"]),
        Route("/d/{slug}/export.mbox", export_mbox, methods=["GET"]),
        Route("/d/{slug}/feed.atom", feed, methods=["GET"]),
        Route(
            "/d/{slug}/posts/{post_id:int}/attachments/{attachment_id:int}",
            attachment,
            methods=["GET"],
        ),
    ]


def atom_feed(
    web: Web, disc: DiscussionSettings, t: Translator, posts: Sequence[ArchivePost]
) -> str:
    """The Atom document of *posts* (newest first), texts as text, no addresses."""
    base = web.settings.service.base_url
    domain = web.settings.service.domain
    name = disc.name.in_language(t.language, disc.default_language)
    updated = max(
        (p.approved_at or p.received_at for p in posts), default=web.runtime.clock()
    )
    entries = [
        {
            "id": post_url(base, disc.slug, p.id),
            "url": post_url(base, disc.slug, p.id),
            "title": _xml(
                hide_addresses(header_safe(title_of(disc, p), 200), domain)
                or t("question_n", n=p.question)
            ),
            "author": _xml(display_name(p.author_name, domain)) or t("anonymous"),
            "updated": _atom_date(p.approved_at or p.received_at),
            "published": _atom_date(p.received_at),
            "content": _xml(hide_addresses(clean_text(p.body), domain)),
            "question_url": question_url(base, disc.slug, p.question),
        }
        for p in posts
    ]
    return web.env.get_template("feed.xml").render(
        lang=t.language,
        feed_id=f"{base}/d/{quote(disc.slug)}",
        self_url=f"{base}/d/{quote(disc.slug)}/feed.atom",
        page_url=f"{base}/d/{quote(disc.slug)}",
        title=_xml(t("feed_title", name=name)),
        updated=_atom_date(updated),
        entries=entries,
    )


def _atom_date(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
