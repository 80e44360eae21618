"""The new text of a reply: quoted history, mobile footers and signature trimmed away.

Line-based, in the forms real clients write in some forty interface languages
(the table is :data:`mailer.core.reply_forms.FORMS`):

* attribution lines, also wrapped over two or three lines by Gmail: with lead
  words and a date (``On ... wrote:``, ``Am ... schrieb ...:``, ``W dniu ...
  pisze:``, ``在 ... 写道：``), or ending in the verb above a quote (``...
  napisał(a):``, ``... kirjoitti:``, ``... 님이 작성:``, ``... のメッセージ:``),
  Thunderbird's ``X wrote:``, Lotus Notes' ``X wrote on <date>:``, Zoho's
  ``---- On ... wrote ----``, and in any language Gmail's, Mail.ru's and
  Yandex's ``<date> Name <address>:`` when a quote follows; Outlook's
  ``<mailto:...>`` copies in names are read through;
* Outlook header blocks (``From:/Sent:/To:/Subject:`` and their translations,
  ``Von/Gesendet/An/Betreff``, ``Od/Wysłano/Do/Temat``, ``От/Отправлено/Кому/Тема``,
  ``发件人/发送时间/收件人/主题``...), with or without ``-----Original Message-----``
  (in any language, with emphasis around it) or an underscore rule above them,
  and GMX's, which puts ``Gesendet:`` first; forwarded-message markers;
* ``>`` quoting: a trailing quote goes, answers written between quotes stay
  (with the quoted lines they answer, so they still make sense);
* mobile footers, ``-- `` signatures and sign-off blocks, found by
  :mod:`mailer.core.signature`, and the lone glyph Gmail's tracking add-ons leave.

A line in the middle of a paragraph is never an attribution, so a participant's
"as the minister wrote:" stays. A reply that adds nothing to the history it
quotes, or holds nothing but a signature, has no new text: "" (the flow holds
it, full text kept, rather than post a copy of the quote).

Every pattern is anchored to one line (or three joined lines at most) and
bounded, so the work is linear in the size of the text.
"""

from __future__ import annotations

import functools
import re

from mailer.core.reply_forms import alternation, fragments
from mailer.core.signature import (
    SIG_DELIMITER,
    is_footer,
    is_name_block,
    signature_start,
)

_MAX_CHARS = 200_000
_QUOTE = re.compile(r"^[ \t]{0,3}>")
# Older clients quote with "| " or ": "; read so only under an attribution.
_OTHER_QUOTE = re.compile(r"^[ \t]{0,3}[|:](?:[ \t]|$)")
_QUOTE_PREFIX = re.compile(r"^(?:[ \t]{0,3}>)+[ \t]?")
_LEAD = alternation("leads", bounded=False)
# An attribution starts with its lead words ("Am", "W dniu"), not a longer word.
_STARTS_LEAD = re.compile(rf"^{_LEAD}(?![^\W\d])", re.IGNORECASE)
# ... and ends with its verb and a colon: "napisał(a):", "写道：", "님이 작성:".
_VERBS = tuple(verb.casefold() for verb in fragments("wrote"))
# The same, by their last character, in the same order: a text is tried
# against the few that can end it.
_VERBS_BY_LAST: dict[str, tuple[str, ...]] = {}
for _verb in _VERBS:
    _VERBS_BY_LAST[_verb[-1:]] = (*_VERBS_BY_LAST.get(_verb[-1:], ()), _verb)
