"""Mail as the participants' clients write it: Gmail, Outlook, iPhone, Android, more.

Each style builds the raw bytes a real client sends: its MIME structure,
transfer encodings and charsets, its Message-ID shape, the sign-off and
signature its user types, and the quoted history it adds under a reply
(Gmail's ``On ... wrote:``, Outlook's ``From:/Sent:`` block in the user's
language, ``Sent from my iPhone``, HTML-only mail). The shapes follow the
parser's corpus of real messages (``tests/data/corpus/``).
"""

from __future__ import annotations

import base64
import hashlib
import textwrap
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape

from mailer.demo.cast import CastMember
from mailer.demo.mime import (
    LONG_MONTHS,
    MONTHS,
    address,
    encoded_header,
    local,
    long_date,
    multipart,
    paragraphs_html,
    part,
    quote,
    quoted_printable,
    short_date,
    single,
)
from mailer.demo.phrases import MOBILE, OUTLOOK_LABELS, SIGNOFF


@dataclass(frozen=True)
class Quoted:
    """The message being answered, as the participant's client has it."""

    message_id: str
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_address: str
    date: datetime
    text: str


@dataclass(frozen=True)
class Draft:
    """What a participant writes: *body* is exactly the text they typed themselves."""

    author: CastMember
    to: str
    subject: str
    body: str
    date: datetime
    key: str  # makes the Message-ID (and multipart boundaries) reproducible
    quoted: Quoted | None = None
    to_name: str = ""
    headers: tuple[tuple[str, str], ...] = ()


def message_id_for(author: CastMember, key: str) -> str:
    """The Message-ID the author's client gives the mail named *key*."""
    h = hashlib.sha256(f"{author.email}:{key}".encode()).hexdigest()
    domain = author.email.rpartition("@")[2]
    client = author.client
    if client == "gmail":
        return f"<CAF{h[:24]}=x{h[24:36]}@mail.gmail.com>"
    if client == "outlook" or (client == "html" and author.language == "en"):
        return f"<AM0PR07MB{h[:12].upper()}@AM0PR07MB{h[12:16].upper()}.eurprd07.prod.outlook.com>"
    if client in ("iphone", "apple"):
        return f"<{str(uuid.UUID(h[:32])).upper()}@{domain}>"
    if client == "android":
        return f"<{h[:10]}.{h[10:22]}@email.android.com>"
    return f"<{uuid.UUID(h[:32])}@{domain}>"


def write(draft: Draft) -> bytes:
    """The raw bytes *draft*'s author's client would send (CRLF line ends)."""
    style = _STYLES.get(draft.author.client, _plain)
    return style(draft)


# -- pieces ----------------------------------------------------------------


def _headers(
    draft: Draft, extra: list[tuple[str, str]], message_id: str | None = None
) -> list[str]:
    d, q = draft, draft.quoted
    out = [
        ("From", address(d.author.name, d.author.email)),
        ("To", address(d.to_name, d.to)),
        ("Subject", encoded_header(d.subject)),
        ("Date", format_datetime(d.date)),
        ("Message-ID", message_id or message_id_for(d.author, d.key)),
    ]
    if q is not None:
        out.append(("In-Reply-To", q.message_id))
        refs = [*q.references[-8:], q.message_id]
        out.append(("References", "\r\n ".join(dict.fromkeys(refs))))
    out += list(draft.headers) + extra
    return [f"{name}: {value}" for name, value in out]


def _boundary(draft: Draft, prefix: str) -> str:
    return prefix + hashlib.sha256(("b" + draft.key).encode()).hexdigest()[:28]


def _signed(draft: Draft) -> str:
    """Body, sign-off, name and organisation: how people end a mail from a computer."""
    a = draft.author
    lines = [draft.body.rstrip(), "", SIGNOFF[a.language], a.name]
    if a.organisation:
        lines.append(a.organisation)
    return "\n".join(lines)


# -- styles ----------------------------------------------------------------


