"""Quoted copies of the service's own mail are found, named, and nothing else is."""

from __future__ import annotations

from mailer.core.copies import CopyKind, QuotedCopy, find_quoted_copies
from mailer.core.redact import own_service

SERVICE = own_service(("discuss.example.org",), ("http://127.0.0.1:8080",))
WEB = "http://127.0.0.1:8080/d/skills-covid19"
LIST = "skills-covid19@discuss.example.org"


def copies(text: str) -> list[QuotedCopy]:
    return find_quoted_copies(text, SERVICE)


def footer(prefix: str, post: int | None = 4) -> str:
    web = f"{prefix}Read it on the web: {WEB}/posts/{post}\n" if post else ""
    return (
        f"{web}{prefix}To answer question 1, write to skills-covid19+q1@discuss.example.org\n"
        f"{prefix}Unsubscribe: [personal link removed]\n"
    )


def test_a_gmail_quote_with_a_wrapped_attribution_is_one_copy_of_ana_s_post() -> None:
    text = (
        "I agree with Ana.\n\n"
        "On Mon, 29 Mar 2027 at 10:00, Ana Ruiz via Skills e-discussion <\n"
        f"{LIST}> wrote:\n\n"
        "> Most workplace training stopped in March.\n>\n" + footer("> ")
    )
    [copy] = copies(text)
    lines = text.split("\n")
    assert lines[copy.start].startswith("On Mon") and copy.end == len(lines) - 1
    assert (copy.kind, copy.post_id, copy.author) == (CopyKind.POST, 4, "Ana Ruiz")


def test_an_outlook_header_block_runs_to_the_end() -> None:
    text = (
        "Nuestra experiencia es la misma.\n\n"
        f"De: Emily Clarke vía E-debate sobre competencias <{LIST}>\n"
        "Enviado: lunes, 29 de marzo de 2027 10:00\n"
        "Asunto: Re: Q1\n\n"
        "Training moved online.\n\n" + footer("", 7)
    )
    [copy] = copies(text)
    assert text.split("\n")[copy.start].startswith("De: Emily")
    assert (copy.kind, copy.post_id, copy.author) == (CopyKind.POST, 7, "Emily Clarke")
    assert copy.end == len(text.split("\n"))


def test_french_digest_and_announcement_are_named_by_their_links() -> None:
    digest = (
        "Merci.\n\nLe 05/04/2027 à 18:00, E-discussion sur les compétences a écrit :\n"
        f"> RÉSUMÉ DU LUNDI 5 AVRIL 2027\n> {WEB}/posts/3\n> {WEB}/posts/5\n"
        + footer("> ", None)
    )
    [copy] = copies(digest)
    assert (copy.kind, copy.author, copy.start) == (CopyKind.DIGEST, "", 2)
    announcement = (
        "Hello\n\n> On 27 Mar 2027, at 09:00, Skills e-discussion <"
        f"{LIST}> wrote:\n>\n> Q1. How?\n> On the web: {WEB}/q/1\n" + footer("> ", None)
    )
    [copy] = copies(announcement)
    assert (copy.kind, copy.start) == (CopyKind.MESSAGE, 2)


def test_an_unsubscribe_link_left_in_marks_a_copy_too() -> None:
    text = (
        "Yes.\n\n"
        "> Skills e-discussion\n> Unsubscribe: http://127.0.0.1:8080/unsubscribe/1.x\n"
    )
    assert [c.kind for c in copies(text)] == [CopyKind.MESSAGE]


def test_two_copies_in_one_reply_and_the_words_between_stay_apart() -> None:
    text = (
        "First answer.\n"
        "> Ana wrote\n" + footer("> ", 4) + "Second answer.\n" + footer("> ", 9)
    )
    first, second = copies(text)
    assert first.post_id == 4 and second.post_id == 9
    lines = text.split("\n")
    assert lines[first.end] == "Second answer." and second.start == first.end + 1


def test_quotes_that_are_not_the_service_s_mail_stay() -> None:
    for text in (
        # another participant's own message, quoted
        "Agreed.\n\nOn Mon, Tom <tom@example.net> wrote:\n> We moved online.\n> Tom\n",
        # a quote naming a public address of the service, but no reader's footer
        f"See:\n> write to skills-covid19+q1@discuss.example.org\n> {WEB}/q/1\n",
        # the mark alone, with no link or address of the service
        "> [personal link removed]\n> from another list\n",
        # an Outlook block from someone else
        "Yes.\n\nFrom: Tom <tom@example.net>\nSent: today\n\n" + footer("", 4),
    ):
        assert copies(text) == [], text
