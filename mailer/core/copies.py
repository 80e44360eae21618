"""Quoted copies of the service's own mail inside a post: found, to be named, not replayed.

A reply quotes the copy it answers: a post as the discussion sent it, a digest,
an announcement. Shown again in the archive that copy only repeats what is
already there (and once carried its reader's personal links). It is found by
what every mail of the service ends with: a footer with a link to the archive
or an address of the service, and the reader's own unsubscribe line (a link to
``/unsubscribe`` or, after redaction, the neutral mark). Two quoting styles:

* ``>`` quoting: a run of quoted lines, with the attribution line above it
  (``On ..., Ana Ruiz via Skills <skills-covid19@...> wrote:``);
* Outlook's header block (``From: Ana Ruiz via Skills <skills-covid19@...>``,
  ``De :``, ``Von:``...) naming a service address, and everything under it.

What a copy is comes from its links: one post page (a post's copy, and its
id), several (a digest), none (another message of the discussion).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from mailer.core.redact import MARKS, OwnService

_QUOTED = re.compile(r"^[ \t]{0,3}>")
_HEADER_FROM = re.compile(
    r"^\s*\*?(?:From|De|Von|Da|Van)\s?:\*?\s+(.{1,300})$", re.IGNORECASE
)
_ATTRIBUTION_END = re.compile(r":\s*$")
# How an attribution starts; one that does not was wrapped (Gmail wraps at 78).
_ATTRIBUTION_LEAD = re.compile(
    r"^\s*(?:On|El|Le|Em|Am|Op|Il|From|De|Von)\b|^\s*\d{1,4}[./-]\d", re.IGNORECASE
)
_MAX_ATTRIBUTION_LINES = 3
# "Ana Ruiz via Skills" (en), "Ana Ruiz vía Skills" (es), as mailer.publish names copies.
_VIA = re.compile(
    r"""(?:^|[,;]|\bwrote\b|\bescribi[óo]\b|[ée]crit\b)?\s*"?([^,;:<>"]{1,120}?)\s+v[ií]a\s""",
    re.IGNORECASE,
)
_POST_PAGE = r"/d/[a-z0-9-]{1,40}/posts/([0-9]{1,12})"


class CopyKind(enum.Enum):
    """What the quoted copy was."""

    POST = "post"
    DIGEST = "digest"
    MESSAGE = "message"  # an announcement, a welcome, any other mail of the discussion


@dataclass(frozen=True)
class QuotedCopy:
    """Lines ``start`` to ``end`` (exclusive) of a text are a copy of the service's mail."""

    start: int
    end: int
    kind: CopyKind
    post_id: int | None = None
    author: str = ""


def _footer(block: str, service: OwnService, marks: Iterable[str]) -> bool:
    lower = block.lower()
    ours = any(h + "/" in lower for h in service.hosts) or any(
        "@" + d in lower for d in service.domains
    )
    personal = any(m.lower() in lower for m in marks) or any(
        h + "/unsubscribe" in lower for h in service.hosts
    )
    return ours and personal


def _kind(block: str, service: OwnService) -> tuple[CopyKind, int | None]:
    ids: set[int] = set()
    lower = block.lower()
    for host in service.hosts:
        ids.update(int(n) for n in re.findall(re.escape(host) + _POST_PAGE, lower))
    if len(ids) == 1:
        return CopyKind.POST, ids.pop()
    if ids:
        return CopyKind.DIGEST, None
    return CopyKind.MESSAGE, None


def _author(line: str) -> str:
    m = _VIA.search(line)
    if m is None:
        return ""
    name = m.group(1).strip(" \t'\"*")
    # "On Mon, 29 Mar 2027 at 10:00, Ana Ruiz via": the name follows the last comma.
    return name.rsplit(",", 1)[-1].strip()


def _attribution_start(lines: list[str], last: int, floor: int) -> int:
    """The first line of an attribution ending on line *last* (wrapped or not)."""
    first = last
    while (
        last - first < _MAX_ATTRIBUTION_LINES - 1
        and not _ATTRIBUTION_LEAD.match(lines[first])
        and first - 1 >= floor
        and lines[first - 1].strip()
        and not _QUOTED.match(lines[first - 1])
        and len(lines[first - 1]) <= 200
    ):
        first -= 1
    return first


def find_quoted_copies(
    text: str, service: OwnService, marks: Iterable[str] = MARKS.values()
) -> list[QuotedCopy]:
    """The quoted copies of the service's own mail in *text*, in order, not overlapping."""
    marks = tuple(marks)
    lines = text.split("\n")
    found: list[QuotedCopy] = []
    i = 0
    while i < len(lines):
        header = _HEADER_FROM.match(lines[i])
        if header and any("@" + d in header.group(1).lower() for d in service.domains):
            block = "\n".join(lines[i:])
            if _footer(block, service, marks):
                kind, post_id = _kind(block, service)
                found.append(
                    QuotedCopy(i, len(lines), kind, post_id, _author(header.group(1)))
                )
                break
        if not _QUOTED.match(lines[i]):
            i += 1
            continue
        end = i
        while end < len(lines) and _QUOTED.match(lines[end]):
            end += 1
        block = "\n".join(lines[i:end])
        if _footer(block, service, marks):
            start, author = i, ""
            above = i - 1
            while above >= 0 and not lines[above].strip():
                above -= 1
            floor = found[-1].end if found else 0
            if (
                above >= floor
                and _ATTRIBUTION_END.search(lines[above])
                and len(lines[above]) <= 400
            ):
                start = _attribution_start(lines, above, floor)
                author = _author(" ".join(lines[start : above + 1]))
            kind, post_id = _kind(block, service)
            found.append(QuotedCopy(start, end, kind, post_id, author))
        i = end
    return found
