"""Reading the archive as a discussion: post pages, moderators, languages, weeks, the close."""

from __future__ import annotations

import html as html_text
import re
from datetime import UTC, datetime

from store.models import DiscussionState
from tests.fixtures.web import SLUG, Archive

PAGE = f"/d/{SLUG}"
MODERATOR = "aggarwal@ilo.example.org"  # a moderator in the shipped config.toml


def _articles(html: str) -> dict[int, str]:
    return {
        int(m[0]): m[1]
        for m in re.findall(
            r'<article[^>]* id="p(\d+)"[^>]*>(.*?)</article>', html, re.DOTALL
        )
    }


def test_a_post_page_shows_the_post_and_its_replies_highlighted(
    archive: Archive,
) -> None:
    root = archive.add_post(
        1, body="The question's first answer.", author_name="Ana Ruiz"
    )
    target = archive.add_post(
        1, body="A reply worth a link.", parent=root, author_name="Bo Lind"
    )
    under = archive.add_post(1, body="Agreed.", parent=target, author_name="Cy Moss")
    deeper = archive.add_post(1, body="Deeper.", parent=under, author_name="Di Oak")
    other = archive.add_post(1, body="Elsewhere.", parent=root, author_name="Ed Fir")
    r = archive.client.get(f"{PAGE}/posts/{target}")
    assert r.status_code == 200
    html = r.text
    assert list(_articles(html)) == [target, under, deeper]
    assert (
        f'<link rel="canonical" href="http://127.0.0.1:8080{PAGE}/posts/{target}">'
        in html
    )
    assert re.search(rf'<article class="post d0 target" id="p{target}"', html)
    assert "<h1>Post by Bo Lind</h1>" in html
    assert f'<h2 class="author" id="h{target}">Bo Lind</h2>' in html
    assert "<h2>2 replies</h2>" in html
    # The parent is not on this page: "in reply to" leads to its own page.
    assert f'In reply to <a href="{PAGE}/posts/{root}">Ana Ruiz</a>' in html
    assert f'In reply to <a href="#p{target}">Bo Lind</a>' in html
    assert "Elsewhere." not in html and other not in _articles(html)
    es = archive.client.get(f"{PAGE}/posts/{target}?lang=es").text
    assert "Aportación de Bo Lind" in es and "<h2>2 respuestas</h2>" in es


def test_posts_have_headings_named_permalinks_and_moderators_marked(
    archive: Archive,
) -> None:
    plain = archive.add_post(1, body="From the field.", author_name="Ana Ruiz")
    mod = archive.add_post(
        1,
        body="Thank you all; a summary follows on Friday.",
        author_name="R. Aggarwal",
        author_email=MODERATOR.upper(),
    )
    html = archive.client.get(f"{PAGE}/q/1").text
    articles = _articles(html)
    assert f'<h3 class="author" id="h{plain}">Ana Ruiz</h3>' in articles[plain]
    assert ">Link to this post by Ana Ruiz</a>" in articles[plain]
    assert ">Link<" not in html
    assert 'class="badge">Moderator</span>' in articles[mod]
    assert "badge" not in articles[plain]
    assert re.search(rf'<article class="post d0 mod" id="p{mod}"', html)
    assert MODERATOR not in html.lower()
    fr = archive.client.get(f"{PAGE}/q/1?lang=fr").text
    assert ">Lien vers cette contribution de Ana Ruiz</a>" in fr
    assert 'class="badge">Modération</span>' in fr


def test_a_post_in_another_language_says_so(archive: Archive) -> None:
    spanish = archive.add_post(
        1,
        body="Nuestros centros de formación han cerrado y los aprendices "
        "están en casa desde marzo; las empresas no pueden acogerlos.",
        subject="Aprendices en casa",
        language="",  # unclear when it arrived: guessed from the text
    )
    french = archive.add_post(1, body="Nous avons tout déplacé.", language="fr")
    english = archive.add_post(1, body="We moved all the courses online this week.")
    html = archive.client.get(f"{PAGE}/q/1").text
    articles = _articles(html)
    assert '<div class="text" dir="auto" lang="es">' in articles[spanish]
    assert (
        '<p class="subject" dir="auto" lang="es">Aprendices en casa</p>'
        in articles[spanish]
    )
    assert '<div class="text" dir="auto" lang="fr">' in articles[french]
    assert '<div class="text" dir="auto" lang="en">' in articles[english]


