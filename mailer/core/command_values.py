"""The values of the subscriber command language, and how one value is read.

:mod:`mailer.core.commands` reads whole mails; the functions here read one value
(a language, a delivery mode, a constituency) wherever it comes from: a
command line, a CSV column, a web form.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mailer.core.command_words import (
    CONSTITUENCY_WORDS,
    FILLERS,
    LANGUAGE_WORDS,
    MODE_WORDS,
)

CONSTITUENCIES = (
    "government",
    "employers",
    "workers",
    "training-provider",
    "ngo",
    "individual",
    "other",
)
LANGUAGE_CODES = ("en", "es", "fr", "pt", "de", "ar", "ru", "zh")
TEXT_LIMIT = 200  # the store's column width for names and organisations


class Mode(enum.Enum):
    """A delivery mode a subscriber may choose."""

    EACH = "each"
    DIGEST = "digest"
    ANNOUNCEMENTS = "announcements"


class Problem(enum.Enum):
    """Why a line was not (entirely) understood."""

    UNKNOWN_COMMAND = "unknown-command"
    UNKNOWN_LANGUAGE = "unknown-language"
    LANGUAGE_NOT_OFFERED = "language-not-offered"
    UNKNOWN_MODE = "unknown-mode"
    UNKNOWN_CONSTITUENCY = "unknown-constituency"
    MISSING_VALUE = "missing-value"
    NEEDS_SUBSCRIBE = "needs-subscribe"
    IGNORED_WORDS = "ignored-words"
    OTHER_ADDRESS = "other-address"


@dataclass(frozen=True)
class Subscribe:
    """Subscribe the sender, with the details given (empty: not given)."""

    language: str | None = None
    mode: Mode | None = None
    name: str = ""
    organisation: str = ""
    constituency: str = ""
    line: int = field(default=0, compare=False)
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class Unsubscribe:
    """Leave the discussion (confirmed by a round trip to the subscribed address)."""

    line: int = field(default=0, compare=False)
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class SetLanguage:
    """Receive mail in another language."""

    language: str
    line: int = field(default=0, compare=False)
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class SetMode:
    """Receive every post, a daily digest, or announcements only."""

    mode: Mode
    line: int = field(default=0, compare=False)
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class Manage:
    """Send the sender's own link to the page that manages their subscription."""

    line: int = field(default=0, compare=False)
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class Help:
    """Send the help text."""

    line: int = field(default=0, compare=False)
    source: str = field(default="", compare=False)


Command = Subscribe | Unsubscribe | SetLanguage | SetMode | Manage | Help


@dataclass(frozen=True)
class UnknownLine:
    """A line (0 is the subject) that was not, or not entirely, understood."""

    line: int
    text: str
    problem: Problem


@dataclass(frozen=True)
class SubscriberCommands:
    """The commands of one mail, in order, and the lines that were not understood."""

    commands: tuple[Command, ...]
    unknown: tuple[UnknownLine, ...]

    @property
    def recognised(self) -> bool:
        """True when at least one command was understood."""
        return bool(self.commands)


PUNCTUATION = ".,;:!?\"'()[]{}<>«»¡¿*`"


def normalise_word(word: str) -> str:
    """Lowercase, without accents, straight apostrophes, no surrounding punctuation."""
    text = unicodedata.normalize("NFKD", word.replace("\u2019", "'").replace("`", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return text.strip(PUNCTUATION) if text != "?" else text


def normalise_words(text: str) -> list[str]:
    """The normalised words of *text*; hyphens and underscores separate words."""
    words: list[str] = []
    for raw in text.split():
        for part in re.split(r"[-_/]+", raw):
            norm = normalise_word(part)
            if norm:
                words.append(norm)
    return words


def _lookup(words: Sequence[str], table: Mapping[str, str]) -> set[str]:
    """Every value of *table* whose phrase occurs in *words* as whole words."""
    found: set[str] = set()
    joined = f" {' '.join(words)} "
    for phrase, value in table.items():
        if f" {phrase} " in joined:
            found.add(value)
    return found


def parse_language(
    text: str, offered: Sequence[str]
) -> tuple[str | None, Problem | None]:
    """The language code *text* names (``es``, ``Spanish``, ``español``) and any problem."""
    words = [w for w in normalise_words(text) if w not in FILLERS]
    if not words:
        return None, Problem.MISSING_VALUE
    found = {w for w in words if w in LANGUAGE_CODES} | _lookup(words, LANGUAGE_WORDS)
    if len(found) != 1:
        return None, Problem.UNKNOWN_LANGUAGE
    code = found.pop()
    if code not in offered:
        return None, Problem.LANGUAGE_NOT_OFFERED
    return code, None


def parse_mode(text: str) -> tuple[Mode | None, Problem | None]:
    """The delivery mode *text* names (``digest``, ``resumen``, ``annonces``) and any problem."""
    words = [w for w in normalise_words(text) if w not in FILLERS and w != "mode"]
    if not words:
        return None, Problem.MISSING_VALUE
    found = _lookup(words, MODE_WORDS)
    if len(found) != 1:
        return None, Problem.UNKNOWN_MODE
    return Mode(found.pop()), None


def parse_constituency(text: str) -> str | None:
    """The constituency *text* names (``government``, ``sindicato``, ``ONG``), or None."""
    words = normalise_words(text)
    if not words:
        return None
    found = _lookup(words, CONSTITUENCY_WORDS)
    return found.pop() if len(found) == 1 else None
