"""Focused cases of trim_reply: each form of quoted history, footer and signature."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import pytest

from mailer.core.trim import count_links, trim_reply

Q = "> Question 1: how has training changed?\n> Please share an example.\n"


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 4 May 2020 at 10:02, Mod <m@x.org> wrote:",
        "On Mon, May 4, 2020 at 10:02 AM Mod <\nm@x.org> wrote:",
        "On Monday, May 4, 2020, 10:02:11 AM GMT+2, Mod <m@x.org> wrote:",
        "El lun., 4 may. 2020 a las 10:02, Mod (<m@x.org>) escribió:",
        "El 4 may 2020, a las 10:02, Mod <m@x.org> escribió:",
        "Le lun. 4 mai 2020 à 10:02, Mod <m@x.org> a écrit :",
        "Le 04/05/2020 à 10:02, Mod a écrit :",
        "Em seg., 4 de mai. de 2020 às 10:02, Mod <m@x.org> escreveu:",
        "Am Mo., 4. Mai 2020 um 10:02 Uhr schrieb Mod <m@x.org>:",
        "Am 04.05.20 um 10:02 schrieb Mod:",
        "Mod wrote:",
    ],
)
def test_attributions(attribution: str) -> None:
    text = f"My answer is yes.\n\n{attribution}\n{Q}"
    assert trim_reply(text) == "My answer is yes."


@pytest.mark.parametrize(
    "block",
    [
        "From: Mod <m@x.org>\nSent: Monday, May 4, 2020 10:02 AM\nTo: Ana\nSubject: Q1",
        "-----Original Message-----\nFrom: Mod [mailto:m@x.org]\nSent: Monday\nTo: Ana\nSubject: Q1",
        "________________________________\nFrom: Mod <m@x.org>\nSent: Monday\nTo: Ana\nSubject: Q1",
        "De: Mod <m@x.org>\nEnviado el: lunes, 4 de mayo de 2020 10:02\nPara: Ana\nAsunto: P1",
        "De : Mod <m@x.org>\nEnvoyé : lundi 4 mai 2020 10:02\nÀ : Ana\nObjet : Q1",
        "De\u00a0: Mod <m@x.org>\nEnvoyé\u00a0: lundi 4 mai 2020 10:02\nÀ\u00a0: Ana\nObjet\u00a0: Q1",
        "Von: Mod <m@x.org>\nGesendet: Montag, 4. Mai 2020 10:02\nAn: Ana\nBetreff: F1",
        "De: Mod <m@x.org>\nEnviado: segunda-feira, 4 de maio de 2020 10:02\nPara: Ana\nAssunto: P1",
        "-----Mensaje original-----\nDe: Mod\nEnviado el: lunes\nPara: Ana\nAsunto: P1",
        "-----Message d'origine-----\nDe : Mod\nEnvoyé : lundi\nÀ : Ana\nObjet : Q1",
        "-----Ursprüngliche Nachricht-----\nVon: Mod\nGesendet: Montag\nAn: Ana\nBetreff: F1",
        "-------- Original message --------\nFrom: Mod <m@x.org>\nDate: 04/05/2020\nTo: Ana\nSubject: Q1",
        "---------- Forwarded message ---------\nFrom: Mod <m@x.org>\nDate: Mon\nSubject: Q1\nTo: Ana",
        "Begin forwarded message:\n\nFrom: Mod <m@x.org>\nSubject: Q1\nDate: 4 May\nTo: Ana",
    ],
)
def test_outlook_blocks_and_separators(block: str) -> None:
    text = f"My answer is yes.\n\n{block}\n\nDear participants, the original.\n"
    assert trim_reply(text) == "My answer is yes."


def test_a_from_line_in_the_text_is_not_a_header_block() -> None:
    text = "From: the ministry's side, nothing changed.\nTo: be fair, the regions did more."
    assert trim_reply(text) == text


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Enviado desde mi iPhone",
        "Obtener Outlook para Android",
        "Envoyé de mon iPhone",
        "Enviado do meu iPhone",
        "Von meinem iPhone gesendet",
        "Gesendet von meinem Huawei",
        "Sent from Yahoo Mail on Android",
    ],
)
def test_mobile_footers(footer: str) -> None:
    text = f"Short answer from the road.\n\n{footer}\n\n> On 4 May, Mod wrote:\n> Q\n"
    assert trim_reply(text) == "Short answer from the road."


def test_interleaved_answers_are_kept_with_their_questions() -> None:
    text = (
        "On Mon, 4 May 2020 at 10:02, Mod <m@x.org> wrote:\n"
        "> First question?\n\nFirst answer.\n\n> Second question?\n\nSecond answer.\n\n"
        "> Trailing quoted text\n> that nobody answered.\n"
    )
    assert trim_reply(text) == (
        "> First question?\n\nFirst answer.\n\n> Second question?\n\nSecond answer."
    )


def test_bottom_posting_keeps_the_quote_it_answers() -> None:
    text = "Mod wrote:\n> The question?\n\nThe answer, below.\n"
    assert trim_reply(text) == "> The question?\n\nThe answer, below."


def test_trailing_quote_without_attribution_goes() -> None:
    assert trim_reply("Yes.\n\n> Did it work?\n> Tell us.\n") == "Yes."


@pytest.mark.parametrize(
    "signature",
    [
        "-- \nAna Ruiz\nDirector",
        "--\nAna",
        "Best regards,\nAna Ruiz\nCentre for Training",
        "Kind regards,\n\nAna",
        "Thanks,\nLi",
        "Cheers – Nadia",
        "Saludos cordiales,\nAna",
        "Un saludo,\nCarmen Vidal\nFundación Empleo Joven",
        "Cordialement,\nMarie Dupont",
        "Bien à vous,\nClaire",
        "Atenciosamente,\nJoão Silva",
        "Abraços,\nRita",
        "Mit freundlichen Grüßen\nPetra Schmidt\nReferentin",
        "Viele Grüße\nKlaus",
        "LG Jürgen",
    ],
)
def test_signatures_and_sign_offs(signature: str) -> None:
    text = f"The apprentices kept learning online.\n\n{signature}\n"
    assert trim_reply(text) == "The apprentices kept learning online."


@pytest.mark.parametrize(
    "line",
    [
        "Thanks for the question, it matters.",
        "Merci pour cette discussion.",
        "Best practice was to keep the workshops open.",
        "Saludos a todos los participantes de la región andina que nos leen.",
    ],
)
def test_sentences_that_start_like_a_sign_off_stay(line: str) -> None:
    text = f"First paragraph.\n\n{line}"
    assert trim_reply(text) == text


def test_a_last_line_repeating_the_sender_name_goes() -> None:
    text = "We lent laptops.\n\nAwa Diop"
    assert trim_reply(text, sender_name="Awa Diop") == "We lent laptops."
    assert trim_reply(text, sender_name="Someone Else") == text
    assert trim_reply(text) == text


def test_a_message_is_never_emptied() -> None:
    assert trim_reply("Thanks!") == "Thanks!"
    assert (
        trim_reply("> only a quote\n> nothing else\n")
        == "> only a quote\n> nothing else"
    )
    assert trim_reply("") == ""


def test_characters_are_preserved() -> None:
    text = "Le coût : 1\u00a0500\u00a0€ par salarié.\r\nDeuxième ligne."
    assert (
        trim_reply(text) == "Le coût : 1\u00a0500\u00a0€ par salarié.\nDeuxième ligne."
    )


def test_blank_runs_and_trailing_spaces_are_tidied() -> None:
    assert trim_reply("\n\nA   \n\n\n\nB\n\n\n") == "A\n\nB"


def test_huge_input_is_bounded_in_time() -> None:
    text = (
        ("> " + "x" * 70 + "\n") * 50_000 + "answer\n" + "On a day, X wrote:\n" * 5000
    )
    started = time.perf_counter()
    trimmed = trim_reply(text)
    assert time.perf_counter() - started < 5
    assert 0 < len(trimmed) <= 200_000


def test_count_links_counts_web_links() -> None:
    assert count_links("a https://x.org/a?b=1 b http://y.org c www.z.org") == 3
    assert count_links("mailto:a@b.org and example.org") == 0


HOLDOUT = Path(__file__).resolve().parents[1] / "data" / "trim_holdout.toml"
with HOLDOUT.open("rb") as _f:
    HELD_OUT = tomllib.load(_f)["reply"]


@pytest.mark.parametrize("case", HELD_OUT, ids=[c["name"] for c in HELD_OUT])
def test_held_out_replies(case: dict[str, str]) -> None:
    """Replies written after the trimmer was frozen (see bench/trim_accuracy.py)."""
    assert (
        trim_reply(case["text"], sender_name=case["sender"]) == case["new_text"].strip()
    )
