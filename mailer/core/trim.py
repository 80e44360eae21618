"""The new text of a reply: quoted history, mobile footers and signature trimmed away.

Line-based, in the forms real clients write (en, es, fr, pt, de):

* attribution lines, also wrapped over two or three lines by Gmail:
  ``On ... wrote:``, ``El ... escribió:``, ``Le ... a écrit :``,
  ``Em ... escreveu:``, ``Am ... schrieb ...:``, Yahoo's ``Am ... hat ...
  Folgendes geschrieben:``, Thunderbird's ``X wrote:``, Lotus Notes' ``X wrote
  on <date>:``, and in any language
  Gmail's ``<date> Name <address>:`` when a quote follows;
* Outlook header blocks (``From:/Sent:/To:/Subject:`` and their translations,
  ``De :/Envoyé :/À :/Objet :``, ``Von:/Gesendet:/An:/Betreff:``...), with or
  without ``-----Original Message-----`` or an underscore rule above them, and
  GMX's, which puts ``Gesendet:`` first;
* ``>`` quoting: a trailing quote goes, answers written between quotes stay
  (with the quoted lines they answer, so they still make sense);
* mobile footers, ``-- `` signatures and sign-off blocks, found by
  :mod:`mailer.core.signature`.

A reply that adds nothing to the history it quotes has no new text: "" (the
flow holds it, full text kept, rather than post a copy of the quote).

Every pattern is anchored to one line (or three joined lines at most), so the
work is linear in the size of the text.
"""

from __future__ import annotations

import re

from mailer.core.signature import SENT_FROM, SIG_DELIMITER, signature_start

_MAX_CHARS = 200_000
_QUOTE = re.compile(r"^[ \t]{0,3}>")
_QUOTE_PREFIX = re.compile(r"^(?:[ \t]{0,3}>)+[ \t]?")
_LEAD = r"(?:On|El|Le|Em|Am|No dia|Op|Il|Den|W dniu)\b"
_WROTE = (
    r"(?:wrote|writes|escribi[óo]|a [ée]crit|escreveu|schrieb\b.{0,200}"
    r"|(?:Folgendes )?geschrieben|ha scritto|schreef|skrev|napisa[łl]"
    # Lotus/IBM Notes: "Ana Ruiz <a@b.c> wrote on 27/03/2020 10:00:00:"
    r"|(?:wrote on|a [ée]crit le|escribi[óo] el|escreveu em)\s.{1,60})\s*:"
)
_ATTRIBUTION = re.compile(rf"^{_LEAD}.{{0,300}}{_WROTE}$", re.IGNORECASE)
_ENDS_WROTE = re.compile(rf"^.{{1,200}}{_WROTE}$", re.IGNORECASE)
_STARTS_LEAD = re.compile(rf"^{_LEAD}", re.IGNORECASE)
# Gmail in any interface language: "2020年5月4日(月) 17:02 Name <a@b.c>:",
# "пн, 4 мая 2020 г. в 10:02, Name <a@b.c>:". Only with a quote below it.
_ANGLE_ADDRESS = re.compile(r"<[^<>\s@]{1,64}@[^<>\s@]{1,255}>")
_DIGIT = re.compile(r"\d")

