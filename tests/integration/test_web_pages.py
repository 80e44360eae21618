"""The reading pages over HTTP (Starlette's test client) on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser

from mailer.core.addresses import AddressBook
from mailer.links import reply_address
from store.models import DiscussionState, PostStatus
from tests.fixtures.settings import shipped_raw
from tests.fixtures.web import SLUG, Archive, ArchiveFactory

PAGE = f"/d/{SLUG}"


class Elements(HTMLParser):
    """Every start tag and its attributes, to check what a page can do."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


def assert_inert(html: str) -> None:
    """No script, no inline style or handler, no link outside http/https/mailto/local."""
    allowed = {
        "html", "head", "meta", "title", "link", "body", "header", "nav", "main",
        "footer", "section", "h1", "h2", "h3", "p", "ul", "ol", "li", "a", "strong",
        "span", "time", "article", "div", "details", "summary", "form", "input",
        "label", "select", "option", "fieldset", "legend", "button",
    }  # fmt: skip
    for tag, attrs in elements(html):
        assert tag in allowed, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in ("href", "src", "action"):
                assert re.match(r"^(/|#|https?://|mailto:)", value), (tag, value)
        if tag == "a" and attrs.get("href", "").startswith("http"):
            assert attrs.get("rel") == "nofollow ugc noopener", attrs


def test_discussion_page_shows_everything_a_reader_expects(archive: Archive) -> None:
    archive.add_post(1)
    archive.add_post(1)
    archive.add_post(2)
    archive.add_post(2, status=PostStatus.HELD)
    archive.add_post(3, status=PostStatus.REJECTED)
    r = archive.client.get(PAGE)
    assert r.status_code == 200
    html = r.text
    assert "<title>Continuing online learning and skills development" in html
    assert "27 March 2027 – 17 April 2027" in html
    for name in ("Ashwani Aggarwal", "Paul Comyn", "Pedro Moreno da Fonseca"):
        assert name in html
    assert "aggarwal@ilo.example.org" not in html  # moderators' addresses stay private
    assert "invites government representatives" in html
    assert "Community guidelines. Be respectful" in html
    assert "Week 1 questions" in html and "Week 2 questions" in html
    for n in range(1, 7):  # released: open, with the address to write to
        assert f'href="mailto:skills-covid19+q{n}@discuss.example.org"' in html
        assert f'href="/d/{SLUG}/q/{n}"' in html
    for n in range(7, 12):  # announced with their date, no address yet
        assert f"skills-covid19+q{n}@" not in html
        assert f'href="/d/{SLUG}/q/{n}"' not in html
    assert html.count("Opens on 3 April 2027") == 5
    item = re.search(r'<li value="1".*?</li>', html, re.DOTALL)
    assert item is not None and "2 contributions" in item.group(0)
    item = re.search(r'<li value="2".*?</li>', html, re.DOTALL)
    assert item is not None and "1 contribution<" in item.group(0)  # held not counted
    item = re.search(r'<li value="3".*?</li>', html, re.DOTALL)
    assert item is not None and "0 contributions" in item.group(0)
    assert f'action="/d/{SLUG}/signup#signup"' in html
    assert re.search(r'name="csrf" value="[A-Za-z0-9_-]+\.[0-9a-f]{32}"', html)
    assert "ediscuss_csrf=" in r.headers["set-cookie"]
    assert "httponly" in r.headers["set-cookie"].lower()
    assert f'href="/d/{SLUG}/export.json"' in html
    assert f'href="/d/{SLUG}/feed.atom"' in html
    assert_inert(html)
    assert len(r.content) < 20_000  # small on a slow line


def test_language_by_query_and_accept_language(archive: Archive) -> None:
    es = archive.client.get(PAGE, params={"lang": "es"}).text
    assert '<html lang="es">' in es
    assert "Continuidad del aprendizaje en línea" in es
    assert "Preguntas de la semana 1" in es and "Se abre el 3 de abril de 2027" in es
    assert "Suscribirse" in es and "Moderadores" in es
    # The switcher links to the other languages; the chosen one is not a link.
    assert f'href="/d/{SLUG}?lang=en"' in es and f'href="/d/{SLUG}?lang=fr"' in es
    assert '<strong lang="es">Español</strong>' in es
    # Links carry the chosen language on.
    assert f'href="/d/{SLUG}/q/1?lang=es"' in es
    fr = archive.client.get(PAGE, headers={"accept-language": "de;q=1, fr;q=0.8"})
    assert '<html lang="fr">' in fr.text and "Semaine" not in fr.text
    assert "Questions de la semaine 1" in fr.text
    assert "Accept-Language" in fr.headers["vary"]
    assert f'href="/d/{SLUG}/q/1"' in fr.text  # not chosen explicitly: plain links
    unknown = archive.client.get(PAGE, params={"lang": "xx"})
    assert '<html lang="en">' in unknown.text


