"""Full-text search of a discussion's approved posts, on SQLite FTS5 or PostgreSQL.

The index is the database's own (migration 0012): triggers on ``posts`` keep
it in step, so only approved posts are in it. The words come in as plain
terms (see :func:`mailer.core.search.search_terms`) and are never handed to
the database as query syntax: on SQLite each term is one quoted FTS5 string,
on PostgreSQL the terms go through ``plainto_tsquery`` in the english, spanish,
french and simple configurations (a post was indexed in its language's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

# The search index's objects, which are the database's and not models: the
# FTS5 table and its shadow tables on SQLite, the tsvector table on PostgreSQL.
SEARCH_PREFIX = "post_search"


def is_search_object(name: str | None) -> bool:
    """True for the tables and indexes of the search index (no model describes them)."""
    return bool(name) and str(name).startswith(SEARCH_PREFIX)


@dataclass(frozen=True)
class SearchHits:
    """One page of a search: post ids best first, and how many posts matched.

    ``total`` is exact up to the cap the search was asked with; beyond it,
    ``total`` is the cap plus one and ``capped`` is set ("more than 1,000"),
    and the ids are the best of the cap's newest matches.
    """

    ids: tuple[int, ...]
    total: int
    capped: bool


def fts5_query(terms: Sequence[str], discussion_id: int | None = None) -> str:
    """*terms* as an FTS5 query that can only mean "all these words".

    Each term is an FTS5 string (a double quote doubled inside), so ``NEAR``,
    ``OR``, ``*``, ``-``, ``^`` and ``column:`` are words like any other. The
    words are looked for in the subject and the body only; with
    *discussion_id*, in that discussion's posts only (its id is indexed as a
    word of a column of its own).
    """
    words = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
    query = "{subject body} : (" + words + ")"
    if discussion_id is None:
        return query
    return f'discussion_id : "{int(discussion_id)}" AND {query}'


# The newest matches come straight off the index (FTS5 walks rowids
# backwards); only they are ranked, subject words weighing twice the body's
# (bm25 is lower for a better match). Only approved posts are in the index
# (its triggers see to it), and the page's posts are read again through the
# archive's approved-only queries: no row of posts is read here.
_SQLITE_PAGE = text(
    "SELECT id FROM (SELECT rowid AS id, bm25(post_search, 2.0, 1.0, 0.0) AS score "
    "FROM post_search WHERE post_search MATCH :query "
    "ORDER BY rowid DESC LIMIT :ranked) "
    "ORDER BY score, id DESC LIMIT :limit OFFSET :offset"
)
_SQLITE_COUNT = text(
    "SELECT count(*) FROM (SELECT 1 FROM post_search "
    "WHERE post_search MATCH :query LIMIT :cap)"
)
_DISCUSSION = text("SELECT id FROM discussions WHERE slug = :slug")

_PG_QUERY = (
    "(plainto_tsquery('english', post_search_fold(:words)) "
    "|| plainto_tsquery('spanish', post_search_fold(:words)) "
    "|| plainto_tsquery('french', post_search_fold(:words)) "
    "|| plainto_tsquery('simple', post_search_fold(:words)))"
)
# Only approved posts are in post_search (its trigger sees to it), and the
# page's posts are read again through the archive's approved-only queries.
_PG_MATCHES = (
    f"FROM (SELECT {_PG_QUERY} AS query) AS asked, post_search "
    "WHERE post_search.document @@ asked.query "
    "AND post_search.discussion_id = (SELECT id FROM discussions WHERE slug = :slug)"
)
# Few matches: rank them all.
_PG_PAGE = text(
    "SELECT id FROM (SELECT post_search.post_id AS id, "
    "ts_rank(post_search.document, asked.query) AS score "
    f"{_PG_MATCHES}) AS found "
    "ORDER BY score DESC, id DESC LIMIT :limit OFFSET :offset"
)
# Many: rank only the newest, found by walking the primary key backwards (a
# common word is met every few rows) or through the index; their documents
# are read for ranking after the cut, not for every match before it.
_PG_PAGE_NEWEST = text(
    f"WITH asked AS MATERIALIZED (SELECT {_PG_QUERY} AS query), "
    "newest AS MATERIALIZED (SELECT post_search.post_id FROM asked, post_search "
    "WHERE post_search.document @@ asked.query AND post_search.discussion_id = "
    "(SELECT id FROM discussions WHERE slug = :slug) "
    "ORDER BY post_search.post_id DESC LIMIT :ranked) "
    "SELECT ranked.post_id FROM newest "
    "JOIN post_search AS ranked ON ranked.post_id = newest.post_id, asked "
    "ORDER BY ts_rank(ranked.document, asked.query) DESC, ranked.post_id DESC "
    "LIMIT :limit OFFSET :offset"
)
_PG_COUNT = text(f"SELECT count(*) FROM (SELECT 1 {_PG_MATCHES} LIMIT :cap) AS found")
# The planner cannot tell a rare word from a common one well (the query is
# four configurations' words OR-ed), and a LIMIT tempts it to read every
# row in order, hoping to stop early: for a rare word, 100,000 documents
# read (0.3 s). Counting and ranking few matches go through the GIN index.
# One round trip each way (psycopg sends a parameterless string as is).
_PG_INDEX_ONLY = "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off"
_PG_PLANNER_AGAIN = "RESET enable_seqscan; RESET enable_indexscan"


def search_posts(
    session: Session,
    slug: str,
    terms: Sequence[str],
    *,
    offset: int = 0,
    limit: int = 20,
    cap: int = 1000,
) -> SearchHits:
    """Approved posts of discussion *slug* holding every one of *terms*, best first.

    Only the *cap* newest matches are ranked and reachable, and counting stops
    after *cap* + 1: a word in every post costs about what a rare one does.
    """
    if not terms:
        return SearchHits((), 0, False)
    if session.get_bind().dialect.name == "sqlite":
        found = session.execute(_DISCUSSION, {"slug": slug}).scalar()
        if found is None:
            return SearchHits((), 0, False)
        params: dict[str, object] = {"query": fts5_query(terms, int(found))}
        total = int(
            session.execute(_SQLITE_COUNT, {**params, "cap": cap + 1}).scalar_one()
        )
        page = _SQLITE_PAGE
    else:
        params = {"words": " ".join(terms), "slug": slug}
        session.connection().exec_driver_sql(_PG_INDEX_ONLY)
        total = int(session.execute(_PG_COUNT, {**params, "cap": cap + 1}).scalar_one())
        page = _PG_PAGE
        if total > cap:
            session.connection().exec_driver_sql(_PG_PLANNER_AGAIN)
            page = _PG_PAGE_NEWEST
    ids: tuple[int, ...] = ()
    if offset < min(total, cap):
        rows = session.execute(
            page,
            {
                **params,
                "ranked": cap,
                "limit": min(limit, cap - offset),
                "offset": offset,
            },
        )
        ids = tuple(int(post_id) for (post_id,) in rows)
    if page is _PG_PAGE:
        session.connection().exec_driver_sql(_PG_PLANNER_AGAIN)
    return SearchHits(ids, total, total > cap)
