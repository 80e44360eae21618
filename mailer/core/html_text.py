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
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_engine import Inscriptis
from inscriptis.model.config import ParserConfig
from lxml.html import HtmlElement, document_fromstring

from mailer.core.html_quotes import (
    BLANK,
    CUT,
    MARKS,
    OWN_QUOTE,
    SKIP_CLOSE,
    SKIP_OPEN,
    mark_history,
)

_MAX_HTML = 2 * 1024 * 1024  # beyond this, the rest is not worth converting

_HIDDEN = ("script", "style", "head", "title", "noscript", "template")
_HIDDEN_OPEN = re.compile(rf"<({'|'.join(_HIDDEN)})\b[^>]{{0,2000}}>", re.IGNORECASE)
_HIDDEN_CLOSE = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _HIDDEN}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINK = re.compile(r"\[([^\]\n]{0,500})\]\(([^()\s]{1,2000})\)")
_TAG = re.compile(r"<[^>]{0,2000}>")
_BLANKS = re.compile(r"\n{3,}")
_QUOTE = "quote"
_OWN = "own"
_MARK = re.compile(f"[{MARKS}]")  # str.translate was the slowest step of a conversion
_SKIPPED = re.compile(f"{SKIP_OPEN}[^{SKIP_OPEN}{SKIP_CLOSE}]*{SKIP_CLOSE}")
_STYLE_OPEN = re.compile(r"<style\b[^>]{0,2000}>", re.IGNORECASE)
_P_SELECTOR = re.compile(r"p(?:\.([\w-]{1,100}))?", re.IGNORECASE)
_NO_MARGIN = re.compile(r"(?:^|;)margin:0[a-z%]*(?:;|$)")
_NO_TOP = re.compile(r"(?:^|;)margin-top:0[a-z%]*(?:;|$)")
_NO_BOTTOM = re.compile(r"(?:^|;)margin-bottom:(?:0|0?\.0*1)[a-z%]*(?:;|$)")
_XML_DECLARATION = re.compile(r"^\s*<\?xml [^>]{0,2000}\?>")


@dataclass(frozen=True)
class HtmlText:
    """The text of an HTML body, and the part of it its writer wrote now.

    ``reply`` is ``text`` without the quoted history and the signatures the
    HTML marks; ``cut`` says whether a quoted history was found there.
    """

    text: str
    reply: str
    cut: bool = False


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
            annotation_rules={
                "blockquote": [_QUOTE],
                f"blockquote#{OWN_QUOTE}": [_OWN],
            },
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


def _tree(markup: str) -> HtmlElement | None:
    markup = _XML_DECLARATION.sub("", markup, count=1).strip()
    if not markup:
        return None
    return document_fromstring(markup)


def _flat_paragraphs(markup: str) -> tuple[bool, frozenset[str]]:
    """Whether the sender's style sheet takes the margins off every ``<p>``
    (Outlook on the web: ``P {margin-top:0;margin-bottom:0;}``), and the
    classes of ``<p>`` it takes them off (Outlook: ``p.MsoNormal {margin:0cm}``).

    Its clients show such paragraphs line under line; the style sheet is
    dropped with the rest of the head, so this is read from it first.
    """
    every = False
    classes: set[str] = set()
    for sheet in islice(_style_sheets(markup), 20):
        rules = _without_css_comments(sheet)
        # Split, not a regex: "selectors { declarations }" found by a pattern
        # backtracked over every character of a sheet without braces.
        for rule in islice(rules.split("}"), 500):
            selectors, brace, body = rule.rpartition("{")
            if not brace:
                continue
            declarations = "".join(body.split()).lower()
            if not (
                _NO_MARGIN.search(declarations)
                or (_NO_TOP.search(declarations) and _NO_BOTTOM.search(declarations))
            ):
                continue
            for selector in selectors[-2000:].split(","):
                found = _P_SELECTOR.fullmatch(selector.strip())
                if found and found.group(1):
                    classes.add(found.group(1))
                elif found:
                    every = True
    return every, frozenset(classes)


def _style_sheets(markup: str) -> Iterator[str]:
    """The text of each ``<style>`` element, read in one pass: a sheet left
    open ends the reading (thousands of unclosed ones cost one search)."""
    position = 0
    while (opening := _STYLE_OPEN.search(markup, position)) is not None:
        closing = _HIDDEN_CLOSE["style"].search(markup, opening.end())
        if closing is None:
            return
        yield markup[opening.end() : min(closing.start(), opening.end() + 100_000)]
        position = closing.end()


