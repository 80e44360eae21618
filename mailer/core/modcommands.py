"""The moderators' command language: lines of text in, commands out.

A command mail holds one command per line, in the subject or the body, in any
case: ``release 3``, ``release week 2``, ``approve 12``, ``reject 12 off
topic``, ``hold 12``, ``close``, ``reopen``, ``stats``, ``ban a@b.org``,
``unban a@b.org``, ``subscribers``, ``help``. Reading stops at the first
quoted text or signature, so a reply that quotes a notice runs only what the
moderator wrote. Sent to a held-post address, a bare ``approve`` or
``reject <reason>`` applies to that post.
"""

from __future__ import annotations

import enum
import json
import re
import unicodedata
from dataclasses import dataclass

from mailer.core.signature import is_footer

MAX_COMMANDS = 30  # one mail cannot queue unbounded work
MAX_UNKNOWN = 10  # past this, prose is prose: stop reporting it
MAX_LINE = 200


class Verb(enum.Enum):
    """What a command asks for."""

    RELEASE = "release"
    RELEASE_WEEK = "release-week"
    APPROVE = "approve"
    REJECT = "reject"
    HOLD = "hold"
    CLOSE = "close"
    REOPEN = "reopen"
    STATS = "stats"
    BAN = "ban"
    UNBAN = "unban"
    SUBSCRIBERS = "subscribers"
    HELP = "help"


class Rejection(enum.Enum):
    """What a rejection's reason says: spam (its sender is told nothing) or a reason to explain."""

    SPAM = "spam"
    EXPLAINED = "explained"


# Reasons that mean "spam", in English, Spanish and French, as folded words
# (lowercase, no accents). A reason that starts with one of them is spam.
_SPAM_PHRASES: tuple[tuple[str, ...], ...] = (
    ("spam",),
    ("junk",),
    ("correo", "basura"),
    ("correo", "no", "deseado"),
    ("pourriel",),
    ("polluriel",),
    ("courriel", "indesirable"),
    ("courrier", "indesirable"),
)


def rejection_of(reason: str) -> Rejection:
    """Whether a rejection's *reason* names spam, in any language moderators write."""
    words = [_fold(w).strip(".,;:!?\"'()") for w in reason.split()]
    words = [w for w in words if w]
    for phrase in _SPAM_PHRASES:
        if tuple(words[: len(phrase)]) == phrase:
            return Rejection.SPAM
    return Rejection.EXPLAINED


@dataclass(frozen=True)
class Command:
    """One parsed command: its verb, the numbers it names, and its free text.

    ``numbers`` holds question numbers (release), the week (release week) or
    one post id (approve, reject, hold); ``text`` holds a reason or an address.
    ``rejection`` says whether a reject's reason is spam, read once from the
    moderator's words.
    """

    verb: Verb
    numbers: tuple[int, ...] = ()
    text: str = ""
    line: str = ""
    rejection: Rejection = Rejection.EXPLAINED

    @classmethod
    def decision(cls, verb: Verb, post_id: int, reason: str, line: str) -> Command:
        """An approve, reject or hold of one post; a reject's reason is classified here."""
        rejection = rejection_of(reason) if verb is Verb.REJECT else Rejection.EXPLAINED
        return cls(verb, (post_id,), reason, line, rejection)

    @property
    def post_id(self) -> int:
        """The post a moderation command names."""
        return self.numbers[0]


@dataclass(frozen=True)
class ParsedCommands:
    """The commands found in a mail, the lines that were not commands, and why reading stopped."""

    commands: tuple[Command, ...]
    unknown: tuple[str, ...]
    truncated: bool = False


# Words a moderator may use for each verb: English first, then Spanish and
# French, compared without accents.
_WORDS: dict[str, str] = {
    "release": "release",
    "publish": "release",
    "publicar": "release",
    "publier": "release",
    "approve": "approve",
    "aprobar": "approve",
    "approuver": "approve",
    "reject": "reject",
    "rechazar": "reject",
    "rejeter": "reject",
    "hold": "hold",
    "retener": "hold",
    "retenir": "hold",
    "close": "close",
    "cerrar": "close",
    "fermer": "close",
    "reopen": "reopen",
    "reabrir": "reopen",
    "rouvrir": "reopen",
    "stats": "stats",
    "statistics": "stats",
    "estadisticas": "stats",
    "statistiques": "stats",
    "ban": "ban",
    "bloquear": "ban",
    "bannir": "ban",
    "unban": "unban",
    "desbloquear": "unban",
    "debannir": "unban",
    "subscribers": "subscribers",
    "suscriptores": "subscribers",
    "abonnes": "subscribers",
    "help": "help",
    "ayuda": "help",
    "aide": "help",
}
_WEEK_WORDS = {"week", "semana", "semaine"}