# ... or the verb comes first and the name or the date follows: "skrev Ola <o@x.no>:",
# Lotus Notes' "wrote on 27/03/2020 10:00:00:", "ezt írta (időpont: 2020. máj. 4.):".
_VERB_THEN = re.compile(alternation("wrote_then"), re.IGNORECASE)
_MAX_ATTRIBUTION = 400
_MAX_AFTER_VERB = 200
# The end of a sentence: no line of a wrapped attribution ends so (but lead
# words with a date may: "Am ... schrieb Prof. Dr.").
_SENTENCE_END = re.compile(r"[.!?…。！？؟।][\s\"'”’»)]*$")
# Clients wrap an attribution at 72-78 characters (Gmail also after an address's "<").
_MIN_WRAPPED = 40
# Gmail in any interface language: "2020年5月4日(月) 17:02 Name <a@b.c>:",
# "пн, 4 мая 2020 г. в 10:02, Name <a@b.c>:". Only with a quote below it.
_ANGLE_ADDRESS = re.compile(r"<[^<>\s@]{1,64}@[^<>\s@]{1,255}>")
_DIGIT = re.compile(r"\d")
_BARE_ADDRESS = re.compile(r"[^<>\s@]{1,64}@[^<>\s@]{1,255}\.[^\W\d_]{2,63}")
_TIME = re.compile(r"\d{1,2}[:.h]\d\d")
# Outlook copies a link into a name: "Ana <a@x.org<mailto:a@x.org>>", "Ana [mailto:a@x.org]".
_MAILTO_COPY = re.compile(r"<mailto:[^<>\s]{1,320}>", re.IGNORECASE)
_MAILTO_SQUARE = re.compile(r"\[mailto:([^\[\]\s]{1,320})\]", re.IGNORECASE)

# Outlook's header labels in every language it ships (reply_forms.FORMS).
_FROM_LABEL = re.compile(
    rf"^[*\s]*{alternation('from_labels')}[ \t*]{{0,3}}[:：]\s*\S", re.IGNORECASE
)
_OTHER_LABEL = re.compile(
    rf"^[*\s]*{alternation('labels')}[ \t*]{{0,3}}[:：]", re.IGNORECASE
)
# "-----Original Message-----", "*-------- Пересылаемое сообщение --------*",
# "Begin forwarded message:"; with any emphasis around them.
_SEPARATOR = re.compile(
    rf"^[-_=*~\s]*{alternation('separators')}[-_=*~\s]*$"
    rf"|^[*_]?{alternation('forward_intros')}[*_]?\s?[:：]\s*$",
    re.IGNORECASE,
)
_MAX_SEPARATOR = 40
_SEPARATOR_ENDS = frozenset("-_=*~:：")
# Zoho's attribution between rules: "---- On Mon, 04 May 2020 Ana <a@x.org> wrote ----".
_DECORATION = "-=*_~ \t"
_RULE = re.compile(r"^\s*(?:[-_=*]\s*){3,}$")
_MAX_OWN_QUOTE = 2
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
    ("\u061c", ""),
    *((chr(c), "") for c in range(0x202A, 0x202F)),  # bidi embeddings (Gmail in ar, he)
    *((chr(c), "") for c in range(0x2066, 0x206A)),  # bidi isolates
)
# Where Outlook's text part had a picture of the HTML: "[cid:image001.png@01DB1A2B.3C4D5E60]".
_IMAGE_PLACE = re.compile(r"^\s*\[cid:[^\]\s]{1,200}\]\s*$", re.IGNORECASE)
# What Gmail's tracking add-ons leave in the text part: a line of one "ᐧ".
_TRACKING_GLYPH = "\u1427"


def count_links(text: str) -> int:
    """How many web links *text* holds, for the moderation limits."""
    # Every link holds "http" or "www." in some case (no other letter matches
    # h, t, p or w under IGNORECASE): most texts are not scanned at all.
    lower = text.lower()
    if "http" not in lower and "www." not in lower:
        return 0
    return len(_LINK.findall(text))


def _is_quote(line: str) -> bool:
    # The same as the pattern, without a regex call for most lines: a line
    # that opens with ">" is quoted, and one without ">" in its first four
    # characters is not (the pattern allows three spaces or tabs before it).
    if line[:1] == ">":
        return True
    return ">" in line[:4] and _QUOTE.match(line) is not None


def _paragraph_start(lines: list[str], i: int) -> bool:
    """True when line *i* starts a paragraph: text mid-paragraph is never an attribution."""
    if i == 0:
        return True
    above = lines[i - 1]
    return not above.strip() or _is_quote(above) or bool(_RULE.match(above))