# Outlook's labels; in Japanese and Chinese too (差出人/送信日時/宛先/件名...).
_FROM_LABEL = re.compile(
    r"^[*\s]*(?:From|De|Von|Van|Da|Fra|Från|Od|差出人|发件人|寄件者)\s?[:：]\s*\S",
    re.IGNORECASE,
)
_OTHER_LABEL = re.compile(
    r"^[*\s]*(?:Sent|Date|To|Subject|Cc|Enviado(?: el)?|Enviada(?: em)?|Fecha|Para|Asunto"
    r"|Assunto|Data|Envoy[ée](?: le)?|[ÀA]|Objet|Gesendet|Datum|An|Betreff|Verzonden|Aan"
    r"|Onderwerp|Inviato|Oggetto|送信日時|宛先|件名|发送时间|收件人|主题|抄送|寄件日期"
    r"|收件者|主旨|副本)\s?[:：]",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^[-_=\s]*(?:Original Message|Mensaje original|Message d'origine|Mensagem original"
    r"|Urspr[üu]ngliche Nachricht|Messaggio originale|Forwarded message"
    r"|Mensaje reenviado|Message transf[ée]r[ée]|Mensagem encaminhada"
    r"|Weitergeleitete Nachricht|Reply message|Mensaje de respuesta|元のメッセージ"
    r"|原始邮件|原始郵件)[-_=\s]*$"
    r"|^(?:Begin forwarded message|D[ée]but du message r[ée]exp[ée]di[ée]"
    r"|Inicio del mensaje reenviado|In[íi]cio da mensagem reencaminhada"
    r"|Anfang der weitergeleiteten Nachricht)\s?:\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*(?:[-_=*]\s*){3,}$")
_BLANK = -1  # in a list of line numbers: an empty line between two kept parts
_LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
# Invisible characters clients put in text (iOS: U+FEFF before the quote; bidi
# marks; zero-width spaces) and the no-break spaces of French typography.
_INVISIBLE = (
    ("\u00a0", " "),
    ("\u202f", " "),
    ("\u2007", " "),
    ("\u200b", ""),
    ("\u200e", ""),
    ("\u200f", ""),
    ("\u2060", ""),
    ("\ufeff", ""),
)


def count_links(text: str) -> int:
    """How many web links *text* holds, for the moderation limits."""
    return len(_LINK.findall(text))


def _is_quote(line: str) -> bool:
    return bool(_QUOTE.match(line))


def _addressed(lines: list[str], i: int) -> int:
    """The end of a paragraph of 1-3 lines at *i* that is ``... <address>:`` above a quote."""
    if i > 0 and lines[i - 1].strip():
        return -1
    for j in range(i, min(i + 3, len(lines))):
        part = lines[j].rstrip()
        if not part or _is_quote(part):
            return -1
        if part.endswith((":", "：")):
            break
    else:
        return -1
    joined = ""
    for part in lines[i : j + 1]:  # Gmail wraps after the "<"
        part = part.strip()
        joined = f"{joined}{part}" if joined.endswith("<") else f"{joined} {part}"
    head = joined[:-1].rstrip().removesuffix(")")
    address = head[head.rfind("<") :]
    if len(head) > 400 or not (
        _ANGLE_ADDRESS.fullmatch(address) and _DIGIT.search(head)
    ):
        return -1
    for k in range(j + 1, min(j + 3, len(lines))):
        if lines[k].strip():
            return j + 1 if _is_quote(lines[k]) else -1
    return -1


def _attribution_end(lines: list[str], i: int) -> int:
    """The index after an attribution starting at line *i*, or -1 when there is none."""
    line = lines[i].strip()
    if not line or _is_quote(lines[i]):
        return -1
    ends_colon = line.endswith(":")  # as every one-line form does
    if ends_colon and _ATTRIBUTION.match(line):
        return i + 1
    if _STARTS_LEAD.match(line):
        joined = line
        for j in range(i + 1, min(i + 3, len(lines))):
            nxt = lines[j].strip()
            if not nxt or _is_quote(lines[j]):
                break
            joined = f"{joined} {nxt}"
            if joined.endswith(":") and _ATTRIBUTION.match(joined):
                return j + 1
    if ends_colon and _ENDS_WROTE.match(line):  # "Ana Ruiz wrote:" above a quote
        for j in range(i + 1, min(i + 3, len(lines))):
            if lines[j].strip():
                return i + 1 if _is_quote(lines[j]) else -1
    return _addressed(lines, i)


def _header_block(lines: list[str], i: int) -> bool:
    """True when an Outlook-style From/Sent/To/Subject block starts at line *i*."""
    if not _FROM_LABEL.match(lines[i]):
        return False
    others = sum(1 for line in lines[i + 1 : i + 7] if _OTHER_LABEL.match(line))
    return others >= 2


def _history_start(lines: list[str]) -> tuple[int, int]:
    """Where quoted history starts (and where its attribution ends), or (len, len)."""
    for i, line in enumerate(lines):
        if _is_quote(line):
            continue
        end = _attribution_end(lines, i)
        if end >= 0:
            return i, end
        if _SEPARATOR.match(line.strip()) or _header_block(lines, i):
            # GMX writes "Gesendet:" above "Von:"; other labels may come first too.
            first = i
            while i > max(first - 3, 0) and _OTHER_LABEL.match(lines[i - 1]):
                i -= 1
            above = i - 1
            while above >= 0 and not lines[above].strip():
                above -= 1
            return (above if above >= 0 and _RULE.match(lines[above]) else i), -1
        if _RULE.match(line) and any(
            _header_block(lines, j) for j in range(i + 1, min(i + 3, len(lines)))
        ):
            return i, -1
    return len(lines), -1


def _interleaved(lines: list[str], after: int) -> bool:
    """True when unquoted answers follow quoted lines after an attribution."""
    seen_quote = False
    for line in lines[after:]:
        if _is_quote(line):
            seen_quote = True
            continue
        stripped = line.strip()
        if not stripped:
            continue
        if not seen_quote:
            return False
        if SENT_FROM.match(stripped) or SIG_DELIMITER.match(stripped):
            return False
        return _attribution_end([stripped], 0) < 0 and not _SEPARATOR.match(stripped)
    return False


def _trailing_quote_end(lines: list[str]) -> int:
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or _is_quote(lines[end - 1])):
        end -= 1
    return end


