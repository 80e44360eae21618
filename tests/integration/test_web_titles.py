"""Titles on the archive's pages, in its Atom feed and in its mbox: one rule for all."""

from __future__ import annotations

import email
import mailbox
import re
import xml.etree.ElementTree as ET
from email import policy
from pathlib import Path

from tests.fixtures.web import SLUG, Archive

PAGE = f"/d/{SLUG}"
ATOM = "{http://www.w3.org/2005/Atom}"
SPANISH_Q1 = "¿Cómo ha perturbado la situación actual vinculada a la COVID-19"
# Subjects as readers' mail clients send them, in the order they are added.
SUBJECTS = [
    (
        "AW: [skills-covid19] Q1: Apprenticeships stopped first",
        "Apprenticeships stopped first",
    ),
    (
        "Re: [skills-covid19] Resumen del 29 de marzo de 2027: 10 nuevas aportaciones",
        "",
    ),
    ("TR: [skills-covid19] Q1 : Re: Re:", ""),
    (f"RV: [skills-covid19] P1: {SPANISH_Q1}", ""),
    ("回复：[skills-covid19] New question 1: How has the current situation…", ""),
]


def _add(archive: Archive) -> list[int]:
    return [
        archive.add_post(1, subject=subject, body=f"Post {n}.")
        for n, (subject, _) in enumerate(SUBJECTS)
    ]


def test_the_question_page_shows_only_titles_that_say_something(
    archive: Archive,
) -> None:
    ids = _add(archive)
    html = archive.client.get(f"{PAGE}/q/1").text
    shown = {
        int(m[0]): m[1]
        for m in re.findall(
            r'<article[^>]* id="p(\d+)".*?(?:<p class="subject"[^>]*>([^<]*)</p>|</article>)',
            html,
            re.DOTALL,
        )
    }
    assert shown == {i: title for i, (_, title) in zip(ids, SUBJECTS, strict=True)}
    for noise in ("Resumen del", "AW:", "[skills-covid19]", "Q1 :", "New question"):
        assert noise not in html


def test_the_feed_names_a_post_by_its_question_when_it_has_no_title(
    archive: Archive,
) -> None:
    _add(archive)
    root = ET.fromstring(archive.client.get(f"{PAGE}/feed.atom").content)
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    expected = [title or "Question 1" for _, title in reversed(SUBJECTS)]
    assert titles == expected


def test_the_mbox_subject_follows_the_same_rule(
    archive: Archive, tmp_path: Path
) -> None:
    _add(archive)
    path = tmp_path / "export.mbox"
    path.write_bytes(archive.client.get(f"{PAGE}/export.mbox").content)
    box = mailbox.mbox(path, factory=None, create=False)
    subjects = [
        str(
            email.message_from_bytes(box.get_bytes(k), policy=policy.default)["Subject"]
        )
        for k in box.iterkeys()
    ]
    box.close()
    assert subjects[0] == "Apprenticeships stopped first"
    for subject in subjects[1:]:
        assert subject.startswith("Q1: How has the current situation"), subject
