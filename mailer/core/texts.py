"""Participant-facing text in several languages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Texts:
    """One text per language code; ``in_language`` falls back sensibly."""

    values: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    def in_language(self, language: str, fallback: str = "en") -> str:
        """The text in *language*, else in *fallback*, else any, else ''."""
        if language in self.values:
            return self.values[language]
        if fallback in self.values:
            return self.values[fallback]
        return next(iter(self.values.values()), "")

    def __reduce__(self) -> tuple[type[Texts], tuple[dict[str, str]]]:
        # A mapping proxy does not pickle; settings are handed to worker processes.
        return (Texts, (dict(self.values),))

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.values.items())))
