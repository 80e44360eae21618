"""Promise 10: the archive is inert.

Hostile HTML mail and attachments (scripts, event handlers, ``javascript:``
links, SVG, HTML files) go in by SMTP and are read back over real HTTP from
the running service: nothing can run in a reader's browser, attachments are
only ever downloads, and held, rejected or deleted posts cannot be reached by
guessing their URLs.
"""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.request

import pytest
from sqlalchemy import delete, update

from store.models import Attachment, Post, PostStatus
from tests.fixtures.service import ServiceProcess, address

pytestmark = [pytest.mark.hardening, pytest.mark.xdist_group("hardening-archive")]

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(2)</script></svg>"
)
PAGE = (
    b"<html><body><script>alert(3)</script><img src=x onerror=alert(4)></body></html>"
)
HTML_BODY = (
    "<p>Hello <b>readers</b></p><script>alert(5)</script>"
    '<img src="x" onerror="alert(6)"><a href="javascript:alert(7)">click</a>'
    '<iframe src="https://evil.example/"></iframe><style>body{display:none}</style>'
    '<svg onload="alert(8)"></svg><a href="data:text/html,<script>alert(9)</script>">d</a>'
)


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            headers = {k.lower(): v for k, v in answer.headers.items()}
            return int(answer.status), headers, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def _hostile(mid: str, sender: str) -> bytes:
    parts = [
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + HTML_BODY.encode()
        + b"\r\n",
        b"--b\r\nContent-Type: image/svg+xml\r\n"
        b'Content-Disposition: inline; filename="pic.svg"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(SVG),
        b"--b\r\nContent-Type: text/html\r\n"
        b'Content-Disposition: attachment; filename="page.html"\r\n\r\n'
        + PAGE
        + b"\r\n",
        b'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="x.pdf"\r\n\r\n'
        + PAGE
        + b"\r\n",
    ]
    return (
        (
            f"From: Writer <{sender}>\r\nTo: {address('+q4')}\r\nSubject: <script>alert(0)</script>\r\n"
            f"Message-ID: {mid}\r\nDate: Sat, 28 Mar 2027 10:00:00 +0100\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        ).encode()
        + b"".join(parts)
        + b"--b--\r\n"
    )


def _inert(html: bytes) -> None:
    text = html.decode("utf-8", "replace")
    assert not re.search(r"<script", text, re.IGNORECASE), "a script element"
    assert not re.search(r"<(iframe|object|embed|svg|style)\b", text, re.IGNORECASE)
    assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), "an event handler"
    assert not re.search(
        r"""(href|src)\s*=\s*["']?\s*(javascript|data):""", text, re.IGNORECASE
    )


def test_hostile_html_mail_is_shown_as_text(module_service: ServiceProcess) -> None:
    mid = "<hostile-html@example.net>"
    module_service.accepted(_hostile(mid, "html-writer@example.net"), address("+q4"))
    module_service.processed(mid)
    (post,) = module_service.posts(mid)
    assert post.status is PostStatus.APPROVED
    status, headers, page = _get(f"{module_service.base_url}/d/skills-covid19/q/4")
    assert status == 200
    assert "script-src" not in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert b"readers" in page  # the text is there
    _inert(page)
    for path in ("export.json", "feed.atom", "export.mbox"):
        status, headers, body = _get(
            f"{module_service.base_url}/d/skills-covid19/{path}"
        )
        assert status == 200
        assert "html" not in headers["content-type"], headers["content-type"]
        if path == "feed.atom":
            assert b"<script" not in body


def test_attachments_are_downloads_never_rendered(
    module_service: ServiceProcess,
) -> None:
    mid = "<hostile-attach@example.net>"
    module_service.accepted(_hostile(mid, "attach-writer@example.net"), address("+q4"))
    module_service.processed(mid)
    (post,) = module_service.posts(mid)
    rows = module_service.query(
        lambda s: list(s.query(Attachment).filter(Attachment.post_id == post.id))
    )
    assert len(rows) >= 3
    for row in rows:
        url = f"{module_service.base_url}/d/skills-covid19/posts/{post.id}/attachments/{row.id}"
        status, headers, _ = _get(url)
        assert status == 200, url
        assert headers["content-disposition"].startswith("attachment"), headers
        assert headers["content-type"].split(";")[0] in (
            "application/octet-stream",
            "application/pdf",
        ), (row.filename, headers["content-type"])
        assert "sandbox" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_held_rejected_and_deleted_posts_cannot_be_guessed(
    module_service: ServiceProcess,
) -> None:
    base = module_service.base_url
    ids = {}
    for n, status in enumerate(("held", "rejected", "deleted")):
        mid = f"<hidden-{status}@example.net>"
        module_service.accepted(_hostile(mid, f"hidden{n}@example.net"), address("+q5"))
        module_service.processed(mid)
        (post,) = module_service.posts(mid)
        ids[status] = post.id
    with module_service.sessions().begin() as s:
        s.execute(
            update(Post).where(Post.id == ids["held"]).values(status=PostStatus.HELD)
        )
        s.execute(
            update(Post)
            .where(Post.id == ids["rejected"])
            .values(status=PostStatus.REJECTED)
        )
        s.execute(delete(Attachment).where(Attachment.post_id == ids["deleted"]))
        s.execute(delete(Post).where(Post.id == ids["deleted"]))
    attachment_ids = module_service.query(
        lambda s: {
            pid: [a.id for a in s.query(Attachment).filter(Attachment.post_id == pid)]
            for pid in ids.values()
        }
    )
    for status, pid in ids.items():
        assert _get(f"{base}/d/skills-covid19/posts/{pid}")[0] == 404, status
        for aid in attachment_ids[pid] or [1, 2, 3]:
            url = f"{base}/d/skills-covid19/posts/{pid}/attachments/{aid}"
            assert _get(url)[0] == 404, (status, url)
    _, _, page = _get(f"{base}/d/skills-covid19/q/5")
    _, _, export = _get(f"{base}/d/skills-covid19/export.json")
    _, _, feed = _get(f"{base}/d/skills-covid19/feed.atom")
    for body in (page, export, feed):
        for status in ids:
            assert f"hidden-{status}".encode() not in body
    # Guessing around: ids out of range, negative, huge, not numbers.
    for path in ("posts/0", "posts/-1", "posts/99999999999999999999", "posts/1%00"):
        assert _get(f"{base}/d/skills-covid19/{path}")[0] == 404, path