def _gmail(draft: Draft) -> bytes:
    a, q = draft.author, draft.quoted
    text = _signed(draft)
    html = f'<div dir="ltr">{paragraphs_html(text)}</div>'
    if q is not None:
        when = short_date(a.language, q.date)
        hhmm = f"{local(q.date):%H:%M}"
        attribution = {
            "en": f"On {when} at {hhmm}, {q.from_name} <\n{q.from_address}> wrote:",
            "es": f"El {when} a las {hhmm}, {q.from_name} (<\n{q.from_address}>) escribió:",
            "fr": f"Le {when} à {hhmm}, {q.from_name} <\n{q.from_address}> a écrit :",
        }[a.language]
        text += f"\n\n{attribution}\n\n{quote(q.text)}\n"
        html += (
            '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
            f"{escape(attribution.replace(chr(10), ''))}<br></div>"
            '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
            'border-left:1px solid rgb(204,204,204);padding-left:1ex">'
            f"{escape(q.text).replace(chr(10), '<br>' + chr(10))}</blockquote></div>"
        )
    parts = [part("text/plain", "UTF-8", text), part("text/html", "UTF-8", html)]
    return multipart(_headers(draft, []), _boundary(draft, "000000000000"), parts)


_OUTLOOK_CHARSET = {"en": "us-ascii", "es": "iso-8859-1", "fr": "windows-1252"}


def _outlook_block(draft: Draft, q: Quoted) -> list[tuple[str, str]]:
    lang = draft.author.language
    f, s, t, subj, _ = OUTLOOK_LABELS[lang]
    return [
        (f, f"{q.from_name} <{q.from_address}>"),
        (s, long_date(lang, q.date)),
        (t, f"{draft.author.name} <{draft.author.email}>"),
        (subj, q.subject),
    ]


def _outlook(draft: Draft) -> bytes:
    a, q = draft.author, draft.quoted
    text = _signed(draft)
    html_body = "".join(
        f'<p class="MsoNormal">{escape(line) or "&nbsp;"}<o:p></o:p></p>'
        for line in text.split("\n")
    )
    if q is not None:
        block = _outlook_block(draft, q)
        text += "\n\n" + "\n".join(f"{k}: {v}" for k, v in block) + "\n\n" + q.text
        html_body += (
            '<div><div style="border:none;border-top:solid #E1E1E1 1.0pt;'
            'padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal">'
            + "<br>".join(f"<b>{k}:</b> {escape(v)}" for k, v in block)
            + "</p></div></div>"
            + f'<p class="MsoNormal">{escape(q.text).replace(chr(10), "<br>")}</p>'
        )
    html = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        "<style><!-- p.MsoNormal {margin:0cm;font-size:11.0pt;"
        'font-family:"Calibri",sans-serif;} --></style></head>'
        f'<body lang="EN-US"><div class="WordSection1">{html_body}</div></body></html>'
    )
    charset = _OUTLOOK_CHARSET[a.language]
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
    h = hashlib.sha256(draft.key.encode()).digest()
    extra = [
        (
            "Thread-Topic",
            encoded_header(draft.subject.removeprefix(OUTLOOK_LABELS[a.language][4])),
        ),
        ("Thread-Index", base64.b64encode(h[:22]).decode("ascii")),
        (
            "Accept-Language",
            {"en": "en-GB, en-US", "es": "es-ES, en-US", "fr": "fr-FR, en-US"}[
                a.language
            ],
        ),
        ("Content-Language", {"en": "en-GB", "es": "es-ES", "fr": "fr-FR"}[a.language]),
        ("X-MS-Has-Attach", ""),
    ]
    parts = [part("text/plain", charset, text), part("text/html", "utf-8", html)]
    return multipart(_headers(draft, extra), _boundary(draft, "_000_"), parts)


