"""Nothing private is published: the demo's whole archive holds none of its readers' tokens.

The demonstration is played without pauses (as ``ediscuss demo --fast``); then
every public page, feed and export of its archive is crawled, and the moderators'
synthesis report is written. Every capability the service handed out is
gathered: the signed tokens of every subscription (VERP) and post (held-post,
reply); the unsubscribe and manage links found in the mail it delivered
(each names a subscription, a run of it and a day, so they are read from the
mail and checked against their signatures); and the random ones
(subscription and moderator-command confirmations) found in that mail and
kept, hashed, in the ``tokens`` table. None may appear in what the public reads, raw,
percent-encoded, as HTML entities, quoted-printable, or wrapped over lines;
and no participant's or subscriber's email address either.

A post's reply address is public by design: the archive's "reply by email"
link and the mbox export's ``Reply-To`` carry it. Only those two places are
allowed to name it; a post's text never.
"""

from __future__ import annotations

import html
import io
import quopri
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from mailer.core.tokens import SignedFor, hash_token, sign_token
from mailer.demo import DemoOptions, DemoRun, run_demo
from mailer.links import read_subscription_token
from mailer.runtime import Runtime, open_runtime
from mailer.synthesis.data import load_report
from mailer.synthesis.render import write_report
from mailer.web import build_app
from store.models import Post, Subscriber, Subscription, Token
from tests.fixtures.settings import SettingsFactory

pytestmark = pytest.mark.acceptance

_HREF = re.compile(r"""(?:href|src)=["']([^"']+)["']""")
_CONFIRM = re.compile(r"(?:-confirm\+|/confirm/)([a-z2-7]{26})(?![a-z0-9])")
_LINKED = re.compile(
    r"/(unsubscribe|manage)/([a-z0-9-]{1,64}\.[a-z2-7]{16})(?![a-z0-9])"
)
# The archive's own reply link, and the mbox export's Reply-To header.
_REPLY_LINK = re.compile(r'href="mailto:[^"]*\+r-[^"]*"')
_REPLY_TO = re.compile(r"^Reply-To: .*$", re.MULTILINE)
_MAX_PAGES = 3000
_SIGNATURE = re.compile(r"\.([a-z2-7]{16})")


@dataclass(frozen=True)
class Secret:
    """One token and what it is: the kind and the row it belongs to."""

    kind: str
    owner: str
    token: str


@pytest.fixture
def demo_played(
    db_url: str, make_settings: SettingsFactory, tmp_path: Path
) -> Iterator[tuple[DemoRun, Runtime]]:
    """The demonstration played without pauses, and a runtime on its store."""
    run = run_demo(
        make_settings(db_url),
        DemoOptions(fast=True, database_url=db_url, state_dir=tmp_path / "demo"),
        io.StringIO(),
    )
    assert run.finished
    rt = open_runtime(run.settings, migrate=False)
    try:
        yield run, rt
    finally:
        rt.close()


def _delivered_texts(maildir: Path) -> Iterator[str]:
    """Every header and text part of every message the service delivered."""
    for path in sorted((maildir / "new").glob("*")):
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        yield "\n".join(f"{k}: {v}" for k, v in msg.items())
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                yield str(part.get_content())


def secrets_of(rt: Runtime) -> list[Secret]:
    """Every capability the demo's service gave out, by kind."""
    key = rt.key
    found: list[Secret] = []
    with rt.sessions() as session:
        for sub_id in session.scalars(select(Subscription.id)):
            found.append(
                Secret(
                    "bounce",
                    f"s{sub_id}",
                    sign_token(key, SignedFor.BOUNCE, f"s{sub_id}"),
                )
            )
        for post_id in session.scalars(select(Post.id)):
            found.append(
                Secret(
                    "held-post",
                    f"p{post_id}",
                    sign_token(key, SignedFor.HELD_POST, f"p{post_id}"),
                )
            )
            found.append(
                Secret(
                    "reply",
                    f"p{post_id}",
                    sign_token(key, SignedFor.REPLY, str(post_id)),
                )
            )
        stored = {row.token_hash: row for row in session.scalars(select(Token))}
    seen: set[str] = set()
    for text in _delivered_texts(rt.settings.service.state_dir / "outbox"):
        for route, token in _LINKED.findall(text):
            link = read_subscription_token(key, SignedFor(route), token)
            if token not in seen:
                seen.add(token)
                found.append(Secret(route, f"s{link.subscription_id}", token))
        for token in _CONFIRM.findall(text):
            row = stored.get(hash_token(token))
            if row is not None and token not in seen:
                seen.add(token)
                found.append(Secret(row.purpose, row.email, token))
    return found


