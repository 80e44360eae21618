"""The moderators read the auto-reply hold reason in their language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailer.core.route import AUTO_REPLY_HOLD
from mailer.outbound.templates import Templates

CONTEXT = {
    "name": "Skills e-discussion",
    "moderator_name": "Pedro",
    "post_id": 7,
    "author_name": "Ana Ruiz",
    "author_email": "ana@example.net",
    "organisation": "",
    "constituency": "",
    "post_subject": "Apprenticeships",
    "body": "I am on leave until 14 December.",
    "body_cut": False,
    "question_number": 3,
    "question_text": "What technical hurdles have you observed?",
    "hold_reason": f"{AUTO_REPLY_HOLD}; unknown sender",
    "received_at": datetime(2027, 3, 28, 9, 0, tzinfo=UTC),
    "held_address": "held@example.org",
    "moderators_address": "skills-moderators@example.org",
}


@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("en", AUTO_REPLY_HOLD),
        ("es", "parece una respuesta automática: revísela antes de publicarla"),
        ("fr", "ressemble à une réponse automatique : à vérifier avant publication"),
    ],
)
def test_the_auto_reply_reason_is_translated(language: str, reason: str) -> None:
    mail = Templates().render("mod-held", language, CONTEXT, html=False)
    assert mail.language == language
    assert reason in mail.text
    if language != "en":
        assert AUTO_REPLY_HOLD not in mail.text


@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("en", AUTO_REPLY_HOLD),
        ("es", "parece una respuesta automática: revísela antes de publicarla"),
        ("fr", "ressemble à une réponse automatique : à vérifier avant publication"),
    ],
)
def test_the_held_summary_translates_it_too(language: str, reason: str) -> None:
    held = {**CONTEXT, "post_id": 8, "excerpt": "I am on leave.", "excerpt_cut": False}
    context = {
        **CONTEXT,
        "minutes": 60,
        "new": [held],
        "waiting": [],
        "waiting_more": 0,
    }
    mail = Templates().render("mod-summary", language, context, html=False)
    assert reason in mail.text
    if language != "en":
        assert AUTO_REPLY_HOLD not in mail.text
