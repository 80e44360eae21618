"""What a search box's words mean, and where they show in a post: plain terms, snippets.

A query is hostile input. :func:`search_terms` keeps only its words (letters
and digits, as the databases' tokenizers split them), so quotes, ``*``,
``NEAR``, ``-``, parentheses and ``column:`` filters are no syntax: they are
dropped or searched as plain words. :func:`snippet` cuts the part of a post's
text around the first word that matches and says which pieces to mark; the
web page escapes every piece.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

MAX_QUERY = 200  # characters a query may have; a longer one is refused, politely
MAX_TERMS = 8  # words kept from a query; more only slow the search down
MAX_TERM = 64  # characters of one word
SNIPPET = 220  # characters a snippet shows, about
_LEAD = 60  # of which before the first match

# Letters and digits: the FTS5 unicode61 tokenizer and PostgreSQL's parser
# both split words at anything else (an underscore too).
_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")


def fold(word: str) -> str:
    """*word* lowercased and without accents, as the index compares it."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_terms(query: str) -> tuple[str, ...]:
    """The words of *query*, lowercased, each once, at most :data:`MAX_TERMS`."""
    terms: list[str] = []
    for word in _WORD.findall(query[: MAX_QUERY * 2]):
        term = word.lower()[:MAX_TERM]
        if term not in terms:
            terms.append(term)
    return tuple(terms[:MAX_TERMS])


def _term_pattern(terms: Sequence[str]) -> re.Pattern[str]:
    """A pattern for the words that *terms* (folded) mark, in folded text.

    A word matches a term it equals, or, for a term longer than four letters,
    when it begins with all but the term's last two letters ("education"
    marks "educational", "aportación" marks "aportaciones"): the stem is
    guessed, not computed, as stemmers would mostly match them. One pattern
    finds them in C instead of a comparison per word and term in Python.
    """
    alternatives = [
        re.escape(t[: max(4, len(t) - 2)]) + r"[^\W_]*"
        if len(t) > 4
        else re.escape(t) + r"(?![^\W_])"
        for t in sorted(terms, key=len, reverse=True)
    ]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + ")")


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """*char* folded as :func:`fold` does, but always one character."""
    folded = fold(char)
    if len(folded) == 1:
        return folded
    lower = char.lower()
    return lower if len(lower) == 1 else char


def _fold_in_place(text: str) -> str:
    """*text* folded character by character: each position still the same letter."""
    if text.isascii():
        return text.lower()
    return "".join(map(_fold_char, text))


@dataclass(frozen=True)
class Piece:
    """A run of a snippet's text, and whether it is a matched word."""

    text: str
    hit: bool


def snippet(text: str, terms: Sequence[str], width: int = SNIPPET) -> list[Piece]:
    """About *width* characters of *text* around its first match, matches marked.

    White space is collapsed to single spaces; ``…`` shows where text was cut.
    Without a match (the words were in the subject), the text's beginning.
    Words are compared up to the first match and then only within the cut.
    """
    flat = _SPACE.sub(" ", text).strip()
    folded = _fold_in_place(flat)
    wanted = [fold(t) for t in terms if t]
    marked = _term_pattern(wanted) if wanted else None
    found = marked.search(folded) if marked else None
    first = found.start() if found else 0
    begin = max(0, first - _LEAD)
    if begin > 0:
        space = flat.find(" ", begin)
        begin = space + 1 if 0 <= space < first else begin
    end = min(len(flat), begin + width)
    if end < len(flat):
        space = flat.rfind(" ", begin, end)
        end = space if space > first else end
    pieces: list[Piece] = [Piece("…", False)] if begin > 0 else []
    pos = begin
    for m in marked.finditer(folded, begin, end) if marked else ():
        if m.start() > pos:
            pieces.append(Piece(flat[pos : m.start()], False))
        pieces.append(Piece(flat[m.start() : m.end()], True))
        pos = m.end()
    if end > pos:
        pieces.append(Piece(flat[pos:end], False))
    if end < len(flat):
        pieces.append(Piece("…", False))
    return pieces
