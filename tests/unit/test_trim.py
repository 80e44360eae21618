"""Focused cases of trim_reply: each form of quoted history, footer and signature."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import pytest

from mailer.core.trim import _is_quote, count_links, trim_reply

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
        "Am Montag, 4. Mai 2020, 10:02:11 MESZ hat Mod <m@x.org> Folgendes geschrieben:",
        "On May 4, 2020, at 10:02\u202fAM, Mod <m@x.org> wrote:",
        "Mod wrote:",
        # Gmail in other interface languages: a date, the address, a colon
        "2020年5月4日(月) 10:02 Mod <m@x.org>:",
        "2020年5月4日(月) 10:02 Skills and COVID-19 e-discussion <\nm@x.org>:",
        "пн, 4 мая 2020 г. в 10:02, Mod <m@x.org>:",
        "Op ma 4 mei 2020 om 10:02 schreef Mod <m@x.org>:",
        # Lotus/IBM Notes
        "Mod <m@x.org> wrote on 04/05/2020 10:02:11:",
        "Mod <m@x.org> a écrit le 04/05/2020 10:02:11 :",
        "Mod <m@x.org> schrieb am 04.05.2020 10:02:11:",
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
        "差出人: Mod <m@x.org>\n送信日時: 2020年5月4日 17:02\n宛先: Ana\n件名: Q1",
        (
            "------------------ 原始邮件 ------------------\n"
            '发件人: "Mod"<m@x.org>;\n发送时间: 2020年5月4日(星期一) 下午5:02\n主题: Q1'
        ),
    ],
)
def test_outlook_blocks_and_separators(block: str) -> None:
    text = f"My answer is yes.\n\n{block}\n\nDear participants, the original.\n"
    assert trim_reply(text) == "My answer is yes."


def test_gmx_puts_the_date_above_the_from_line() -> None:
    text = (
        "Wir haben die Kurse online weitergeführt.\n \n \n\n"
        "Gesendet: Montag, 04. Mai 2020 um 10:02 Uhr\n"
        'Von: "Mod" <m@x.org>\nAn: ana@gmx.de\nBetreff: Frage 1\n\nLiebe Teilnehmende,\n'
    )
    assert trim_reply(text) == "Wir haben die Kurse online weitergeführt."


@pytest.mark.parametrize(
    "text",
    [
        "Write to the office <office@x.org> before 5 May:\nthey answer within a day.",
        "Our numbers for 2020 <see table>:\n> a quote that is answered\nYes.",
        "\nThe deadline is 5 May, ask Ana <ana@x.org>:\n\nshe knows the rules.",
        "The minister wrote on 4 May what the law says:\n\nevery apprentice keeps pay.",
    ],
)
def test_an_address_and_a_colon_alone_are_not_an_attribution(text: str) -> None:
    assert trim_reply(text) == text.strip()


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
        "Envoyé depuis Yahoo Mail pour Android",
        "Enviado do Yahoo Mail no Android",
        "Outlook für Android herunterladen<https://aka.ms/ghei36>",
        "Outlook voor Android downloaden<https://aka.ms/ghei36>",
        "Obter o Outlook para iOS<https://aka.ms/o0ukef>",
        "Enviado do Email<https://go.microsoft.com/fwlink/?LinkId=550986> para Windows",
        (
            "Envoyé à partir de Courrier<https://go.microsoft.com/fwlink/?LinkId=550986>"
            " pour Windows 10"
        ),
        "\u200eSent from my iPhone",
        "Sent using the mail.com mail app",
        "Diese Nachricht wurde von meinem Android-Mobiltelefon mit GMX Mail gesendet.",
        "Diese Nachricht wurde von meinem iPhone mit WEB.DE Mail gesendet.",
    ],
)
def test_mobile_footers(footer: str) -> None:
    text = f"Short answer from the road.\n\n{footer}\n\n> On 4 May, Mod wrote:\n> Q\n"
    assert trim_reply(text) == "Short answer from the road."


@pytest.mark.parametrize(
    "line",
    [
        "We use Outlook for Android and iOS in all our training centres.",
        "Enviado do escritório regional, o relatório chegou ontem.",
        "Envoyé de Paris par la poste, le dossier est arrivé.",
        "Diese Nachricht wurde von meinem Kollegen im Ministerium geprüft.",
    ],
)
def test_sentences_that_start_like_a_footer_stay(line: str) -> None:
    text = f"First paragraph.\n\n{line}\n\nLast paragraph."
    assert trim_reply(text) == text
    assert trim_reply(f"First paragraph.\n\n{line}") == f"First paragraph.\n\n{line}"


def test_interleaved_answers_are_kept_with_their_questions() -> None:
    text = (
        "On Mon, 4 May 2020 at 10:02, Mod <m@x.org> wrote:\n"
        "> First question?\n\nFirst answer.\n\n> Second question?\n\nSecond answer.\n\n"
        "> Trailing quoted text\n> that nobody answered.\n"
    )
    assert trim_reply(text) == (
        "> First question?\n\nFirst answer.\n\n> Second question?\n\nSecond answer."
    )


def test_a_signature_above_the_quote_does_not_hide_answers_below() -> None:
    """Gmail puts the signature above the quote; inline answers come after it."""
    text = (
        "Hi,\n\nanswers below.\n\n-- \nLuis Ortega\nCentro FP\n\n"
        "On Mon, 4 May 2020 at 10:02, Mod <m@x.org> wrote:\n\n"
        "> First question?\n\nFirst answer.\n\n> Rest of the question.\n"
    )
    assert trim_reply(text, sender_name="Luis Ortega") == (
        "Hi,\n\nanswers below.\n\n> First question?\n\nFirst answer."
    )


def test_a_quoted_attribution_goes_from_inline_answers() -> None:
    """Apple Mail quotes its attribution line with the text."""
    text = (
        "> On 4 May 2020, at 10:02, Mod <m@x.org> wrote:\n> \n"
        "> First question?\n\nFirst answer.\n\nTom\n\n> Rest.\n"
    )
    assert trim_reply(text, sender_name="Tom Baker") == (
        "> First question?\n\nFirst answer."
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


def test_a_signed_corporate_signature_goes_with_its_notice() -> None:
    text = (
        "We moved assessments to video.\n\nKind regards,\n\nAna Ruiz\nHead of Training\n"
        "National Training Institute\n12 Example Street, Springfield\n"
        "Tel: +44 20 7946 0000 | Mobile: +44 7700 900000\nwww.nti.example.org\n"
        "[cid:image001.png@01D6221A.5C3E6F50]\n\n"
        "This e-mail and any files transmitted with it are confidential and intended "
        "solely for the use of the individual to whom they are addressed.\n"
    )
    assert trim_reply(text, sender_name="Ana Ruiz") == "We moved assessments to video."


def test_a_long_line_after_an_unsigned_closing_is_text() -> None:
    text = (
        "First point.\n\nThanks,\nI will print the guide and share it with the "
        "colleagues of the regional office next week, as agreed."
    )
    assert trim_reply(text, sender_name="Ana Ruiz") == text


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


def test_a_message_is_never_emptied_by_its_sign_off() -> None:
    assert trim_reply("Thanks!") == "Thanks!"
    assert trim_reply("Best regards,\nAna", sender_name="Ana") == "Best regards,\nAna"
    assert trim_reply("Sent from my iPhone") == "Sent from my iPhone"
    assert trim_reply("") == ""


@pytest.mark.parametrize(
    "text",
    [
        "> only a quote\n> nothing else\n",
        "\n\nOn Mon, 4 May 2020 at 10:02, Mod <\nm@x.org> wrote:\n\n> Q\n> Q2\n",
        "Sent from my iPhone\n\n> On 4 May 2020, at 10:02, Mod <m@x.org> wrote:\n>\n> Q\n",
        (
            "\u00a0\n________________________________\nFrom: Mod\nSent: Monday\nTo: Ana\n"
            "Subject: Q1\n\nThe question.\n"
        ),
    ],
)
def test_a_reply_that_only_quotes_has_no_new_text(text: str) -> None:
    """Nothing new: the flow holds it ("no new text") with its full text kept."""
    assert trim_reply(text) == ""


def test_characters_are_preserved() -> None:
    text = "Le coût : 1\u00a0500\u00a0€ par salarié.\r\nDeuxième ligne."
    assert (
        trim_reply(text) == "Le coût : 1\u00a0500\u00a0€ par salarié.\nDeuxième ligne."
    )


def test_blank_runs_and_trailing_spaces_are_tidied() -> None:
    assert trim_reply("\n\nA   \n\n\n\nB\n\n\n") == "A\n\nB"


def test_huge_input_is_bounded_in_time() -> None:
    text = (
        "answer\n"
        + ("> " + "x" * 70 + "\n") * 50_000
        + "answer\n"
        + "On a day, X wrote:\n" * 5000
    )
    started = time.perf_counter()
    trimmed = trim_reply(text)
    assert time.perf_counter() - started < 5
    assert trimmed == "answer"


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


def test_footers_are_remembered_for_short_lines_only() -> None:
    from mailer.core import signature

    signature._is_short_footer.cache_clear()
    assert signature.is_footer("Sent from my iPhone")
    assert signature.is_footer("Sent from my iPhone")  # remembered
    assert not signature.is_footer("Sent from my iPhone, " + "x" * 200)
    assert not signature.is_footer("We moved theory online within two weeks.")
    info = signature._is_short_footer.cache_info()
    assert (info.hits, info.currsize) == (1, 2)  # the long line is never kept


@pytest.mark.parametrize(
    ("line", "quoted"),
    [
        ("> a", True),
        (">", True),
        ("   > a", True),
        ("\t> a", True),
        (" \t > a", True),
        ("    > a", False),  # four spaces: an indented line, not a quote
        ("a > b", False),
        ("", False),
        ("|> a", False),
    ],
)
def test_what_a_quoted_line_is(line: str, quoted: bool) -> None:
    assert _is_quote(line) is quoted
