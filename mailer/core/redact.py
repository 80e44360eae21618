"""Personal links out of published text: what only one reader may hold is never shown.

Every mail the service sends carries capabilities of its reader: a one-click
unsubscribe link, a confirmation link or ``-confirm+<token>@`` address, a
``-bounces+<token>@`` return path, a signed reply or held-post address. A
participant who replies quotes them, and a post's text is published (the
archive, its feeds and exports, the report, the copies and digests sent to
everyone). :func:`redact_personal` turns each of them into one neutral mark:

* a URL of the service (its host, from ``base_url``) whose path names a
  capability route (``/confirm``, ``/unsubscribe``, ``/manage``) or carries a
  token (signed ``value.mac`` or random, see :mod:`mailer.core.tokens`);
* an address of one of the service's domains with a ``+detail`` that is not a
  question number (``slug+q3@`` is public, ``slug+r-<token>@`` is not).

Whatever the form it arrived in: quoted-printable (``=\\n`` soft breaks, also
under ``> `` quote prefixes, ``=40``), percent-encoding, HTML entities,
``mailto:``, angle brackets, a URL wrapped over two or three lines. The text
is matched in a decoded view and cut in the original, so nothing else changes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

MARKS = {
    "en": "[personal link removed]",
    "es": "[enlace personal retirado]",
    "fr": "[lien personnel retiré]",
}

# Tokens as mailer.core.tokens makes them: signed "value.mac" (mac: 10 bytes in
# base32, 16 characters) and random (16 bytes, 26 characters), lowercase.
_TOKEN = r"(?:[a-z0-9-]{1,64}\.[a-z2-7]{16}|[a-z2-7]{26})"
_HAS_TOKEN = re.compile(rf"(?<![a-z0-9]){_TOKEN}(?![a-z0-9])")
_ENDS_WITH_TOKEN = re.compile(rf"(?<![a-z0-9]){_TOKEN}>?$")
_CAPABILITY_ROUTE = re.compile(r"^/+(?:confirm|unsubscribe|manage)(?![a-z0-9-])")
_QUESTION_DETAIL = re.compile(r"^q[0-9]{1,4}$")
# Quoted-printable soft breaks (with the quote prefix of the next line), QP and
# percent escapes, HTML character references.
_ENCODED = re.compile(
    r"=\r?\n(?:[ \t]{0,3}>)*[ \t]?"
    r"|[=%][0-9A-Fa-f]{2}"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
)
_WORD = re.compile(r"\S+")
_LEAD = "(\"'«“‘["
_TRAIL = ".,;:!?)\"'»”’]"
# What may continue a URL that a mail client wrapped: a run of URL characters
# alone at the start of the next line (after its quote prefix).
_NEXT_LINE = re.compile(
    r"[ \t]*\r?\n(?:[ \t]{0,3}>)*[ \t]?"
    r"([A-Za-z0-9._~%/=?&+#>-]{1,200})[.,;:!?)\]\"'»”’]*(?=\s|$)"
)
_TOKEN_PIECE = re.compile(r"^[a-z0-9.-]+>?$")  # tokens are lowercase
_MAX_WRAPS = 3


@dataclass(frozen=True)
class OwnService:
    """What marks a link or an address as the service's own: its domains and web hosts."""

    domains: tuple[str, ...]
    hosts: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "domains",
            tuple(sorted({d.lower().rstrip(".") for d in self.domains if d})),
        )
        object.__setattr__(
            self, "hosts", tuple(sorted({h.lower() for h in self.hosts if h}))
        )


def own_service(domains: tuple[str, ...], base_urls: tuple[str, ...]) -> OwnService:
    """The :class:`OwnService` of these mail *domains* and web *base_urls*.

    A base URL counts with its port (``127.0.0.1:8080``) and without it.
    """
    hosts: list[str] = []
    for url in base_urls:
        parts = urlsplit(url)
        if parts.netloc:
            hosts.append(parts.netloc)
        if parts.hostname:
            hosts.append(parts.hostname)
    return OwnService(domains, tuple(hosts))


def _decoded(text: str) -> tuple[str, list[int], list[int]]:
    """The text with encodings undone, and where each of its characters came from."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _ENCODED.finditer(text):
        for i in range(pos, m.start()):
            out.append(text[i])
            starts.append(i)
            ends.append(i + 1)
        raw = m.group()
        if raw[0] == "=" and raw[1] in "\r\n":
            value = ""
        elif raw[0] in "=%":
            code = int(raw[1:], 16)
            value = chr(code) if 0x20 < code < 0x7F else raw
        else:
            value = html.unescape(raw)
            if len(value) != 1:
                value = raw
        if value == raw:
            for i in range(m.start(), m.end()):
                out.append(text[i])
                starts.append(i)
                ends.append(i + 1)
        elif value:
            out.append(value)
            starts.append(m.start())
            ends.append(m.end())
        elif ends:
            ends[-1] = m.end()  # a removed soft break belongs to what precedes it
        pos = m.end()
    for i in range(pos, len(text)):
        out.append(text[i])
        starts.append(i)
        ends.append(i + 1)
    return "".join(out), starts, ends


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the punctuation that surrounds a link in a sentence."""
    while start < end and text[start] in _LEAD:
        start += 1
    while end > start and text[end - 1] in _TRAIL:
        end -= 1
    if end > start and text[end - 1] == ">" and "<" not in text[start:end]:
        end -= 1
    return start, end


