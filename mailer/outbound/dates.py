"""Dates and times in a reader's language and the discussion's time zone (Babel).

Templates receive a :class:`LocalDates` as ``dates`` and write
``{{ dates.day(plan.day) }}`` or ``{{ dates.when(post.approved_at) }}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from babel.dates import format_date, format_skeleton, format_time

# English as an international organisation writes it: "28 March 2027".
_LOCALES = {"en": "en_GB"}


@dataclass(frozen=True)
class LocalDates:
    """Formats dates for readers of *language* in the time zone *zone*."""

    language: str
    zone: tzinfo

    @property
    def locale(self) -> str:
        """The Babel locale for the language."""
        return _LOCALES.get(self.language, self.language)

    def day(self, value: date | datetime) -> str:
        """A date in full words: 28 March 2027, 28 de marzo de 2027, 28 mars 2027."""
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return format_date(value, "long", locale=self.locale)

    def weekday(self, value: date) -> str:
        """A date with its weekday: Sunday, 28 March 2027."""
        return format_date(value, "full", locale=self.locale)

    def time(self, value: datetime) -> str:
        """The local time of day: 18:00."""
        return format_time(value, "short", tzinfo=self.zone, locale=self.locale)

    def when(self, value: datetime) -> str:
        """A short local date and time: 28 Mar, 10:15."""
        local = value.astimezone(self.zone)
        return (
            f"{format_skeleton('MMMd', local, locale=self.locale)}, {self.time(value)}"
        )
