"""The search page: plain form, highlighted and escaped snippets, paging, hostile words."""

from __future__ import annotations

import re

import pytest

from mailer.web.search import PER_PAGE
from store.models import PostStatus
from tests.fixtures.web import SLUG, Archive

SEARCH = f"/d/{SLUG}/search"


def _results(html: str) -> list[str]:
    return re.findall(r'<li class="result">(.*?)</li>', html, re.DOTALL)


def test_the_discussion_page_has_a_search_box(archive: Archive) -> None:
    html = archive.client.get(f"/d/{SLUG}?lang=fr").text
    form = re.search(
        r'<form class="search" method="get"[^>]*>.*?</form>', html, re.DOTALL
    )
    assert form is not None
    assert f'action="/d/{SLUG}/search"' in form[0]
    assert 'name="lang" value="fr"' in form[0]  # the chosen language is kept
    assert "Mots à chercher" in form[0] and 'name="q"' in form[0]


def test_a_search_lists_posts_with_marked_snippets_and_links(archive: Archive) -> None:
    found = archive.add_post(
        body="Apprentices kept training online during the lockdown.",
        author_name="Bo Lind",
    )
    archive.add_post(body="Nothing about it here.")
    archive.add_post(body="Apprentices held.", status=PostStatus.HELD)
    r = archive.client.get(SEARCH, params={"q": "apprentices online"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    (only,) = _results(r.text)
    assert "1 contribution found" in r.text
    assert f'href="/d/{SLUG}/posts/{found}"' in only
    assert "Contribution by Bo Lind" in only
    assert "<mark>Apprentices</mark> kept training <mark>online</mark>" in only
    assert 'value="apprentices online"' in r.text
    # Every page is translated, the result count too.
    es = archive.client.get(SEARCH, params={"q": "apprentices", "lang": "es"}).text
    assert "1 aportación encontrada" in es and "Buscar" in es


def test_hostile_text_and_queries_are_escaped(archive: Archive) -> None:
    archive.add_post(
        body='<script>alert(1)</script> training "quoted" <b>bold</b>',
        subject="<img src=x onerror=alert(1)>",
    )
    r = archive.client.get(SEARCH, params={"q": 'training "quoted'})
    assert r.status_code == 200
    assert "<script>" not in r.text and "<img" not in r.text and "<b>" not in r.text
    assert "&lt;script&gt;" in r.text and "&lt;img src=x" in r.text
    assert "<mark>training</mark>" in r.text and "<mark>quoted</mark>" in r.text
    # The query itself comes back in the box and the title, escaped.
    r = archive.client.get(SEARCH, params={"q": '"><script>alert(1)</script>'})
    assert r.status_code == 200 and "<script>" not in r.text
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in r.text


def test_snippets_show_only_what_the_post_page_shows(archive: Archive) -> None:
    # A row stored before posts were redacted on the way in (or by hand).
    base = archive.runtime.settings.service.base_url
    archive.add_post(
        body=(
            "Write to ana.ruiz@example.net about training, or leave: "
            f"{base}/unsubscribe/12.abcdefghijklmnop"
        ),
        language="en",
    )
    r = archive.client.get(SEARCH, params={"q": "training"})
    (only,) = _results(r.text)
    assert "ana.ruiz@example.net" not in only and "@example.net" in only
    assert "12.abcdefghijklmnop" not in r.text
    assert "[personal link removed]" in only


def test_results_come_in_pages(archive: Archive) -> None:
    for n in range(PER_PAGE + 5):
        archive.add_post(body=f"Broadband note {n}.")
    first = archive.client.get(SEARCH, params={"q": "broadband"})
    assert len(_results(first.text)) == PER_PAGE
    assert f"{PER_PAGE + 5} contributions found" in first.text
    assert "Page 1 of 2" in first.text
    nxt = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert nxt is not None and 'rel="prev"' not in first.text
    second = archive.client.get(nxt[1].replace("&amp;", "&"))
    assert len(_results(second.text)) == 5
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    assert 'start="21"' in second.text
    for page in ("3", "0", "x", "99999"):
        r = archive.client.get(SEARCH, params={"q": "broadband", "page": page})
        assert r.status_code == 404


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", ""),
        ("   ", ""),
        ("*", "holds no word"),
        ('"', "holds no word"),
        ("()", "holds no word"),
        ("-", "holds no word"),
        ("\u200b", "holds no word"),
        ("NEAR(", "No contribution holds"),
        ("subject:", "No contribution holds"),
        ("a" * 5000, "Your search is too long"),
    ],
)
def test_empty_odd_and_long_queries_answer_politely(
    archive: Archive, query: str, says: str
) -> None:
    archive.add_post(body="Some text.")
    r = archive.client.get(SEARCH, params={"q": query})
    assert r.status_code == 200
    assert not _results(r.text)
    assert says in r.text
    assert ('aria-invalid="true"' in r.text) == (
        says in ("holds no word", "Your search is too long")
    )


def test_no_hits_says_so(archive: Archive) -> None:
    archive.add_post(body="Some text.")
    r = archive.client.get(SEARCH, params={"q": "zebra"})
    assert "No contribution holds all these words." in r.text
    assert "0 contributions found" in r.text


def test_an_unknown_discussion_is_not_found(archive: Archive) -> None:
    assert archive.client.get("/d/nope/search", params={"q": "x"}).status_code == 404


def test_a_search_with_too_many_results_says_how_they_are_listed(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mailer.web.search as page

    monkeypatch.setattr(page, "MAX_RESULTS", 4)
    for n in range(6):
        archive.add_post(body=f"Skills {n}.")
    r = archive.client.get(SEARCH, params={"q": "skills", "lang": "es"})
    assert "Más de 4 aportaciones encontradas" in r.text
    assert "Se listan las 4 más recientes" in r.text
    assert len(_results(r.text)) == 4


def test_language_links_keep_the_search(archive: Archive) -> None:
    archive.add_post(body="Apprenticeships moved online.")
    page = archive.client.get(
        SEARCH, params={"q": "apprenticeships online", "page": "1", "x": "<junk>"}
    ).text
    # The same results in another language; nothing else of the query echoed.
    assert f'href="{SEARCH}?q=apprenticeships+online&amp;page=1&amp;lang=es"' in page
    assert f'href="{SEARCH}?q=apprenticeships+online&amp;page=1&amp;lang=fr"' in page
    assert "junk" not in page
    hostile = archive.client.get(SEARCH, params={"q": '"><script>' + "w " * 300}).text
    (link,) = re.findall(r'href="([^"]*lang=es)"', hostile)
    assert "<" not in link and len(link) < 700
