"""An attribution right under the writer's last line, with no blank line between.

The wrapped-attribution join must never swallow the end of a paragraph: the
writer's last sentence stays, the attribution and its quote go, in every
language and whether the attribution takes one, two or three lines.
"""

from __future__ import annotations

import pytest

from mailer.core.trim import trim_reply

QUOTE = "> Pregunta 1: ¿cómo ha cambiado la formación?\n> Un ejemplo, por favor.\n"

# (greeting, the writer's last line, the attribution as the client wraps it)
CASES = [
    (
        "Hej,",
        "Vi ses på mötet via Zoom.",
        "Den måndag 3 maj 2027 15:02:11 CEST skrev Ana Ruiz <ana@example.org>:",
    ),
    (
        "Hej,",
        "Vi ses på mötet via Zoom nästa vecka, och då tar vi resten.",
        "Den måndag 3 maj 2027 15:02:11 CEST skrev Ana Ruiz <ana@example.org>:",
    ),
    (
        "Hallo,",
        "wir sehen uns im Zoom-Meeting am Montag.",
        "Am Mo., 3. Mai 2027 um 15:02 Uhr schrieb Ana Ruiz <ana@example.org>:",
    ),
    (
        "Hallo,",
        "wir sehen uns im Zoom-Meeting am Montag.",
        (
            "Am Mo., 3. Mai 2027 um 15:02 Uhr schrieb Ana Ruiz Fernández de la Peña <\n"
            "ana@example.org>:"
        ),
    ),
    (
        "Hi,",
        "See you at the meeting tomorrow via Zoom.",
        (
            "On Mon, 3 May 2027 at 15:02, Ana Ruiz Fernandez de la Pena <ana@example.org>\n"
            "wrote:"
        ),
    ),
    (
        "Hi,",
        "See you at the meeting tomorrow via Zoom, then",
        "On Mon, 3 May 2027 at 15:02, Ana Ruiz <ana@example.org> wrote:",
    ),
    (
        "Bonjour,",
        "Je serai présent à la réunion de lundi prochain, merci !",
        "Le lun. 3 mai 2027 à 15:02, Ana Ruiz <ana@example.org> a écrit :",
    ),
    (
        "Hola,",
        "Nos vemos en la reunión del lunes por la tarde, gracias.",
        (
            "El lun, 3 may 2027 a las 15:02, Ana María Ruiz Fernández de la Peña y\n"
            "García-López, Universidad Nacional (<ana.ruiz@universidad.example.org>)\n"
            "escribió:"
        ),
    ),
    (
        "Cześć,",
        "Do zobaczenia na spotkaniu w poniedziałek, pozdrawiam.",
        "W dniu 3.05.2027 o 15:02, Ana Ruiz <ana@example.org> pisze:",
    ),
    (
        "Cześć,",
        "Do zobaczenia na spotkaniu w poniedziałek, pozdrawiam!",
        "Ana Ruiz <ana@example.org> napisał(a):",
    ),
    (
        "Hoi,",
        "Ik zie jullie maandag bij de bijeenkomst, tot dan?",
        "Op ma 3 mei 2027 om 15:02 schreef Ana Ruiz <ana@example.org>:",
    ),
    (
        "Ciao,",
        "Ci vediamo alla riunione di lunedì pomeriggio su Zoom.",
        (
            "Il giorno lun 3 mag 2027 alle ore 15:02 Ana Ruiz <ana@example.org> ha\n"
            "scritto:"
        ),
    ),
    (
        "Привет,",
        "Увидимся на встрече в понедельник в Zoom.",
        "пн, 3 мая 2027 г. в 15:02, Ana Ruiz <ana@example.org>:",
    ),
    (
        "こんにちは。",
        "月曜日の会議でお会いしましょう。よろしくお願いします。",
        "2027年5月3日(月) 15:02 Ana Ruiz <ana@example.org>:",
    ),
    (
        "你好，",
        "我们周一在 Zoom 会议上见，谢谢大家的准备。",
        '在 2027-05-03 15:02:11，"Ana Ruiz" <ana@example.org> 写道：',
    ),
    (
        "Hei,",
        "Nähdään maanantain kokouksessa Zoomissa, kiitos kaikille.",
        "ma 3.5.2027 klo 15.02 Ana Ruiz (ana@example.org) kirjoitti:",
    ),
]


@pytest.mark.parametrize(("greeting", "last", "attribution"), CASES)
def test_the_last_line_above_an_attribution_stays(
    greeting: str, last: str, attribution: str
) -> None:
    text = f"{greeting}\n\n{last}\n{attribution}\n{QUOTE}"
    assert trim_reply(text) == f"{greeting}\n\n{last}"


@pytest.mark.parametrize(("greeting", "last", "attribution"), CASES)
def test_the_same_attribution_after_a_blank_line_goes(
    greeting: str, last: str, attribution: str
) -> None:
    text = f"{greeting}\n\n{last}\n\n{attribution}\n{QUOTE}"
    assert trim_reply(text) == f"{greeting}\n\n{last}"


@pytest.mark.parametrize(
    "attribution",
    [
        # Wrapped attributions whose first line has no lead words: the join stands.
        (
            "2027年5月3日(月) 15:02 Ana Ruiz Fernández de la Peña García López <\n"
            "ana@example.org>:"
        ),
        (
            "Ana Ruiz Fernández de la Peña García <ana@example.org> 於 2027年5月3日 週一\n"
            "下午3:02寫道："
        ),
        (
            "2027년 5월 3일 (월) 오후 3:02, Ana Ruiz Fernández de la Peña García López\n"
            "<ana@example.org>님이 작성:"
        ),
        (
            "On Mon, 3 May 2027 at 15:02, Ana Ruiz Fernandez de la Pena Garcia Lopez <\n"
            "ana@example.org> wrote:"
        ),
    ],
)
def test_a_wrapped_attribution_is_read_whole(attribution: str) -> None:
    text = f"Hi,\n\nMy answer.\n\n{attribution}\n{QUOTE}"
    assert trim_reply(text) == "Hi,\n\nMy answer."


def test_a_sentence_ending_in_wrote_under_text_stays() -> None:
    """Without an address or a time, "as she wrote:" is the writer's own line."""
    text = (
        "Hi,\n\nThe minister spoke well at the opening.\nAs she wrote:\n"
        "> Training must go on.\n\nI agree with her.\n"
    )
    assert "As she wrote:" in trim_reply(text)
