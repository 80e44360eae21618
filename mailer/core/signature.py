"""Where a reply's signature starts: mobile footers, ``-- `` and sign-off blocks.

The forms real clients and people write, in the languages of
:data:`mailer.core.reply_forms.FORMS`: ``Sent from my iPhone`` and the like
(``Sendt fra min iPad``, ``Wysłane z iPhone'a``, ``iPhoneから送信``), Outlook
mobile's ``Get Outlook for Android`` in any language, ``-- `` signatures,
sign-off blocks (``Best regards,``, ``Saludos cordiales,``, ``Mit freundlichen
Grüßen``, ``Pozdrawiam``, ``С уважением``...) with the sender's name, title,
address and a confidentiality notice, and a last line that is only the
sender's name. :mod:`mailer.core.trim` cuts the reply there.

Every pattern is anchored to one line, so the work is linear in the size of
the text.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from mailer.core.reply_forms import DEVICE, alternation

# A mobile client's footer ("Sent from my iPhone", "Wysłane z iPhone'a",
# "iPhoneから送信"), in every language of reply_forms.FORMS: the reply ends above it.
# Each form starts with its words, so a line that is not one fails at once.
SENT_FROM = re.compile(
    rf"^{alternation('footers', bounded=False)}[.!。]?$"
    # Outlook mobile in every language: "Outlook für Android herunterladen",
    # "Outlook voor Android downloaden", each with its aka.ms link.
    r"|^(?:[\w'’-]+ ){0,2}Outlook (?:[\w'’-]+ ){0,2}(?:Android|iOS)(?: [\w'’-]+)?"
    r"\s?(?:<https?://aka\.ms/\w+>)?$",
    re.IGNORECASE,
)
# The forms that name the device first ("iPhone에서 보냄"): their end, then the device.
_FOOTER_END = re.compile(
    rf"{alternation('footer_ends', bounded=False)}[.!。]?$", re.IGNORECASE
)
_DEVICE = re.compile(DEVICE, re.IGNORECASE)
_MAX_FOOTER = 160
_FOOTER_END_TAIL = 24  # past the longest footer end


def is_footer(line: str) -> bool:
    """True when *line* (stripped) is a mobile client's footer."""
    if len(line) > _MAX_FOOTER:
        return False
    return _is_short_footer(line)


# Remembered: trimming a reply asks it twice of each line above the history
# (where the writer's text ends, then where the signature starts), and each
# asking tries every footer of every language. Short lines only: 1,024 of
# them at most 160 characters each.
@functools.lru_cache(maxsize=1024)
def _is_short_footer(line: str) -> bool:
    if SENT_FROM.match(line):
        return True
    end = _FOOTER_END.search(line, max(0, len(line) - _FOOTER_END_TAIL))
    return bool(end and _DEVICE.search(line))


# A signature delimiter line: "-- " (RFC 3676 section 4.3), "--" or an em dash.
SIG_DELIMITER = re.compile(r"^(?:-- ?|—)$")
_CLOSINGS = (
    # en
    r"(?:best|kind|warm|warmest|many|with (?:best|kind|warm)) (?:regards|wishes|thanks)"
    r"|regards|best|cheers|thanks(?: a lot| again| so much| in advance)?"
    r"|thank you(?: very much| again)?|many thanks|sincerely|yours(?: sincerely| truly"
    r"| faithfully)?|all the best|take care|best wishes"
    # es
    r"|saludos(?: cordiales)?|un (?:cordial )?saludo|atentamente|cordialmente|un abrazo"
    r"|abrazos|(?:muchas )?gracias|reciba un cordial saludo"
    # fr
    r"|(?:bien |tr[èe]s )?cordialement|bien [àa] vous|(?:meilleures |sinc[èe]res )?salutations"
    r"|(?:bien )?amicalement|merci(?: beaucoup| encore)?|bonne journ[ée]e"
    # pt
    r"|atenciosamente|abra[çc]os?|um abra[çc]o|(?:melhores )?cumprimentos|obrigad[oa]"
    r"|sauda[çc][õo]es|att\.?|grat[oa]"
    # de
    r"|mit freundlichen gr[üu](?:ß|ss)en|(?:freundliche|viele|beste|liebe|herzliche"
    r"|sch[öo]ne) gr[üu](?:ß|ss)e|gr[üu](?:ß|ss)e|gru(?:ß|ss)|mfg|lg|vg|vielen dank|danke"
    r"|gr[üu](?:ß|ss) gott|mit (?:besten|herzlichen|lieben|kollegialen|sonnigen) gr[üu](?:ß|ss)en"
    r"|mit freundlichem gru(?:ß|ss)|sch[öo]nen gru(?:ß|ss)|(?:liebe|beste|viele|herzliche) gr[üu](?:ß|ss)e aus [\w -]{1,30}|"
    + alternation("closings", bounded=False)
    # and every other language of reply_forms.FORMS
)
# A capital letter in the scripts names are written in ("Danke Jürgen", "Спасибо Иван").
_CAPITAL = "[A-ZÀ-ÝĄĆĘŁŃŚŹŻČĎĚŇŘŠŤŮŽŐŰА-ЯЁІЇЄΑ-Ω]"
# A closing alone, or followed by a name: "Best, Ana", "Cheers – Li", "Thanks Nadia".
# The name after a bare space must be capitalised, so "Merci pour tout" is text.
_CLOSING = re.compile(
    rf"^(?i:{_CLOSINGS})[,.!;:。！、，،]*"
    # in two languages: "Mit freundlichen Grüßen / Kind regards"
    rf"(?:\s?/\s?(?i:{_CLOSINGS})[,.!;:]*)?"
    rf"(?P<name>\s*[-–—,，]\s*[\w .'-]{{1,40}}|\s+{_CAPITAL}[\w'-]*(?:\s+{_CAPITAL}[\w'-]*)?)?"
    r"[.!。]?$"
)
_MAX_SIGNATURE_LINES = 7
# After a closing and the sender's name: title, organisation, address, phones...
_MAX_NAMED_SIGNATURE_LINES = 15
# The long lines a signature may end with: confidentiality and print notices.
_NOTICE = re.compile(
    r"confiden|intended|privileg|disclaimer|received this|virus|print"
    r"|destinat|imprim|environ|ambiente|vertraulich|empf[äa]nger|drucken|umwelt",
    re.IGNORECASE,
)


