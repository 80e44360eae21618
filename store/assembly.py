"""A message put together from its personal bytes and a shared body (see :mod:`store.bodies`).

Pure values and functions: :class:`~store.models.OutboxMessage` assembles itself
with them, and :mod:`store.bodies` stores and finds the shared bodies.

    raw[:a0] + segment0 + raw[a0:a1] + segment1 + ... + raw[an:]
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from store.errors import MissingRow


@dataclass(frozen=True)
class SharedBody:
    """The shared segments of one body, in the order they go into a message."""

    segments: tuple[bytes, ...]

    @cached_property
    def content(self) -> bytes:
        """The segments one after another, as stored."""
        return b"".join(self.segments)

    @cached_property
    def cuts(self) -> str:
        """Where in :attr:`content` each segment but the first starts: ``"812,4096"``."""
        at, out = 0, []
        for segment in self.segments[:-1]:
            at += len(segment)
            out.append(str(at))
        return ",".join(out)

    @cached_property
    def digest(self) -> str:
        """SHA-256 (hex) of the cuts and the content: the body's key."""
        h = hashlib.sha256(self.cuts.encode("ascii") + b"\n")
        h.update(self.content)
        return h.hexdigest()

    @classmethod
    def from_stored(cls, content: bytes, cuts: str) -> SharedBody:
        """The body as :func:`ensure_bodies` stored it."""
        starts = [0, *(int(c) for c in cuts.split(",") if c)]
        ends = [*starts[1:], len(content)]
        return cls(tuple(content[a:b] for a, b in zip(starts, ends, strict=True)))


def format_offsets(offsets: Sequence[int]) -> str:
    """Offsets as stored in ``outbox.body_at``."""
    return ",".join(str(n) for n in offsets)


def parse_offsets(text: str | None) -> tuple[int, ...]:
    """The offsets of ``outbox.body_at`` (none for a whole message)."""
    return tuple(int(n) for n in text.split(",") if n) if text else ()


def assemble(raw: bytes, body_at: Sequence[int], body: SharedBody | None) -> bytes:
    """The whole message: *body*'s segments put into *raw* at *body_at*.

    Without a body, *raw* is the whole message already. LookupError when the
    row was made with a body that has since been pruned (:class:`MissingRow`).
    """
    if body is None:
        if body_at:
            raise MissingRow("the shared body of this message has been pruned")
        return raw
    if len(body_at) != len(body.segments):
        raise ValueError(
            f"{len(body_at)} places for {len(body.segments)} shared segments"
        )
    parts: list[bytes] = []
    start = 0
    for at, segment in zip(body_at, body.segments, strict=True):
        parts.append(raw[start:at])
        parts.append(segment)
        start = at
    parts.append(raw[start:])
    return b"".join(parts)
