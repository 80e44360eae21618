"""One body for many recipients: render and encode once per language, personalise lines.

A digest to ten thousand subscribers would otherwise render its template and
quoted-printable-encode a large body ten thousand times. :class:`SharedMail`
renders the template once with a marker in place of each personal value (the
unsubscribe link), encodes every line without a marker once, and per recipient
only builds the headers (through :func:`build_row`, exactly as
:func:`queue_mail` does) and encodes the few lines that carry a marker.

Quoted-printable encodes line by line, so the encoded lines put together are
byte for byte the body :func:`compose` would have made from the whole text;
a test compares the two. The MIME boundary cannot occur in a quoted-printable
body (every ``=`` in the text is written ``=3D``), so splicing is safe.

Templates keep each personal value on a line of its own, not inside a
paragraph that is re-wrapped: a line is personalised as a whole.

The encoded shared runs are stored once, as one
:class:`~store.bodies.SharedBody` per language; each recipient's outbox row
keeps only its personal bytes (headers, personal lines, MIME boundaries) and
where the shared runs go in between. The worker puts them together at send
time: the same bytes as the whole message spliced here would have been.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from email import quoprimime
from typing import Any

from markupsafe import escape
from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings, Settings
from mailer.links import manage_url, unsubscribe_url
from mailer.outbound.compose import SMTP_POLICY
from mailer.outbound.mailing import (
    Outgoing,
    base_context,
    build_row,
    templates_for,
)
from mailer.outbound.templates import RenderedMail
from store.assembly import SharedBody
from store.models import DeliveryMode
from store.outbox import OutboxRecipient, OutgoingRow, enqueue, iter_recipients

_MAX_LINE = SMTP_POLICY.max_line_length or 78
PERSONAL = ("unsubscribe_url", "manage_url")  # what personal_values gives
BATCH_ROWS = 500
BATCH_BYTES = 16 * 1024 * 1024


def _marker(name: str, nonce: str) -> str:
    """A placeholder no text can hold: *nonce* is new for each rendering, so a
    post quoting a placeholder seen elsewhere is printed as it was written."""
    return f"QQ0{name.upper()}0{nonce}0QQ"


def _qp(lines: Sequence[bytes]) -> bytes:
    """Quoted-printable of whole lines, CRLF line ends, as compose writes them."""
    if not lines:
        return b""
    body = (b"\n".join(lines) + b"\n").decode("latin-1")
    return quoprimime.body_encode(body, _MAX_LINE).replace("\n", "\r\n").encode("ascii")


def normalise_text(text: str) -> str:
    """The tidying compose applies to a text part: no trailing spaces, one final newline."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).rstrip("\n") + "\n"


@dataclasses.dataclass(frozen=True)
class _Body:
    """A body as encoded shared runs and personal lines still to fill in."""

    chunks: tuple[bytes | str, ...]  # bytes: encoded; str: a line with markers
    html: bool

    @classmethod
    def split(cls, text: str, markers: Sequence[str], html: bool) -> _Body:
        chunks: list[bytes | str] = []
        run: list[bytes] = []
        for line in text.encode("utf-8").splitlines():
            decoded = line.decode("utf-8")
            if any(m in decoded for m in markers):
                if run:
                    chunks.append(_qp(run))
                    run = []
                chunks.append(decoded)
            else:
                run.append(line)
        if run:
            chunks.append(_qp(run))
        return cls(tuple(chunks), html)

    @property
    def shared(self) -> list[bytes]:
        """The encoded runs every recipient gets, in order."""
        return [c for c in self.chunks if isinstance(c, bytes)]

    def parts(self, values: Mapping[str, str]) -> list[bytes | None]:
        """The encoded body for one recipient: personal lines, None for a shared run."""
        out: list[bytes | None] = []
        for chunk in self.chunks:
            if isinstance(chunk, bytes):
                out.append(None)
                continue
            line = chunk
            for marker, value in values.items():
                line = line.replace(marker, str(escape(value)) if self.html else value)
            if not self.html:
                line = line.rstrip()
            out.append(_qp([line.encode("utf-8")]))
        return out


