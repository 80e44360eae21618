"""Full-text search of a discussion's approved posts, on SQLite FTS5 or PostgreSQL.

The index is the database's own (migration 0010): triggers on ``posts`` keep
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
    ``total`` is the cap plus one and ``capped`` is set ("more than 1,000").
    """

    ids: tuple[int, ...]
    total: int
    capped: bool


def fts5_query(terms: Sequence[str]) -> str:
    """*terms* as an FTS5 query that can only mean "all these words".

    Each term is an FTS5 string (a double quote doubled inside), so ``NEAR``,
    ``OR``, ``*``, ``-``, ``^`` and ``column:`` are words like any other.
    """
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


_SQLITE_MATCHES = (
    "FROM post_search JOIN posts ON posts.id = post_search.rowid "
    "JOIN discussions ON discussions.id = posts.discussion_id "
    "WHERE post_search MATCH :query AND discussions.slug = :slug "
    "AND posts.status = 'approved'"
)

# Subject words weigh twice the body's (bm25 is lower for a better match).
_SQLITE_PAGE = text(
    f"SELECT posts.id {_SQLITE_MATCHES} "
    "ORDER BY bm25(post_search, 2.0, 1.0), posts.id DESC LIMIT :limit OFFSET :offset"
)
_SQLITE_COUNT = text(f"SELECT count(*) FROM (SELECT 1 {_SQLITE_MATCHES} LIMIT :cap)")

_PG_QUERY = (
    "(plainto_tsquery('english', post_search_fold(:words)) "
    "|| plainto_tsquery('spanish', post_search_fold(:words)) "
    "|| plainto_tsquery('french', post_search_fold(:words)) "
    "|| plainto_tsquery('simple', post_search_fold(:words)))"
)
_PG_MATCHES = (
    f"FROM (SELECT {_PG_QUERY} AS query) AS asked, post_search "
    "JOIN posts ON posts.id = post_search.post_id "
    "WHERE post_search.document @@ asked.query "
    "AND post_search.discussion_id = (SELECT id FROM discussions WHERE slug = :slug) "
    "AND posts.status = 'approved'"
)
_PG_PAGE = text(
    f"SELECT posts.id {_PG_MATCHES} "
    "ORDER BY ts_rank(post_search.document, asked.query) DESC, posts.id DESC "
    "LIMIT :limit OFFSET :offset"
)
_PG_COUNT = text(f"SELECT count(*) FROM (SELECT 1 {_PG_MATCHES} LIMIT :cap) AS found")


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

    Counting stops after *cap* + 1 matches: a common word in a large archive
    costs the same as a rare one.
    """
    if not terms:
        return SearchHits((), 0, False)
    if session.get_bind().dialect.name == "sqlite":
        params: dict[str, object] = {"query": fts5_query(terms), "slug": slug}
        page, count = _SQLITE_PAGE, _SQLITE_COUNT
    else:
        params = {"words": " ".join(terms), "slug": slug}
        page, count = _PG_PAGE, _PG_COUNT
    total = int(session.execute(count, {**params, "cap": cap + 1}).scalar_one())
    ids: tuple[int, ...] = ()
    if offset < min(total, cap):
        rows = session.execute(
            page, {**params, "limit": min(limit, cap - offset), "offset": offset}
        )
        ids = tuple(int(post_id) for (post_id,) in rows)
    return SearchHits(ids, total, total > cap)
