"""The small pieces of a raw message that every client style needs.

Header encoding (RFC 2047 encoded words, CRLF folding), quoted-printable and
base64 bodies, multipart assembly, and dates written the way clients quote
them in English, Spanish and French.
"""

from __future__ import annotations

import base64
import quopri
from datetime import datetime
from email.header import Header
from email.utils import formataddr
from html import escape
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Zurich")  # how dates in quoted history are shown

DAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "es": ("lun.", "mar.", "mié.", "jue.", "vie.", "sáb.", "dom."),
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
}
LONG_DAYS = {
    "en": (
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
           "Nov", "Dec"),
    "es": ("ene.", "feb.", "mar.", "abr.", "may.", "jun.", "jul.", "ago.", "sept.",
           "oct.", "nov.", "dic."),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
           "oct.", "nov.", "déc."),
}  # fmt: skip
LONG_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
}  # fmt: skip


def local(moment: datetime) -> datetime:
    return moment.astimezone(ZONE)


def encoded_header(value: str) -> str:
    """A header value as RFC 2047 encoded words when it is not ASCII."""
    try:
        value.encode("ascii")
    except UnicodeEncodeError:
        return Header(value, "utf-8").encode().replace("\n", "\r\n")
    return value


def address(name: str, email: str) -> str:
    return formataddr((name, email), charset="utf-8") if name else email


def quoted_printable(text: str, charset: str = "utf-8") -> str:
    """*text* quoted-printable in *charset*, CRLF line ends."""
    raw = text.replace("\r\n", "\n").encode(charset)
    return quopri.encodestring(raw).decode("ascii").replace("\n", "\r\n")


def base64_body(text: str) -> str:
    raw = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    return base64.encodebytes(raw).decode("ascii").replace("\n", "\r\n")


def part(ctype: str, charset: str, text: str, cte: str = "quoted-printable") -> str:
    if cte == "base64":
        body = base64_body(text)
    elif cte == "8bit":
        body = text.replace("\r\n", "\n").replace("\n", "\r\n")
    else:
        body = quoted_printable(text, charset)
    return (
        f"Content-Type: {ctype}; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {cte}\r\n\r\n{body}"
    )


def multipart(headers: list[str], boundary: str, parts: list[str]) -> bytes:
    head = "\r\n".join(
        [
            *headers,
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
        ]
    )
    body = "".join(f"--{boundary}\r\n{p.rstrip()}\r\n\r\n" for p in parts)
    return f"{head}\r\n\r\n{body}--{boundary}--\r\n".encode()


def single(headers: list[str], part: str) -> bytes:
    return ("\r\n".join([*headers, "MIME-Version: 1.0"]) + "\r\n" + part).encode()


def quote(text: str) -> str:
    return "\n".join(("> " + line).rstrip() for line in text.rstrip().split("\n"))


def paragraphs_html(text: str) -> str:
    return "".join(
        f"<div>{escape(line)}</div>" if line.strip() else "<div><br></div>"
        for line in text.split("\n")
    )


def short_date(lang: str, when: datetime) -> str:
    w = local(when)
    day, month = DAYS[lang][w.weekday()], MONTHS[lang][w.month - 1]
    if lang == "en":
        return f"{day}, {w.day} {month} {w.year}"
    return (
        f"{day} {w.day} {month} {w.year}"
        if lang == "fr"
        else f"{day}, {w.day} {month} {w.year}"
    )


def long_date(lang: str, when: datetime) -> str:
    w = local(when)
    day, month = LONG_DAYS[lang][w.weekday()], LONG_MONTHS[lang][w.month - 1]
    if lang == "en":
        return f"{day}, {month} {w.day}, {w.year} {w:%I:%M %p}"
    if lang == "es":
        return f"{day}, {w.day} de {month} de {w.year} {w:%H:%M}"
    return f"{day} {w.day} {month} {w.year} {w:%H:%M}"
