"""A post's title: its mail subject, only when the subject says something of its own.

Most subjects in a discussion are noise for a reader of the archive: reply and
forward prefixes in many languages (``Re:``, ``AW:``, ``TR:``, ``RV:``,
``Fwd:``, ``SV:``, ``Antw:``, ``回复:``), list tags (``[skills-covid19]``), our
own ``Q1:``/``P1:`` question marks, and the subjects of the service's own mail
that people answer: announcements, digests and the closing note. The patterns
below follow the subject templates in ``digest_templates/<lang>/`` (en, es,
fr); a unit test renders those templates and checks that every form is
recognised, so a changed template shows up there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Reply and forward prefixes as mail clients write them (Outlook, Thunderbird,
# Apple Mail, Gmail, Foxmail...), optionally counted: "Re[2]:", "Re^3:".
_PREFIX = re.compile(
    r"^\s*(?:re|aw|sv|vs|tr|rv|res|ref|réf|antw|antwort|wg|fw|fwd|enc|odp|"
    r"rif|r|回复|回覆|答复|答覆|转发|轉寄)"
    r"\s*(?:\[\d+\]|\^\d+|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)
# A list tag at the start: "[skills-covid19]", "[Ext]".
_TAG = re.compile(r"^\s*\[[^\]\n]{1,80}\]\s*")
# Our own question mark in post copies: "Q1:" (en, fr "Q1 :"), "P1:" (es).
_QUESTION = re.compile(r"^\s*[QP]\d{1,4}\s*[:：]\s*", re.IGNORECASE)

_COLON = r"\s*:\s*"
# The subjects of the service's own announcements, digests and closing note,
# after the list tag: digest_templates/{en,es,fr}/{announcement,digest,closing}.subject.j2.
_OWN = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (
            # digests
            rf"(?:last digest|digest) for .+{_COLON}\d+ new contributions?",
            rf"(?:último resumen|resumen) del .+{_COLON}\d+ (?:nueva|nuevas) aportaci\w+",
            rf"(?:dernier résumé|résumé) du .+{_COLON}\d+ nouvelles? contributions?",
            # announcements of one question (its text follows, maybe cut short)
            rf"(?:the discussion is open{_COLON}question|new question) \d+{_COLON}.*",
            rf"(?:comienza el debate{_COLON}pregunta|nueva pregunta) \d+{_COLON}.*",
            rf"(?:la discussion est ouverte{_COLON}question|nouvelle question) \d+{_COLON}.*",
            # announcements of several questions
            rf"the discussion is open{_COLON}\d+ questions(?: for week \d+)?",
            rf"comienza el debate{_COLON}\d+ preguntas(?: de la semana \d+)?",
            rf"la discussion est ouverte{_COLON}\d+ questions(?: pour la semaine \d+)?",
            rf"(?:week \d+{_COLON})?\d+ new questions",
            rf"(?:semana \d+{_COLON})?\d+ nuevas preguntas",
            rf"(?:semaine \d+{_COLON})?\d+ nouvelles questions",
            # the closing note
            rf"the discussion is closed{_COLON}thank you",
            rf"el debate ha concluido{_COLON}gracias",
            rf"la discussion est close{_COLON}merci",
        )
    ),
    re.IGNORECASE | re.DOTALL,
)
_WORDY = re.compile(r"\w")
# A subject that only points at the question ("On question 1", "Sobre la
# pregunta 3", "À propos de la question 2", "Question n° 4") says nothing the
# page does not already say.
_NUMBER = r"(?:n[o°º]?\.?\s*)?\d{1,4}"
_EN = r"(?:(?:on|about|re|regarding|concerning|(?:answer|reply|response) to)\s+)?"
_ES = r"(?:(?:sobre|acerca de|respuesta a)\s+)?(?:la\s+)?pregunta"
_FR = r"(?:(?:à propos de|a propos de|sur|concernant|réponse à)\s+)?(?:la\s+)?question"
_POINTER = re.compile(
    rf"(?:{_EN}(?:the\s+)?question|{_ES}|{_FR})\s*{_NUMBER}\s*[.:!]?", re.IGNORECASE
)


def post_title(subject: str, question_texts: Iterable[str] = ()) -> str:
    """The part of *subject* worth showing as a title, or ``""`` when nothing is left.

    Strips reply/forward prefixes, list tags and ``Qn:`` marks wherever they
    pile up at the start, then drops what remains if it is one of the
    service's own subjects or just the question's text in one of its languages
    (*question_texts*), as a post copy without a subject of its own carries it.
    """
    text = " ".join(subject.split())
    while True:
        shorter = _QUESTION.sub("", _TAG.sub("", _PREFIX.sub("", text, 1), 1), 1)
        if shorter == text:
            break
        text = shorter
    text = text.strip()
    if not _WORDY.search(text) or _OWN.fullmatch(text) or _POINTER.fullmatch(text):
        return ""
    if any(_is_question(text, asked) for asked in question_texts if asked):
        return ""
    return text


def _is_question(text: str, question_text: str) -> bool:
    """Whether *text* is the question's text, whole or cut short with an ellipsis."""
    said = " ".join(text.casefold().split()).rstrip("….").rstrip()
    asked = " ".join(question_text.casefold().split())
    return bool(said) and asked.startswith(said) and len(said) >= min(20, len(asked))
