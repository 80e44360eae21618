"""A digest composed to fit ``digest.max_bytes``: measure, let the core decide, check.

The digest is composed once per language and personalised per reader (see
:mod:`mailer.outbound.bulk`), so it is measured as the reader with the widest
personal part would get it: the longest deliverable address, a display name
that encodes to the most bytes, the largest subscription number in every
personal link. Every real reader's copy is then at most that size. When
``[dkim]`` is set, :data:`DKIM_ALLOWANCE` is kept free for the signature the
outbox worker adds at send time.

When the whole digest does not fit, each entry is measured alone, whole and
abridged, in the text and the HTML part (the entry macros of ``_digest.j2``,
the very pieces the digest templates write), and the message without its
entries is measured in each layout; :func:`mailer.core.digest_fit.fit_digest`
decides, and the result is composed and measured again. Should it still be
over (the note's words, a wrapped line), the budget given to the core shrinks
by the excess and it decides again, at most :data:`ROUNDS` times. Abridged
entries show two lines; when even that is too much for the day, one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailer.config.settings import DiscussionSettings, Settings
from mailer.core.digest import ABRIDGED_CHARS, DigestEntry, DigestPlan
from mailer.core.digest_fit import Layout, fit_digest
from mailer.outbound.bulk import SharedMail, normalise_text, personal_values
from mailer.outbound.compose import encoded_size
from mailer.outbound.dates import LocalDates
from mailer.outbound.mailing import Outgoing, templates_for
from store.outbox import OutboxRecipient

# RFC 5321 (4.5.3.1.3): a path holds at most 256 octets, brackets included.
WIDEST_READER = OutboxRecipient(
    subscription_id=10**12 - 1,
    email="x" * 64 + "@" + "d" * 63 + "." + "d" * 63 + "." + "d" * 61,
    # Four-byte characters: the most bytes per character in an encoded word.
    name="\U0001d504" * 80,
    language="",
    link_generation=10**6 - 1,
)
# A DKIM-Signature header with a 4096-bit RSA key and every header this
# service signs (mailer.outbound.dkim.SIGNED_HEADERS) is 1,291 bytes for
# discuss.example.org; a longer domain and selector add their length twice.
DKIM_ALLOWANCE = 1_500
_PLAIN_READER = OutboxRecipient(1, "a@b.example", "", "")
ROUNDS = 4


@dataclass(frozen=True)
class FittedDigest:
    """One language's digest as it will be queued, and what it weighs."""

    shared: SharedMail
    plan: DigestPlan
    size: int  # bytes of the widest reader's copy, before DKIM signing
    limit: int  # digest.max_bytes
    budget: int  # what the message itself may take: the limit less DKIM's share
    html: bool

    @property
    def fits(self) -> bool:
        """True when every reader's copy is within the limit."""
        return self.size <= self.budget

    @property
    def abridged(self) -> int:
        """How many entries show only their first lines."""
        return self.plan.abridged_count


def compose_digest(
    settings: Settings,
    key: bytes,
    discussion: DiscussionSettings,
    discussion_id: int | None,
    language: str,
    plan: DigestPlan,
    dates: LocalDates,
    context_for: Callable[[DigestPlan], Mapping[str, Any]],
    outgoing_for: Callable[[OutboxRecipient, str], Outgoing],
    now: datetime,
) -> FittedDigest:
    """The digest of *plan* for readers of *language*, within ``digest.max_bytes``.

    *context_for(plan)* is what the digest templates receive for a plan;
    *outgoing_for(recipient, language)* the copy for one reader (as queued).
    """
    limit = settings.digest.max_bytes
    budget = limit - (DKIM_ALLOWANCE if settings.dkim is not None else 0)
    values = personal_values(settings, key, WIDEST_READER, now)
    widest: list[int] = []  # bytes the widest reader's copy has over the plain one

    def compose(p: DigestPlan, html: bool) -> tuple[SharedMail, int]:
        shared = SharedMail(
            settings, discussion, "digest", language, context_for(p), html=html
        )

        def size(reader: OutboxRecipient, links: Mapping[str, str]) -> int:
            copy = outgoing_for(reader, shared.language)
            row = shared.row(settings, key, discussion, discussion_id, copy, links, now)
            return len(row.whole())

        plain = size(_PLAIN_READER, personal_values(settings, key, _PLAIN_READER, now))
        if not widest:  # folding the widest name is slow: once is enough
            widest.append(size(WIDEST_READER, values) - plain)
        return shared, plain + widest[0]

    shared, size = compose(plan, True)
    has_html = shared.has_html
    fitted = FittedDigest(shared, plan, size, limit, budget, has_html)
    if size <= budget or plan.empty:
        return fitted

    sizes = EntrySizes(discussion, shared.language, dates)
    variants = (True, False) if has_html else (False,)
    whole = {html: tuple(sizes.of(e, html) for e in plan.entries) for html in variants}
    all_whole = {has_html: size}
    for html in variants:
        if html not in all_whole:
            all_whole[html] = compose(plan, html)[1]
    for chars in ABRIDGED_CHARS:  # two lines each; one line if that does not fit
        short = plan.abridge([False] * plan.count, chars)
        layouts: list[tuple[bool, Layout]] = []
        for html in variants:
            abridged = tuple(sizes.of(e, html) for e in short.entries)
            # An override template that does not write its entries with the
            # entry macros makes these estimates wrong, never negative; the
            # composed result is what is checked.
            fixed = max(0, all_whole[html] - sum(whole[html]))
            least = fixed + sum(map(min, whole[html], abridged))
            note = 0  # unmeasured: this layout is over the budget without it
            if least <= budget:
                note = max(0, compose(short, html)[1] - sum(abridged) - fixed)
            layouts.append((html, Layout(fixed, note, whole[html], abridged)))
        target = budget
        for _ in range(ROUNDS):
            decision = fit_digest([lay for _, lay in layouts], target)
            if not decision.fits and chars != ABRIDGED_CHARS[-1]:
                break  # try shorter excerpts
            html = layouts[decision.layout][0]
            chosen = plan.abridge(decision.whole, chars)
            shared, size = compose(chosen, html)
            fitted = FittedDigest(shared, chosen, size, limit, budget, html)
            if size <= budget or not decision.fits:
                break
            target -= size - budget  # the estimate was short: ask for less
        if fitted.fits:
            break
    return fitted


class EntrySizes:
    """Bytes of one entry on the wire, in the text part and, if asked, the HTML part.

    Rendered by the entry macros the digest templates write their entries
    with, so that an entry costs alone what it adds to the whole digest.
    """

    def __init__(
        self, discussion: DiscussionSettings, language: str, dates: LocalDates
    ) -> None:
        templates = templates_for(discussion)
        self._text = templates.macros("_digest", language)
        self._html = templates.macros("_digest", language, html=True)
        self._dates = dates

    def of(self, entry: DigestEntry, html: bool) -> int:
        text = encoded_size(
            normalise_text(str(self._text.entry_text(entry, self._dates)))
        )
        if html:
            text += encoded_size(str(self._html.entry_html(entry, self._dates)))
        return text
