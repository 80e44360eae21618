"""A received post as inert text: escaped, addresses hidden, plain links made clickable.

Whatever the mail contained (HTML, scripts, ``javascript:`` URLs), the archive
shows it as text. Only ``http``, ``https`` and ``mailto`` links to the service's
own addresses become anchors, with ``rel="nofollow ugc noopener"``. No
participant's email address is published: every address outside the service's
domain is shortened to ``a…@example.org``, in text and inside links.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from markupsafe import Markup, escape

from mailer.core.copies import QuotedCopy, find_quoted_copies
from mailer.core.redact import OwnService, mask_address, redact_personal
from store.archive import ArchivePost

# URLs are found from their scheme, addresses from their '@': no pattern here
# starts with a class or \b, so the regex engine can skip ahead (fast on long text).
_URL = re.compile(r"https?://[^\s<>\"'`\x00-\x1f\x7f]+", re.IGNORECASE)
_LOCAL_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+'-"
)
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# C0 controls other than tab and newline, and DEL, have no business on a page.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRAILING = ".,;:!?'\"»›”’"
_LINK_REL = "nofollow ugc noopener"
_MAX_LINK_TEXT = 80


def _addresses(text: str) -> list[tuple[int, int]]:
    """Spans of the email addresses in *text*, found around each '@'."""
    spans: list[tuple[int, int]] = []
    at = text.find("@")
    while at != -1:
        start = at
        while start > 0 and at - start < 64 and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        while start < at and text[start] == ".":
            start += 1
        domain = _DOMAIN.match(text, at + 1)
        if start < at and domain is not None and (not spans or start >= spans[-1][1]):
            spans.append((start, domain.end()))
            at = text.find("@", domain.end())
        else:
            at = text.find("@", at + 1)
    return spans


def clean_text(text: str) -> str:
    """Text with normalised line ends and without control characters."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def hide_address(address: str, own_domain: str) -> str:
    """*address* itself when it is one of the service's own, else ``a…@domain``."""
    if address.rpartition("@")[2].lower() == own_domain.lower():
        return address
    return mask_address(address)


def hide_addresses(text: str, own_domain: str) -> str:
    """*text* with every email address outside *own_domain* shortened."""
    if "@" not in text:
        return text
    out: list[str] = []
    pos = 0
    for start, end in _addresses(text):
        out.append(text[pos:start])
        out.append(hide_address(text[start:end], own_domain))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _split_trailing(url: str) -> tuple[str, str]:
    """Separate punctuation that ends a sentence, not the URL (keeps balanced ')')."""
    tail = ""
    while url:
        last = url[-1]
        if last in _TRAILING or (
            last in ")]}"
            and url.count(last) > url.count({")": "(", "]": "[", "}": "{"}[last])
        ):
            tail = last + tail
            url = url[:-1]
        else:
            break
    return url, tail


def _anchor(href: str, label: str) -> str:
    shown = label if len(label) <= _MAX_LINK_TEXT else label[: _MAX_LINK_TEXT - 1] + "…"
    return f'<a href="{escape(href)}" rel="{_LINK_REL}">{escape(shown)}</a>'


def _tokens(text: str) -> list[tuple[int, int, bool]]:
    """Spans of URLs (True) and of addresses outside URLs (False), in order."""
    urls = [(m.start(), m.end(), True) for m in _URL.finditer(text)]
    if "@" not in text:
        return urls
    found = list(urls)
    for start, end in _addresses(text):
        if not any(s <= start < e for s, e, _ in urls):
            if text[max(0, start - 7) : start].lower() == "mailto:":
                start -= 7
            found.append((start, end, False))
    return sorted(found)


def render_post_text(text: str, own_domain: str) -> Markup:
    """The HTML for a post's text: everything escaped, safe links as anchors.

    Meant for an element with ``white-space: pre-wrap``; line breaks stay text.
    """
    text = clean_text(text)
    out: list[str] = []
    pos = 0
    for start, end, is_url in _tokens(text):
        if start < pos:
            continue
        out.append(str(escape(text[pos:start])))
        pos = end
        if is_url:
            url, tail = _split_trailing(text[start:end])
            hidden = hide_addresses(url, own_domain)
            # A link that carries someone's address is shown, shortened, unlinked.
            out.append(str(escape(hidden)) if hidden != url else _anchor(url, url))
            out.append(str(escape(tail)))
            continue
        found = text[start:end]
        address = found[7:] if found[:7].lower() == "mailto:" else found
        address, tail = _split_trailing(address)
        shown = hide_address(address, own_domain)
        if shown == address:
            out.append(_anchor(f"mailto:{address}", address))
        else:
            out.append(str(escape(shown)))
        out.append(str(escape(tail)))
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def render_published_text(
    text: str, own: OwnService, own_domain: str, name: Callable[[QuotedCopy], str]
) -> Markup:
    """A post's text as :func:`render_post_text` shows it, each quoted copy of the
    service's own mail shown as one line that *name* words, not replayed."""
    text = clean_text(text)
    copies = find_quoted_copies(text, own)
    if not copies:
        return render_post_text(text, own_domain)
    lines = text.split("\n")
    out: list[str] = []
    pos = 0
    for copy in copies:
        out.append(
            str(render_post_text("\n".join(lines[pos : copy.start]), own_domain))
        )
        out.append("\n" if copy.start > 0 else "")
        out.append(f'<span class="quoted-copy">{escape(name(copy))}</span>')
        pos = copy.end
        if pos < len(lines):
            out.append("\n")
    out.append(str(render_post_text("\n".join(lines[pos:]), own_domain)))
    return Markup("".join(out))


def display_name(name: str, own_domain: str, limit: int = 120) -> str:
    """An author's name for the page: one line, addresses shortened, not too long."""
    flat = " ".join(clean_text(name).split())
    flat = hide_addresses(flat, own_domain)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def published_post(post: ArchivePost, own: OwnService, mark: str) -> ArchivePost:
    """*post* with every personal link of the service in its texts replaced by *mark*.

    Posts are redacted as they are stored; this keeps rows stored before that
    (or by hand) from reaching a page, a feed or an export as they came.
    """
    return dataclasses.replace(
        post,
        subject=redact_personal(post.subject, own, mark),
        body=redact_personal(post.body, own, mark),
        full_text=redact_personal(post.full_text, own, mark),
    )
