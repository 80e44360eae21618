"""post search: a full-text index of approved posts, kept by the database itself

SQLite: an FTS5 table over posts (subject, body, and the discussion's id as
a word of its own, so a search stays in one discussion without reading the
posts), tokenizer unicode61 with diacritics folded, so "educacion" finds
"educación" in every language; no Porter stemmer, which knows only English. PostgreSQL: a tsvector per approved
post in the english, spanish or french configuration its language names
('simple' otherwise), under a GIN index.

Triggers on posts keep the index in step with every writer (a post stored as
approved, approved or held again by a moderator, edited, deleted): held and
rejected posts are never in it. A later migration that rebuilds the posts table
on SQLite (batch mode) drops these triggers and must create them again;
tests/integration/test_search_store.py fails if they are missing at head.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 14:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE = [
    (
        "CREATE VIRTUAL TABLE post_search USING fts5("
        "subject, body, discussion_id, content='posts', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')"
    ),
    (
        "CREATE TRIGGER post_search_insert AFTER INSERT ON posts "
        "WHEN new.status = 'approved' BEGIN "
        "INSERT INTO post_search(rowid, subject, body, discussion_id) "
        "VALUES (new.id, new.subject, new.body, new.discussion_id); END"
    ),
    (
        "CREATE TRIGGER post_search_delete AFTER DELETE ON posts "
        "WHEN old.status = 'approved' BEGIN "
        "INSERT INTO post_search(post_search, rowid, subject, body, discussion_id) "
        "VALUES ('delete', old.id, old.subject, old.body, old.discussion_id); END"
    ),
    # One trigger, two statements in this order: the old row's words leave
    # the index before the new row's enter (FTS5 needs the old values to
    # delete them; two triggers would fire in no promised order).
    (
        "CREATE TRIGGER post_search_update AFTER UPDATE OF status, subject, body, discussion_id "
        "ON posts BEGIN "
        "INSERT INTO post_search(post_search, rowid, subject, body, discussion_id) "
        "SELECT 'delete', old.id, old.subject, old.body, old.discussion_id WHERE old.status = 'approved'; "
        "INSERT INTO post_search(rowid, subject, body, discussion_id) "
        "SELECT new.id, new.subject, new.body, new.discussion_id WHERE new.status = 'approved'; END"
    ),
    (
        "INSERT INTO post_search(rowid, subject, body, discussion_id) "
        "SELECT id, subject, body, discussion_id FROM posts WHERE status = 'approved'"
    ),
]

_POSTGRESQL = [
    (
        "CREATE TABLE post_search ("
        "post_id integer NOT NULL, "
        "discussion_id integer NOT NULL, "
        "document tsvector NOT NULL, "
        "CONSTRAINT pk_post_search PRIMARY KEY (post_id), "
        "CONSTRAINT fk_post_search_post_id_posts FOREIGN KEY (post_id) "
        "REFERENCES posts (id) ON DELETE CASCADE)"
    ),
    "CREATE INDEX ix_post_search_document ON post_search USING gin (document)",
    (
        "CREATE INDEX ix_post_search_discussion_id_post_id "
        "ON post_search (discussion_id, post_id)"
    ),
    # The configuration a post's language names; the search asks all of them.
    (
        "CREATE FUNCTION post_search_config(language text) RETURNS regconfig "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE left(language, 2) "
        "WHEN 'en' THEN 'english'::regconfig WHEN 'es' THEN 'spanish'::regconfig "
        "WHEN 'fr' THEN 'french'::regconfig ELSE 'simple'::regconfig END $$"
    ),
    # Accents folded before the parser sees the words, in posts and queries
    # alike ("educacion" finds "educación"), without the unaccent extension
    # (which needs rights a database owner may not have).
    (
        "CREATE FUNCTION post_search_fold(words text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT translate(words, "
        "'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ', "
        "'AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJjKkLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzsOoUuAaIiOoUuUuUuUuUuAaAaGgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy') $$"
    ),
    (
        "CREATE FUNCTION post_search_document(language text, subject text, body text) "
        "RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT "
        "setweight(to_tsvector(post_search_config(language), "
        "post_search_fold(coalesce(subject, ''))), 'A') || "
        "setweight(to_tsvector(post_search_config(language), "
        "post_search_fold(coalesce(body, ''))), 'B') $$"
    ),
    (
        "CREATE FUNCTION post_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF NEW.status = 'approved' THEN "
        "INSERT INTO post_search (post_id, discussion_id, document) VALUES (NEW.id, "
        "NEW.discussion_id, post_search_document(NEW.language, NEW.subject, NEW.body)) "
        "ON CONFLICT (post_id) DO UPDATE SET discussion_id = EXCLUDED.discussion_id, "
        "document = EXCLUDED.document; "
        "ELSIF TG_OP = 'UPDATE' THEN "
        "DELETE FROM post_search WHERE post_id = NEW.id; "
        "END IF; "
        "RETURN NULL; "
        "END $$"
    ),
    (
        "CREATE TRIGGER post_search_sync AFTER INSERT OR UPDATE OF "
        "status, subject, body, language, discussion_id ON posts "
        "FOR EACH ROW EXECUTE FUNCTION post_search_sync()"
    ),
    (
        "INSERT INTO post_search (post_id, discussion_id, document) "
        "SELECT id, discussion_id, post_search_document(language, subject, body) "
        "FROM posts WHERE status = 'approved'"
    ),
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE if dialect == "sqlite" else _POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER post_search_{trigger}")
        op.execute("DROP TABLE post_search")
        return
    op.execute("DROP TRIGGER post_search_sync ON posts")
    op.execute("DROP FUNCTION post_search_sync()")
    op.execute("DROP TABLE post_search")
    op.execute("DROP FUNCTION post_search_document(text, text, text)")
    op.execute("DROP FUNCTION post_search_fold(text)")
    op.execute("DROP FUNCTION post_search_config(text)")
