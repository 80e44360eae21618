"""Fitting a digest into a mailbox: which entries stay whole, and in which layout.

Gmail shows a message of more than about 102 KB only in part, so a digest
stays under ``digest.max_bytes``. The adapter measures, in bytes as they go
on the wire (UTF-8, quoted-printable, headers and MIME parts included), what
each layout of the message costs (text and HTML, or text alone): everything
but the entries, what the "some are abridged" note adds, and each entry whole
and abridged. :func:`fit_digest` decides, in the reader's order:

1. the first layout in which the whole digest fits: every entry whole;
2. else, in each layout where the digest fits with every entry abridged,
   each entry in order is whole while the rest still fit abridged (the
   others keep their title, first lines, reply address and link); the
   layout that keeps the most entries whole wins, the first on a tie.
   Contributions come before presentation: a day too large for text and
   HTML goes as text alone before a single entry is abridged;
3. else nothing fits: the last layout, every entry abridged, marked as
   over the budget (the adapter sends it and says so).

Pure: sizes in, a :class:`DigestFit` out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """One way to send a digest, as measured: bytes of the whole message.

    *fixed* is the message with its entries left out and none abridged
    (headers, MIME structure, the digest's header and footer, the widest
    reader's personal lines); *note* is what it grows by when any entry is
    abridged; *whole* and *abridged* are each entry's bytes in either form,
    summed over the layout's parts.
    """

    fixed: int
    note: int
    whole: tuple[int, ...]
    abridged: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.whole) != len(self.abridged):
            raise ValueError("whole and abridged sizes differ in number")
        if min((self.fixed, self.note, *self.whole, *self.abridged), default=0) < 0:
            raise ValueError("a size is negative")

    @property
    def all_whole(self) -> int:
        """Bytes of the message with every entry whole."""
        return self.fixed + sum(self.whole)


@dataclass(frozen=True)
class DigestFit:
    """The decision: the layout (an index), each entry whole or not, the bytes planned."""

    layout: int
    whole: tuple[bool, ...]
    size: int
    fits: bool

    @property
    def abridged(self) -> int:
        """How many entries are abridged."""
        return self.whole.count(False)


def _fill(layout: Layout, budget: int) -> tuple[tuple[bool, ...], int] | None:
    """Entries whole, in order, while the rest still fit abridged; None if even
    every entry abridged is over *budget*.

    An entry whose abridged form is no smaller than its whole (a short post)
    is always whole. The note is counted only when some entry is abridged.
    """
    if layout.all_whole <= budget:
        return (True,) * len(layout.whole), layout.all_whole
    least = [min(w, a) for w, a in zip(layout.whole, layout.abridged, strict=True)]
    size = layout.fixed + layout.note + sum(least)
    if size > budget:
        return None
    flags: list[bool] = []
    for whole, small in zip(layout.whole, least, strict=True):
        extra = whole - small
        if extra <= budget - size:
            flags.append(True)
            size += extra
        else:
            flags.append(False)
    return tuple(flags), size


def fit_digest(layouts: Sequence[Layout], budget: int) -> DigestFit:
    """Choose the layout and the whole entries so the digest is at most *budget* bytes.

    *layouts* come in order of preference (text and HTML before text alone)
    and have the same entries.
    """
    if not layouts:
        raise ValueError("no layout to fit")
    if len({len(lay.whole) for lay in layouts}) != 1:
        raise ValueError("layouts with different entries")
    for i, layout in enumerate(layouts):
        if layout.all_whole <= budget:
            return DigestFit(i, (True,) * len(layout.whole), layout.all_whole, True)
    best: DigestFit | None = None
    for i, layout in enumerate(layouts):
        filled = _fill(layout, budget)
        if filled is not None and (
            best is None or filled[0].count(True) > best.whole.count(True)
        ):
            best = DigestFit(i, filled[0], filled[1], True)
    if best is not None:
        return best
    last = layouts[-1]
    n = len(last.whole)
    return DigestFit(
        len(layouts) - 1,
        (False,) * n,
        last.fixed + last.note + sum(last.abridged),
        False,
    )
