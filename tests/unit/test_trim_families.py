"""trim_reply on the shapes of real mail beyond the top-posted reply: Outlook
blocks without a rule, bottom-posting, interleaving, a forward with a comment,
quotes marked with "|" or ":", and ">" lines that are the writer's own."""

from __future__ import annotations

import pytest

from mailer.core.trim import trim_reply

HISTORY = "On Mon, 3 May 2027 at 10:02, Ana <ana@x.org> wrote:\n> Question 1\n> Give an example.\n"


@pytest.mark.parametrize(
    ("text", "new"),
    [
        # Outlook's header block in plain text, no underscore line above it.
        (
            (
                "Thanks, we will join.\n\nFrom: Ana Ruiz <ana@example.org>\n"
                "Sent: Monday, May 3, 2027 10:02 AM\nTo: Tom <t@x.org>\nSubject: Q1\n\nDear all,\n"
            ),
            "Thanks, we will join.",
        ),
        (
            (
                "Danke, wir sind dabei.\nVon: Ana Ruiz <ana@example.org>\n"
                "Gesendet: Montag, 3. Mai 2027 10:02\nAn: Tom <t@x.org>\nBetreff: Frage 1\n\nx\n"
            ),
            "Danke, wir sind dabei.",
        ),
        # Bottom-posting keeps the quote it answers.
        (
            f"{HISTORY}\nWe moved everything online.\n\n-- \nTom\n",
            "> Question 1\n> Give an example.\n\nWe moved everything online.",
        ),
        # Interleaved answers.
        (
            (
                "Hi,\n\nOn Mon, 3 May 2027 at 10:02, Ana <ana@x.org> wrote:\n> First?\nYes.\n"
                "> Second?\nNo.\n> A part\n> nobody answered\n"
            ),
            "Hi,\n\n> First?\nYes.\n> Second?\nNo.",
        ),
        # A forward with a comment: only the comment.
        (
            (
                "Relevant to question 2.\n\n---------- Forwarded message ---------\n"
                "From: Bob <bob@x.org>\nDate: Mon, 3 May 2027 at 10:02\nSubject: T\n\nBody.\n"
            ),
            "Relevant to question 2.",
        ),
        (
            (
                "Bitte beachten.\n\n-------- Weitergeleitete Nachricht --------\n"
                "Betreff: T\nDatum: Mon, 3 May 2027 10:02\nVon: Bob <bob@x.org>\n\nInhalt.\n"
            ),
            "Bitte beachten.",
        ),
        # Quotes marked with "|" or ":" under an attribution.
        (
            "I agree.\n\nOn Mon, 3 May 2027, Ana wrote:\n| Question 1\n| more\n",
            "I agree.",
        ),
        ("I agree.\n\nAna Ruiz wrote:\n: Question 1\n: more\n", "I agree."),
        # ">" lines of the writer's own, in the middle and at the end of the text.
        (
            f"We counted:\n> 50 participants\nin the first week.\n\n{HISTORY}",
            "We counted:\n> 50 participants\nin the first week.",
        ),
        (
            f"Our courses grew this spring, to\n> 50 participants each.\n\n{HISTORY}",
            "Our courses grew this spring, to\n> 50 participants each.",
        ),
        (
            f"Our numbers:\n\n> 50 participants in April\n\nDouble last year.\n\n{HISTORY}",
            "Our numbers:\n\n> 50 participants in April\n\nDouble last year.",
        ),
    ],
)
def test_families(text: str, new: str) -> None:
    assert trim_reply(text, sender_name="Tom Hale") == new


def test_a_quote_set_apart_above_the_history_still_goes() -> None:
    """Only a quoted line that continues the writer's paragraph is the writer's."""
    text = f"Yes.\n\n> Question 1\n\n{HISTORY}"
    assert trim_reply(text) == "Yes."


def test_three_quoted_lines_under_the_text_are_not_the_writers() -> None:
    text = f"Yes.\n> one\n> two\n> three\n\n{HISTORY}"
    assert trim_reply(text) == "Yes."
