"""The service's own addresses: what each recipient means, and how to build them.

For a discussion ``slug`` at ``domain`` (see DESIGN.md):

=============================  ===========================================
``slug@``                      the discussion itself (a post; threads by headers)
``slug+q<n>@``                 a contribution to question *n*
``slug+r-<token>@``            a reply to one post (signed token)
``slug-request@``              subscriber commands
``slug-moderators[+token]@``   moderator commands (token: one held post)
``slug-bounces+<token>@``      VERP return path
``slug-confirm+<token>@``      confirmations
``postmaster@``                RFC 5321 section 4.5.1 requires it
=============================  ===========================================

Anything else, including every routing trick (``%``, ``!``, source routes,
quoted local parts), is not ours: the caller refuses it with 550 5.1.1.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mailer.core.errors import UnknownRecipient


class AddressKind(enum.Enum):
    """What a message sent to one of the service's addresses is for."""

    DISCUSSION = "discussion"
    QUESTION = "question"
    REPLY = "reply"
    REQUEST = "request"
    MODERATORS = "moderators"
    BOUNCES = "bounces"
    CONFIRM = "confirm"
    POSTMASTER = "postmaster"


@dataclass(frozen=True)
class Recipient:
    """A recipient address resolved to a discussion and a purpose."""

    kind: AddressKind
    slug: str  # empty for POSTMASTER
    detail: str = ""  # question number, token, or "" when none

    @property
    def question_number(self) -> int:
        """The question number of a QUESTION address."""
        if self.kind is not AddressKind.QUESTION:
            raise ValueError("not a question address")
        return int(self.detail)


SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_SUFFIXES = {
    "-request": AddressKind.REQUEST,
    "-moderators": AddressKind.MODERATORS,
    "-bounces": AddressKind.BOUNCES,
    "-confirm": AddressKind.CONFIRM,
}
# What a local part may look like at all: dot-atom text without the characters
# that old MTAs treat as routing (% ! @ :) or that need quoting.
_LOCAL = re.compile(r"^[a-z0-9][a-z0-9.+_-]{0,127}$")
_DETAIL = re.compile(r"^[a-z0-9][a-z0-9.-]{0,127}$")
_QUESTION = re.compile(r"^q([1-9][0-9]{0,3})$")


def reserved_local_parts(slug: str) -> list[str]:
    """Every local part a discussion claims (without ``+detail``)."""
    return [slug] + [slug + suffix for suffix in _SUFFIXES]


def parse_recipient(address: str, domain: str, slugs: Iterable[str]) -> Recipient:
    """Resolve an envelope recipient, or raise :class:`UnknownRecipient`.

    *address* is the bare addr-spec the SMTP server parsed out of ``RCPT TO``.
    Matching is case-insensitive (RFC 5321 allows a server to fold case of its
    own local parts, and many clients do).
    """
    known = set(slugs)
    text = address.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if text.count("@") != 1:
        raise UnknownRecipient(address, "not a plain local@domain address")
    local, _, dom = text.rpartition("@")
    if dom.lower().rstrip(".") != domain.lower():
        raise UnknownRecipient(address, "relay not permitted")
    local = local.lower()
    if local == "postmaster":
        return Recipient(AddressKind.POSTMASTER, "")
    if not _LOCAL.match(local) or ".." in local or local.endswith("."):
        raise UnknownRecipient(address)
    base, plus, detail = local.partition("+")
    if plus and not _DETAIL.match(detail):
        raise UnknownRecipient(address)
    if base in known:
        if not plus:
            return Recipient(AddressKind.DISCUSSION, base)
        q = _QUESTION.match(detail)
        if q:
            return Recipient(AddressKind.QUESTION, base, q.group(1))
        if detail.startswith("r-") and len(detail) > 2:
            return Recipient(AddressKind.REPLY, base, detail[2:])
        raise UnknownRecipient(address)
    for suffix, kind in _SUFFIXES.items():
        if base.endswith(suffix) and base[: -len(suffix)] in known:
            slug = base[: -len(suffix)]
            if kind is AddressKind.CONFIRM and not plus:
                raise UnknownRecipient(address, "confirmation address without a token")
            if kind is AddressKind.REQUEST and plus:
                raise UnknownRecipient(address)
            return Recipient(kind, slug, detail)
    raise UnknownRecipient(address)


@dataclass(frozen=True)
class Mailboxes:
    """The addresses that exist: the service's domain and each discussion's questions.

    Built once from the configured discussions; the SMTP/LMTP listener at RCPT
    and the Postfix lookup ask the same :func:`accept_recipient`.
    """

    domain: str
    questions: Mapping[str, frozenset[int]]  # slug -> configured question numbers

    @classmethod
    def of(
        cls, domain: str, discussions: Iterable[tuple[str, Iterable[int]]]
    ) -> Mailboxes:
        """From (slug, question numbers) pairs."""
        return cls(domain, {slug: frozenset(numbers) for slug, numbers in discussions})

    @property
    def slugs(self) -> tuple[str, ...]:
        """Every discussion's slug."""
        return tuple(self.questions)


def accept_recipient(address: str, mailboxes: Mailboxes) -> Recipient:
    """The recipient *address* means, or :class:`UnknownRecipient` when it does not exist.

    :func:`parse_recipient` plus one rule: a question address must name a
    question the discussion has (released or not). ``+q999`` would otherwise be
    accepted and answered with a notice, backscatter to a forged sender.
    """
    rcpt = parse_recipient(address, mailboxes.domain, mailboxes.questions)
    if (
        rcpt.kind is AddressKind.QUESTION
        and rcpt.question_number not in mailboxes.questions[rcpt.slug]
    ):
        raise UnknownRecipient(address, f"no question {rcpt.detail}")
    return rcpt


@dataclass(frozen=True)
class AddressBook:
    """Builds the addresses of one discussion at one domain."""

    slug: str
    domain: str

    def discussion(self) -> str:
        """The discussion's own address, used as From on copies of posts."""
        return f"{self.slug}@{self.domain}"

    def question(self, number: int) -> str:
        """The address that collects contributions to question *number*."""
        return f"{self.slug}+q{number}@{self.domain}"

    def reply(self, token: str) -> str:
        """The address that threads a reply under one post."""
        return f"{self.slug}+r-{token}@{self.domain}"

    def request(self) -> str:
        """Subscriber commands."""
        return f"{self.slug}-request@{self.domain}"

    def moderators(self, token: str = "") -> str:
        """Moderator commands, optionally bound to one held post."""
        tail = f"+{token}" if token else ""
        return f"{self.slug}-moderators{tail}@{self.domain}"

    def bounces(self, token: str = "") -> str:
        """The VERP envelope sender for one outgoing message."""
        tail = f"+{token}" if token else ""
        return f"{self.slug}-bounces{tail}@{self.domain}"

    def confirm(self, token: str) -> str:
        """Where a confirmation reply goes."""
        return f"{self.slug}-confirm+{token}@{self.domain}"
