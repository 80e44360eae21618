"""The standard library's modern email policy, with its header objects built once.

``policy.default`` makes a new header class on every header access and parses
the value again each time: the parser alone asks for a part's Content-Type
several times, and every message repeats the same few values. This policy
keeps the same header classes and parsing, and remembers the header objects
of short values (they are immutable ``str`` subclasses), a bounded number of
them, so parsing a typical reply costs a fraction of what it did.
"""

from __future__ import annotations

import functools
from email import policy
from email.headerregistry import (
    AddressHeader,
    BaseHeader,
    HeaderRegistry,
    UnstructuredHeader,
)

_MEMO_VALUE_CHARS = 300  # longer values (References, Received) are parsed each time
_MEMO_SIZE = 1024
# The modern parser is superlinear on long structured values (thousands of
# parameters, RFC 2231 continuations, addresses or nested comments): a few
# hundred kilobytes cost minutes. Structured values are read only this far;
# honest ones are far shorter, and parse.py holds a message whose are not.
MAX_STRUCTURED_CHARS = {"address": 8192, "other": 2048}
_MEMO_LONG_SIZE = 64  # values up to the bound are remembered too, fewer of them


class _Headers(HeaderRegistry):
    """A header factory that makes each header class once and memoises parsed values."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[type, type[BaseHeader]] = {}
        self._memo = functools.lru_cache(maxsize=_MEMO_SIZE)(self._make)
        self._memo_long = functools.lru_cache(maxsize=_MEMO_LONG_SIZE)(self._make)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        # One class per specialised kind, not per name: a message with a
        # thousand made-up header names adds nothing here.
        kind = self.registry.get(name.lower(), self.default_class)
        made = self._classes.get(kind)
        if made is None:
            made = self._classes[kind] = super().__getitem__(name)
        return made

    def _make(self, name: str, value: str) -> BaseHeader:
        return self[name](name, value)

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(name) > 100:
            return self._make(name, value)
        if len(value) <= _MEMO_VALUE_CHARS:
            return self._memo(name, value)
        kind = self.registry.get(name.lower(), self.default_class)
        if issubclass(kind, UnstructuredHeader):
            return self._make(name, value)  # linear to parse (Subject, Received)
        bound = MAX_STRUCTURED_CHARS[
            "address" if issubclass(kind, AddressHeader) else "other"
        ]
        return self._memo_long(name, value[:bound])


PARSE_POLICY = policy.default.clone(header_factory=_Headers())
"""``policy.default`` with memoised header objects: what received mail is parsed with."""
