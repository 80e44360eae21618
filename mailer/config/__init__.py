"""Reading and checking ``config.toml``: one typed, validated :class:`Settings`, built once.

:func:`load_settings` is the way in (:mod:`mailer.config.load`); the settings types are
in :mod:`mailer.config.settings`, the ``[[discussions]]`` tables in
:mod:`mailer.config.discussions`, typed reading of TOML values in
:mod:`mailer.config.reader`, and a discussion's timetable from the configuration and
the store in :mod:`mailer.config.timetable`.
"""

from __future__ import annotations

from mailer.config.load import load_settings, parse_settings
from mailer.config.settings import Settings

__all__ = ["Settings", "load_settings", "parse_settings"]
