"""What every command gets: the settings and the store, opened on first use."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mailer.clock import Clock, system_clock
from mailer.config import Settings, load_settings
from mailer.config.settings import DiscussionSettings
from mailer.core.errors import ConfigError, ConfigProblem, EdiscussError
from mailer.runtime import Runtime, SchemaOutOfDate, open_runtime

Handler = Callable[["Context", argparse.Namespace], int]
Subparsers = Any  # argparse's _SubParsersAction is private


def add_discussion_option(parser: argparse.ArgumentParser) -> None:
    """``--discussion SLUG``, which every command about one discussion takes."""
    parser.add_argument(
        "--discussion",
        metavar="SLUG",
        help="the discussion (default: the only one configured)",
    )


class CommandError(EdiscussError):
    """A command failed for a reason the user can act on; printed without a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Context:
    """Lazily loaded settings and runtime for one CLI invocation."""

    def __init__(
        self, config_path: Path, environ: Mapping[str, str], clock: Clock = system_clock
    ) -> None:
        self.config_path = config_path
        self.environ = environ
        self.clock = clock
        self._settings: Settings | None = None
        self._runtime: Runtime | None = None

    @property
    def settings(self) -> Settings:
        """The checked settings (raises ConfigError)."""
        if self._settings is None:
            self._settings = load_settings(self.config_path, self.environ)
        return self._settings

    def settings_with_secrets(
        self, *, relay: bool = True, imap: bool = True
    ) -> Settings:
        """The settings, insisting on the passwords of the relay and IMAP parts asked for.

        Only what logs in needs them (``serve``, ``outbox send``, ``config
        check`` on their behalf); ``export`` or ``posts held`` run from a
        shell that holds no secret.
        """
        problems = missing_secrets(self.settings, relay=relay, imap=imap)
        if problems:
            raise ConfigError(problems, self.settings.source)
        return self.settings

    def runtime(self, migrate: bool | None = None) -> Runtime:
        """The store and key, opened once; the schema is migrated or checked."""
        if self._runtime is None:
            try:
                self._runtime = open_runtime(
                    self.settings, clock=self.clock, migrate=migrate
                )
            except SchemaOutOfDate as exc:
                raise CommandError(str(exc)) from exc
        return self._runtime

    def discussion(self, slug: str | None) -> DiscussionSettings:
        """The discussion named *slug*, or the only one when *slug* is None."""
        s = self.settings
        if slug is None:
            if len(s.discussions) == 1:
                return s.discussions[0]
            raise CommandError(
                f"several discussions: name one with --discussion ({', '.join(s.slugs)})"
            )
        found = s.discussion(slug)
        if found is None:
            raise CommandError(
                f"no discussion {slug!r} (configured: {', '.join(s.slugs) or 'none'})"
            )
        return found

    def close(self) -> None:
        """Release the store."""
        if self._runtime is not None:
            self._runtime.close()


def missing_secrets(
    settings: Settings, *, relay: bool = True, imap: bool = True
) -> list[ConfigProblem]:
    """The passwords the configured relay and IMAP mailbox need but were not given."""
    problems: list[ConfigProblem] = []
    r = settings.relay
    if relay and r is not None and r.username and not r.password:
        problems.append(
            ConfigProblem(
                "relay.password",
                "relay.username is set: give the password as EDISCUSS_RELAY_PASSWORD",
            )
        )
    if imap and settings.imap is not None and not settings.imap.password:
        problems.append(
            ConfigProblem(
                "imap.password", "required: give it as EDISCUSS_IMAP_PASSWORD"
            )
        )
    return problems