def _personal_address(word: str, service: OwnService) -> bool:
    for domain in service.domains:
        at = word.find("@" + domain)
        while at != -1:
            after = at + 1 + len(domain)
            tail_ok = after == len(word) or not (
                word[after].isalnum()
                or word[after] == "-"
                or (word[after] == "." and word[after + 1 : after + 2].isalnum())
            )
            local_start = at
            while local_start > 0 and (
                word[local_start - 1].isalnum() or word[local_start - 1] in "._+=-"
            ):
                local_start -= 1
            _, plus, detail = word[local_start:at].partition("+")
            if tail_ok and plus and not _QUESTION_DETAIL.match(detail):
                return True
            at = word.find("@" + domain, at + 1)
    return False


def _personal_url(word: str, service: OwnService) -> bool:
    for host in service.hosts:
        at = word.find(host)
        while at != -1:
            rest = word[at + len(host) :]
            if rest[:1] in ("/", "?") and (
                _CAPABILITY_ROUTE.match(rest) or _HAS_TOKEN.search(rest)
            ):
                return True
            at = word.find(host, at + 1)
    return False


def _personal(word: str, service: OwnService) -> bool:
    lower = word.lower()
    return _personal_address(lower, service) or _personal_url(lower, service)


def _mentions_host(word: str, service: OwnService) -> bool:
    lower = word.lower()
    return any(host in lower for host in service.hosts)


def _personal_spans(decoded: str, service: OwnService) -> list[tuple[int, int]]:
    """Spans of *decoded* to replace, a wrapped link's lines as one span."""
    spans: list[tuple[int, int]] = []
    for m in _WORD.finditer(decoded):
        if spans and m.start() < spans[-1][1]:
            continue  # the continuation of a wrapped link, already taken
        start, end = _trimmed(decoded, m.start(), m.end())
        word = decoded[start:end]
        if not word:
            continue
        personal = _personal(word, service)
        if end == m.end() and _mentions_host(word, service):
            word, end, personal = _unwrapped(decoded, word, end, personal, service)
        if personal:
            spans.append((start, end))
    return spans


def _unwrapped(
    decoded: str, word: str, end: int, personal: bool, service: OwnService
) -> tuple[str, int, bool]:
    """A link cut at the end of a line, joined with what goes on on the next lines."""
    for _ in range(_MAX_WRAPS):
        nxt = _NEXT_LINE.match(decoded, end)
        if nxt is None:
            break
        piece_start, piece_end = _trimmed(decoded, nxt.start(1), nxt.end(1))
        piece = decoded[piece_start:piece_end]
        if not piece or piece_start != nxt.start(1):
            break
        if personal:
            # Only the rest of a token goes with it; a whole token ends the link.
            if (
                _ENDS_WITH_TOKEN.search(word.lower())
                or not _TOKEN_PIECE.match(piece)
                or not _ENDS_WITH_TOKEN.search(word.lower() + piece)
            ):
                break
        elif not _personal(word + piece, service):
            break
        word, end, personal = word + piece, piece_end, True
        if piece_end != nxt.end():
            break  # punctuation after it: the link ends there
    return word, end, personal


def redact_personal(text: str, service: OwnService, mark: str = MARKS["en"]) -> str:
    """*text* with every personal link or address of the service replaced by *mark*."""
    if not text:
        return text
    lower = text.lower()
    # Neither the host nor a domain, not even encoded (an escape or a soft
    # break inside one leaves a '%', '&' or '=' in the text): nothing to do.
    if (
        not any(d in lower for d in service.domains)
        and not any(h in lower for h in service.hosts)
        and not any(c in text for c in "%&=")
    ):
        return text
    decoded, starts, ends = _decoded(text)
    spans = _personal_spans(decoded, service)
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(text[pos : starts[start]])
        out.append(mark)
        pos = ends[end - 1]
    out.append(text[pos:])
    return "".join(out)


def mark_for(language: str) -> str:
    """The neutral mark in *language* (English when there is none in it)."""
    return MARKS.get(language, MARKS["en"])


def mask_address(address: str) -> str:
    """*address* shortened to its first letter and domain (``a…@example.org``)."""
    local, at, domain = address.rpartition("@")
    if not at:
        return address[:1] + "…"
    return f"{local[:1]}…@{domain}"
