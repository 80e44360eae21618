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


def _matches(word: str, terms: Sequence[str]) -> bool:
    """True when *word* (folded) is one of *terms* (folded) or shares its stem.

    The stem is guessed, not computed: a word longer than four letters matches
    a word that begins with all but its last two letters ("education" marks
    "educational", "aportación" marks "aportaciones"), as stemmers would
    mostly match them.
    """
    for term in terms:
        if word == term:
            return True
        if len(term) > 4 and word.startswith(term[: max(4, len(term) - 2)]):
            return True
    return False


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
    folded = [fold(t) for t in terms]
    first = next(
        (m.start() for m in _WORD.finditer(flat) if _matches(_fold_word(m), folded)),
        0,
    )
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
    for m in _WORD.finditer(flat, begin, end):
        if not _matches(_fold_word(m), folded):
            continue
        if m.start() > pos:
            pieces.append(Piece(flat[pos : m.start()], False))
        pieces.append(Piece(m.group(), True))
        pos = m.end()
    if end > pos:
        pieces.append(Piece(flat[pos:end], False))
    if end < len(flat):
        pieces.append(Piece("…", False))
    return pieces


def _fold_word(match: re.Match[str]) -> str:
    word = match.group()
    return word.lower() if word.isascii() else fold(word)
