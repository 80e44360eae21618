"""Mail no person wrote: out-of-office answers and delivery failure reports (DSN).

A vacation responder answers a copy of a post (some answer the Reply-To, as
badly configured ones do, some the return path, as RFC 3834 says); a remote
mail server returns what it could not deliver to the return path, with a
``multipart/report`` of RFC 3464. None of it may become a post or get an answer.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.utils import format_datetime, formataddr

from mailer.demo.cast import CastMember
from mailer.demo.mailboxes import Delivered
from mailer.demo.mime import encoded_header, quoted_printable

_AWAY = {
    "en": ("Automatic reply: ", "I am away until {back} with limited access to mail."),
    "es": ("Respuesta automática: ", "Estaré fuera de la oficina hasta el {back}."),
    "fr": ("Réponse automatique : ", "Je suis absente du bureau jusqu'au {back}."),
}


def out_of_office(
    who: CastMember, answering: Delivered, to: str, date: datetime, back: str
) -> bytes:
    """An Exchange-style automatic reply to *answering*, sent to *to*."""
    prefix, text = _AWAY[who.language]
    headers = [
        f"From: {formataddr((who.name, who.email), charset='utf-8')}",
        f"To: {to}",
        f"Subject: {encoded_header(prefix + answering.subject)}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: {out_of_office_id(who, answering)}",
        f"In-Reply-To: {answering.message_id}",
        "Auto-Submitted: auto-replied",
        "X-Auto-Response-Suppress: All",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
    ]
    body = quoted_printable(text.format(back=back) + "\n")
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("ascii")


def out_of_office_id(who: CastMember, answering: Delivered) -> str:
    """The Message-ID of *who*'s automatic reply to *answering*."""
    digest = hashlib.sha256(f"ooo:{who.email}:{answering.message_id}".encode())
    return f"<{digest.hexdigest()[:32]}@{who.email.rpartition('@')[2]}>"


def delivery_failure(
    original: Delivered, reporting_mta: str, date: datetime, status: str = "5.1.1"
) -> bytes:
    """A Postfix-style DSN: *original* could not be delivered to its recipient."""
    rcpt = original.recipient
    boundary = hashlib.sha256(original.name.encode()).hexdigest()[:20]
    boundary = f"{boundary}.{reporting_mta}"
    mid = hashlib.sha256(f"dsn:{original.name}".encode()).hexdigest()[:24]
    diagnostic = (
        f"smtp; 550 {status} <{rcpt}>: Recipient address rejected: "
        "User unknown in local recipient table"
    )
    head = [
        f"From: MAILER-DAEMON@{reporting_mta} (Mail Delivery System)",
        f"To: {original.return_path}",
        "Subject: Undelivered Mail Returned to Sender",
        f"Date: {format_datetime(date)}",
        f"Message-ID: <{mid}@{reporting_mta}>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status;",
        f' boundary="{boundary}"',
    ]
    human = (
        f"This is the mail system at host {reporting_mta}.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n\r\n"
        f"<{rcpt}>: host {reporting_mta} said: 550 {status} <{rcpt}>:\r\n"
        "    Recipient address rejected: User unknown in local recipient table\r\n"
    )
    report = (
        f"Reporting-MTA: dns; {reporting_mta}\r\n"
        f"Arrival-Date: {format_datetime(date)}\r\n\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\n"
        f"Original-Recipient: rfc822;{rcpt}\r\n"
        "Action: failed\r\n"
        f"Status: {status}\r\n"
        f"Remote-MTA: dns; {reporting_mta}\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n"
    )
    returned = (
        f"Return-Path: <{original.return_path}>\r\n"
        f"To: {rcpt}\r\n"
        f"Subject: {encoded_header(original.subject)}\r\n"
        f"Message-ID: {original.message_id}\r\n"
        f"Date: {original.header('Date')}\r\n"
    )
    parts = [
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "Content-Description: Notification\r\n\r\n" + human,
        "Content-Type: message/delivery-status\r\n"
        "Content-Description: Delivery report\r\n\r\n" + report,
        "Content-Type: text/rfc822-headers\r\n"
        "Content-Description: Undelivered Message Headers\r\n\r\n" + returned,
    ]
    body = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n"
    text = "\r\n".join(head) + "\r\n\r\n" + body
    return text.encode("ascii")
