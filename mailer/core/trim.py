"""The new text of a reply: quoted history and signature trimmed away."""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^(On .+wrote:|-----\s*Original Message\s*-----|From: .+)$", re.IGNORECASE
)


def trim_reply(text: str) -> str:
    """Only the words the sender wrote now: no quoted history, no signature."""
    kept: list[str] = []
    for line in text.splitlines():
        if _ATTRIBUTION.match(line.strip()) or line.rstrip() == "--":
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


_LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)


def count_links(text: str) -> int:
    """How many web links *text* holds, for the moderation limits."""
    return len(_LINK.findall(text))
