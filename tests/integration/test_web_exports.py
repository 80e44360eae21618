"""Exports (JSON, mbox, Atom) and attachment downloads, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import mailbox
import re
import xml.etree.ElementTree as ET
from email import policy
from pathlib import Path

from store.models import PostStatus
from tests.fixtures.web import SLUG, Archive

PAGE = f"/d/{SLUG}"
ATOM = "{http://www.w3.org/2005/Atom}"
EXPORT_KEYS = {
    "id",
    "question",
    "parent_id",
    "author_name",
    "subject",
    "body",
    "status",
    "message_id",
    "received_at",
}


def test_json_export_has_approved_posts_and_no_addresses(archive: Archive) -> None:
    first = archive.add_post(1, body="First.", subject="S1", author_email="a@x.org")
    held = archive.add_post(1, body="Held.", status=PostStatus.HELD)
    archive.add_post(2, body="Reply to held.", parent=held)
    reply = archive.add_post(1, body="Mail me at me@x.org", parent=first)
    archive.add_post(1, body="Rejected.", status=PostStatus.REJECTED)
    r = archive.client.get(f"{PAGE}/export.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    rows = r.json()
    assert [row["id"] for row in rows] == [first, held + 1, reply]
    for row in rows:
        assert set(row) == EXPORT_KEYS
        assert row["status"] == "approved"
    assert rows[0]["question"] == 1 and rows[0]["subject"] == "S1"
    assert rows[0]["message_id"].startswith("<post-")
    assert rows[0]["received_at"] == "2027-03-28T10:01:00+00:00"
    assert rows[1]["parent_id"] is None  # the held parent's id is not revealed
    assert rows[2]["parent_id"] == first
    assert rows[2]["body"] == "Mail me at m…@x.org"
    assert "a@x.org" not in r.text and "Held." not in r.text


def test_mbox_export_reads_back_as_mail(archive: Archive, tmp_path: Path) -> None:
    first = archive.add_post(
        1,
        body="From the start\nline two",
        subject="Café <b>",
        author_name='Zoë "Z" <zoe@x.org>',
        author_email="zoe@x.org",
    )
    archive.add_post(1, body="Second.", parent=first, author_name="Bo")
    archive.add_post(1, body="Held.", status=PostStatus.HELD)
    r = archive.client.get(f"{PAGE}/export.mbox")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/mbox")
    assert "attachment" in r.headers["content-disposition"]
    assert b"zoe@x.org" not in r.content and b"Held." not in r.content
    path = tmp_path / "export.mbox"
    path.write_bytes(r.content)
    box = mailbox.mbox(path, factory=None, create=False)
    messages = [
        email.message_from_bytes(box.get_bytes(key), policy=policy.default)
        for key in box.iterkeys()
    ]
    box.close()
    assert len(messages) == 2
    one, two = messages
    assert one["From"].addresses[0].addr_spec == "skills-covid19@discuss.example.org"
    assert "Zoë" in str(one["From"]) and "via Skills e-discussion" in str(one["From"])
    assert str(one["Subject"]) == "Café <b>"
    assert one["Reply-To"].startswith("skills-covid19+r-")
    assert one.get_content().startswith(">From the start")  # mboxrd quoting
    assert two["In-Reply-To"] == one["Message-ID"]


def test_atom_feed_is_valid_xml_with_text_content(archive: Archive) -> None:
    for n in range(3):
        archive.add_post(
            1, body=f"<script>alert({n})</script> \x01 https://e.org", subject=f"S{n}"
        )
    archive.add_post(1, body="Held.", status=PostStatus.HELD)
    r = archive.client.get(f"{PAGE}/feed.atom")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(r.content)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["S2", "S1", "S0"]
    content = entries[0].find(f"{ATOM}content")
    assert content is not None and content.get("type") == "text"
    assert content.text is not None
    assert content.text.startswith("<script>alert(2)</script>")  # text, for readers
    assert "<script>" not in r.text  # and escaped in the XML itself
    link = entries[0].find(f"{ATOM}link")
    assert link is not None
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+/d/skills-covid19/posts/\d+", link.get("href", "")
    )
    assert entries[0].findtext(f"{ATOM}author/{ATOM}name") == "Ana Ruiz"
    assert "ana@example.net" not in r.text
    es = archive.client.get(f"{PAGE}/feed.atom?lang=es")
    assert ET.fromstring(es.content).findtext(f"{ATOM}title") == (
        "E-debate sobre competencias: aportaciones"
    )


def test_attachments_are_listed_and_only_downloaded(archive: Archive) -> None:
    post = archive.add_post(
        1,
        attachments=[
            ("report.pdf", "application/pdf", b"%PDF-1.4 fake"),
            ("page.html", "text/html", b"<script>alert(1)</script>"),
            ("logo.svg", "image/svg+xml", b"<svg onload=alert(1)/>"),
            ("../../etc/passwd\r\nX-Evil: 1", "text/plain", b"plain"),
            ("<b>huge</b>.zip", "application/zip", None),
            ("photo.png", "image/png", b"\x89PNG\r\n"),
        ],
    )
    held = archive.add_post(
        1, status=PostStatus.HELD, attachments=[("h.txt", "text/plain", b"secret")]
    )
    html = archive.client.get(f"{PAGE}/q/1").text
    links = re.findall(rf'href="(/d/{SLUG}/posts/{post}/attachments/\d+)"', html)
    assert len(links) == 5  # the one not kept is listed, not linked
    assert "report.pdf" in html and "(application/pdf, 13 B)" in html
    assert "&lt;b&gt;huge&lt;/b&gt;.zip" in html and "not kept (too large)" in html
    assert "123.5 kB" in html
    assert "123,5 kB" in archive.client.get(f"{PAGE}/q/1?lang=fr").text
    expected = [
        ("application/pdf", 'filename="report.pdf"'),
        ("application/octet-stream", 'filename="page.html"'),
        ("application/octet-stream", 'filename="logo.svg"'),
        ("text/plain; charset=utf-8", 'filename="etc_passwd_X-Evil_ 1"'),
        ("image/png", 'filename="photo.png"'),
    ]
    for link, (ctype, name) in zip(links, expected, strict=True):
        r = archive.client.get(link)
        assert r.status_code == 200
        assert r.headers["content-type"] == ctype
        disposition = r.headers["content-disposition"]
        assert disposition.startswith("attachment; ") and name in disposition
        assert "\r" not in disposition and "\n" not in disposition
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in r.headers["content-security-policy"]
    base = f"{PAGE}/posts"
    last = int(links[-1].rsplit("/", 1)[1])
    for path in (
        f"{base}/{held}/attachments/{last + 1}",  # a held post's file
        f"{base}/{post}/attachments/{last + 1}",  # another post's file under this one
        f"{base}/{post}/attachments/{last - 1}",  # the one not kept
        f"{base}/{post}/attachments/99999",
        f"{base}/{post}/attachments/99999999999999",
        f"/d/other/posts/{post}/attachments/{last}",
    ):
        assert archive.client.get(path).status_code == 404, path


def test_personal_links_in_stored_posts_reach_no_page_feed_or_export(
    archive: Archive,
) -> None:
    # A row stored before posts were redacted on the way in (or by hand).
    base = archive.runtime.settings.service.base_url
    unsubscribe = f"{base}/unsubscribe/12.abcdefghijklmnop"
    bounce = "skills-covid19-bounces+s12.abcdefghijklmnop@discuss.example.org"
    quoted = (
        "I agree.\n\n> Read it on the web: "
        f"{base}/d/{SLUG}/posts/1\n> Unsubscribe: {unsubscribe[:40]}=\n"
        f"> {unsubscribe[40:]}\n> Return-Path: <{bounce}>\n"
    )
    archive.add_post(
        1,
        body=f"See {base}/d/{SLUG}/q/2 or unsubscribe: {unsubscribe}",
        subject=f"Re: {bounce}",
        full_text=quoted,
    )
    gone = "[personal link removed]"
    for path in (
        f"{PAGE}/q/1",
        f"{PAGE}/export.json",
        f"{PAGE}/export.mbox",
        f"{PAGE}/feed.atom",
    ):
        text = archive.client.get(path).text
        assert "abcdefghijklmnop" not in text, path
        assert gone in text, path
    page = archive.client.get(f"{PAGE}/q/1").text
    assert f"{base}/d/{SLUG}/q/2" in page  # a public link stays
