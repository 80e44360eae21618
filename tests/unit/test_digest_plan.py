"""plan_digest: the window, question order, threading and the header."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mailer.core.digest import (
    MAX_BODY_CHARS,
    MAX_DEPTH,
    PostItem,
    QuestionItem,
    clean_body,
    plan_digest,
)
from mailer.core.texts import Texts

T0 = datetime(2027, 3, 28, 16, 0, tzinfo=UTC)
DAY = date(2027, 3, 29)


def q(n: int, released: bool = True) -> QuestionItem:
    return QuestionItem(
        n,
        Texts({"en": f"Question {n}?", "fr": f"Question {n} ?"}),
        f"d+q{n}@x.org",
        f"http://w/q/{n}",
        released,
    )


def post(
    pid: int,
    question: int,
    minutes: int,
    parent: int | None = None,
    body: str = "text",
    parent_author: str = "",
) -> PostItem:
    return PostItem(
        pid,
        question,
        parent,
        f"Author {pid}",
        f"Org {pid}",
        "Workers",
        body,
        T0 + timedelta(minutes=minutes),
        f"d+r-{pid}@x.org",
        f"http://w/p/{pid}",
        parent_author,
    )


QUESTIONS = [q(1), q(2), q(3), q(7, released=False)]


def plan(posts: list[PostItem], language: str = "en", final: bool = False):  # type: ignore[no-untyped-def]
    return plan_digest(
        posts, QUESTIONS, T0, T0 + timedelta(days=1), language, "en", DAY, final
    )


def test_window_is_half_open() -> None:
    posts = [
        post(1, 1, -1),
        post(2, 1, 0),
        post(3, 1, 24 * 60 - 1),
        post(4, 1, 24 * 60),
    ]
    assert [e.post.id for s in plan(posts).sections for e in s.entries] == [2, 3]


def test_sections_in_question_order_and_posts_by_time() -> None:
    posts = [post(1, 3, 5), post(2, 1, 50), post(3, 1, 10), post(4, 2, 1)]
    p = plan(posts)
    assert [s.number for s in p.sections] == [1, 2, 3]
    assert [e.post.id for e in p.sections[0].entries] == [3, 2]
    assert p.count == 4 and not p.empty


def test_replies_under_their_parent_indented() -> None:
    posts = [
        post(1, 1, 0),
        post(2, 1, 1),
        post(3, 1, 2, parent=1),
        post(4, 1, 3, parent=3),
        post(5, 1, 4, parent=1),
    ]
    entries = plan(posts).sections[0].entries
    assert [(e.post.id, e.depth) for e in entries] == [
        (1, 0),
        (3, 1),
        (4, 2),
        (5, 1),
        (2, 0),
    ]


def test_deep_threads_are_capped_for_narrow_screens() -> None:
    posts = [post(1, 1, 0)] + [post(i, 1, i, parent=i - 1) for i in range(2, 8)]
    depths = [e.depth for e in plan(posts).sections[0].entries]
    assert max(depths) == MAX_DEPTH and len(depths) == 7


def test_reply_to_an_older_post_names_whom_it_answers() -> None:
    entries = (
        plan([post(9, 2, 5, parent=1, parent_author="Ana Ruiz")]).sections[0].entries
    )
    assert entries[0].depth == 0 and entries[0].in_reply_to == "Ana Ruiz"


def test_parent_loops_do_not_hang_or_drop_posts() -> None:
    posts = [post(1, 1, 0, parent=2), post(2, 1, 1, parent=1)]
    assert sorted(e.post.id for e in plan(posts).sections[0].entries) == [1, 2]


def test_header_lists_released_questions_in_language() -> None:
    p = plan([post(1, 1, 0)], language="fr")
    assert [o.number for o in p.open_questions] == [1, 2, 3]
    assert p.open_questions[0].text == "Question 1 ?"
    assert p.sections[0].text == "Question 1 ?"
    # A language the question lacks falls back to the default.
    assert plan([post(1, 1, 0)], language="es").sections[0].text == "Question 1?"


def test_final_digest_has_no_open_questions() -> None:
    assert plan([post(1, 1, 0)], final=True).open_questions == ()


def test_nothing_new_is_empty() -> None:
    assert plan([]).empty and plan([post(1, 99, 0)]).empty


def test_clean_body_tidies_and_cuts_long_posts() -> None:
    assert clean_body("a  \r\n\r\n\r\n\r\nb\t!\n\n") == ("a\n\nb   !", False)
    long = ("word " * 2000).strip()
    body, cut = clean_body(long)
    assert cut and len(body) <= MAX_BODY_CHARS + 2 and body.endswith("word …")


def test_author_and_affiliation() -> None:
    e = plan([post(1, 1, 0)]).sections[0].entries[0]
    assert e.author == "Author 1" and e.organisation == "Org 1"
    anonymous = plan([post(1, 1, 0)]).sections[0].entries[0].post
    import dataclasses

    nameless = plan([dataclasses.replace(anonymous, author_name="")]).sections[0]
    assert nameless.entries[0].author == "Org 1"
    assert nameless.entries[0].organisation == ""


def test_abridge_keeps_order_addresses_and_links() -> None:
    long = "First line of a long contribution.\n\n" + "More words here. " * 50
    posts = [post(1, 1, 0, body=long), post(2, 2, 1, body=long), post(3, 1, 2)]
    p = plan(posts)
    assert p.abridged_count == 0
    assert [e.post.id for e in p.entries] == [1, 3, 2]  # by question, then time
    short = p.abridge([False, False, True])
    assert [e.post.id for e in short.entries] == [1, 3, 2]
    assert [e.abridged for e in short.entries] == [True, True, False]
    first = short.entries[0]
    assert first.body.startswith("First line of a long contribution. More words")
    assert first.body.endswith("…") and not first.shortened
    assert first.post.reply_address == "d+r-1@x.org"
    assert short.entries[1].body == "text"  # short: all of it shows anyway
    assert short.entries[2] == p.entries[2]
    assert short.abridged_count == 2 and short.count == p.count
    assert short.abridge([False] * 3).entries == p.abridge([False] * 3).entries
    shorter = p.abridge([False] * 3, 20).entries[0].body
    assert shorter == "First line of a long…"
    with pytest.raises(ValueError):
        p.abridge([True])
