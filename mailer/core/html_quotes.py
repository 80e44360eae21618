"""Where the quoted history and the signature of an HTML reply lie, found in its tree.

Mail clients write the history they quote into containers of their own, and
those say more than the text they become: Gmail's ``div.gmail_quote``,
Outlook's ``#divRplyFwdMsg``, ``#appendonsend`` and the bordered
From/Sent/To/Subject block (its labels in any language), Thunderbird's
``moz-cite-prefix``, Yahoo's ``yahoo_quoted``, Apple Mail's
``AppleOriginalContents`` and ``blockquote type="cite"``, Zimbra's
``hr#zwchr``, Zoho's ``zmail_extra``, ProtonMail's ``protonmail_quote``,
Samsung's ``-------- Original message --------`` block, and a blockquote
below an attribution line (Yandex, Mail.ru, Roundcube...).

:func:`mark_history` does not cut anything: it writes private-use marks into
the tree (:data:`CUT` where the history starts, :data:`SKIP_OPEN` and
:data:`SKIP_CLOSE` around a signature), so that one conversion to text gives
both the full text and the new one (:mod:`mailer.core.html_text`). A
blockquote that no attribution introduces is the writer's own quotation (a
passage of a report) and stays part of the new text; when it ends the text
it loses its ``>`` marks, lest the trimmer drop it as a trailing quote.
Answers written between quoted parts stay too, with the parts they answer,
as in a plain-text reply.

Every search is one compiled XPath or a walk bounded by a small count, so a
hostile document costs no more than its size.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import NamedTuple

from lxml import etree
from lxml.html import HtmlElement

from mailer.core.trim import trim_reply

CUT = "\ue000"  # the quoted history starts here
SKIP_OPEN = "\ue001"  # a signature, or an attribution between answers, starts
SKIP_CLOSE = "\ue002"  # ... and ends here
# An empty line a browser shows: a block that holds only a no-break space.
BLANK = "\ue003"
MARKS = CUT + SKIP_OPEN + SKIP_CLOSE + BLANK
OWN_QUOTE = "data-ediscuss-own-quote"  # set on a blockquote of the new text

# Ids (Outlook gives received ids an "x_" prefix when it quotes them again).
_HISTORY_ID = re.compile(
    r"(?:x_)*(?:divRplyFwdMsg|appendonsend|mail-editor-reference-message-container"
    r"|OLK_SRC_BODY_SECTION|stopSpelling|zwchr|replySplit|isForwardContent"
    r"|isReplyContent|origbody|reply139content|oriMsgHtmlSeperator)",
    re.IGNORECASE,
)
# Signatures: OWA's "Signature", "ms-outlook-mobile-signature", Samsung's
# "composer_signature", Yahoo's "ymail_android_signature", Zoho's, Roundcube's.
# Not iOS's "AppleMailSignature": what is typed at the top may land in it.
_SIGNATURE_ID = re.compile(
    r"(?:x_)*(?!AppleMailSignature)(?:[\w-]*signature|Zm-_Id_-Sgn|_rc_sig)",
    re.IGNORECASE,
)
# Classes whose element holds the history (Yahoo prefixes "ydp1234" when it
# quotes a Yahoo mail again: "ydp1234yahoo_quoted").
_HISTORY_CLASS = re.compile(
    r"(?:^|\s)(?:gmail_quote|gmail_quote_container|gmail_attr|\w*yahoo_quoted"
    r"|moz-cite-prefix|moz-forward-container|zmail_extra|zmail_extra_hr"
    r"|protonmail_quote|tutanota_quote|OutlookMessageHeader|elided-text"
    r"|AppleOriginalContents|iosymail)(?:\s|$)",
    re.IGNORECASE,
)
# The containers whose quote is a blockquote: answers may be written between.
_CITING_CLASS = re.compile(
    r"(?:^|\s)(?:gmail_quote|gmail_quote_container|gmail_attr|moz-cite-prefix"
    r"|protonmail_quote|tutanota_quote|AppleOriginalContents)(?:\s|$)",
    re.IGNORECASE,
)
_ATTRIBUTION_CLASS = re.compile(r"(?:^|\s)(?:gmail_attr|moz-cite-prefix)(?:\s|$)")
# gmail_signature (and its "-- " prefix), moz-signature, Proton's block,
# Yahoo's "ydp1234signature": a class that ends in "signature".
_SIGNATURE_CLASS = re.compile(
    r"(?:^|\s)(?:[\w-]*signature|gmail_signature_prefix|protonmail_signature_block)"
    r"(?:\s|$)",
    re.IGNORECASE,
)
# Apple Mail starts the signature with this line break; the rest of its block is it.
_APPLE_SIGNATURE = "lineBreakAtBeginningOfSignature"
# Outlook (desktop, Mac, Windows Mail) draws a line above the header block
# of the message it quotes: border-top:solid #E1E1E1 1.0pt and the like.
_BORDER_TOP = re.compile(r"border-top(?:-style)?\s*:[^;\"]*solid", re.IGNORECASE)
# "-------- Original message --------", "---------- Forwarded message ---------",
# "-----Ursprüngliche Nachricht-----": words between dashes, in any language.
_DASHED = re.compile(r"[-_=–—\s*]{2,}[^\W\d_][^\n\d]{1,60}?[-_=–—\s*]{2,}")
_LABEL_LINE = re.compile(r"\s*[^\s:：<>][^:：<>\n]{0,30}[:：]\s*\S")
_LABEL = re.compile(r"[^\s:：<>\d][^:：<>\n\d]{0,30}[:：]")
_ADDRESS = re.compile(r"[^\s<>()\"'@:,;]+@[^\s<>()\"'@:,;]+\.[^\s<>()\"'@:,;]+")
_TIME = re.compile(r"(?<!\d)\d{1,2}[:h.]\d{2}(?!\d)")
_WROTE = re.compile(
    r"\b(?:wrote|writes|escribi[óo]|a [ée]crit|escreveu|schrieb)\b", re.IGNORECASE
)

_CANDIDATES = etree.XPath(
    "//*[@id or @name or @class or self::hr or self::blockquote"
    " or contains(translate(@style, 'BORDETP', 'bordetp'), 'border-top')"
    " or (self::div and starts-with(normalize-space(text()), '-'))]"
    " | //comment()[contains(., 'originalMessage')]"
)
# <div>&nbsp;</div>: the empty line webmails (Yandex, GMX...) put between paragraphs.
# Outlook's is <p class=MsoNormal><o:p>&nbsp;</o:p></p> (a plain block by then).
_BLANK_LINES = etree.XPath(
    "//div[not(*[not(self::span or self::font or name()='o:p')])]"
    "[contains(., '\u00a0')][not(normalize-space(translate(., '\u00a0', ' ')))]"
)
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "center", "dd", "div", "dl",
        "dt", "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_MAX_CANDIDATES = 400
_MAX_WALK = 60  # text pieces looked at around a blockquote


def _class(el: HtmlElement) -> str:
    return str(el.get("class") or "")


def _id(el: HtmlElement) -> str:
    return str(el.get("id") or "")


def _is_block(el: object) -> bool:
    return isinstance(el, HtmlElement) and str(el.tag).lower() in _BLOCK


def _block_of(owner: HtmlElement, tail: bool) -> HtmlElement | None:
    """The nearest block element that shows a text (its owner's text, or its tail)."""
    el: HtmlElement | None = owner.getparent() if tail else owner
    while el is not None and not _is_block(el):
        el = el.getparent()
    return el


class _Piece(NamedTuple):
    """A text of the tree: the ``text`` or the ``tail`` of its owner element."""

    text: str
    owner: HtmlElement
    tail: bool


def _forward(el: HtmlElement) -> Iterator[_Piece | HtmlElement]:
    """What *el* holds in document order: element starts and texts."""
    for event, node in etree.iterwalk(el, events=("start", "end")):
        if event == "start":
            if isinstance(node, HtmlElement):
                yield node
                if node.text:
                    yield _Piece(node.text, node, False)
        elif node is not el and node.tail:
            yield _Piece(node.tail, node, True)


def _backward(el: HtmlElement) -> Iterator[_Piece | HtmlElement]:
    """What comes before *el*, in reverse document order: texts and element starts.

    Walked by hand, one node at a time, so a reader that stops early pays
    only for what it read (the XPath ``preceding`` axis builds it all).
    """
    node = el
    while True:
        previous = node.getprevious()
        if previous is not None:
            yield from _reversed(previous)
            node = previous
            continue
        parent = node.getparent()
        if parent is None:
            return
        if parent.text:
            yield _Piece(parent.text, parent, False)
        node = parent


def _reversed(top: HtmlElement) -> Iterator[_Piece | HtmlElement]:
    """*top* with its tail, in reverse document order (the tail first)."""
    stack: list[tuple[HtmlElement, bool]] = [(top, False)]
    while stack:
        node, done = stack.pop()
        element = isinstance(node, HtmlElement)  # else a comment: only its tail shows
        if not done:
            if node.tail:
                yield _Piece(node.tail, node, True)
            stack.append((node, True))
            if element:
                try:
                    stack.append((node[-1], False))
                except IndexError:
                    pass
            continue
        if element:
            if node.text:
                yield _Piece(node.text, node, False)
            yield node
        if node is not top:
            previous = node.getprevious()
            if previous is not None:
                stack.append((previous, False))


def _lines(
    pieces: Iterable[_Piece | HtmlElement], count: int, backwards: bool = False
) -> list[tuple[str, _Piece]]:
    """The first *count* lines of *pieces*, each with the piece where it starts.

    A line ends at a ``<br>`` or where the text moves to another block; blank
    pieces and line breaks between lines are passed over. Read *backwards*,
    the pieces give the last lines before a point (the nearest first), and a
    line starts at the last piece read of it.
    """
    lines: list[tuple[str, _Piece]] = []
    words: list[str] = []
    start: _Piece | None = None
    block: HtmlElement | None = None

    def close() -> None:
        if words and start is not None:
            ordered = reversed(words) if backwards else words
            lines.append((" ".join(" ".join(ordered).split()), start))
        words.clear()

    for piece in islice(pieces, _MAX_WALK):
        if not isinstance(piece, _Piece):
            if str(piece.tag).lower() == "br" and words:
                close()
                if len(lines) >= count:
                    break
            continue
        if not piece.text.strip():
            continue
        here = _block_of(piece.owner, piece.tail)
        if words and here is not block:
            close()
            if len(lines) >= count:
                break
        block = here
        words.append(piece.text)
        if backwards or len(words) == 1:
            start = piece
    if len(lines) < count:
        close()
    return lines


def _line(pieces: Iterable[_Piece | HtmlElement]) -> str:
    """The first line of *pieces*."""
    found = _lines(pieces, 1)
    return found[0][0] if found else ""


def looks_like_attribution(line: str) -> bool:
    """True for the line a client writes above a quote: it ends with a colon and
    names an address or a time ("On 4 May 2020, at 10:02, Ana <a@b.org> wrote:",
    "04.05.2020, 10:02, "Ana" <a@b.org>:"), says someone wrote, or is one the
    reply trimmer knows (in every language it has been taught)."""
    line = line.strip()
    if not 6 <= len(line) <= 400 or not line.endswith((":", "：")):
        return False
    if _ADDRESS.search(line) or _TIME.search(line) or _WROTE.search(line):
        return True
    return trim_reply(f"{line}\n> …") == ""


def _attribution(lines: list[tuple[str, _Piece]], backwards: bool) -> _Piece | None:
    """Where an attribution of one to three of *lines* starts (Yahoo's Android
    app and others wrap it: "On Mon, 4 May 2020 at 10:02, Ana" / "<a@b.org> wrote:").
    Read *backwards*, the lines are the nearest first, and the attribution takes
    in the lines above its colon line that do not end a sentence."""
    found: _Piece | None = None
    for size in range(1, len(lines) + 1):
        taken = lines[:size]
        ordered = list(reversed(taken) if backwards else taken)
        if size > 1:
            colon_line = ordered[-1][0]
            if len(colon_line) > 60 or not (
                _ADDRESS.search(colon_line) or _WROTE.search(colon_line)
            ):
                break  # a wrapped attribution ends with "<a@b.org> wrote:"
            if backwards and ordered[0][0].endswith((".", "!", "?", ";")):
                break
        if looks_like_attribution(" ".join(text for text, _ in ordered)):
            found = ordered[0][1]
            if not backwards:
                return found
        elif found is not None:
            break
    return found


def _header_block(el: HtmlElement) -> bool:
    """True when *el* starts with three or more bold labels ("From:", "Von:", "От:"...);
    Outlook for Mac makes them bold with a style."""
    labels = 0
    for node in islice(el.iterdescendants(), 200):
        tag = str(node.tag).lower()
        bold = tag in ("b", "strong") or (
            tag == "span" and "bold" in str(node.get("style") or "").lower()
        )
        if not bold:
            continue
        text = (node.text_content() or "").strip()
        if len(text) <= 32 and _LABEL.fullmatch(text):
            labels += 1
            if labels >= 3:
                return True
    return False


def _dashed_header(el: HtmlElement) -> bool:
    """True for Samsung's and others' "-------- Original message --------" line
    with "Label: value" lines after it."""
    own = " ".join((el.text or "").split())
    if not _DASHED.fullmatch(own) or len(el):
        return False
    following = el.getnext()
    if not isinstance(following, HtmlElement):
        return False
    return bool(_LABEL_LINE.match(_line(_forward(following))))


def _mark_before(node: object, mark: str) -> None:
    """Write *mark* just before a text piece, an element or a comment."""
    if isinstance(node, _Piece):
        if node.tail:
            node.owner.tail = mark + (node.owner.tail or "")
        else:
            node.owner.text = mark + (node.owner.text or "")
    elif isinstance(node, HtmlElement):
        node.text = mark + (node.text or "")
    else:  # Samsung's <!-- originalMessage -->
        node.tail = mark + (node.tail or "")  # type: ignore[attr-defined]


def _skip(el: HtmlElement) -> None:
    """Mark everything *el* shows as not part of the new text."""
    el.text = SKIP_OPEN + (el.text or "")
    closing = etree.SubElement(el, "span")
    closing.text = SKIP_CLOSE


def _with_rule_above(el: HtmlElement) -> HtmlElement:
    """*el*, or the ``<hr>`` right above it (Outlook's line over its reply header)."""
    previous = el.getprevious()
    if (
        isinstance(previous, HtmlElement)
        and str(previous.tag).lower() == "hr"
        and not (previous.tail or "").strip()
    ):
        return previous
    return el


class _Start:
    """Where the history starts: a node to mark, and whether answers may follow."""

    def __init__(self, node: object, citing: bool, attribution: object | None) -> None:
        self.node = node
        self.citing = citing  # its quote is a blockquote: look for answers after it
        self.attribution = attribution  # an element to skip instead, when interleaved


def _classify(el: object) -> _Start | None:
    """The history start *el* is, or None."""
    if isinstance(el, etree._Comment):
        return _Start(el, False, None)
    if not isinstance(el, HtmlElement):
        return None
    tag = str(el.tag).lower()
    identifier = _id(el)
    if identifier and _HISTORY_ID.fullmatch(identifier):
        return _Start(_with_rule_above(el), False, None)
    if tag == "blockquote":  # Gmail's quote button writes class="gmail_quote" too
        return _blockquote(el)
    classes = _class(el)
    if classes and _HISTORY_CLASS.search(classes):
        if _ATTRIBUTION_CLASS.search(classes):
            return _Start(el, True, el)
        attribution = next(
            (
                a
                for a in el.iterdescendants("div", "span", "p")
                if _ATTRIBUTION_CLASS.search(_class(a))
            ),
            None,
        )
        if attribution is not None and "gmail_quote" in classes:
            # Gmail's container may hold a forward's note above its attribution.
            return _Start(attribution, True, attribution)
        return _Start(_with_rule_above(el), bool(_CITING_CLASS.search(classes)), None)
    if el.get("name") in ("quote", "messageReplySection"):  # GMX and WEB.DE; Spark
        return _Start(el, False, None)
    if tag == "hr":
        following = el.getnext()
        if isinstance(following, HtmlElement) and _header_block(following):
            return _Start(el, False, None)
        return None
    style = str(el.get("style") or "")
    if style and _BORDER_TOP.search(style) and _header_block(el):
        return _Start(_with_rule_above(el), False, None)
    if tag == "div" and _dashed_header(el):
        return _Start(el, False, None)
    return None


def _blockquote(el: HtmlElement) -> _Start | None:
    """A blockquote is quoted history when an attribution line introduces it
    (above it, or as its first line: Apple Mail) or Thunderbird's ``cite="mid:"``."""
    above = _attribution(_lines(_backward(el), 3, backwards=True), backwards=True)
    if above is not None:
        return _Start(above, True, None)
    if str(el.get("cite") or "").startswith("mid:"):
        return _Start(el, True, None)
    if str(el.get("type") or "").lower() == "cite" and _header_block(el):
        return _Start(el, False, None)  # Apple's "Begin forwarded message:"
    if _attribution(_lines(_forward(el), 3), backwards=False) is not None:
        return _Start(el, True, None)
    return None


def _answered(start: _Start) -> bool:
    """True when words outside any quote follow the first quote after *start*:
    an answer written between (or below) quoted parts."""
    anchor = start.node
    around = "descendant-or-self::blockquote[1] | following::blockquote[1]"
    if isinstance(anchor, _Piece):
        if anchor.tail:
            around = "following::blockquote[1]"  # the text follows its owner
        anchor = anchor.owner
    if not isinstance(anchor, HtmlElement):
        return False
    quotes = anchor.xpath(around)
    if not quotes:
        return False
    after = quotes[0].xpath(
        "following::text()[normalize-space()][not(ancestor::blockquote)]"
        "[position() <= 40]"
    )
    for piece in after:
        owner = piece.getparent()
        if owner is None:
            continue
        hidden = False
        for ancestor in (
            owner.iterancestors() if piece.is_tail else [owner, *owner.iterancestors()]
        ):
            if _SIGNATURE_CLASS.search(_class(ancestor)) or _SIGNATURE_ID.fullmatch(
                _id(ancestor)
            ):
                hidden = True
                break
        if not hidden and piece.strip().strip(MARKS):
            return True
    return False


def mark_history(root: HtmlElement) -> bool:
    """Mark where *root*'s quoted history starts and which parts are signatures.

    Returns True when a history start was marked. Blockquotes of the new text
    that no attribution introduces get the :data:`OWN_QUOTE` attribute, so
    that they are not mistaken for quoted history later.
    """
    start: _Start | None = None
    apple_signature: HtmlElement | None = None
    own_quotes: list[HtmlElement] = []
    signatures: list[HtmlElement] = []
    for count, el in enumerate(_CANDIDATES(root)):
        if count >= _MAX_CANDIDATES:
            break
        if isinstance(el, HtmlElement) and any(
            True for _ in el.iterancestors("blockquote")
        ):
            continue  # inside a quote: what the quoted mail itself held
        if isinstance(el, HtmlElement) and _id(el) == _APPLE_SIGNATURE:
            apple_signature = el
            continue
        if isinstance(el, HtmlElement) and (
            _SIGNATURE_CLASS.search(_class(el))
            or _SIGNATURE_ID.fullmatch(_id(el))
            or el.get("name") == "messageSignatureSection"  # Spark
        ):
            if not any(s in signatures for s in el.iterancestors()):
                signatures.append(el)
            continue
        found = _classify(el)
        if found is not None:
            start = found
            break
        if isinstance(el, HtmlElement) and str(el.tag).lower() == "blockquote":
            own_quotes.append(el)
    for count, blank in enumerate(_BLANK_LINES(root)):
        if count >= _MAX_CANDIDATES:
            break
        blank.text = BLANK
    for marked in root.xpath(f"//*[@{OWN_QUOTE}]"):  # the sender's, not ours
        del marked.attrib[OWN_QUOTE]
    for signature in signatures:
        _skip(signature)
    if apple_signature is not None and apple_signature.getparent() is not None:
        apple_signature.tail = SKIP_OPEN + (apple_signature.tail or "")
        closing = etree.SubElement(apple_signature.getparent(), "span")
        closing.text = SKIP_CLOSE
        signatures.append(apple_signature.getparent())
    cut = start is not None
    if start is not None and start.citing and _answered(start):
        if start.attribution is not None:
            _skip(start.attribution)
        cut = False
    elif start is not None:
        _mark_before(start.node, CUT)
    for quote in own_quotes:
        if not _words_after(quote, signatures):
            quote.set(OWN_QUOTE, "")
    return cut


def _words_after(quote: HtmlElement, signatures: list[HtmlElement]) -> bool:
    """True when the writer's words follow *quote* before the history starts:
    then it stays marked as a quote (in the middle of a text, or answered
    inline with its attribution deleted); only a quotation that ends the new
    text loses its marks, lest the trimmer take it for a trailing quote."""
    shown: list[_Piece | HtmlElement] = []
    for piece in islice(_after(quote), _MAX_WALK):
        if not isinstance(piece, _Piece):
            shown.append(piece)
            continue
        text, history, _ = piece.text.partition(CUT)
        holder = piece.owner.getparent() if piece.tail else piece.owner
        inside = holder is None or any(
            str(a.tag).lower() == "blockquote" or any(a is s for s in signatures)
            for a in (holder, *holder.iterancestors())
        )
        if not inside:
            shown.append(piece._replace(text=text))
        if history:
            break
    following = "\n".join(line for line, _ in _lines(shown, 12)).strip()
    return bool(following) and trim_reply(f"x\n\n{following}") != "x"


def _after(el: HtmlElement) -> Iterator[_Piece | HtmlElement]:
    """What comes after *el* (its tail first), in document order."""
    node: HtmlElement | None = el
    while node is not None:
        if node.tail:
            yield _Piece(node.tail, node, True)
        sibling = node.getnext()
        while sibling is not None:
            yield from _forward(sibling)
            if sibling.tail:
                yield _Piece(sibling.tail, sibling, True)
            sibling = sibling.getnext()
        node = node.getparent()