def _without_css_comments(sheet: str) -> str:
    """*sheet* without ``/* */`` comments and the ``<!-- -->`` around it; found
    with str.find, so an unclosed comment costs one search."""
    out: list[str] = []
    position = 0
    while (start := sheet.find("/*", position)) >= 0:
        out.append(sheet[position:start])
        end = sheet.find("*/", start + 2)
        if end < 0:
            position = len(sheet)
            break
        position = end + 2
    out.append(sheet[position:])
    return " ".join(out).replace("<!--", " ").replace("-->", " ")


def _unmargin(tree: HtmlElement, every: bool, classes: frozenset[str]) -> None:
    """Make the paragraphs the sender's style sheet shows line under line plain blocks."""
    for paragraph in tree.iter("p"):
        if every or classes.intersection(str(paragraph.get("class") or "").split()):
            paragraph.tag = "div"


def _converted(markup: str, flat: tuple[bool, frozenset[str]]) -> tuple[str, str, bool]:
    """The text of *markup* with every blockquote marked ``>``, the same with
    only quoted history marked (the writer's own quotations left plain), both
    with the history marks in them, and whether a history start was marked."""
    tree = _tree(markup)
    if tree is None:
        return "", "", False
    if flat[0] or flat[1]:
        _unmargin(tree, *flat)
    cut = mark_history(tree)
    engine = Inscriptis(tree, _config())
    text = engine.get_text()
    quotes: list[tuple[int, int]] = []
    own: list[tuple[int, int]] = []
    for annotation in engine.get_annotations():
        span = (int(annotation.start), int(annotation.end))
        (own if annotation.metadata == _OWN else quotes).append(span)
    if not own:
        marked = _mark_quotes(text, quotes)
        return marked, marked, cut
    history = list(quotes)
    for span in own:
        history.remove(span)
    return _mark_quotes(text, quotes), _mark_quotes(text, history), cut


def _finish(text: str) -> str:
    text = _LINK.sub(_link, text)
    text = text.replace("\u00a0", " ")
    # Line by line: a regex for trailing blanks retries every blank of a long
    # inner run (aligned table columns) and took seconds on 30 kB of them.
    text = "\n".join(line.rstrip(" \t") for line in text.split("\n"))
    text = _BLANKS.sub("\n\n", text)
    return text.strip("\n")


def _unmarked(text: str) -> str:
    """*text* without the marks; a line that held only marks goes with them."""
    if _MARK.search(text) is None:
        return text
    out = []
    for line in text.split("\n"):
        bare = _MARK.sub("", line)
        if bare != line and not bare.strip(" >"):
            if BLANK in line:
                out.append("")
            continue
        out.append(bare)
    return "\n".join(out)


def _before_cut(text: str) -> str:
    """*text* up to the history mark, less the ``>`` of the quote it opens."""
    head, cut, _ = text.partition(CUT)
    if cut:
        above, _, line = head.rpartition("\n")
        if not line.strip(" >"):
            return above
    return head


def read_html(markup: str) -> HtmlText:
    """The readable text of *markup* (paragraphs, lists, tables, links as
    ``text (url)``), and the same without quoted history and signatures."""
    markup = markup[:_MAX_HTML]
    flat = _flat_paragraphs(markup)
    markup = _MARK.sub("", _CONTROL.sub("", _drop_hidden(markup)))
    try:
        text, reply, cut = _converted(markup, flat)
    except Exception:  # noqa: BLE001 - lxml or inscriptis on hostile markup
        text, reply, cut = "", "", False
    if not text.strip(
        MARKS + " \n>"
    ):  # libxml2 drops what lies deeper than 255 elements
        plain = _finish(_strip_tags(markup))
        return HtmlText(plain, plain)
    reply = _SKIPPED.sub("", _before_cut(reply))
    full = _finish(_unmarked(text))
    return HtmlText(full, full if reply == text else _finish(_unmarked(reply)), cut)


def html_to_text(markup: str) -> str:
    """The readable text of *markup*: paragraphs, lists, tables, links as ``text (url)``."""
    return read_html(markup).text