def crawl(client: TestClient, starts: list[str]) -> dict[str, str]:
    """Every page reachable from *starts* on the archive's own host: path -> text."""
    pages: dict[str, str] = {}
    todo = list(starts)
    while todo and len(pages) < _MAX_PAGES:
        path = todo.pop()
        if path in pages:
            continue
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, (path, response.status_code)
        text = response.content.decode("utf-8", "replace")
        pages[path] = text
        if "html" not in response.headers.get("content-type", ""):
            continue
        for href in _HREF.findall(text):
            url = urlsplit(urljoin("http://127.0.0.1:8080" + path, html.unescape(href)))
            if url.netloc != "127.0.0.1:8080" or url.scheme != "http":
                continue
            if url.path.startswith(("/confirm/", "/unsubscribe/", "/manage/")):
                pages.setdefault(f"LINKED {url.path}", url.path)  # a leak in itself
                continue
            target = url.path + (f"?{url.query}" if url.query else "")
            if target not in pages:
                todo.append(target)
    assert len(pages) < _MAX_PAGES, "the crawl did not end"
    return pages


def readings(text: str) -> list[str]:
    """*text* as it could be read: raw and with each encoding undone, lowercase."""
    joined = re.sub(r"[ \t]*\r?\n[ \t>]*", "", text)
    forms = [text, html.unescape(text), unquote(text), unquote(html.unescape(text))]
    forms.append(
        quopri.decodestring(text.encode("utf-8", "replace")).decode("utf-8", "replace")
    )
    forms += [joined, html.unescape(joined), unquote(joined)]
    return [f.lower() for f in forms]


def leaks(pages: dict[str, str], secrets: list[Secret]) -> list[str]:
    """Where each secret appears in the published pages: 'path: kind of owner'.

    A signed token is found by its signature (``.`` and 16 base32 letters),
    looked up in a table: the links read from the mail are thousands (one per
    reader and day), too many to search for one by one. What is found is the
    signature with or without the value before it, so no less than the token.
    """
    signed = {s.token.rpartition(".")[2]: s for s in secrets if "." in s.token}
    random = [s for s in secrets if "." not in s.token]
    found: list[str] = []
    for path, text in pages.items():
        if path.startswith("LINKED "):
            found.append(f"{path}: a public page links a capability route")
            continue
        plain = readings(text)
        public = readings(_REPLY_TO.sub("", _REPLY_LINK.sub("", text)))
        hits: set[tuple[str, str]] = set()
        # A post's reply address is public in two places, removed from "public".
        for forms, replies in ((plain, False), (public, True)):
            for form in forms:
                for mac in _SIGNATURE.findall(form):
                    s = signed.get(mac)
                    if s is not None and (s.kind == "reply") is replies:
                        hits.add((s.kind, s.owner))
        for s in random:
            if any(s.token in form for form in plain):
                hits.add((s.kind, s.owner))
        found += [f"{path}: {kind} token of {owner}" for kind, owner in sorted(hits)]
    return found


def test_no_token_of_anyone_is_in_any_public_page_feed_export_or_report(
    demo_played: tuple[DemoRun, Runtime], tmp_path: Path
) -> None:
    run, rt = demo_played
    secrets = secrets_of(rt)
    kinds = {s.kind for s in secrets}
    # Each kind of capability was handed out, so finding none of them means something.
    assert {
        "unsubscribe",
        "manage",
        "bounce",
        "held-post",
        "reply",
        "subscribe",
        "command",
    } <= kinds
    discussion = run.settings.discussions[0]
    slug = discussion.slug
    starts = [
        "/",
        f"/d/{slug}/feed.atom",
        f"/d/{slug}/export.json",
        f"/d/{slug}/export.mbox",
    ]
    starts += [f"/d/{slug}?lang={lang}" for lang in ("en", "es", "fr")]
    # Search snippets are text cut anew: words found near personal links and
    # addresses, and words common enough to page through every post.
    starts += [
        f"/d/{slug}/search?q={quote(q)}"
        for q in ("unsubscribe", "confirm link", "bounces", "http", "the", "de la")
    ]
    with TestClient(build_app(rt), base_url="http://127.0.0.1:8080") as client:
        pages = crawl(client, starts)
    assert sum(1 for p in pages if "/q/" in p) >= len(discussion.questions)
    if rt.engine.dialect.name == "sqlite":  # PostgreSQL leaves "the" unindexed
        assert sum(1 for p in pages if "/search?" in p and "page=2" in p) >= 1
    assert sum(1 for p in pages if "/search?" in p) >= 6
    for language in ("en", "es", "fr"):
        files = write_report(load_report(rt, discussion, language), tmp_path / language)
        pages[f"report.{language}.html"] = files.html.read_text("utf-8")
        pages[f"report.{language}.md"] = files.markdown.read_text("utf-8")
    found = leaks(pages, secrets)
    with rt.sessions() as session:
        people = set(session.scalars(select(Subscriber.email)))
        people |= set(session.scalars(select(Post.author_email)))
    for path, text in pages.items():
        forms = readings(text)
        found += [
            f"{path}: address token of {who}"
            for who in sorted(people)
            if any(who.lower() in form for form in forms)
        ]
    by_kind = Counter(f.rsplit(": ", 1)[1].split(" token of ")[0] for f in found)
    assert not found, f"{len(found)} leaks {dict(by_kind)}, first: " + "; ".join(
        found[:10]
    )