def _iphone(draft: Draft) -> bytes:
    a, q = draft.author, draft.quoted
    text = draft.body.rstrip() + "\n\n" + MOBILE["iphone"][a.language]
    if q is not None:
        w = local(q.date)
        lead = {
            "en": f"On {w.day} {MONTHS['en'][w.month - 1]} {w.year}, at {w:%H:%M}, "
            f"{q.from_name} <{q.from_address}> wrote:",
            "es": f"El {w.day} {MONTHS['es'][w.month - 1]} {w.year}, a las {w:%H:%M}, "
            f"{q.from_name} <{q.from_address}> escribió:",
            "fr": f"Le {w.day} {MONTHS['fr'][w.month - 1]} {w.year} à {w:%H:%M}, "
            f"{q.from_name} <{q.from_address}> a écrit :",
        }[a.language]
        text += f"\n\n> {lead}\n>\n{quote(q.text)}\n"
    html = (
        '<html><head><meta http-equiv="content-type" content="text/html; '
        'charset=utf-8"></head><body dir="auto">'
        + paragraphs_html(draft.body.rstrip() + "\n\n" + MOBILE["iphone"][a.language])
        + "</body></html>"
    )
    extra = [("X-Mailer", "iPhone Mail (18E199)")]
    parts = [part("text/plain", "utf-8", text), part("text/html", "utf-8", html)]
    return multipart(_headers(draft, extra), _boundary(draft, "Apple-Mail-"), parts)


def _android(draft: Draft) -> bytes:
    a, q = draft.author, draft.quoted
    text = draft.body.rstrip() + "\n\n\n\n" + MOBILE["android"][a.language]
    if q is not None:
        w = local(q.date)
        sep, f, d, t, s = {
            "en": (
                "-------- Original message --------",
                "From",
                "Date",
                "To",
                "Subject",
            ),
            "es": (
                "-------- Mensaje original --------",
                "De",
                "Fecha",
                "Para",
                "Asunto",
            ),
            "fr": ("-------- Message d'origine --------", "De", "Date", "À", "Objet"),
        }[a.language]
        text += (
            f"\n\n{sep}\n{f}: {q.from_name} <{q.from_address}> \n"
            f"{d}: {w.day}/{w.month}/{w:%y}  {w:%H:%M}  (GMT{w:%z}) \n"
            f"{t}: {a.email} \n{s}: {q.subject} \n\n{q.text}"
        )
    parts = [part("text/plain", "UTF-8", text, "base64")]
    return multipart(
        _headers(draft, []), _boundary(draft, "--_com.samsung.android.email_"), parts
    )


def _flowed(text: str) -> str:
    """RFC 3676 format=flowed: long lines wrapped with a trailing space."""
    out: list[str] = []
    for line in text.split("\n"):
        if line.startswith(">") or line == "-- " or len(line) <= 72:
            out.append(line)
            continue
        wrapped = textwrap.wrap(
            line, 72, break_long_words=False, break_on_hyphens=False
        )
        out += [w + " " for w in wrapped[:-1]] + wrapped[-1:]
    return "\n".join(out)


def _thunderbird(draft: Draft) -> bytes:
    a, q = draft.author, draft.quoted
    text = draft.body.rstrip()
    if q is not None:
        w = local(q.date)
        lead = {
            "en": f"On {w:%d/%m/%Y %H:%M}, {q.from_name} wrote:",
            "es": f"El {w:%d/%m/%Y} a las {w:%H:%M}, {q.from_name} escribió:",
            "fr": f"Le {w:%d/%m/%Y} à {w:%H:%M}, {q.from_name} a écrit :",
        }[a.language]
        text += "\n\n-- \n" + a.name + (f"\n{a.organisation}" if a.organisation else "")
        text += f"\n\n{lead}\n{quote(q.text)}\n"
    else:
        text += "\n\n-- \n" + a.name + (f"\n{a.organisation}" if a.organisation else "")
    headers = _headers(
        draft,
        [
            (
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:78.0) Thunderbird/78.8.0",
            ),
            ("Content-Language", a.language),
        ],
    )
    part = (
        "Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{quoted_printable(_flowed(text))}"
    )
    return single(headers, part)


