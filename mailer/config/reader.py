"""Reading typed values out of raw TOML tables, collecting every problem by key path."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from mailer.config.settings import HostPort
from mailer.core.errors import ConfigProblem
from mailer.core.texts import Texts

_Choice = TypeVar("_Choice", bound=enum.StrEnum)


class FieldReader:
    """Pulls typed values out of nested TOML tables, collecting problems by key path."""

    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []

    def fail(self, key: str, message: str) -> None:
        self.problems.append(ConfigProblem(key, message))

    def table(
        self, raw: Mapping[str, Any], key: str, path: str
    ) -> Mapping[str, Any] | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(path, f"expected a table, got {kind_of(value)}")
            return None
        return value

    def unknown(self, raw: Mapping[str, Any], known: set[str], path: str) -> None:
        for key in raw:
            if key not in known:
                where = f"{path}.{key}" if path else key
                self.fail(where, "unknown key")

    def string(
        self, raw: Mapping[str, Any], key: str, path: str, default: str | None = None
    ) -> str:
        value = raw.get(key, default)
        if value is None:
            self.fail(f"{path}.{key}", "required")
            return ""
        if not isinstance(value, str):
            self.fail(f"{path}.{key}", f"expected a string, got {kind_of(value)}")
            return default or ""
        return value

    def choice(
        self,
        raw: Mapping[str, Any],
        key: str,
        path: str,
        options: tuple[str, ...],
        default: str,
    ) -> str:
        value = self.string(raw, key, path, default)
        if value not in options:
            self.fail(
                f"{path}.{key}", f"expected one of {', '.join(options)}, got {value!r}"
            )
            return default
        return value

    def member(
        self, raw: Mapping[str, Any], key: str, path: str, default: _Choice
    ) -> _Choice:
        """The word at *key* as a member of *default*'s enum; a problem when it is none."""
        kind = type(default)
        value = self.choice(raw, key, path, tuple(m.value for m in kind), default.value)
        return kind(value)

    def integer(
        self,
        raw: Mapping[str, Any],
        key: str,
        path: str,
        default: int | None = None,
        low: int | None = None,
        high: int | None = None,
    ) -> int:
        value = raw.get(key, default)
        where = f"{path}.{key}"
        if value is None:
            self.fail(where, "required")
            return 0
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)  # from the environment
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected an integer, got {kind_of(value)}")
            return default or 0
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(where, f"expected an integer from {low} to {high}, got {value}")
            return default or 0
        return value

    def number(
        self, raw: Mapping[str, Any], key: str, path: str, default: float
    ) -> float:
        value = raw.get(key, default)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.fail(f"{path}.{key}", f"expected a positive number, got {value!r}")
            return default
        return float(value)

    def boolean(
        self, raw: Mapping[str, Any], key: str, path: str, default: bool
    ) -> bool:
        value = raw.get(key, default)
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
        if not isinstance(value, bool):
            self.fail(f"{path}.{key}", f"expected true or false, got {value!r}")
            return default
        return value

    def host_port(
        self, raw: Mapping[str, Any], key: str, path: str, default: HostPort
    ) -> HostPort:
        value = raw.get(key)
        if value is None:
            return default
        where = f"{path}.{key}"
        if not isinstance(value, str):
            self.fail(where, f'expected "host:port", got {kind_of(value)}')
            return default
        host, sep, port = value.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            self.fail(
                where,
                f'expected "host:port" with a port from 1 to 65535, got {value!r}',
            )
            return default
        return HostPort(host, int(port))

    def when(self, raw: Mapping[str, Any], key: str, path: str) -> datetime:
        value = raw.get(key)
        where = f"{path}.{key}"
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                pass
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value
        if value is None:
            self.fail(where, "required")
        elif isinstance(value, datetime | date | time):
            self.fail(
                where,
                "not a date-time with a time zone (write e.g. 2027-03-27T09:00:00+01:00)",
            )
        else:
            self.fail(where, f"not a date-time with a time zone, got {kind_of(value)}")
        return datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))

    def texts(
        self,
        raw: Mapping[str, Any],
        key: str,
        path: str,
        languages: tuple[str, ...],
        required: bool,
    ) -> Texts:
        value = raw.get(key)
        where = f"{path}.{key}"
        if value is None:
            if required:
                self.fail(where, "required")
            return Texts({})
        if isinstance(value, str):
            value = {lang: value for lang in languages}
        if not isinstance(value, dict):
            self.fail(
                where, f"expected a table keyed by language, got {kind_of(value)}"
            )
            return Texts({})
        out: dict[str, str] = {}
        for lang, text in value.items():
            if lang not in languages:
                self.fail(
                    f"{where}.{lang}",
                    f"language not in this discussion's languages {list(languages)}",
                )
            elif not isinstance(text, str) or not text.strip():
                self.fail(f"{where}.{lang}", "expected a non-empty string")
            else:
                out[lang] = text.strip()
        for lang in languages:
            if lang not in out and not any(
                p.key == f"{where}.{lang}" for p in self.problems
            ):
                self.fail(
                    f"{where}.{lang}",
                    "missing: every participant-facing text needs every language",
                )
        return Texts(out)


def kind_of(value: object) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)
