"""A post's title: what its subject says once the mail's noise is taken away."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from mailer.core.titles import post_title
from mailer.outbound.dates import LocalDates
from mailer.outbound.templates import Templates

QUESTION = "Which skills did your team lack when the first wave of cases arrived?"


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "   ",
        "Re:",
        "Re: [skills-covid19] Q1: ",
        "RE: RE: [skills-covid19] Q1:",
        "AW: [skills-covid19] Q1: " + QUESTION,
        "TR: Fwd: [skills-covid19] P1: " + QUESTION,
        "RV: [skills-covid19] Q1 : " + QUESTION[:40] + "…",
        "SV: Antw: Re[2]: [skills-covid19]",
        "回复：[skills-covid19] Q1: " + QUESTION,
        "Re: [skills-covid19] Resumen del 29 de marzo de 2027: 10 nuevas aportaciones",
        "Re: [skills-covid19] Digest for 29 March 2027: 1 new contribution",
        "Re : [skills-covid19] Dernier résumé du 17 avril 2027 : 3 nouvelles contributions",
        "Re: [skills-covid19] New question 4: What would you keep?",
        "Fwd: [skills-covid19] The discussion is closed: thank you",
        "Re: ---",
        # subjects that only point at the question the page already names
        "On question 1",
        "Re: About question 3.",
        "À propos de la question 1",
        "Sobre la pregunta 2",
        "Question n° 4",
    ],
)
def test_noise_is_no_title(subject: str) -> None:
    assert post_title(subject, [QUESTION]) == ""


@pytest.mark.parametrize(
    ("subject", "title"),
    [
        ("Re: [skills-covid19] Q1: Nurses first", "Nurses first"),
        ("AW: AW: Lessons  from\tLyon", "Lessons from Lyon"),
        ("Ventilation skills", "Ventilation skills"),
        (
            "Re: [skills-covid19] Q2: Resumen de nuestra experiencia",
            "Resumen de nuestra experiencia",
        ),
        ("Re: Which skills? Triage, mostly", "Which skills? Triage, mostly"),
        ("Reading list", "Reading list"),
        ("Q&A from our team", "Q&A from our team"),
        ("On question 1 and the budget", "On question 1 and the budget"),
        ("Questions about funding", "Questions about funding"),
    ],
)
def test_a_subject_that_says_something_is_kept(subject: str, title: str) -> None:
    assert post_title(subject, [QUESTION]) == title


def test_the_question_text_alone_is_only_noise_when_it_is_the_question() -> None:
    assert post_title("Re: Which skills", [QUESTION]) == "Which skills"
    assert post_title("Re: " + QUESTION) == QUESTION  # no question known: kept


def _own_subjects(language: str) -> list[str]:
    """Every form our announcement, digest and closing templates give a subject."""
    templates = Templates()
    dates = LocalDates(language, ZoneInfo("Europe/Madrid"))
    out = []
    for final in (False, True):
        for count in (1, 2, 10):
            plan = SimpleNamespace(final=final, day=date(2027, 3, 29), count=count)
            out.append(
                templates.template("digest", "subject", language).render(
                    slug="skills-covid19", plan=plan, dates=dates
                )
            )
    questions = [SimpleNamespace(number=n, text=QUESTION) for n in (3, 4)]
    for opening in (False, True):
        for week in (0, 2):
            for shown in (questions[:1], questions):
                out.append(
                    templates.template("announcement", "subject", language).render(
                        slug="skills-covid19",
                        questions=shown,
                        opening=opening,
                        week=week,
                    )
                )
    out.append(
        templates.template("closing", "subject", language).render(slug="skills-covid19")
    )
    return [" ".join(s.split()) for s in out]


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_every_subject_of_our_own_mailings_is_no_title(language: str) -> None:
    subjects = _own_subjects(language)
    assert len(subjects) == 15
    for subject in subjects:
        for reply in (subject, "Re: " + subject, "AW: TR: " + subject):
            assert post_title(reply) == "", reply