def _quote_below(lines: list[str], end: int) -> bool:
    """True when the first of the next two non-empty lines from *end* is quoted."""
    for k in range(end, min(end + 2, len(lines))):
        if lines[k].strip():
            return _is_quote(lines[k]) or _OTHER_QUOTE.match(lines[k]) is not None
    return False


def _unmangled(text: str) -> str:
    """*text* without the copies of an address Outlook adds to a name."""
    if "mailto:" not in text.lower():
        return text
    return _MAILTO_SQUARE.sub(r"<\1>", _MAILTO_COPY.sub("", text))


def _is_attribution(text: str, *, quote_below: bool, joined: bool) -> bool:
    """True when *text* (a line, or up to three joined, ending in a colon) says who wrote.

    With its lead words (``Am ... schrieb ...:``, ``W dniu ... pisze:``) it is
    one wherever it stands. Without them (``... napisał(a):``, ``... 写道：``,
    ``... skrev Ola <o@x.no>:``) a quote must follow it, unless it names an
    address and a time (Yahoo quotes without ``>``); a wrapped one must hold a
    time too, and one whose verb comes first a time or an address after it.
    """
    if len(text) > _MAX_ATTRIBUTION:
        return False
    # Every attribution with lead words carries a date: "On" alone is only a word.
    lead = _STARTS_LEAD.match(text) is not None and _DIGIT.search(text) is not None
    if not quote_below:
        quote_below = bool(_ANGLE_ADDRESS.search(text) and _TIME.search(text))
    if _ends_with_verb(text):
        return lead or (quote_below and (not joined or _TIME.search(text) is not None))
    verb = _VERB_THEN.search(text)
    if verb is None:
        return False
    after = text[verb.end() :]
    if len(after) > _MAX_AFTER_VERB:
        return False
    return lead or (quote_below and ("@" in after or _TIME.search(after) is not None))


def _ends_with_verb(text: str) -> bool:
    """True when *text*, which ends in a colon, has a verb of FORMS just before it,
    starting a word (except in the scripts written without spaces)."""
    head = text[:-1].rstrip().casefold()
    if not head.endswith(_VERBS):
        return False
    for verb in _VERBS_BY_LAST.get(head[-1:], ()):
        if head.endswith(verb):
            before = head[-len(verb) - 1 : -len(verb)]
            if verb[0] >= "\u3000" or not before.isalpha():
                return True
    return False


def _joined(lines: list[str], i: int) -> tuple[str, int]:
    """Lines *i*.. joined up to the first that ends in a colon (at most three, each
    but the last long, as wrapped lines are), and the index after it; ("", -1)
    when none does. Gmail wraps after an address's "<"."""
    joined = ""
    for j in range(i, min(i + 3, len(lines))):
        part = lines[j].strip()
        if not part or (j > i and _is_quote(lines[j])):
            return "", -1
        joined = (
            f"{joined}{part}"
            if joined.endswith("<") or not joined
            else f"{joined} {part}"
        )
        if part.endswith((":", "：")):
            return _unmangled(joined), j + 1
        if len(part) < _MIN_WRAPPED and not part.endswith("<"):
            break  # a short line ends a paragraph's line: it was not wrapped
    return "", -1


def _addressed(joined: str, end: int, lines: list[str]) -> bool:
    """True when *joined* is ``<date> ... <address>:`` above a quote (Gmail's form in
    the languages it writes no verb in, Mail.ru's, Yandex's), or ``<date> <time>
    ... address:`` with the address bare (Tutanota's "4. Mai 2020, 10:02 von a@b.c:")."""
    head = joined[:-1].rstrip().removesuffix(")")
    if len(head) > _MAX_ATTRIBUTION or not _quote_below(lines, end):
        return False
    address = head[head.rfind("<") :]
    if _ANGLE_ADDRESS.fullmatch(address):
        return _DIGIT.search(head) is not None
    bare = head[head.rfind(" ") + 1 :]
    return bool(_BARE_ADDRESS.fullmatch(bare) and _TIME.search(head))


