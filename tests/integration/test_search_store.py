"""The search index on SQLite (FTS5) and PostgreSQL (tsvector): what is in it and what a query means."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, inspect, select, update

from mailer.core.search import search_terms
from store.models import Discussion, Post, PostStatus, Question
from store.search import search_posts
from tests.fixtures.web import SLUG, WEB_NOW, Archive


def _found(archive: Archive, query: str, **kwargs: int) -> list[int]:
    with archive.runtime.sessions() as session:
        hits = search_posts(session, SLUG, search_terms(query), **kwargs)
    return list(hits.ids)


def _set(archive: Archive, post_id: int, **values: object) -> None:
    with archive.runtime.sessions.begin() as session:
        session.execute(update(Post).where(Post.id == post_id).values(**values))


def test_only_approved_posts_are_found_and_the_index_follows_moderation(
    archive: Archive,
) -> None:
    shown = archive.add_post(body="Apprenticeships moved online in March.")
    held = archive.add_post(body="Apprenticeships held back.", status=PostStatus.HELD)
    rejected = archive.add_post(
        body="Apprenticeships rejected.", status=PostStatus.REJECTED
    )
    assert _found(archive, "apprenticeships") == [shown]
    _set(archive, held, status=PostStatus.APPROVED)  # a moderator approves it
    assert sorted(_found(archive, "apprenticeships")) == sorted([shown, held])
    _set(archive, shown, status=PostStatus.HELD)  # and puts another back
    assert _found(archive, "apprenticeships") == [held]
    _set(archive, held, body="Traineeships instead.")  # an edit is re-indexed
    assert _found(archive, "apprenticeships") == []
    assert _found(archive, "traineeships") == [held]
    with archive.runtime.sessions.begin() as session:
        session.execute(delete(Post).where(Post.id == held))
    assert _found(archive, "traineeships") == []
    assert rejected not in _found(archive, "rejected")


def test_subject_words_count_and_rank_first(archive: Archive) -> None:
    body_only = archive.add_post(body="Some words about broadband in villages.")
    in_subject = archive.add_post(subject="Broadband", body="Villages need it.")
    assert _found(archive, "broadband") == [in_subject, body_only]


def test_accents_fold_in_every_language(archive: Archive) -> None:
    es = archive.add_post(body="La educación de los niños.", language="es")
    fr = archive.add_post(body="Les élèves apprennent à distance.", language="fr")
    assert _found(archive, "educacion") == [es]
    assert _found(archive, "EDUCACIÓN") == [es]
    assert _found(archive, "eleves distance") == [fr]


def test_languages_stem_on_postgresql(archive: Archive) -> None:
    if archive.runtime.engine.dialect.name != "postgresql":
        pytest.skip("FTS5 here folds accents and case but does not stem")
    en = archive.add_post(body="Our trainers were teaching remotely.", language="en")
    es = archive.add_post(body="Las empresas formaron aprendices.", language="es")
    fr = archive.add_post(
        body="Les entreprises ont formé des apprentis.", language="fr"
    )
    assert _found(archive, "trainer teach") == [en]
    assert _found(archive, "empresa") == [es]
    assert _found(archive, "entreprise apprenti") == [fr]


@pytest.mark.parametrize(
    ("query", "finds"),
    [
        ('"unbalanced', False),
        ('online"', True),
        ("online*", True),
        ("onl*", False),  # no prefix search: a star is no syntax
        ("NEAR(online march)", True),
        ("online NEAR march", True),
        ("-online", True),
        ("march -online", True),  # a minus excludes nothing
        ("(online OR march)", True),
        ("body:online", True),
        ("subject:online", False),  # "subject" is a word like any other
        ("online AND NOT march", True),
        ("^online", True),
        ("'; DROP TABLE posts; --", False),
        ("online & march | !near <-> body:*", True),
        ("\\\x00online", True),
        ("\u200b", False),
    ],
)
def test_query_syntax_is_only_words(archive: Archive, query: str, finds: bool) -> None:
    post = archive.add_post(
        subject="Near",
        body="Not all training and teaching moved online in March, or body by body.",
    )
    assert _found(archive, query) == ([post] if finds else [])


def test_words_that_are_operators_are_searched_as_words(archive: Archive) -> None:
    post = archive.add_post(body="Not all regions were near a training centre.")
    assert _found(archive, "NOT near") == [post]
    assert _found(archive, "near OR elephants") == []  # every word must be there


def test_counting_stops_at_the_cap_and_pages_are_slices(archive: Archive) -> None:
    ids = [archive.add_post(body=f"Skills post number {n}.") for n in range(7)]
    with archive.runtime.sessions() as session:
        capped = search_posts(session, SLUG, ("skills",), limit=2, cap=5)
        exact = search_posts(session, SLUG, ("skills",), limit=3, offset=3, cap=100)
        beyond = search_posts(session, SLUG, ("skills",), limit=3, offset=5, cap=5)
        other = search_posts(session, "no-such-discussion", ("skills",))
        nothing = search_posts(session, SLUG, ())
    assert (capped.total, capped.capped, len(capped.ids)) == (6, True, 2)
    assert (exact.total, exact.capped) == (7, False)
    assert sorted(ids, reverse=True)[3:6] == list(exact.ids)  # ties: newest first
    assert beyond.ids == ()  # past the cap nothing is reachable
    assert other.ids == () and nothing.total == 0


def test_beyond_the_cap_the_newest_matches_are_ranked(archive: Archive) -> None:
    titled_old = archive.add_post(subject="Skills first", body="Skills, said early.")
    plain = [archive.add_post(body=f"Skills post number {n}.") for n in range(5)]
    titled_new = archive.add_post(subject="Skills again", body="Skills, said late.")
    with archive.runtime.sessions() as session:
        hits = search_posts(session, SLUG, ("skills",), limit=10, cap=4)
    assert hits.capped and hits.total == 5
    # The four newest, the one with the word in its subject first; the older
    # titled post is beyond the cap, however well it would rank.
    assert list(hits.ids) == [titled_new, plain[4], plain[3], plain[2]]
    assert titled_old not in hits.ids


def test_the_index_is_kept_by_the_database(archive: Archive) -> None:
    # A later migration that rebuilds posts (SQLite batch mode) drops triggers:
    # this says so before a post goes unindexed.
    engine = archive.runtime.engine
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            found = set(
                conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name = 'posts'"
                ).scalars()
            )
            expected = {
                "post_search_insert",
                "post_search_update",
                "post_search_delete",
            }
        else:
            found = set(
                conn.exec_driver_sql(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'posts'::regclass "
                    "AND NOT tgisinternal"
                ).scalars()
            )
            expected = {"post_search_sync"}
            assert "ix_post_search_document" in {
                i["name"] for i in inspect(conn).get_indexes("post_search")
            }
            # No pending list for every search to read (migration 0013).
            options = conn.exec_driver_sql(
                "SELECT reloptions FROM pg_class "
                "WHERE relname = 'ix_post_search_document'"
            ).scalar_one()
            assert options == ["fastupdate=off"]
    assert expected <= found


def test_a_search_stays_in_its_discussion(archive: Archive) -> None:
    here = archive.add_post(body="Broadband for schools.")
    with archive.runtime.sessions.begin() as session:
        other = Discussion(slug="other-talk", created_at=WEB_NOW)
        session.add(other)
        session.flush()
        question = Question(
            discussion_id=other.id, number=1, week=1, release_at=WEB_NOW
        )
        session.add(question)
        session.flush()
        session.add(
            Post(
                discussion_id=other.id,
                question_id=question.id,
                message_id="<elsewhere@example.net>",
                author_email="bo@example.net",
                subject="",
                body="Broadband elsewhere.",
                status=PostStatus.APPROVED,
                received_at=WEB_NOW,
                approved_at=WEB_NOW,
            )
        )
        here_id = session.scalars(
            select(Discussion.id).where(Discussion.slug == SLUG)
        ).one()
        elsewhere = session.scalars(
            select(Post.id).where(Post.discussion_id == other.id)
        ).one()
    assert _found(archive, "broadband") == [here]
    with archive.runtime.sessions() as session:
        assert list(search_posts(session, "other-talk", ("broadband",)).ids) == [
            elsewhere
        ]
    # The discussion's id is indexed on SQLite, but no query word reaches it.
    assert _found(archive, str(here_id)) == []


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_search_leaves_the_planner_as_it_found_it(archive: Archive) -> None:
    for n in range(3):
        archive.add_post(body=f"Planner post {n}.")
    with archive.runtime.sessions() as session:
        for cap in (10, 2):  # all matches ranked; only the newest ranked
            assert search_posts(session, SLUG, ("planner",), cap=cap).total == 3
            shown = session.connection().exec_driver_sql(
                "SELECT current_setting('enable_seqscan'), "
                "current_setting('enable_indexscan')"
            )
            assert tuple(shown.one()) == ("on", "on")
