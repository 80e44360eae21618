"""The subscriber command language: what a mail to ``<slug>-request@`` asks for.

Commands are read from the subject, then the body, one per line (a ``;`` also
separates commands, so a one-line subject can hold several). Matching ignores
case and accents, and the words exist in English, Spanish and French::

    subscribe                       suscribir / s'abonner
    subscribe es digest             inline: a language and a delivery mode
    language es                     idioma / langue
    mode digest                     modo / mode: each | digest | announcements
    name Ana Ruiz                   nombre / nom   (only after subscribe)
    organisation Ministry of Labour organización / organisme
    constituency government         sector / secteur
    unsubscribe                     baja / désabonner
    manage                          gestionar / gérer: the link to one's settings page
    help                            ayuda / aide

``language`` and ``mode`` lines that follow a ``subscribe`` belong to it;
alone they change an existing subscription. ``name``, ``organisation`` and
``constituency`` only make sense after ``subscribe``. A colon after a keyword
is allowed (``Name: Ana Ruiz``). Reading stops at a signature delimiter, quoted
text, an attribution line ("On ... wrote:"), a closing ("Thanks", "Saludos",
"Cordialement") or ``end``; a letter is not read past a few lines nobody
understood. Lines that are not commands are reported, never guessed at.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mailer.core.command_values import (
    CONSTITUENCIES,
    LANGUAGE_CODES,
    PUNCTUATION,
    TEXT_LIMIT,
    Command,
    Help,
    Manage,
    Mode,
    Problem,
    SetLanguage,
    SetMode,
    Subscribe,
    SubscriberCommands,
    UnknownLine,
    Unsubscribe,
    normalise_word,
    normalise_words,
    parse_constituency,
    parse_language,
    parse_mode,
)
from mailer.core.command_words import (
    AMBIGUOUS_CODES,
    FILLERS,
    KEYWORDS,
    LANGUAGE_WORDS,
    MODE_WORDS,
)
from mailer.core.headers import header_safe
from mailer.core.signature import is_footer

__all__ = [
    "CONSTITUENCIES",
    "LANGUAGE_CODES",
    "Command",
    "Help",
    "Manage",
    "Mode",
    "Problem",
    "SetLanguage",
    "SetMode",
    "Subscribe",
    "SubscriberCommands",
    "UnknownLine",
    "Unsubscribe",
    "clean_subject",
    "parse_commands",
    "parse_constituency",
    "parse_language",
    "parse_mode",
]

MAX_UNKNOWN_LINES = 8  # past this many, it is a letter, not a list of commands
MAX_LINES = 60

_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|fw|aw|wg|rv|tr|sv|vs|antw|r|ref)\s*(?:\[\d+\])?\s*:\s*|\[[^\]]*\]\s*)+",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"(wrote|escribio|a ecrit|schrieb|ha escrito)\s*:\s*$", re.IGNORECASE
)
_SEPARATOR = re.compile(
    r"^(-{2,}\s*(original message|mensaje original|message d'origine|"
    r"forwarded message|mensaje reenviado|message transfere)|_{5,}\s*$|-{5,}\s*$)",
    re.IGNORECASE,
)
_HEADER_BLOCK = re.compile(
    r"^(from|de|von|sent|envoye|enviado)\s*:\s*\S", re.IGNORECASE
)


def clean_subject(subject: str) -> str:
    """The subject without ``Re:``/``Fwd:``/``[tag]`` prefixes."""
    return _SUBJECT_PREFIX.sub("", subject or "").strip()


@dataclass
class _Draft:
    """A subscribe being built from its line and the detail lines after it."""

    index: int
    command: Subscribe


class _Reader:
    """Reads segments in order, keeping the subscribe that details attach to."""

    def __init__(self, offered: Sequence[str], slug: str, sender: str) -> None:
        self.offered = offered
        self.slug = slug.lower()
        self.sender = sender.strip().lower()
        self.commands: list[Command | None] = []
        self.unknown: list[UnknownLine] = []
        self.draft: _Draft | None = None
        self.open = False  # whether detail lines attach to the draft
        self.stopped = False

    def note(self, line: int, text: str, problem: Problem) -> None:
        if line == 0 and problem is Problem.IGNORED_WORDS:
            return  # "Subscription request": a subject is prose around a command
        self.unknown.append(UnknownLine(line, text, problem))

    def add(self, command: Command) -> None:
        self.open = False
        if command not in self.commands:
            self.commands.append(command)

    def segment(self, line: int, text: str, report: bool) -> None:
        """Read one command segment of line *line*."""
        source = header_safe(text, TEXT_LIMIT)
        words = [(m.group(0), m.end()) for m in re.finditer(r"\S+", text)]
        norms = [(normalise_word(raw), end) for raw, end in words]
        norms = [(n, end) for n, end in norms if n]
        start = 0
        while start < len(norms) - 1 and norms[start][0] in FILLERS:
            start += 1
        for size in (3, 2, 1):
            phrase = " ".join(n for n, _ in norms[start : start + size])
            if len(norms) - start >= size and phrase in KEYWORDS:
                kind = KEYWORDS[phrase]
                value = text[norms[start + size - 1][1] :].strip().lstrip(":").strip()
                self.keyword(kind, value, line, source)
                return
        if report:
            self.note(line, source, Problem.UNKNOWN_COMMAND)
        else:
            self.open = False

    def _addresses(self, value: str, line: int, source: str) -> tuple[str, bool]:
        """*value* without the slug and the sender's address; False for another address."""
        kept: list[str] = []
        for raw in value.split():
            bare = raw.strip(PUNCTUATION).lower()
            if "@" in raw:
                if bare != self.sender:
                    self.note(line, source, Problem.OTHER_ADDRESS)
                    return "", False
                continue
            if bare != self.slug:
                kept.append(raw)
        return " ".join(kept), True

    def keyword(self, kind: str, value: str, line: int, source: str) -> None:
        """Act on a line that starts with a keyword of *kind*."""
        if kind == "end":
            self.stopped = True
        elif kind == "subscribe":
            self.subscribe(value, line, source)
        elif kind == "unsubscribe":
            rest, ok = self._addresses(value, line, source)
            if not ok:
                return
            if any(w not in FILLERS for w in normalise_words(rest)):
                self.note(line, source, Problem.IGNORED_WORDS)
            self.add(Unsubscribe(line, source))
        elif kind == "manage":
            rest, ok = self._addresses(value, line, source)
            if not ok:
                return
            if any(w not in FILLERS for w in normalise_words(rest)):
                self.note(line, source, Problem.IGNORED_WORDS)
            self.add(Manage(line, source))
        elif kind == "help":
            self.add(Help(line, source))
        elif kind == "language":
            language, problem = parse_language(value, self.offered)
            if problem is not None or language is None:
                self.note(line, source, problem or Problem.UNKNOWN_LANGUAGE)
            elif self.open and self.draft is not None:
                self.attach(language=language)
            else:
                self.add(SetLanguage(language, line, source))
        elif kind == "mode":
            mode, problem = parse_mode(value)
            if problem is not None or mode is None:
                self.note(line, source, problem or Problem.UNKNOWN_MODE)
            elif self.open and self.draft is not None:
                self.attach(mode=mode)
            else:
                self.add(SetMode(mode, line, source))
        else:
            self.detail(kind, value, line, source)

    def detail(self, kind: str, value: str, line: int, source: str) -> None:
        """A name, organisation or constituency line: only after a subscribe."""
        if not (self.open and self.draft is not None):
            self.note(line, source, Problem.NEEDS_SUBSCRIBE)
            return
        cleaned = header_safe(value, TEXT_LIMIT)
        if not cleaned:
            self.note(line, source, Problem.MISSING_VALUE)
        elif kind == "name":
            self.attach(name=cleaned)
        elif kind == "organisation":
            self.attach(organisation=cleaned)
        else:
            constituency = parse_constituency(cleaned)
            if constituency is None:
                self.note(line, source, Problem.UNKNOWN_CONSTITUENCY)
            else:
                self.attach(constituency=constituency)

    def attach(self, **details: object) -> None:
        assert self.draft is not None
        self.draft.command = replace(self.draft.command, **details)  # type: ignore[arg-type]
        self.commands[self.draft.index] = self.draft.command

    def subscribe(self, value: str, line: int, source: str) -> None:
        """``subscribe`` with optional inline language and mode words."""
        rest, ok = self._addresses(value, line, source)
        if not ok:
            return
        words = normalise_words(rest)
        details: dict[str, object] = {}
        ignored = False
        i = 0
        while i < len(words):
            word, last = words[i], i == len(words) - 1
            pair = " ".join(words[i : i + 2])
            if word in ("language", "lang", "idioma", "langue") and not last:
                i += 1
                self._inline_language(words[i], details, line, source)
            elif word in ("mode", "modo") and not last:
                i += 1
                self._inline_mode(words[i], details, line, source)
            elif pair in MODE_WORDS:
                details["mode"] = Mode(MODE_WORDS[pair])
                i += 1
            elif word in MODE_WORDS:
                details["mode"] = Mode(MODE_WORDS[word])
            elif word in AMBIGUOUS_CODES and not last:
                pass  # "en español", "de alta": a preposition here
            elif word in LANGUAGE_CODES or word in LANGUAGE_WORDS:
                self._inline_language(word, details, line, source)
            elif word not in FILLERS:
                ignored = True
            i += 1
        if ignored:
            self.note(line, source, Problem.IGNORED_WORDS)
        if self.draft is None:
            command = Subscribe(line=line, source=source)
            self.commands.append(command)
            self.draft = _Draft(len(self.commands) - 1, command)
        if details:
            self.attach(**details)
        self.open = True

    def _inline_language(
        self, word: str, details: dict[str, object], line: int, source: str
    ) -> None:
        language, problem = parse_language(word, self.offered)
        if language is None:
            self.note(line, source, problem or Problem.UNKNOWN_LANGUAGE)
        else:
            details["language"] = language

    def _inline_mode(
        self, word: str, details: dict[str, object], line: int, source: str
    ) -> None:
        mode, problem = parse_mode(word)
        if mode is None:
            self.note(line, source, problem or Problem.UNKNOWN_MODE)
        else:
            details["mode"] = mode