def _tidy(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and (not out[-1] or _RULE.match(out[-1])):
        out.pop()
    return "\n".join(out)


def _without_quoted_attributions(lines: list[str], order: list[int]) -> list[int]:
    """*order* less the attribution a quote starts with ("> On ... wrote:", Apple
    Mail's way) and the empty quoted lines below it."""
    out: list[int] = []
    dropping = False
    for i in order:
        line = lines[i] if i >= 0 else ""
        if not _is_quote(line):
            dropping = False
            out.append(i)
            continue
        inner = _QUOTE_PREFIX.sub("", line)
        if dropping and not inner.strip():
            continue
        dropping = False
        previous = out[-1] if out else _BLANK
        starts_quote = previous == _BLANK or not _is_quote(lines[previous])
        if starts_quote and inner.strip() and _attribution_end([inner], 0) == 1:
            dropping = True
            continue
        out.append(i)
    return out


def _kept(lines: list[str], order: list[int], sender_name: str) -> list[int]:
    """*order* without the mobile footer, trailing quote and signature at its end."""
    kept = [lines[i] for i in order]
    end = next(
        (i for i, line in enumerate(kept) if SENT_FROM.match(line.strip())), len(kept)
    )
    end = _trailing_quote_end(kept[:end])
    end = signature_start(kept[:end], sender_name)
    end = _trailing_quote_end(kept[:end])
    return order[:end]


def trim_reply(text: str, *, sender_name: str = "") -> str:
    """Only the words the sender wrote now: no quoted history, no signature.

    *sender_name*, the From display name, lets a last line that only repeats
    the sender's name go too. A reply that only quotes (or only quotes and
    says where it was sent from) has no new text: "". Otherwise a message is
    never emptied: when only a sign-off would remain, it is kept.
    """
    text = text[:_MAX_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    original = text.split("\n")
    if not text.isascii():  # the patterns see plain spaces and no invisible marks
        for invisible, visible in _INVISIBLE:
            text = text.replace(invisible, visible)
    lines = text.split("\n")
    start, attribution_end = _history_start(lines)
    order = _kept(lines, list(range(start)), sender_name)
    if attribution_end >= 0 and _interleaved(lines, attribution_end):
        rest = lines[attribution_end:]
        rest_end, _ = _history_start(rest)
        answers = range(attribution_end, attribution_end + rest_end)
        order += [_BLANK, *_kept(lines, list(answers), sender_name)]
    kept = _without_quoted_attributions(lines, order)
    result = _tidy([original[i] if i >= 0 else "" for i in kept])
    if result:
        return result
    if start < len(lines) or any(_is_quote(line) for line in lines):
        return ""  # nothing but quoted history (and perhaps a mobile footer)
    return _tidy(original)
