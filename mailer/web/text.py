"""A received post as inert text: escaped, addresses hidden, plain links made clickable.

Whatever the mail contained (HTML, scripts, ``javascript:`` URLs), the archive
shows it as text. Only ``http``, ``https`` and ``mailto`` links to the service's
own addresses become anchors, with ``rel="nofollow ugc noopener"``. No
participant's email address is published: every address outside the service's
domain is shortened to ``a…@example.org``, in text and inside links.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_ADDRESS = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
_TOKEN = re.compile(
    rf"(?P<url>\bhttps?://[^\s<>\"'`\x00-\x1f\x7f]+)"
    rf"|(?P<mail>(?:\bmailto:)?{_ADDRESS})",
    re.IGNORECASE,
)
_ADDRESS_RE = re.compile(_ADDRESS)
# C0 controls other than tab and newline, and DEL, have no business on a page.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRAILING = ".,;:!?'\"»›”’"
_LINK_REL = "nofollow ugc noopener"
_MAX_LINK_TEXT = 80


def clean_text(text: str) -> str:
    """Text with normalised line ends and without control characters."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def hide_address(address: str, own_domain: str) -> str:
    """*address* itself when it is one of the service's own, else ``a…@domain``."""
    local, _, domain = address.rpartition("@")
    if domain.lower() == own_domain.lower():
        return address
    return f"{local[:1]}…@{domain}"


def hide_addresses(text: str, own_domain: str) -> str:
    """*text* with every email address outside *own_domain* shortened."""
    return _ADDRESS_RE.sub(lambda m: hide_address(m.group(0), own_domain), text)


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


def _anchor(href: str, label: str) -> Markup:
    shown = label if len(label) <= _MAX_LINK_TEXT else label[: _MAX_LINK_TEXT - 1] + "…"
    return Markup('<a href="{}" rel="{}">{}</a>').format(href, _LINK_REL, shown)


def render_post_text(text: str, own_domain: str) -> Markup:
    """The HTML for a post's text: everything escaped, safe links as anchors.

    Meant for an element with ``white-space: pre-wrap``; line breaks stay text.
    """
    text = clean_text(text)
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        out.append(str(escape(text[pos : match.start()])))
        pos = match.end()
        if match.group("url") is not None:
            url, tail = _split_trailing(match.group("url"))
            if _ADDRESS_RE.search(url) and hide_addresses(url, own_domain) != url:
                # A link that carries someone's address is shown, shortened, unlinked.
                out.append(str(escape(hide_addresses(url, own_domain))))
            else:
                out.append(str(_anchor(url, url)))
            out.append(str(escape(tail)))
            continue
        found = match.group("mail")
        address = found[7:] if found[:7].lower() == "mailto:" else found
        address, tail = _split_trailing(address)
        shown = hide_address(address, own_domain)
        if shown == address:
            out.append(str(_anchor(f"mailto:{address}", address)))
        else:
            out.append(str(escape(shown)))
        out.append(str(escape(tail)))
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def display_name(name: str, own_domain: str, limit: int = 120) -> str:
    """An author's name for the page: one line, addresses shortened, not too long."""
    flat = " ".join(clean_text(name).split())
    flat = hide_addresses(flat, own_domain)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
