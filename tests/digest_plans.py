"""A digest plan with awkward posts (accents, long and unbreakable lines, blank
runs), and one reader's digest mail, for the tests that compare ways of
rendering and storing a digest."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from mailer.config.settings import DiscussionSettings, Settings
from mailer.core.digest import DigestPlan, PostItem, QuestionItem, plan_digest
from mailer.outbound.mailing import Outgoing

AWKWARD_BODIES = (
    "Línea con acentos: áéíóú ñ, «comillas» y un guion largo — además = y =3D.",
    "word " * 200,
    "   indented line   \n\n\n\ntrailing spaces   \nlast",
    "x" * 300,  # one unbreakable word longer than a line
)


def awkward_plan(
    discussion: DiscussionSettings,
    language: str,
    now: datetime,
    posts: int = 11,
    extra: tuple[str, ...] = (),
) -> DigestPlan:
    """A day's digest of *posts* posts, their bodies drawn in turn from the
    awkward ones and *extra*, some replying to the one before."""
    questions = [
        QuestionItem(q.number, q.text, f"q{q.number}@x.org", "http://w/q", True)
        for q in discussion.questions[:6]
    ]
    since = now - timedelta(days=1)
    bodies = [*AWKWARD_BODIES, *extra]
    items = [
        PostItem(
            i,
            1 + i % 3,
            i - 1 if i % 2 else None,
            f"Añadida Persona {i}",
            "Organisation",
            "Workers",
            bodies[i % len(bodies)],
            since + timedelta(minutes=i),
            f"r{i}@x.org",
            f"http://w/p/{i}",
        )
        for i in range(1, posts + 1)
    ]
    return plan_digest(items, questions, since, now, language, "en", date(2027, 3, 28))


def digest_outgoing(
    settings: Settings,
    language: str,
    context: Mapping[str, Any],
    reader: tuple[int, str, str],
    links: Mapping[str, str],
) -> Outgoing:
    """The digest mail for *reader* (subscription id, address, name), as queued."""
    sub_id, email, name = reader
    return Outgoing(
        template="digest",
        language=language,
        to_address=email,
        to_name=name,
        dedupe_key=f"digest:x:2027-03-28:{sub_id}",
        kind="digest",
        context={**context, **links},
        subscription_id=sub_id,
        as_list_mail=True,
        list_post=f"skills-covid19@{settings.service.domain}",
    )