class SharedMail:
    """A templated mail rendered once for everyone who reads it in one language."""

    def __init__(
        self,
        settings: Settings,
        discussion: DiscussionSettings,
        template: str,
        language: str,
        context: Mapping[str, Any],
        personal: Sequence[str] = PERSONAL,
        html: bool = True,
    ) -> None:
        self.personal = tuple(personal)
        nonce = secrets.token_hex(8).upper()
        self._markers = {name: _marker(name, nonce) for name in self.personal}
        self._text_slot = _marker("shared_text", nonce)
        self._html_slot = _marker("shared_html", nonce)
        full = {
            **base_context(settings, discussion, language),
            **context,
            **self._markers,
        }
        rendered = templates_for(discussion).render(
            template,
            language,
            full,
            fallbacks=(discussion.default_language, "en"),
            html=html,
        )
        markers = list(self._markers.values())
        if any(m in rendered.subject for m in markers):
            raise ValueError(
                f"template {template!r} puts a personal value in the subject"
            )
        self.language = rendered.language
        self.subject = rendered.subject
        self.has_html = rendered.html is not None
        self._text = _Body.split(normalise_text(rendered.text), markers, html=False)
        self._html = (
            _Body.split(rendered.html, markers, html=True)
            if rendered.html is not None
            else None
        )
        self._skeleton = RenderedMail(
            rendered.subject,
            self._text_slot,
            self._html_slot if rendered.html is not None else None,
            rendered.language,
        )
        shared = self._text.shared
        if self._html is not None:
            shared += self._html.shared
        self.body = SharedBody(tuple(shared))

    def row(
        self,
        settings: Settings,
        key: bytes,
        discussion: DiscussionSettings,
        discussion_id: int | None,
        out: Outgoing,
        values: Mapping[str, str],
        now: datetime,
    ) -> OutgoingRow:
        """The outbox row for one recipient: *values* fill the personal lines.

        The row refers to :attr:`body` and holds the rest: its ``whole()`` is
        the composed message with each slot replaced by the encoded body.
        """
        missing = set(self.personal) - set(values)
        if missing:
            raise ValueError(f"personal values missing: {', '.join(sorted(missing))}")
        filled = {self._markers[k]: v for k, v in values.items() if k in self._markers}
        row = build_row(
            settings, key, discussion, discussion_id, out, now, self._skeleton
        )
        head, rest = _cut(row.raw, self._text_slot)
        parts = [head, *self._text.parts(filled)]
        if self._html is not None:
            between, rest = _cut(rest, self._html_slot)
            parts += [between, *self._html.parts(filled)]
        parts.append(rest)
        personal = bytearray()
        body_at: list[int] = []
        for part in parts:
            if part is None:
                body_at.append(len(personal))
            else:
                personal += part
        return dataclasses.replace(
            row, raw=bytes(personal), body=self.body, body_at=tuple(body_at)
        )


def _cut(raw: bytes, slot: str) -> tuple[bytes, bytes]:
    """*raw* before and after the body *slot* (the slot itself left out)."""
    needle = b"\r\n\r\n" + slot.encode("ascii") + b"\r\n"
    at = raw.find(needle)
    if at < 0 or raw.find(needle, at + 1) >= 0:
        raise ValueError("the composed message does not hold its body slot once")
    return raw[: at + 4], raw[at + len(needle) :]


def queue_shared(
    session: Session,
    settings: Settings,
    key: bytes,
    discussion: DiscussionSettings,
    discussion_id: int,
    modes: Sequence[DeliveryMode],
    shared_for: Callable[[str], SharedMail],
    outgoing_for: Callable[[OutboxRecipient, str], Outgoing],
    now: datetime,
    after_batch: Callable[[], None] | None = None,
) -> int:
    """Queue one mail to every active subscriber in *modes*; returns how many were new.

    Subscribers are read a page at a time; *shared_for(language)* is asked once
    per language (the caller caches), *outgoing_for(recipient, language)* once
    per recipient. Rows are enqueued in batches of at most :data:`BATCH_ROWS`
    rows or :data:`BATCH_BYTES` bytes; *after_batch* (e.g. a commit) runs after
    each one, so memory stays flat whatever the number of subscribers.
    """
    queued = 0
    batch: list[OutgoingRow] = []
    size = 0
    for person in iter_recipients(session, discussion_id, modes):
        row = shared_row(
            settings,
            key,
            discussion,
            discussion_id,
            person,
            shared_for,
            outgoing_for,
            now,
        )
        batch.append(row)
        size += len(row.raw)
        if len(batch) >= BATCH_ROWS or size >= BATCH_BYTES:
            queued += enqueue(session, batch, now)
            batch, size = [], 0
            if after_batch is not None:
                after_batch()
    if batch:
        queued += enqueue(session, batch, now)
        if after_batch is not None:
            after_batch()
    return queued


def shared_row(
    settings: Settings,
    key: bytes,
    discussion: DiscussionSettings,
    discussion_id: int,
    person: OutboxRecipient,
    shared_for: Callable[[str], SharedMail],
    outgoing_for: Callable[[OutboxRecipient, str], Outgoing],
    now: datetime,
) -> OutgoingRow:
    """One subscriber's row of a shared mail, in the language they read."""
    language = reader_language(discussion, person.language)
    out = outgoing_for(person, language)
    values = personal_values(settings, key, person, now)
    return shared_for(language).row(
        settings, key, discussion, discussion_id, out, values, now
    )


def personal_values(
    settings: Settings, key: bytes, person: OutboxRecipient, now: datetime
) -> dict[str, str]:
    """What differs in a shared mail from one subscriber to the next: their links."""
    ids = (person.subscription_id, person.link_generation, now)
    base = settings.service.base_url
    return {
        "unsubscribe_url": unsubscribe_url(base, key, *ids),
        "manage_url": manage_url(base, key, *ids),
    }


def reader_language(discussion: DiscussionSettings, language: str) -> str:
    """The language a subscriber reads: theirs when offered, else the default."""
    return language if language in discussion.languages else discussion.default_language
