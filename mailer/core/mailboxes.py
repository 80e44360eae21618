"""The mailboxes of an address header, read from its structure before anything is decoded.

The standard library's address parser decodes RFC 2047 encoded words wherever
an atom may stand, the local part included, so ``=?utf-8?q?ana=40x.org?=
mallory@evil.test`` reads as ``ana@x.org``, and it guesses its way past junk
(``<a@x.org>@evil.test``). Who sent a message decides moderation, subscriptions
and authorship, so here the header is split into RFC 5322 tokens (quoted
strings, comments, domain literals, specials, atoms) in one linear pass; the
addr-spec is taken from that structure, as written, and only the display name
is decoded afterwards. A mailbox that is not one clear addr-spec (two words
where one belongs, text after the angle address, angle brackets inside angle
brackets) is unreadable, never a guess.

RFC 5322 section 3.4 (mailbox, group, angle-addr), section 4.4 (obsolete
source routes, dropped); RFC 6532 (UTF-8 in local parts and domains, kept as
written); RFC 2047 section 5 (encoded words stand in a phrase, never in an
addr-spec).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import NamedTuple

from mailer.core.charsets import decode_header_text

__all__ = ["Mailbox", "read_mailboxes"]


class _Kind(enum.Enum):
    ATOM = "atom"
    QUOTED = "quoted"
    COMMENT = "comment"
    LITERAL = "literal"  # [domain literal]
    SPACE = "space"
    SPECIAL = "special"


class _Token(NamedTuple):
    kind: _Kind
    text: str  # the raw text, quotes and brackets included


@dataclass(frozen=True)
class Mailbox:
    """One mailbox of a header: its addr-spec as written, or why there is none.

    ``address`` is empty when the mailbox could not be read; ``problem`` then
    says why. ``display_name`` is the decoded phrase (only ever a name).
    """

    display_name: str
    address: str
    problem: str = ""


_SPECIALS = frozenset("<>,:;@.")
_ATOM_END = re.compile(r'[\s"(\[<>,:;@.\\)\]]')
_WSP = re.compile(r"\s+")
# An encoded word is one atom, even with the dots, colons or "@" that RFC 2047
# forbids in a phrase's encoded text and clients write anyway; it is decoded
# only as part of a display name.
_ENCODED_WORD = re.compile(r'=\?[^?\s<>"(),;\\]+\?[bBqQ]\?[^?\s<>"(),;\\]*\?=')


def _scan_delimited(value: str, start: int, close: str, nests: str = "") -> int:
    """The index after the *close* that ends the run opened at *start*.

    Backslash quotes the next character; *nests* (comments) opens a level.
    An unterminated run ends with the value.
    """
    depth = 1
    i = start + 1
    end = len(value)
    while i < end:
        c = value[i]
        if c == "\\":
            i += 2
            continue
        if nests and c == nests:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return end


def _tokens(value: str) -> list[_Token]:
    """RFC 5322 lexical tokens of *value*, in one pass."""
    out: list[_Token] = []
    i = 0
    end = len(value)
    while i < end:
        c = value[i]
        if c.isspace():
            m = _WSP.match(value, i)
            assert m is not None
            out.append(_Token(_Kind.SPACE, " "))
            i = m.end()
        elif c == '"':
            j = _scan_delimited(value, i, '"')
            out.append(_Token(_Kind.QUOTED, value[i:j]))
            i = j
        elif c == "(":
            j = _scan_delimited(value, i, ")", nests="(")
            out.append(_Token(_Kind.COMMENT, value[i:j]))
            i = j
        elif c == "[":
            j = _scan_delimited(value, i, "]")
            out.append(_Token(_Kind.LITERAL, value[i:j]))
            i = j
        elif c in _SPECIALS:
            out.append(_Token(_Kind.SPECIAL, c))
            i += 1
        elif c in "\\)]":  # stray: kept as an atom of its own, readable by nobody
            out.append(_Token(_Kind.ATOM, c))
            i += 1
        else:
            word = _ENCODED_WORD.match(value, i) if c == "=" else None
            m = _ATOM_END.search(value, word.end() if word else i)
            j = m.start() if m else end
            out.append(_Token(_Kind.ATOM, value[i:j]))
            i = j
    return out


def _split(tokens: list[_Token]) -> list[list[_Token]]:
    """The mailboxes of an address list: commas split, group names and ends dropped."""
    items: list[list[_Token]] = []
    current: list[_Token] = []
    in_angle = False
    for token in tokens:
        if token.kind is _Kind.SPECIAL and not in_angle:
            if token.text == ",":
                items.append(current)
                current = []
                continue
            if token.text == ":":  # "group-name:": what came before is its name
                current = []
                continue
            if token.text == ";":  # end of a group
                items.append(current)
                current = []
                continue
        if token.kind is _Kind.SPECIAL and token.text == "<":
            in_angle = True
        elif token.kind is _Kind.SPECIAL and token.text == ">":
            in_angle = False
        current.append(token)
    items.append(current)
    return [item for item in items if any(_meaningful(t) for t in item)]


def _meaningful(token: _Token) -> bool:
    return token.kind not in (_Kind.SPACE, _Kind.COMMENT)


def _unquote(text: str) -> str:
    inner = text[1:-1] if len(text) >= 2 and text.endswith('"') else text[1:]
    return re.sub(r"\\(.)", r"\1", inner)


def _addr_spec(tokens: list[_Token]) -> tuple[str, str]:
    """(addr-spec, problem) of the tokens of a bare addr-spec, as written.

    Comments and spaces around dots and the ``@`` are allowed (the obsolete
    forms of RFC 5322 section 4.4); two words side by side are not.
    """
    parts: list[str] = []
    previous: _Token | None = None
    ats = 0
    for token in tokens:
        if token.kind in (_Kind.SPACE, _Kind.COMMENT):
            continue
        if token.kind is _Kind.SPECIAL:
            if token.text not in "@.":
                return "", f"'{token.text}' in an address"
            ats += token.text == "@"
        elif previous is not None and previous.kind is not _Kind.SPECIAL:
            return "", "more than one word where an address belongs"
        parts.append(token.text)
        previous = token
    local, _, domain = "".join(parts).rpartition("@")
    if ats != 1 or not local or not domain:
        return "", "not one local@domain address"
    return f"{local}@{domain}", ""


def _route_removed(tokens: list[_Token]) -> list[_Token]:
    """An angle address without its obsolete source route (``@a,@b:``)."""
    meaningful = [t for t in tokens if _meaningful(t)]
    if not meaningful or meaningful[0].text != "@":
        return tokens
    for index, token in enumerate(tokens):
        if token.kind is _Kind.SPECIAL and token.text == ":":
            return tokens[index + 1 :]
    return tokens


def _display_name(tokens: list[_Token]) -> str:
    """The phrase before an angle address, decoded: only ever a name."""
    words: list[str] = []
    for token in tokens:
        if token.kind is _Kind.QUOTED:
            words.append(_unquote(token.text))
        elif token.kind in (_Kind.ATOM, _Kind.LITERAL, _Kind.SPECIAL):
            words.append(token.text)
        elif token.kind is _Kind.SPACE and words:
            words.append(" ")
    phrase = "".join(words).strip()
    return decode_header_text(phrase)[0] if phrase else ""


def _mailbox(tokens: list[_Token]) -> Mailbox:
    opens = [
        i for i, t in enumerate(tokens) if t.kind is _Kind.SPECIAL and t.text == "<"
    ]
    closes = [
        i for i, t in enumerate(tokens) if t.kind is _Kind.SPECIAL and t.text == ">"
    ]
    if not opens and not closes:
        spec, problem = _addr_spec(tokens)
        return Mailbox("", spec, problem)
    if len(opens) != 1 or len(closes) != 1 or closes[0] < opens[0]:
        return Mailbox("", "", "angle brackets that do not enclose one address")
    start, stop = opens[0], closes[0]
    if any(_meaningful(t) for t in tokens[stop + 1 :]):
        return Mailbox("", "", "text after the angle address")
    name = _display_name(tokens[:start])
    spec, problem = _addr_spec(_route_removed(tokens[start + 1 : stop]))
    return Mailbox(name, spec, problem)


def read_mailboxes(value: str) -> list[Mailbox]:
    """Every mailbox of an address header value (From, To, Reply-To, ...), in order.

    Linear in the length of *value*, whatever it holds: thousands of quote
    marks, nested comments or commas cost no more than letters.
    """
    return [_mailbox(item) for item in _split(_tokens(value))]