_WORD_BREAK = re.compile(r"[\s,.'\"()-]+")


# Remembered: trimming one reply asks it up to four times of the same name.
@functools.lru_cache(maxsize=256)
def _name_words(name: str) -> frozenset[str]:
    folded = unicodedata.normalize("NFKC", name).casefold()
    return frozenset(w for w in _WORD_BREAK.split(folded) if len(w) > 1)


def _is_name_line(line: str, name_words: frozenset[str]) -> bool:
    words = [w for w in _WORD_BREAK.split(line.casefold()) if w]
    return bool(words) and len(words) <= 4 and all(w in name_words for w in words)


def _closing_start(
    lines: list[str], content: list[int], name_words: frozenset[str]
) -> int:
    """Where a sign-off block starts ("Best regards," and what follows), or -1.

    What follows a closing must be short lines, a few of them; when the
    closing is signed with the sender's name, more of them, and long ones too
    if they are a confidentiality or print notice (corporate signatures).
    """
    window = len(content) - _MAX_NAMED_SIGNATURE_LINES - 1
    for position in range(max(window, 1), len(content)):
        i = content[position]
        line = lines[i].strip()
        closing = _CLOSING.match(line) if len(line) <= 60 else None
        if closing is None:
            continue
        after = content[position + 1 :]
        signed = closing.group("name") or (lines[after[0]] if after else "")
        named = bool(name_words) and _is_name_line(signed.strip(" ,-–—"), name_words)
        if named:
            fits = len(after) < _MAX_NAMED_SIGNATURE_LINES and all(
                len(lines[j].strip()) <= 80 or _NOTICE.search(lines[j]) for j in after
            )
        else:
            fits = len(after) < _MAX_SIGNATURE_LINES and all(
                len(lines[j].strip()) <= 80 for j in after
            )
        if fits:
            return i
    return -1


def signature_start(lines: list[str], sender_name: str) -> int:
    """Where the signature starts in *lines* (``len(lines)`` when there is none)."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    if content and SIG_DELIMITER.match(lines[content[0]].strip()):
        return content[0]  # nothing but a signature
    if len(content) < 2:
        return len(lines)
    first = content[0]
    for i in content[1:]:
        if SIG_DELIMITER.match(lines[i].strip()):
            return i
        if is_footer(lines[i].strip()):
            return i
    name_words = _name_words(sender_name)
    closing = _closing_start(lines, content, name_words)
    if closing >= 0:
        return closing
    if name_words:
        # A last block that starts with the sender's name: "Emma" or "Ana Ruiz\nDirector".
        block_start = content[-1]
        while block_start - 1 >= 0 and lines[block_start - 1].strip():
            block_start -= 1
        block = [j for j in content if j >= block_start]
        if (
            block_start > first
            and len(block) <= 4
            and _is_name_line(lines[block_start].strip(), name_words)
        ):
            return block_start
    return len(lines)


def is_name_block(lines: list[str], sender_name: str) -> bool:
    """True when *lines* hold only a signature without its delimiter: the sender's
    name on the first line and at most three short lines under it (title,
    organisation, phone), as Outlook and Apple Mail sign a reply that only quotes."""
    content = [line.strip() for line in lines if line.strip()]
    name_words = _name_words(sender_name)
    return (
        bool(content and name_words)
        and len(content) <= 4
        and _is_name_line(content[0], name_words)
        and all(
            len(line) <= 60 and len(line.split()) <= 8 and line[-1] not in ".!?:;"
            for line in content[1:]
        )
    )
