"""The project's exceptions, one tree, named in the domain's words.

Every exception the project raises on purpose derives from ``EdiscussError``
(defined here) or, in ``store/`` (which imports nothing from ``mailer``), from
``store.errors.StoreError``. Those defined elsewhere are listed with their
module; a builtin in brackets is a second base, for callers that catch it.
``ediscuss`` prints any of them as one line and exits non-zero.

EdiscussError
├── ConfigError            a bad configuration (carries every problem found)
├── UnknownRecipient       an address the service does not own [ValueError]
├── MalformedMessage       raw bytes that cannot be read as a message [ValueError]
├── BadToken               a token that is forged, expired or already used [ValueError]
├── UnusableCertificate    a TLS certificate or key that cannot be served [ValueError]
├── StoreUnavailable       the database cannot take a write right now
├── RoundStopped           a scheduled round stopped between batches: serve is stopping
├── CannotListen           serve cannot bind a configured address [OSError]
├── SchemaOutOfDate        mailer.runtime: the database needs ``ediscuss db upgrade`` [RuntimeError]
├── UnknownDiscussion      mailer.mailings.releases: no such discussion [LookupError]
├── TemplateMissing        mailer.outbound.templates: no template for a mail [LookupError]
├── SigningError           mailer.outbound.dkim: dkimpy cannot sign a message [ValueError]
├── InvalidAddress         mailer.subscriptions.values: not a usable email address [ValueError]
├── InvalidValue           mailer.subscriptions.values: a field outside its choices [ValueError]
├── UnusableFile           mailer.subscriptions.imports: a file that cannot be imported [ValueError]
├── BadRequest             mailer.inbound.socketmap: a Postfix lookup that is no acceptable netstring
├── FormTooLarge           mailer.web.subscribe: a form body over the limit
├── CommandError           mailer.commands.base: a command failed; its message is for the user
├── DemoError              mailer.demo.runner: the configuration cannot play the demo
├── ScriptError            mailer.demo.player: the demo script asks for what is not there [RuntimeError]
├── StuckError             mailer.demo.stage: the service did not become quiet in time [RuntimeError]
└── Interrupted            mailer.demo.stage: the demo was stopped before its end

StoreError                 store.errors
└── MissingRow             a row the caller relies on is not there [LookupError]
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class EdiscussError(Exception):
    """Base class of every error this project raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration: where, and what."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(EdiscussError):
    """The configuration is invalid; ``problems`` lists every problem found."""

    def __init__(
        self, problems: Sequence[ConfigProblem], source: str = "config.toml"
    ) -> None:
        self.problems = tuple(problems)
        self.source = source
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


class UnknownRecipient(EdiscussError, ValueError):
    """An envelope recipient that is not one of the service's own addresses."""

    def __init__(
        self, address: str, reason: str = "not an address of this service"
    ) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"{address!r}: {reason}")


class MalformedMessage(EdiscussError, ValueError):
    """Raw bytes that cannot be understood as an email message."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class BadToken(EdiscussError, ValueError):
    """A token that fails its signature, has expired, or was already used."""

    def __init__(self, token: str, reason: str) -> None:
        self.token = token
        self.reason = reason
        super().__init__(f"{reason}")


class UnusableCertificate(EdiscussError, ValueError):
    """A TLS certificate or private key file the listener cannot use.

    ``which`` is ``"certificate"`` or ``"key"``: the file at fault.
    """

    def __init__(self, which: str, path: Path, reason: str) -> None:
        self.which = which
        self.path = path
        self.reason = reason
        super().__init__(reason)


class StoreUnavailable(EdiscussError):
    """The store refused or failed a write; the sender should try again later."""


class RoundStopped(EdiscussError):
    """A scheduled round stopped between two committed batches because ``serve``
    is stopping; what it committed stays, and the next start does the rest."""


class CannotListen(EdiscussError, OSError):
    """``serve`` cannot bind *address* (``host:port``): taken by another process, or not allowed."""

    def __init__(self, address: str, cause: OSError) -> None:
        self.address = address
        self.cause = cause
        super().__init__(cause.errno, f"{address}: {cause.strerror or cause}")

    def explain(self) -> str:
        """One line for the operator: what is wrong and the likely reason."""
        if self.cause.errno == errno.EADDRINUSE:
            return f"{self.address} is in use: is ediscuss serve already running?"
        if self.cause.errno == errno.EACCES:
            return f"cannot listen on {self.address}: permission denied (a port below 1024 needs privileges)"
        return f"cannot listen on {self.address}: {self.cause.strerror or self.cause}"
