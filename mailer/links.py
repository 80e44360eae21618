"""Addresses and links that point back into the service, signed where they must be.

The web routes and the mail templates agree through these functions only:

=====================================  ===========================================
``/``                                  the discussions (or the only one)
``/d/<slug>?lang=xx``                  the discussion page
``/d/<slug>/q/<n>``                    a question and its threaded contributions
``/d/<slug>/posts/<id>``               one post (redirects to its place in the thread)
``/d/<slug>/signup``                   the sign-up form (POST)
``/d/<slug>/feed.atom``                Atom feed of approved posts
``/d/<slug>/export.json|.mbox``        exports of approved posts
``/confirm/<token>``                   confirm a subscription (GET shows, POST does)
``/unsubscribe/<token>``               GET: one button; POST: RFC 8058 one-click
``/manage/<token>``                    GET: a subscription's settings; POST: change
=====================================  ===========================================

Unsubscribe and manage links name one subscription, the day they were made
and the subscription's *link generation* (``subscriptions.link_generation``,
moved on each time a subscription starts or ends): a link works for
``subscribers.link_ttl_days`` after its day, and never again once the
subscription it was made for has ended, even when the same address subscribes
anew. Each purpose is signed apart, so one kind is never taken for another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import quote

from mailer.core.addresses import AddressBook
from mailer.core.errors import BadToken
from mailer.core.redact import OwnService, own_service
from mailer.core.tokens import SignedFor, sign_token, verify_token


def own_links(domain: str, base_url: str) -> OwnService:
    """What marks the service's own links and addresses in the text it publishes.

    Every capability above (unsubscribe and confirmation links, reply, bounce,
    confirmation and held-post addresses) is built on these; see
    :func:`mailer.core.redact.redact_personal`.
    """
    return own_service((domain,), (base_url,))


def question_message_id(domain: str, slug: str, number: int) -> str:
    """The Message-ID that stands for question *number* as a thread root.

    Announcements carry it in References, so a reply to an announcement (whose
    client copies References) threads under that question.
    """
    return f"<q{number}.{slug}@{domain}>"


def discussion_url(base_url: str, slug: str, language: str | None = None) -> str:
    """The discussion page, optionally in *language*."""
    tail = f"?lang={quote(language)}" if language else ""
    return f"{base_url}/d/{quote(slug)}{tail}"


def question_url(base_url: str, slug: str, number: int) -> str:
    """A question's page."""
    return f"{base_url}/d/{quote(slug)}/q/{number}"


def post_url(base_url: str, slug: str, post_id: int) -> str:
    """A post's permanent link."""
    return f"{base_url}/d/{quote(slug)}/posts/{post_id}"


def confirm_url(base_url: str, token: str) -> str:
    """Where a subscriber confirms by web (the token is a random one-time token)."""
    return f"{base_url}/confirm/{quote(token)}"


_EPOCH = date(1970, 1, 1)


def link_day(when: datetime) -> int:
    """The UTC day of *when*, counted from 1970-01-01: what a link's age is measured in."""
    moment = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return (moment.date() - _EPOCH).days


@dataclass(frozen=True)
class SubscriptionLink:
    """What a signed unsubscribe or manage token names."""

    subscription_id: int
    generation: int
    day: int  # see link_day

    def alive(self, generation: int, now: datetime, ttl_days: int) -> bool:
        """Whether the link still acts: same subscription run, and not too old."""
        age = link_day(now) - self.day
        return self.generation == generation and -1 <= age <= ttl_days


def subscription_token(
    key: bytes,
    purpose: SignedFor,
    subscription_id: int,
    generation: int,
    now: datetime,
) -> str:
    """A token for *purpose* naming one run of one subscription, made today.

    The three numbers are written in base 36 (``2n9c-1-g4p``): the token stays
    short enough for a List-Unsubscribe header line.
    """
    parts = (subscription_id, generation, link_day(now))
    return sign_token(key, purpose, "-".join(_base36(n) for n in parts))


def read_subscription_token(
    key: bytes, purpose: SignedFor, token: str
) -> SubscriptionLink:
    """What a :func:`subscription_token` names (raises BadToken); not yet whether it is alive."""
    value = verify_token(key, purpose, token)
    parts = value.split("-")
    if len(parts) != 3 or not all(p.isalnum() and len(p) <= 12 for p in parts):
        raise BadToken(token, "not a subscription link")
    return SubscriptionLink(int(parts[0], 36), int(parts[1], 36), int(parts[2], 36))


def _base36(number: int) -> str:
    if number < 0:
        raise ValueError("a link names no negative number")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def unsubscribe_token(
    key: bytes, subscription_id: int, generation: int, now: datetime
) -> str:
    """A signed token naming one subscription, for one-click unsubscribe."""
    return subscription_token(
        key, SignedFor.UNSUBSCRIBE, subscription_id, generation, now
    )


def unsubscribe_url(
    base_url: str, key: bytes, subscription_id: int, generation: int, now: datetime
) -> str:
    """The one-click unsubscribe link of one subscription (RFC 8058)."""
    token = unsubscribe_token(key, subscription_id, generation, now)
    return f"{base_url}/unsubscribe/{token}"


def manage_url(
    base_url: str, key: bytes, subscription_id: int, generation: int, now: datetime
) -> str:
    """The page where a subscriber changes delivery and language, or leaves."""
    token = subscription_token(key, SignedFor.MANAGE, subscription_id, generation, now)
    return f"{base_url}/manage/{token}"


def subscription_from_unsubscribe_token(key: bytes, token: str) -> int:
    """The subscription id inside an unsubscribe token (raises BadToken).

    Only the signature is checked: a complaint about an old mail still names
    its reader. Pages check :meth:`SubscriptionLink.alive` too.
    """
    return read_subscription_token(key, SignedFor.UNSUBSCRIBE, token).subscription_id


def reply_address(book: AddressBook, key: bytes, post_id: int) -> str:
    """The address whose mail is threaded as a reply to post *post_id*."""
    return book.reply(sign_token(key, SignedFor.REPLY, str(post_id)))


def post_from_reply_token(key: bytes, token: str) -> int:
    """The post id inside a reply token (raises BadToken)."""
    return int(verify_token(key, SignedFor.REPLY, token))


def held_post_address(book: AddressBook, key: bytes, post_id: int) -> str:
    """The moderators' address bound to one held post (approve/reject by replying)."""
    return book.moderators(sign_token(key, SignedFor.HELD_POST, f"p{post_id}"))


def post_from_held_token(key: bytes, token: str) -> int:
    """The post id inside a held-post token (raises BadToken)."""
    value = verify_token(key, SignedFor.HELD_POST, token)
    if not value.startswith("p") or not value[1:].isdigit():
        raise ValueError("not a held-post token")
    return int(value[1:])


def verp_address(
    book: AddressBook, key: bytes, recipient: str, subscription_id: int | None
) -> str:
    """The envelope sender for one message: bounces to it name the recipient.

    With a subscription the token carries its id (``s<id>``); otherwise a short
    hash of the address, so a bounce can still be logged.
    """
    if subscription_id is not None:
        value = f"s{subscription_id}"
    else:
        value = "x" + hashlib.sha256(recipient.lower().encode()).hexdigest()[:16]
    return book.bounces(sign_token(key, SignedFor.BOUNCE, value))


def verp_value(key: bytes, token: str) -> str:
    """What a bounce token names: ``s<subscription id>`` or ``x<hash>`` (raises BadToken)."""
    return verify_token(key, SignedFor.BOUNCE, token)