def test_weeks_carry_their_dates_and_phones_can_jump_to_the_questions(
    archive: Archive,
) -> None:
    html = archive.client.get(PAGE).text
    assert re.search(
        r"<h2>Week 1 questions <span class=\"week\">· 27 March 2027 – 2 April 2027</span></h2>",
        html,
    ), html
    assert 'Week 2 questions <span class="week">· 3 April 2027 –' in html
    assert '<a href="#questions">Go to the questions</a>' in html
    assert '<section id="questions">' in html
    assert 'Preguntas de la semana 1 <span class="week">· 27 de marzo de 2027' in (
        archive.client.get(f"{PAGE}?lang=es").text
    )


def test_a_closed_discussion_says_what_happened(archive: Archive) -> None:
    archive.add_post(1, author_email="a@example.net")
    archive.add_post(2, author_email="b@example.net")
    archive.add_post(2, author_email="A@example.net")
    open_page = archive.client.get(PAGE).text
    assert "To begin the discussion, we invite you" in open_page
    archive.set_state(DiscussionState.CLOSED, datetime(2027, 4, 17, 18, 0, tzinfo=UTC))
    html = archive.client.get(PAGE).text
    assert "To begin the discussion, we invite you" not in html
    assert "The discussion ran from 27 March 2027 to " in html
    assert "17 April 2027: 3 contributions from 2 participants on 6 questions." in html
    assert f'<a href="{PAGE}/report">Read the report of the discussion</a>' in html
    fr = archive.client.get(f"{PAGE}?lang=fr").text
    assert "3 contributions de 2 participants sur 6 questions." in fr
    assert f'<a href="{PAGE}/report?lang=fr">' in fr


def test_pages_describe_themselves_and_robots_may_read(archive: Archive) -> None:
    post = archive.add_post(1, body="Short and to the point.")
    for path, expected in (
        (PAGE, "invites government representatives"),
        (f"{PAGE}/q/1", "How has the current situation"),
        (f"{PAGE}/posts/{post}", "Short and to the point."),
    ):
        html = archive.client.get(path).text
        found = re.search(r'<meta name="description" content="([^"]+)">', html)
        assert found is not None and expected in found.group(1), path
        assert len(html_text.unescape(found.group(1))) <= 200
    r = archive.client.get("/robots.txt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "User-agent: *" in r.text and "Disallow: /unsubscribe/" in r.text
    assert "Disallow: /\n" not in r.text
    csp = archive.client.get(PAGE).headers["content-security-policy"]
    assert "connect-src 'self'" in csp and "script-src" not in csp


def test_the_report_of_a_closed_discussion_shows_no_address(archive: Archive) -> None:
    archive.add_post(1, author_name="", author_email="nameless@example.net")
    archive.add_post(
        2,
        author_name="Bo Lind",
        author_email="bo@example.net",
        body="Write to me at bo.lind@example.net for the slides.",
    )
    assert archive.client.get(f"{PAGE}/report").status_code == 404  # still open
    archive.set_state(DiscussionState.CLOSED)
    r = archive.client.get(f"{PAGE}/report")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "img-src data:" in csp and "script" not in csp
    assert "data:image/png;base64," in r.text
    assert "Bo Lind" in r.text and "A participant" in r.text
    for address in ("nameless@example.net", "bo@example.net", "bo.lind@example.net"):
        assert address not in r.text
    es = archive.client.get(f"{PAGE}/report?lang=es")
    assert '<html lang="es">' in es.text