def _ends_commands(line: str) -> bool:
    """True at a signature, quoted text, an attribution or a forwarded header block."""
    stripped = line.strip()
    if stripped in ("--", "-- ", "\u2014", "__") or line.startswith("-- "):
        return True
    if stripped.startswith((">", "|")) or is_footer(stripped):
        return True  # a quote, or a phone's footer in any language
    flat = "".join(
        ch
        for ch in unicodedata.normalize("NFKD", stripped)
        if not unicodedata.combining(ch)
    )
    return bool(
        _ATTRIBUTION.search(flat) or _SEPARATOR.match(flat) or _HEADER_BLOCK.match(flat)
    )


def parse_commands(
    subject: str,
    body: str,
    languages: Sequence[str] = ("en", "es", "fr"),
    *,
    slug: str = "",
    sender: str = "",
) -> SubscriberCommands:
    """Read the commands of one mail.

    *languages* are the ones the discussion offers; *slug* may appear after a
    command (``subscribe skills-covid19``) and *sender* is the From address, the
    only address a command may name. The subject is line 0 and, not being
    written as a command list, is never reported as not understood.
    """
    reader = _Reader(languages, slug, sender)
    for part in clean_subject(subject).split(";"):
        if part.strip():
            reader.segment(0, part.strip(), report=False)
    reader.stopped = False
    seen = 0
    for number, line in enumerate(body.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        if _ends_commands(line):
            break
        seen += 1
        for part in line.split(";"):
            if part.strip() and not reader.stopped:
                reader.segment(number, part.strip(), report=True)
        if (
            reader.stopped
            or seen >= MAX_LINES
            or len(reader.unknown) >= MAX_UNKNOWN_LINES
        ):
            break
    commands = tuple(c for c in reader.commands if c is not None)
    return SubscriberCommands(commands, tuple(reader.unknown))