def _apple(draft: Draft) -> bytes:
    a, q = draft.author, draft.quoted
    first = a.name.split()[0]
    text = f"{draft.body.rstrip()}\n\n{SIGNOFF[a.language]}\n{first}"
    if q is not None:
        w = local(q.date)
        lead = {
            "en": f"On {w.day} {LONG_MONTHS['en'][w.month - 1]} {w.year}, at {w:%H:%M},"
            f" {q.from_name} <{q.from_address}> wrote:",
            "es": f"El {w.day} {LONG_MONTHS['es'][w.month - 1]} {w.year}, a las "
            f"{w:%H:%M}, {q.from_name} <{q.from_address}> escribió:",
            "fr": f"Le {w.day} {LONG_MONTHS['fr'][w.month - 1]} {w.year} à {w:%H:%M},"
            f" {q.from_name} <{q.from_address}> a écrit :",
        }[a.language]
        text += f"\n\n{lead}\n\n{quote(q.text)}\n"
    html = f"<html><body>{paragraphs_html(text)}</body></html>"
    parts = [part("text/plain", "utf-8", text), part("text/html", "utf-8", html)]
    return multipart(
        _headers(draft, [("X-Mailer", "Apple Mail (2.3654.120.0.1.13)")]),
        _boundary(draft, "Apple-Mail=_"),
        parts,
    )


def _html_only(draft: Draft) -> bytes:
    """Outlook on the web (English) or Thunderbird in HTML mode: no text part at all."""
    a, q = draft.author, draft.quoted
    body = "".join(
        "<p>" + escape(p).replace("\n", "<br>") + "</p>"
        for p in draft.body.strip().split("\n\n")
    )
    body += f"<p>{escape(SIGNOFF[a.language])}<br>{escape(a.name.split()[0])}</p>"
    if a.language == "en":
        html = (
            '<html><head><meta http-equiv="Content-Type" content="text/html; '
            'charset=utf-8"></head><body dir="ltr"><div style="font-family: '
            'Calibri, Arial, Helvetica, sans-serif; font-size: 12pt;">'
            f"{body}</div>"
        )
        if q is not None:
            block = _outlook_block(draft, q)
            html += (
                '<div id="appendonsend"></div><hr style="display:inline-block;'
                'width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr">'
                '<font face="Calibri, sans-serif" style="font-size:11pt">'
                + "<br>".join(f"<b>{k}:</b> {escape(v)}" for k, v in block)
                + "</font><div>&nbsp;</div></div>"
                + f"<div>{escape(q.text).replace(chr(10), '<br>')}</div>"
            )
        html += "</body></html>"
    else:
        html = (
            '<html><head><meta http-equiv="content-type" content="text/html; '
            f'charset=UTF-8"></head><body>{body}'
        )
        if q is not None:
            w = local(q.date)
            lead = {
                "es": f"El {w:%d/%m/%Y} a las {w:%H:%M}, {q.from_name} escribió:",
                "fr": f"Le {w:%d/%m/%Y} à {w:%H:%M}, {q.from_name} a écrit :",
            }[a.language]
            html += (
                f'<div class="moz-cite-prefix">{escape(lead)}<br></div>'
                f'<blockquote type="cite"><pre class="moz-quote-pre" wrap="">'
                f"{escape(q.text)}</pre></blockquote>"
            )
        html += "</body></html>"
    return single(_headers(draft, []), part("text/html", "utf-8", html))


def _plain(draft: Draft) -> bytes:
    """Mutt and the like: plain text, a ``-- `` signature, ``>`` quoting."""
    a, q = draft.author, draft.quoted
    text = draft.body.rstrip()
    sig = a.name + (f" | {a.organisation}" if a.organisation else "")
    # The signature goes under the new text, above any quote (reply on top).
    text += f"\n\n-- \n{sig}"
    if q is not None:
        w = local(q.date)
        text += (
            f"\n\nOn {w:%a, %d %b %Y at %H:%M}, {q.from_name} wrote:\n{quote(q.text)}"
        )
    headers = _headers(draft, [("User-Agent", "NeoMutt/20200501")])
    return single(headers, part("text/plain", "utf-8", text + "\n", "8bit"))


_STYLES: dict[str, Callable[[Draft], bytes]] = {
    "gmail": _gmail,
    "outlook": _outlook,
    "iphone": _iphone,
    "android": _android,
    "thunderbird": _thunderbird,
    "apple": _apple,
    "html": _html_only,
    "plain": _plain,
}