def test_root_redirects_to_the_only_discussion(archive: Archive) -> None:
    r = archive.client.get("/", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == PAGE
    r = archive.client.get("/?lang=fr", follow_redirects=False)
    assert r.headers["location"] == f"{PAGE}?lang=fr"


def test_question_page_threads_approved_posts(archive: Archive) -> None:
    first = archive.add_post(
        1,
        body="Workshops stopped.",
        full_text="Workshops stopped.\n\n-- \nAna\n> quoted history",
        organisation="Skills Council",
        constituency="employers",
        subject="Apprenticeships",
    )
    second = archive.add_post(1, body="We moved online.", author_name="Bo Li")
    reply = archive.add_post(1, body="Which tools?", parent=first, author_name="Chen")
    deeper = archive.add_post(1, body="Moodle.", parent=reply, author_name="Ana Ruiz")
    held = archive.add_post(1, body="HELD TEXT", status=PostStatus.HELD)
    rejected = archive.add_post(1, body="REJECTED TEXT", status=PostStatus.REJECTED)
    under_held = archive.add_post(1, body="Under a held post.", parent=held)
    r = archive.client.get(f"{PAGE}/q/1")
    assert r.status_code == 200
    html = r.text
    assert "How has the current situation linked to COVID-19" in html
    assert 'href="mailto:skills-covid19+q1@discuss.example.org"' in html
    assert "HELD TEXT" not in html and "REJECTED TEXT" not in html
    assert f'id="p{held}"' not in html and f'id="p{rejected}"' not in html
    order = [int(m) for m in re.findall(r'<article class="post d\d" id="p(\d+)"', html)]
    assert order == [first, reply, deeper, second, under_held]
    found = re.findall(r'<article class="post (d\d)" id="p(\d+)"', html)
    assert {post: depth for depth, post in found} == {
        str(first): "d0",
        str(reply): "d1",
        str(deeper): "d2",
        str(second): "d0",
        str(under_held): "d0",  # its parent is held: it starts a thread
    }
    assert f'In reply to <a href="#p{reply}">Chen</a>' in html
    assert "Skills Council · Employers&#39; organization" in html
    assert (
        '<time datetime="2027-03-28T10:01:00+00:00">28 Mar 2027, 12:01</time>' in html
    )
    book = AddressBook(SLUG, "discuss.example.org")
    address = reply_address(book, archive.runtime.key, first)
    assert f'href="mailto:{address}?subject=Re%3A%20Apprenticeships"' in html
    assert "<summary>Full message as received</summary>" in html
    assert "&gt; quoted history" in html
    assert "5 contributions" in html
    assert "ana@example.net" not in html
    assert_inert(html)


def test_question_page_in_spanish_and_unreleased_and_unknown(archive: Archive) -> None:
    archive.add_post(1, body="Hola.", constituency="workers")
    es = archive.client.get(f"{PAGE}/q/1?lang=es").text
    assert "Pregunta 1" in es and "Organización de trabajadores" in es
    assert "28 mar 2027, 12:01" in es and "1 aportación" in es
    later = archive.client.get(f"{PAGE}/q/7")
    assert later.status_code == 200
    assert "Opens on 3 April 2027" in later.text
    assert "skills-covid19+q7@" not in later.text
    for path in ("/q/12", "/q/0", "/q/99999999999999999999", "/q/abc"):
        r = archive.client.get(PAGE + path)
        assert r.status_code == 404, path
    r = archive.client.get("/d/no-such-discussion")
    assert r.status_code == 404
    assert "Page not found" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_post_pages_exist_only_for_approved_posts(
    make_archive: ArchiveFactory,
) -> None:
    archive = make_archive()
    approved = archive.add_post(2)
    held = archive.add_post(2, status=PostStatus.HELD)
    rejected = archive.add_post(2, status=PostStatus.REJECTED)
    r = archive.client.get(f"{PAGE}/posts/{approved}", follow_redirects=False)
    assert r.status_code == 200
    assert f'href="{PAGE}/q/2#p{approved}"' in r.text
    r = archive.client.get(f"{PAGE}/posts/{approved}?lang=es", follow_redirects=False)
    assert f'href="{PAGE}/q/2?lang=es#p{approved}"' in r.text
    for post_id in (held, rejected, 999_999, 2**40):
        r = archive.client.get(f"{PAGE}/posts/{post_id}", follow_redirects=False)
        assert r.status_code == 404, post_id
        assert "HELD" not in r.text
    # A post exists only under its own discussion's slug.
    r = archive.client.get(f"/d/other/posts/{approved}", follow_redirects=False)
    assert r.status_code == 404


def test_hostile_content_is_shown_as_text(archive: Archive) -> None:
    hostile = archive.add_post(
        1,
        author_name='<img src=x onerror="alert(1)">Eve',
        organisation="<script>alert('org')</script>",
        constituency='"><svg onload=alert(2)>',
        subject="<b onmouseover=alert(3)>Hi</b>",
        body=(
            "<script>alert('body')</script>\n"
            '<a href="javascript:alert(4)">click</a> javascript:alert(5)\n'
            "data:text/html;base64,PHNjcmlwdD5hbGVydCg2KTwvc2NyaXB0Pg==\n"
            '<img src=x onerror=alert(7)><iframe src="https://evil.example"></iframe>\n'
            'https://example.org/a?b=1&c="><script>alert(8)</script>\n'
            "Write to ana.other@example.com or mailto:bob@example.com, thanks.\n"
            "Our address: skills-covid19+q1@discuss.example.org."
        ),
        full_text='<html><body onload="alert(9)"><p>Rich</p></body></html>',
    )
    archive.add_post(1, body="reply", parent=hostile, author_name="<i>Mallory</i>")
    html = archive.client.get(f"{PAGE}/q/1").text
    assert_inert(html)
    assert "&lt;script&gt;alert(&#39;body&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(7)&gt;" in html
    assert "javascript:alert(5)" in html  # as text
    assert 'href="javascript' not in html and 'href="data:' not in html
    assert (
        '<a href="https://example.org/a?b=1&amp;c=" rel="nofollow ugc noopener">'
        in html
    )
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Eve" in html
    assert "&lt;i&gt;Mallory&lt;/i&gt;" in html
    assert "a…@example.com" in html and "b…@example.com" in html
    assert "ana.other@" not in html and "bob@example.com" not in html
    assert (
        '<a href="mailto:skills-covid19+q1@discuss.example.org" '
        'rel="nofollow ugc noopener">' in html
    )
    assert "&lt;html&gt;&lt;body onload=" in html


def test_no_participant_address_anywhere(archive: Archive) -> None:
    archive.add_post(
        1,
        author_name="ana.secret@example.net",
        author_email="ana.secret@example.net",
        body="From: Ana <ana.secret@example.net>",
        full_text="On Monday, ana.secret@example.net wrote:\n> hi",
        subject="mail me: ana.secret@example.net",
    )
    for path in ("", "/q/1", "/export.json", "/export.mbox", "/feed.atom"):
        r = archive.client.get(PAGE + path)
        assert r.status_code == 200, path
        assert "ana.secret@" not in r.text, path
        assert "a…@example.net" in r.text or path == "", path


def test_closed_discussion_keeps_its_archive_but_takes_no_mail(
    archive: Archive,
) -> None:
    archive.add_post(1, body="Archived words.")
    archive.set_state(DiscussionState.CLOSED)
    page = archive.client.get(PAGE).text
    assert "This discussion closed on 30 March 2027" in page
    assert "+q1@" not in page and 'method="post"' not in page
    assert '<form class="search" method="get"' in page  # its archive is searched
    question = archive.client.get(f"{PAGE}/q/1").text
    assert "Archived words." in question
    assert "Contributions are closed." in question
    assert "Reply by email" not in question and "+r-" not in question


def test_security_headers_on_every_response(archive: Archive) -> None:
    for path in (PAGE, f"{PAGE}/q/1", "/static/style.css", "/nothing", "/"):
        r = archive.client.get(path, follow_redirects=False)
        h = r.headers
        csp = h["content-security-policy"]
        assert "script-src" not in csp and "default-src 'none'" in csp, path
        assert "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"
        assert h["x-frame-options"] == "DENY"
    css = archive.client.get("/static/style.css")
    assert css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"]
    assert len(css.content) < 6000
    html = archive.client.get(PAGE).text
    assert "<style" not in html and "<script" not in html and " style=" not in html
    assert re.search(r'<link rel="stylesheet" href="/static/style.css\?v=\w+">', html)
    assert "http://" not in html.split("<main>")[0]  # no remote assets in the head


def test_pages_are_compressed_for_slow_lines(archive: Archive) -> None:
    r = archive.client.get(PAGE, headers={"accept-encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    assert int(r.headers["content-length"]) < 8000


def test_several_discussions_are_listed_and_kept_apart(
    make_archive: ArchiveFactory,
) -> None:
    raw = shipped_raw()["discussions"][0]
    other = copy.deepcopy(raw)
    other["slug"] = "other-topic"
    other["title"] = {"en": "Another <topic>", "es": "Otro tema", "fr": "Autre sujet"}
    archive = make_archive({"discussions": [raw, other]})
    mine = archive.add_post(1, body="Only in the first.")
    r = archive.client.get("/", follow_redirects=False)
    assert r.status_code == 200
    assert f'<a href="{PAGE}">Continuing online learning' in r.text
    assert '<a href="/d/other-topic">Another &lt;topic&gt;</a>' in r.text
    assert "Otro tema" in archive.client.get("/?lang=es").text
    assert archive.client.get("/d/other-topic/q/1").status_code == 200
    assert "Only in the first." not in archive.client.get("/d/other-topic/q/1").text
    assert archive.client.get("/d/other-topic/export.json").json() == []
    r = archive.client.get(f"/d/other-topic/posts/{mine}", follow_redirects=False)
    assert r.status_code == 404


def test_long_questions_are_paged_by_thread(archive: Archive) -> None:
    roots = [archive.add_post(4, body=f"Thread {n}.") for n in range(27)]
    reply = archive.add_post(4, body="A late reply.", parent=roots[0])
    late = archive.add_post(4, body="In the last thread.", parent=roots[26])
    first = archive.client.get(f"{PAGE}/q/4")
    assert "29 contributions" in first.text and "Page 1 of 2" in first.text
    shown = re.findall(r'id="p(\d+)"', first.text)
    assert [int(x) for x in shown] == [roots[0], reply, *roots[1:25]]
    assert f'href="{PAGE}/q/4?page=2" rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    # The two pagers are two landmarks; each has a name of its own (axe landmark-unique).
    labels = re.findall(r'<nav class="pager" aria-label="([^"]+)"', first.text)
    assert len(labels) == 2 and len(set(labels)) == 2, labels
    second = archive.client.get(f"{PAGE}/q/4?page=2&lang=fr")
    assert "Page 2 sur 2" in second.text
    shown = re.findall(r'id="p(\d+)"', second.text)
    assert [int(x) for x in shown] == [roots[25], roots[26], late]
    assert f'href="{PAGE}/q/4?lang=fr" rel="prev"' in second.text
    for bad in ("3", "0", "-1", "x", "99999999999999999999"):
        assert archive.client.get(f"{PAGE}/q/4?page={bad}").status_code == 404, bad
    # A post's own page links to its place in the paged thread.
    r = archive.client.get(f"{PAGE}/posts/{late}?lang=es")
    assert f'href="{PAGE}/q/4?lang=es&amp;page=2#p{late}"' in r.text
    r = archive.client.get(f"{PAGE}/posts/{reply}")
    assert f'href="{PAGE}/q/4#p{reply}"' in r.text
    assert "Page 1 of" not in archive.client.get(f"{PAGE}/q/5").text


def test_a_quoted_copy_of_the_service_s_mail_is_one_line_not_replayed(
    archive: Archive,
) -> None:
    base = archive.runtime.settings.service.base_url
    first = archive.add_post(1, body="Most workplace training stopped.")
    quoted = (
        "I agree.\n\n"
        "On Mon, 29 Mar 2027 at 10:00, Ana Ruiz via Skills e-discussion <\n"
        "skills-covid19@discuss.example.org> wrote:\n"
        "> Most workplace training stopped.\n>\n"
        f"> Read it on the web: {base}/d/{SLUG}/posts/{first}\n"
        f"> Unsubscribe: {base}/unsubscribe/12.abcdefghijklmnop\n"
        "\nBo"
    )
    archive.add_post(1, body="I agree.", full_text=quoted, author_name="Bo Li")
    for lang, line in (
        ("en", "quoted: the copy of Ana Ruiz&#39;s post"),
        ("es", "citado: la copia de la aportación de Ana Ruiz"),
        ("fr", "cité : la copie de la contribution de Ana Ruiz"),
    ):
        html = archive.client.get(f"{PAGE}/q/1?lang={lang}").text
        assert f'<span class="quoted-copy">{line}</span>\n\nBo' in html, lang
        assert "Read it on the web" not in html and "wrote:" not in html
        assert "abcdefghijklmnop" not in html