# Where the moderator's own words end (RFC 3676 signature separator, quote
# headers of common clients in en/es/fr/de, Outlook's separators).
_STOP = re.compile(
    r"""^(
        -- \s*$
      | -{2,}\s*(original|forwarded)\s+message\s*-{2,}
      | -{2,}\s*(mensaje\s+original|message\s+d'origine)\s*-{2,}
      | _{10,}\s*$
      | (on|el|le|am)\s.{0,200}(wrote|escribi[oó]|a\s+[ée]crit|schrieb)\s*:?\s*$
      | (from|de|von)\s*:\s.*@
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_REPLY_PREFIX = re.compile(
    r"^\s*((re|fwd?|aw|wg|tr|rv|sv|antw)\s*(\[\d+\])?\s*:\s*|\[[^\]]{0,60}\]\s*)+",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"^[a-z0-9.!#$&'*+/=?^_`{|}~-]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)+$")
_POST = re.compile(r"^#?(\d{1,9})$")
_NUMBER = re.compile(r"^q?(\d{1,4})$")


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _verb_of(word: str) -> str | None:
    return _WORDS.get(_fold(word).rstrip(":.,;!"))


def _numbers(args: list[str]) -> tuple[int, ...] | None:
    """``3``, ``3 4``, ``3,4``, ``q3``: question numbers, or None when not all are."""
    parts = [p for a in args for p in a.replace(",", " ").split()]
    found: list[int] = []
    for part in parts:
        m = _NUMBER.match(part.lower())
        if not m:
            return None
        found.append(int(m.group(1)))
    return tuple(dict.fromkeys(found)) or None


def parse_line(line: str, held_post: int | None = None) -> Command | None:
    """One command from one line, or None when the line is not a command.

    *held_post* is the post named by a held-post address: there ``approve``,
    ``hold`` and ``reject <reason>`` need no post id. With it, a ``reject``
    whose first word is a number still names that post id explicitly.
    """
    text = " ".join(line.strip().split())[:MAX_LINE]
    words = text.split(" ")
    if not words or not words[0]:
        return None
    name = _verb_of(words[0])
    args = words[1:]
    if name is None:
        return None
    if name == "release":
        if args and _fold(args[0]) in _WEEK_WORDS:
            week = _numbers(args[1:])
            if week is None or len(week) != 1:
                return None
            return Command(Verb.RELEASE_WEEK, week, line=text)
        numbers = _numbers(args)
        return Command(Verb.RELEASE, numbers, line=text) if numbers else None
    if name in ("approve", "reject", "hold"):
        verb = Verb(name)
        post = _POST.match(args[0]) if args else None
        if post:
            reason = " ".join(args[1:])
            if verb is not Verb.REJECT and reason:
                return None
            return Command.decision(verb, int(post.group(1)), reason, text)
        if held_post is None:
            return None
        if verb is not Verb.REJECT and args:
            return None
        return Command.decision(verb, held_post, " ".join(args), text)
    if name in ("ban", "unban"):
        if len(args) != 1:
            return None
        address = args[0].strip("<>").lower()
        if not _ADDRESS.match(address):
            return None
        return Command(Verb(name), (), address, text)
    if args:  # close, reopen, stats, subscribers, help take no argument
        return None
    return Command(Verb(name), line=text)


def command_lines(body: str) -> list[str]:
    """The lines of *body* the moderator wrote: up to the first quote or signature."""
    lines: list[str] = []
    for raw in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if raw.lstrip().startswith(">") or _STOP.match(line) or is_footer(line):
            break
        lines.append(raw)
    return lines


def clean_subject(subject: str) -> str:
    """The subject without ``Re:``/``Fwd:`` prefixes and ``[list]`` tags."""
    return _REPLY_PREFIX.sub("", " ".join(subject.split())).strip()


def parse_commands(
    subject: str, body: str, held_post: int | None = None
) -> ParsedCommands:
    """Every command of one mail, in order: the subject's, then the body's.

    A subject that is not a command is ignored silently (a reply keeps the
    notice's subject); a body line that is not one is reported. Reading stops
    at quoted text or a signature, after :data:`MAX_COMMANDS` commands, or
    after :data:`MAX_UNKNOWN` unknown lines.
    """
    commands: list[Command] = []
    unknown: list[str] = []
    truncated = False
    first = parse_line(clean_subject(subject), held_post)
    if first is not None:
        commands.append(first)
    for raw in command_lines(body):
        line = raw.strip()
        if not line:
            continue
        if len(commands) >= MAX_COMMANDS or len(unknown) >= MAX_UNKNOWN:
            truncated = True
            break
        cmd = parse_line(line, held_post)
        if cmd is None:
            unknown.append(" ".join(line.split())[:MAX_LINE])
        elif cmd not in commands:
            commands.append(cmd)
    return ParsedCommands(tuple(commands), tuple(unknown), truncated)


def commands_to_json(commands: tuple[Command, ...]) -> str:
    """The commands as JSON, to wait in a confirmation token's payload."""
    return json.dumps(
        [
            {
                "verb": c.verb.value,
                "numbers": list(c.numbers),
                "text": c.text,
                "line": c.line,
                "rejection": c.rejection.value,
            }
            for c in commands
        ]
    )


def commands_from_json(payload: str) -> tuple[Command, ...]:
    """The commands stored by :func:`commands_to_json` (raises ValueError or TypeError when malformed)."""
    data = json.loads(payload)
    if not isinstance(data, list):
        raise TypeError("expected a list of commands")
    out: list[Command] = []
    for item in data:
        if not isinstance(item, dict):
            raise TypeError("expected a command object")
        numbers = item.get("numbers", [])
        if not isinstance(numbers, list) or not all(
            isinstance(n, int) for n in numbers
        ):
            raise ValueError("numbers must be integers")
        text = str(item.get("text", ""))
        # Payloads written before ``rejection`` was stored classify their text.
        stored = item.get("rejection")
        rejection = Rejection(stored) if stored is not None else rejection_of(text)
        if Verb(item["verb"]) is not Verb.REJECT:
            rejection = Rejection.EXPLAINED
        out.append(
            Command(
                Verb(item["verb"]),
                tuple(numbers),
                text,
                str(item.get("line", "")),
                rejection,
            )
        )
    return tuple(out)