def _decorated_attribution(line: str) -> bool:
    """Zoho's ``---- On ... wrote ----``: an attribution between two rules."""
    inner = line.strip(_DECORATION)
    if len(line) - len(line.lstrip(_DECORATION)) < 2 or not inner:
        return False
    if len(line) - len(line.rstrip(_DECORATION)) < 2:
        return False
    return _is_attribution(f"{inner}:", quote_below=True, joined=False)


def _attribution_end(lines: list[str], i: int, *, opening: bool = False) -> int:
    """The index after an attribution starting at line *i*, or -1 when there is none.

    *opening*: line *i* is read as if it started a paragraph (the line above it
    is the end of the writer's text).
    """
    line = lines[i].strip()
    if not line or _is_quote(lines[i]):
        return -1
    if not opening and not _paragraph_start(lines, i):
        # Right under a line of text only the strongest form, above a quote: lead
        # words, a time and the verb ("Am 04.05.20 um 10:02 schrieb X:"), on one
        # line or wrapped; under the end of a sentence also one that names an
        # address or a time ("Ana <a@x.pl> napisała:", not "as she wrote:").
        if _STARTS_LEAD.match(line) is None:
            if not _SENTENCE_END.search(lines[i - 1]):
                return -1
            end = _attribution_end(lines, i, opening=True)
            if end < 0 or not _quote_below(lines, end):
                return -1
            named = " ".join(lines[i:end])
            return end if "@" in named or _TIME.search(named) else -1
        joined, end = _joined(lines, i)
        strong = (
            end >= 0
            and _TIME.search(joined) is not None
            and _quote_below(lines, end)
            and _is_attribution(joined, quote_below=True, joined=end > i + 1)
        )
        return end if strong else -1
    joined, end = _joined(lines, i)
    if end < 0:
        return i + 1 if line[0] in _DECORATION and _decorated_attribution(line) else -1
    below = _quote_below(lines, end)
    if _is_attribution(joined, quote_below=below, joined=end > i + 1):
        return end
    return end if _addressed(joined, end, lines) else -1


def _writers_line(line: str) -> bool:
    """True when *line*, the first of a wrapped attribution, may be the end of the
    writer's paragraph instead: it ends a sentence ("...via Zoom."), or it has
    nothing an attribution opens with (lead words and a date, an address, a
    time, a date's digits, Gmail's "<" or "(" before a wrapped address)."""
    line = line.strip()
    if _STARTS_LEAD.match(line) is not None and _DIGIT.search(line) is not None:
        return False
    if _SENTENCE_END.search(line):
        return True
    return not (
        "@" in line
        or line.endswith(("<", "("))
        or line[0].isdigit()
        or _TIME.search(line) is not None
    )


def _is_separator(line: str) -> bool:
    """True when *line* (stripped) is an Original Message or forwarded marker."""
    if not line or (len(line) > _MAX_SEPARATOR and line[-1] not in _SEPARATOR_ENDS):
        return False  # a line of text: most are long and end in a letter or a stop
    if len(line) <= _MAX_SEPARATOR:
        return _is_short_separator(line)
    return _SEPARATOR.match(line) is not None


# Remembered, as the mobile footers are (mailer.core.signature): the short lines
# asked about are mostly sign-offs, greetings and names, the same in many
# messages, and each asking tries the markers of every language. 1,024 lines
# of at most 40 characters.
@functools.lru_cache(maxsize=1024)
def _is_short_separator(line: str) -> bool:
    return _SEPARATOR.match(line) is not None


def _header_block(lines: list[str], i: int) -> bool:
    """True when an Outlook-style From/Sent/To/Subject block starts at line *i*."""
    # Every label ends in a colon: a line without one (most lines) is none,
    # and is not tried against the labels of every language.
    line = lines[i]
    if ":" not in line and "：" not in line:
        return False
    if not _FROM_LABEL.match(line):
        return False
    others = sum(1 for line in lines[i + 1 : i + 7] if _OTHER_LABEL.match(line))
    return others >= 2


