"""Received HTML to plain text that reads well and keeps its links.

inscriptis (on lxml) lays the text out as a browser would show it: paragraphs,
lists, aligned tables, no Markdown residue. Measured on the project's corpus
against html2text: closer to the clients' own text/plain parts and faster (see
the commit that chose it). Links become ``text (url)``; ``<blockquote>``
content is marked with ``>`` so the reply trimmer can recognise quoted
history. Nothing here renders or trusts the HTML: scripts, styles and images
are dropped, and any failure falls back to plain tag stripping.
"""

from __future__ import annotations

import bisect
import html
import re
import threading

from inscriptis import get_annotated_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

_MAX_HTML = 2 * 1024 * 1024  # beyond this, the rest is not worth converting

_HIDDEN = ("script", "style", "head", "title", "noscript", "template")
_HIDDEN_OPEN = re.compile(rf"<({'|'.join(_HIDDEN)})\b[^>]{{0,2000}}>", re.IGNORECASE)
_HIDDEN_CLOSE = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _HIDDEN}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINK = re.compile(r"\[([^\]\n]{0,500})\]\(([^()\s]{1,2000})\)")
_TAG = re.compile(r"<[^>]{0,2000}>")
_BLANKS = re.compile(r"\n{3,}")
_QUOTE = "quote"


_LOCAL = threading.local()


def _config() -> ParserConfig:
    """This thread's ParserConfig: building one costs about as much as converting
    a mail, and inscriptis keeps per-document state on its CSS elements, so a
    config is reused within a thread but never shared between threads."""
    config = getattr(_LOCAL, "config", None)
    if config is None:
        config = ParserConfig(
            css=CSS_PROFILES["strict"].copy(),
            display_links=True,
            display_anchors=False,
            annotation_rules={"blockquote": [_QUOTE]},
        )
        _LOCAL.config = config
    return config


def _link(match: re.Match[str]) -> str:
    label, url = match.group(1).strip(), match.group(2)
    if url.lower().startswith("mailto:"):
        address = url[7:].split("?", 1)[0]
        if not label or address in label:
            return label or address
        return f"{label} ({address})"
    if not label or label.rstrip("/") == url.rstrip("/"):
        return url
    return f"{label} ({url})"


def _mark_quotes(text: str, spans: list[tuple[int, int]]) -> str:
    """Prefix every line inside a blockquote span with ``>`` (once per nesting level)."""
    lines = text.split("\n")
    starts = []
    position = 0
    for line in lines:
        starts.append(position)
        position += len(line) + 1
    depth = [0] * (len(lines) + 1)
    for start, end in spans:
        start, end = max(start, 0), min(end, len(text))
        while start < end and text[start] == "\n":
            start += 1
        while end > start and text[end - 1] == "\n":
            end -= 1
        if start >= end:
            continue
        first = bisect.bisect_right(starts, start) - 1
        last = bisect.bisect_right(starts, max(start, end - 1)) - 1
        depth[max(first, 0)] += 1
        depth[last + 1] -= 1
    out = []
    level = 0
    for i, line in enumerate(lines):
        level += depth[i]
        out.append(
            ("> " * min(level, 10) + line.strip()).rstrip() if level else line.rstrip()
        )
    return "\n".join(out)


def _drop_hidden(markup: str) -> str:
    """*markup* without script, style, head... elements and what they hold.

    One pass: an element left open is kept as it is (as before), and once a
    closing tag is known to be missing it is not looked for again, so a
    thousand unclosed ``<style>`` cost no more than one.
    """
    out: list[str] = []
    position = 0
    unclosed: set[str] = set()
    while (opening := _HIDDEN_OPEN.search(markup, position)) is not None:
        name = opening.group(1).lower()
        closing = None
        if name not in unclosed:
            closing = _HIDDEN_CLOSE[name].search(markup, opening.end())
            if closing is None:
                unclosed.add(name)
        out.append(markup[position : opening.start()])
        if closing is None:
            out.append(opening.group(0))
            position = opening.end()
        else:
            out.append(" ")
            position = closing.end()
    out.append(markup[position:])
    return "".join(out)


def _strip_tags(markup: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</(?:p|div|li|tr|h\d)\s*>", "\n", markup)
    text = html.unescape(_TAG.sub(" ", text))
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


def html_to_text(markup: str) -> str:
    """The readable text of *markup*: paragraphs, lists, tables, links as ``text (url)``."""
    markup = _CONTROL.sub("", _drop_hidden(markup[:_MAX_HTML]))
    try:
        result = get_annotated_text(markup, _config())
        text = str(result.get("text", ""))
        spans = [(int(s), int(e)) for s, e, *_ in result.get("label", [])]
        text = _mark_quotes(text, spans)
    except Exception:  # noqa: BLE001 - lxml or inscriptis on hostile markup
        text = ""
    if not text.strip():  # libxml2 also drops what lies deeper than 255 elements
        text = _strip_tags(markup)
    text = _LINK.sub(_link, text)
    text = text.replace("\u00a0", " ")
    # Line by line: a regex for trailing blanks retries every blank of a long
    # inner run (aligned table columns) and took seconds on 30 kB of them.
    text = "\n".join(line.rstrip(" \t") for line in text.split("\n"))
    text = _BLANKS.sub("\n\n", text)
    return text.strip("\n")
