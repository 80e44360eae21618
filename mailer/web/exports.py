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
from collections.abc import Sequence
from datetime import UTC, datetime
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime
from io import BytesIO
from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailer.core.addresses import AddressBook
from mailer.core.headers import display_name_safe, header_safe
from mailer.links import post_url, question_url, reply_address
from mailer.settings import Discussion
from mailer.web.app import Web
from mailer.web.pages import MAX_ID
from mailer.web.text import clean_text, display_name, hide_addresses
from store.archive import ArchivePost, approved_attachment, approved_posts

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
    posts: Sequence[ArchivePost], disc: Discussion, book: AddressBook, key: bytes
) -> bytes:
    """The posts as an mboxrd file, each From the discussion in the author's name."""
    by_id = {p.id: p for p in posts}
    gen_policy = policy.SMTPUTF8.clone(linesep="\n", max_line_length=78)
    out = BytesIO()
    domain = book.domain
    for post in posts:
        msg = EmailMessage(policy=gen_policy)
        author = display_name_safe(display_name(post.author_name, domain))
        name = disc.name.in_language(disc.default_language)
        sender = f"{author} via {name}" if author else name
        msg["From"] = f'"{display_name_safe(sender, 120)}" <{book.discussion()}>'
        msg["Reply-To"] = reply_address(book, key, post.id)
        msg["Subject"] = header_safe(hide_addresses(post.subject, domain), 250)
        msg["Date"] = format_datetime(post.received_at)
        msg["Message-ID"] = header_safe(post.message_id, 998)
        parent = by_id.get(post.parent_id) if post.parent_id else None
        if parent is not None:
            msg["In-Reply-To"] = header_safe(parent.message_id, 998)
        msg.set_content(hide_addresses(clean_text(post.body), domain) + "\n")
        stamp = post.received_at.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")
        out.write(f"From {book.discussion()} {stamp}\n".encode())
        BytesGenerator(out, mangle_from_=True, policy=gen_policy).flatten(msg)
        out.write(b"\n")
    return out.getvalue()


def _xml(text: str) -> str:
    return _XML_INVALID.sub("", text)


def routes(web: Web) -> Sequence[BaseRoute]:
    """The export, feed and attachment routes, bound to *web*."""
    domain = web.settings.service.domain

    async def export_json(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])
        posts = await web.read(lambda s: approved_posts(s, disc.slug))
        body = json.dumps(
            [export_record(p, domain) for p in posts], ensure_ascii=False, indent=1
        )
        return Response(
            body,
            media_type="application/json",
            headers={
                "cache-control": "public, max-age=300",
                "content-disposition": f'inline; filename="{disc.slug}.json"',
            },
        )

    async def export_mbox(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])
        posts = await web.read(lambda s: approved_posts(s, disc.slug))
        book = AddressBook(disc.slug, domain)
        return Response(
            mbox_bytes(posts, disc, book, web.runtime.key),
            media_type="application/mbox",
            headers={
                "cache-control": "public, max-age=300",
                "content-disposition": f'attachment; filename="{disc.slug}.mbox"',
            },
        )

    async def feed(request: Request) -> Response:
        disc = web.discussion(request.path_params["slug"])
        page = web.page(request, disc)
        posts = await web.read(
            lambda s: approved_posts(
                s, disc.slug, newest_first=True, limit=FEED_ENTRIES
            )
        )
        base = web.settings.service.base_url
        name = disc.name.in_language(page.language, disc.default_language)
        updated = max(
            (p.approved_at or p.received_at for p in posts),
            default=web.runtime.clock(),
        )
        entries = [
            {
                "id": post_url(base, disc.slug, p.id),
                "url": post_url(base, disc.slug, p.id),
                "title": _xml(
                    hide_addresses(header_safe(p.subject, 200), domain)
                    or page.t("question_n", n=p.question)
                ),
                "author": _xml(display_name(p.author_name, domain))
                or page.t("anonymous"),
                "updated": _atom_date(p.approved_at or p.received_at),
                "published": _atom_date(p.received_at),
                "content": _xml(hide_addresses(clean_text(p.body), domain)),
                "question_url": question_url(base, disc.slug, p.question),
            }
            for p in posts
        ]
        xml = web.env.get_template("feed.xml").render(
            lang=page.language,
            feed_id=f"{base}/d/{quote(disc.slug)}",
            self_url=f"{base}/d/{quote(disc.slug)}/feed.atom",
            page_url=f"{base}/d/{quote(disc.slug)}",
            title=_xml(page.t("feed_title", name=name)),
            updated=_atom_date(updated),
            entries=entries,
        )
        return Response(
            xml,
            media_type="application/atom+xml",
            headers={"cache-control": "public, max-age=300"},
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


def attachment_path(slug: str, post_id: int, attachment_id: int) -> str:
    """Where an attachment is downloaded from."""
    return f"/d/{quote(slug)}/posts/{post_id}/attachments/{attachment_id}"


def _atom_date(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