def _history_start(lines: list[str]) -> tuple[int, int]:
    """Where quoted history starts (and where its attribution ends), or (len, len)."""
    for i, line in enumerate(lines):
        if _is_quote(line):
            continue
        end = _attribution_end(lines, i)
        if end > i + 1 and _writers_line(line):
            # The first of the joined lines ends the writer's paragraph: the
            # attribution, if any, starts below it.
            later = _attribution_end(lines, i + 1, opening=True)
            if later >= 0:
                return i + 1, later
            if _SENTENCE_END.search(line):
                continue
        if end >= 0:
            return i, end
        if _is_separator(line.strip()) or _header_block(lines, i):
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
        if is_footer(stripped) or SIG_DELIMITER.match(stripped):
            return False
        return _attribution_end([stripped], 0) < 0 and not _is_separator(stripped)
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


def _own_quote_end(kept: list[str], end: int, stop: int) -> int:
    """*end*, or past the quoted lines at *end* when they are the writer's own: one
    or two, right under a line of the writer's text, with the history to come
    below (``We counted\n> 50 participants\n\nOn ... wrote:``)."""
    if end == 0 or not kept[end - 1].strip() or end >= stop:
        return end
    past = end
    while past < stop and _is_quote(kept[past]):
        past += 1
    rest = kept[past:stop]
    return (
        past
        if past - end <= _MAX_OWN_QUOTE and not any(r.strip() for r in rest)
        else end
    )


def _kept(
    lines: list[str], order: list[int], sender_name: str, *, history: bool = False
) -> list[int]:
    """*order* without the mobile footer, trailing quote and signature at its end.

    *history*: the quoted history starts right after *order*, so a quoted line
    that continues the writer's last paragraph is the writer's.
    """
    kept = [lines[i] for i in order]
    end = next((i for i, line in enumerate(kept) if is_footer(line.strip())), len(kept))
    stop = end
    end = _trailing_quote_end(kept[:end])
    if history:
        end = _own_quote_end(kept, end, stop)
    for _ in range(3):  # a sign-off above a "-- " signature: "Regards,\nAna\n-- \n..."
        signature = signature_start(kept[:end], sender_name)
        if signature >= end:
            break
        end = _trailing_quote_end(kept[:signature])
    return order[:end]


def _first_content(lines: list[str]) -> int:
    return next((i for i, line in enumerate(lines) if line.strip()), len(lines))


def trim_reply(text: str, *, sender_name: str = "") -> str:
    """Only the words the sender wrote now: no quoted history, no signature.

    *sender_name*, the From display name, lets a last line that only repeats
    the sender's name go too. A reply that only quotes (or only quotes and
    says where it was sent from) has no new text: "". Otherwise a message is
    never emptied: when only a sign-off would remain, it is kept.
    """
    text = text[:_MAX_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    if _TRACKING_GLYPH in text:
        text = "\n".join(
            "" if line.strip() == _TRACKING_GLYPH else line for line in text.split("\n")
        )
    original = text.split("\n")
    if not text.isascii():  # the patterns see plain spaces and no invisible marks
        for invisible, visible in _INVISIBLE:
            text = text.replace(invisible, visible)
    lines = text.split("\n")
    start, attribution_end = _history_start(lines)
    order = _kept(lines, list(range(start)), sender_name, history=start < len(lines))
    if attribution_end >= 0 and _interleaved(lines, attribution_end):
        rest = lines[attribution_end:]
        rest_end, _ = _history_start(rest)
        answers = range(attribution_end, attribution_end + rest_end)
        order += [_BLANK, *_kept(lines, list(answers), sender_name)]
    kept = _without_quoted_attributions(lines, order)
    result = _tidy(
        ["" if i < 0 or _IMAGE_PLACE.match(original[i]) else original[i] for i in kept]
    )
    if result and start < len(lines) and is_name_block(result.split("\n"), sender_name):
        return (
            ""  # only quotes, signed with a name and a title: "Tom Hale\nCoordinator"
        )
    if result:
        return result
    if start < len(lines) or any(_is_quote(line) for line in lines):
        return ""  # nothing but quoted history (and perhaps a mobile footer)
    if signature_start(lines, sender_name) == _first_content(lines):
        return ""  # nothing but a signature: "--\nAna Ruiz"
    return _tidy(original)
