"""Every fixed string of the web pages, in English, Spanish and French, and the date formats.

One mechanism: a message dict per language, looked up by key (``t("key",
n=3)`` in templates); plural forms follow the CLDR rules Babel knows (French
counts 0 as singular). Dates are formatted by Babel in the discussion's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal

from mailer.web.messages import MESSAGES

UI_LANGUAGES = tuple(MESSAGES)
LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français"}
# Babel locale per UI language: British English writes "27 March 2027".
_LOCALES = {"en": "en_GB", "es": "es", "fr": "fr"}


def negotiate_language(
    requested: str | None,
    accept_language: str | None,
    available: Iterable[str],
    default: str,
) -> tuple[str, bool]:
    """The page language, and whether the reader chose it explicitly (``?lang=``).

    An explicit, available ``?lang=`` wins; then the best Accept-Language entry
    (RFC 9110 section 12.5.4 q-values, primary subtag only); then *default*.
    """
    langs = list(available)
    if requested and requested.lower() in langs:
        return requested.lower(), True
    for tag in _accepted(accept_language or ""):
        if tag in langs:
            return tag, False
    return (default if default in langs else langs[0]), False


def _accepted(header: str) -> list[str]:
    entries: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary and primary != "*" and quality > 0:
            entries.append((-quality, index, primary))
    return [tag for _, _, tag in sorted(entries)]


@dataclass(frozen=True)
class Translator:
    """The strings and date formats of one language; templates receive it as ``t``."""

    language: str
    time_zone: ZoneInfo

    @property
    def _messages(self) -> Mapping[str, str]:
        return MESSAGES.get(self.language, MESSAGES["en"])

    @property
    def _locale(self) -> str:
        return _LOCALES.get(self.language, "en_GB")

    def __call__(self, key: str, **values: object) -> str:
        """The message *key* with ``{name}`` placeholders filled in."""
        text = self._messages.get(key) or MESSAGES["en"][key]
        return text.format(**values) if values else text

    def plural(self, key: str, n: int) -> str:
        """The message ``key_one`` or ``key_other`` for count *n*, with ``{n}`` filled."""
        form = Locale.parse(self._locale).plural_form(n)
        return self(f"{key}_{'one' if form == 'one' else 'other'}", n=n)

    def number(self, n: int) -> str:
        """A whole number with the language's grouping: ``1,000``, ``1.000``."""
        return str(format_decimal(n, locale=self._locale))

    def date(self, moment: dt.datetime) -> str:
        """A day, written out: ``27 March 2027``, ``27 de marzo de 2027``."""
        return format_date(moment.astimezone(self.time_zone), "long", self._locale)

    def datetime(self, moment: dt.datetime) -> str:
        """A day and a time in the discussion's zone: ``27 Mar 2027, 10:15``."""
        local = moment.astimezone(self.time_zone)
        day = format_skeleton("yMMMd", local, locale=self._locale)
        return f"{day}, {format_skeleton('Hm', local, locale=self._locale)}"

    def period(self, start: dt.datetime, end: dt.datetime) -> str:
        """A span of days: ``27 March 2027 – 17 April 2027``."""
        return f"{self.date(start)} – {self.date(end)}"

    def size(self, octets: int) -> str:
        """A file size with SI units and the language's decimal mark: ``1,5 MB``."""
        if octets < 1000:
            return f"{octets} B"
        value, unit = (
            (octets / 1000, "kB")
            if octets < 1_000_000
            else (
                octets / 1_000_000,
                "MB",
            )
        )
        return f"{format_decimal(value, '#,##0.#', locale=self._locale)} {unit}"
