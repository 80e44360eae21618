"""The ``[[discussions]]`` tables of ``config.toml``, read into checked values.

Each discussion's languages, dates, time zone, moderators, questions, policies
and limits, and across discussions, that no two claim the same address.
:func:`mailer.config.parse_settings` calls :func:`read_discussions` after the
service-wide sections, with the same :class:`FieldReader`, so every problem
lands in the one list it reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailer.config.reader import FieldReader, kind_of
from mailer.config.settings import (
    SUPPORTED_LANGUAGES,
    DiscussionSettings,
    Moderator,
    QuestionSettings,
)
from mailer.core.addresses import SLUG_RE, reserved_local_parts
from mailer.core.choices import Moderation, UnknownSenders
from mailer.core.texts import Texts


def read_discussions(
    r: FieldReader, raw: Mapping[str, Any], base: Path
) -> list[DiscussionSettings]:
    """Every ``[[discussions]]`` table read and checked; problems go to *r*."""
    discussions: list[DiscussionSettings] = []
    raw_discussions = raw.get("discussions", [])
    if not isinstance(raw_discussions, list):
        r.fail("discussions", "expected an array of tables ([[discussions]])")
        raw_discussions = []
    for i, item in enumerate(raw_discussions):
        disc = _read_discussion(r, item, f"discussions[{i}]", base)
        if disc is not None:
            discussions.append(disc)
    claimed: dict[str, str] = {}
    for i, disc in enumerate(discussions):
        for local in reserved_local_parts(disc.slug):
            if local in claimed:
                r.fail(
                    f"discussions[{i}].slug",
                    f"address {local}@ clashes with discussion {claimed[local]!r}",
                )
            claimed[local] = disc.slug
    return discussions


def _read_discussion(
    r: FieldReader, raw: Any, path: str, base: Path
) -> DiscussionSettings | None:
    if not isinstance(raw, dict):
        r.fail(path, f"expected a table, got {kind_of(raw)}")
        return None
    known = {
        "slug",
        "name",
        "title",
        "introduction",
        "guidelines",
        "languages",
        "default_language",
        "opens_at",
        "closes_at",
        "time_zone",
        "digest_hour",
        "moderation",
        "unknown_senders",
        "moderators",
        "questions",
        "max_links",
        "max_posts_per_hour",
        "max_post_chars",
        "templates_dir",
    }
    r.unknown(raw, known, path)
    slug = r.string(raw, "slug", path)
    if slug and not SLUG_RE.match(slug):
        r.fail(
            f"{path}.slug", f"expected lowercase letters, digits and '-', got {slug!r}"
        )
    langs_raw = raw.get("languages", ["en"])
    if (
        not isinstance(langs_raw, list)
        or not langs_raw
        or not all(isinstance(x, str) for x in langs_raw)
    ):
        r.fail(f"{path}.languages", "expected a non-empty list of language codes")
        langs_raw = ["en"]
    languages = tuple(dict.fromkeys(langs_raw))
    for lang in languages:
        if lang not in SUPPORTED_LANGUAGES:
            r.fail(
                f"{path}.languages",
                f"unsupported language {lang!r} (supported: {', '.join(SUPPORTED_LANGUAGES)})",
            )
    default_language = r.string(raw, "default_language", path, languages[0])
    if default_language not in languages:
        r.fail(f"{path}.default_language", f"{default_language!r} is not in languages")
    tz_name = r.string(raw, "time_zone", path, "UTC")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        r.fail(f"{path}.time_zone", f"unknown time zone {tz_name!r}")
        tz = ZoneInfo("UTC")
    opens_at = r.when(raw, "opens_at", path)
    closes_at = r.when(raw, "closes_at", path)
    if closes_at <= opens_at:
        r.fail(f"{path}.closes_at", "must be after opens_at")
    name = r.texts(raw, "name", path, languages, required=False)
    if not name.values:
        name = Texts({lang: slug for lang in languages})
    mods: list[Moderator] = []
    mods_raw = raw.get("moderators", [])
    if not isinstance(mods_raw, list) or not mods_raw:
        r.fail(
            f"{path}.moderators",
            "expected a non-empty list of tables with name and email",
        )
        mods_raw = []
    for i, m in enumerate(mods_raw):
        mp = f"{path}.moderators[{i}]"
        if not isinstance(m, dict):
            r.fail(mp, f"expected a table, got {kind_of(m)}")
            continue
        r.unknown(m, {"name", "email", "language"}, mp)
        email = r.string(m, "email", mp)
        if email.count("@") != 1 or any(c in email for c in " <>\r\n,;"):
            r.fail(f"{mp}.email", f"not an email address: {email!r}")
        lang = r.string(m, "language", mp, default_language)
        if lang not in languages:
            r.fail(f"{mp}.language", f"{lang!r} is not in languages")
        mods.append(Moderator(r.string(m, "name", mp), email.strip().lower(), lang))
    questions: list[QuestionSettings] = []
    qs_raw = raw.get("questions", [])
    if not isinstance(qs_raw, list) or not qs_raw:
        r.fail(f"{path}.questions", "expected a non-empty list of questions")
        qs_raw = []
    numbers: set[int] = set()
    for i, q in enumerate(qs_raw):
        qp = f"{path}.questions[{i}]"
        if not isinstance(q, dict):
            r.fail(qp, f"expected a table, got {kind_of(q)}")
            continue
        r.unknown(q, {"number", "week", "release_at", "text"}, qp)
        number = r.integer(q, "number", qp, None, 1, 9999)
        if number in numbers:
            r.fail(f"{qp}.number", f"question {number} appears twice")
        numbers.add(number)
        week = r.integer(q, "week", qp, 1, 1, 52)
        release_at = r.when(q, "release_at", qp)
        text = r.texts(q, "text", qp, languages, required=True)
        questions.append(QuestionSettings(number, week, release_at, text))
    questions.sort(key=lambda q: q.number)
    return DiscussionSettings(
        slug=slug,
        name=name,
        title=r.texts(raw, "title", path, languages, required=True),
        introduction=r.texts(raw, "introduction", path, languages, required=True),
        guidelines=r.texts(raw, "guidelines", path, languages, required=True),
        languages=languages,
        default_language=default_language,
        opens_at=opens_at,
        closes_at=closes_at,
        time_zone=tz,
        digest_hour=r.integer(raw, "digest_hour", path, 18, 0, 23),
        moderation=r.member(raw, "moderation", path, Moderation.FIRST_POST),
        unknown_senders=r.member(raw, "unknown_senders", path, UnknownSenders.HOLD),
        moderators=tuple(mods),
        questions=tuple(questions),
        max_links=r.integer(raw, "max_links", path, 10, 0, 1000),
        max_posts_per_hour=r.integer(raw, "max_posts_per_hour", path, 5, 1, 1000),
        max_post_chars=r.integer(raw, "max_post_chars", path, 20_000, 100, 1_000_000),
        templates_dir=_templates_dir(r, raw, path, base),
    )


def _templates_dir(
    r: FieldReader, raw: Mapping[str, Any], path: str, base: Path
) -> Path | None:
    value = r.string(raw, "templates_dir", path, "")
    if not value:
        return None
    folder = Path(value) if Path(value).is_absolute() else base / value
    if not folder.is_dir():
        r.fail(f"{path}.templates_dir", f"not a folder: {folder}")
    return folder
