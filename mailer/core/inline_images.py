"""Which attached files are the writer's, and which only dress the HTML.

Outlook, Apple Mail and most webmails send the pictures of an HTML body as
parts of the message, marked ``Content-Disposition: inline`` and carrying a
``Content-ID`` the HTML points at (``<img src="cid:...">``): a photo put in
the text, but also the logo and icons of a signature and the logos of the
quoted history (Outlook attaches them again on every reply, as
``image001.png``, ``image002.jpg``...). A small picture with such a made-up
name, or one the HTML shows only in a signature or in the quoted history, is
decoration: it does not make a mail that only quotes into a post, and it is
not published as one of a post's attachments. A file attached as a file, a
picture bigger than a logo, and one shown in the new text are the writer's.
"""

from __future__ import annotations

import re

from mailer.core.message import ParsedAttachment, ParsedMessage

# Signature logos and icons are a few kilobytes; a photo or a screenshot is more.
MAX_DECORATION_BYTES = 40_000
# Names clients give the pictures of an HTML body: Outlook's "image001.png",
# "~WRL0001.jpg", "Outlook-abc12.png"; Gmail's "ii_kx1y2z3" and "unnamed.png";
# Thunderbird's "part1.ABCD1234.png"; and signature logos.
_MADE_UP_NAME = re.compile(
    r"(?:image\d{3}|~WRL\d{4}|Outlook-[\w-]{1,40}|signature(?:[-_ ]?\d{1,3})?"
    r"|ii_\w{1,40}|unnamed|part\d{1,3}\.[\w.]{1,40}|logo[\w-]{0,20})"
    r"\.(?:png|jpe?g|gif|bmp|webp|emz|wmz)",
    re.IGNORECASE,
)
# Where the HTML's signature or quoted history starts, in the markup clients
# write: Gmail, Outlook (desktop and web), Thunderbird, Apple Mail, Yahoo, Zoho.
_HISTORY = re.compile(
    r"gmail_(?:quote|signature)|type=[\"']?cite|divRplyFwdMsg|appendonsend"
    r"|moz-(?:cite-prefix|signature)|AppleMailSignature|yahoo_quoted"
    r"|id=[\"']?(?:x_)?Signature|zmail_extra|<blockquote",
    re.IGNORECASE,
)


def is_decoration(attachment: ParsedAttachment, html: str | None) -> bool:
    """True when *attachment* is a small picture of the HTML body that is not the
    writer's: a signature's logo, an icon, a picture of the quoted history."""
    if not attachment.content_type.lower().startswith("image/"):
        return False
    if attachment.size > MAX_DECORATION_BYTES:
        return False
    if _MADE_UP_NAME.fullmatch(attachment.filename):
        return True
    cid = attachment.content_id.strip("<>")
    if not cid or not html:
        return False
    shown = html.casefold().find(f"cid:{cid}".casefold())
    if shown < 0:
        return False
    history = _HISTORY.search(html)
    return history is not None and history.start() < shown


def own_attachments(parsed: ParsedMessage) -> tuple[ParsedAttachment, ...]:
    """The attachments of *parsed* that the writer sent: all but decoration."""
    if not parsed.attachments:
        return ()
    return tuple(a for a in parsed.attachments if not is_decoration(a, parsed.html))
