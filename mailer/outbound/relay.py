"""Hand rendered messages to the configured relay over one kept connection.

A :class:`SmtpRelay` connects lazily (plain, STARTTLS or implicit TLS, then
AUTH when a username is set) and keeps the connection for every message of a
run; the worker holds one for each of its lanes. Each message is one SMTP
transaction whose answer decides its fate: 2xx sent, 4xx or a broken
connection deferred, 5xx failed. Where the relay announces PIPELINING, the
envelope and DATA go in one write (smtplib does not pipeline; the commands are
written here and smtplib reads the answers). The relay does not know why a
message exists; the worker records the outcome.
"""

from __future__ import annotations

import enum
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Protocol

from mailer.config.settings import RelaySettings
from mailer.core.choices import Security

# An address smtplib.quoteaddr would give back as it is, in angle brackets:
# a dot-atom local part at a dot-atom domain (RFC 5321 4.1.2), ASCII only.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*")


class SendOutcome(enum.Enum):
    """What became of one message handed to a transport."""

    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"


@dataclass(frozen=True)
class SendResult:
    """The outcome of one message and the server's answer (for the log and the row)."""

    outcome: SendOutcome
    answer: str
    stage: str = "data"  # connect | mail | rcpt | data: where the answer came

    @property
    def about_recipient(self) -> bool:
        """True when the recipient's side answered (RCPT or DATA), not our relay's set-up."""
        return self.stage in ("rcpt", "data") and self.answer[:3].isdigit()


class Transport(Protocol):
    """Something that takes one message for one recipient: a relay or a Maildir."""

    def send(self, envelope_from: str, recipient: str, raw: bytes) -> SendResult:
        """Deliver *raw* to *recipient* with *envelope_from* as the return path."""
        ...

    def close(self) -> None:
        """Release the connection or file handles."""
        ...


def outcome_of(code: int) -> SendOutcome:
    """2xx sent, 5xx failed, anything else (4xx, odd codes) deferred."""
    if 200 <= code < 300:
        return SendOutcome.SENT
    if 500 <= code < 600:
        return SendOutcome.FAILED
    return SendOutcome.DEFERRED


def _answer(code: int, text: bytes | str) -> str:
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(raw.split())}".strip()


def _data_bytes(raw: bytes) -> bytes:
    """*raw* as DATA sends it: leading dots doubled, ended by a line with a dot.

    The same bytes as smtplib's ``(?m)^\\.`` substitution, without a regular
    expression walking every line of every copy.
    """
    quoted = raw.replace(b"\n.", b"\n..")
    if quoted.startswith(b"."):
        quoted = b"." + quoted
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    return quoted + b".\r\n"


class SmtpRelay:
    """A connection to the smarthost, opened on first use and reused until closed."""

    def __init__(
        self,
        settings: RelaySettings,
        *,
        local_hostname: str,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.local_hostname = local_hostname
        self.ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.security is Security.TLS:
            smtp = smtplib.SMTP_SSL(
                s.host,
                s.port,
                local_hostname=self.local_hostname,
                timeout=s.timeout_seconds,
                context=self._context(),
            )
        else:
            smtp = smtplib.SMTP(
                s.host,
                s.port,
                local_hostname=self.local_hostname,
                timeout=s.timeout_seconds,
            )
        try:
            # Commands are small writes; without TCP_NODELAY, Nagle's
            # algorithm may hold one for the peer's delayed ACK (about 40 ms).
            if smtp.sock is not None:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            if s.security is Security.STARTTLS:
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            _quietly_close(smtp)
            raise
        return smtp

    def send(self, envelope_from: str, recipient: str, raw: bytes) -> SendResult:
        """One SMTP transaction; never raises for anything the network or server does.

        Where the relay offers PIPELINING (RFC 2920), MAIL FROM, RCPT TO and
        DATA go out in one write and their three answers are read together:
        two round trips a message instead of four.
        """
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except smtplib.SMTPAuthenticationError as exc:
                # A wrong password is the operator's to fix: keep the mail.
                return SendResult(
                    SendOutcome.DEFERRED,
                    "relay refused login: " + _answer(exc.smtp_code, exc.smtp_error),
                    "connect",
                )
            except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
                return SendResult(
                    SendOutcome.DEFERRED, f"cannot connect to relay: {exc}", "connect"
                )
        smtp = self._smtp
        options: list[str] = []
        if not (raw.isascii() and recipient.isascii() and envelope_from.isascii()):
            if not smtp.has_extn("smtputf8"):
                return SendResult(
                    SendOutcome.FAILED,
                    "relay does not offer SMTPUTF8 for this message",
                    "mail",
                )
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        if any(c in envelope_from + recipient for c in "\r\n"):
            return SendResult(SendOutcome.FAILED, "line break in an address", "mail")
        if options:
            smtp.command_encoding = "utf-8"
        tail = "".join(f" {option}" for option in options)
        mail = f"FROM:{_quoted(envelope_from)}{tail}"
        rcpt = f"TO:{_quoted(recipient)}"
        stage = "mail"
        try:
            if smtp.has_extn("pipelining"):
                return self._pipelined(smtp, mail, rcpt, raw)
            code, text = smtp.docmd("mail", mail)
            if code != 250:
                return self._refused(code, text, stage)
            stage = "rcpt"
            code, text = smtp.docmd("rcpt", rcpt)
            if code not in (250, 251):
                return self._refused(code, text, stage)
            stage = "data"
            code, text = smtp.data(raw)
        except smtplib.SMTPDataError as exc:  # no 354 after DATA
            return self._refused(exc.smtp_code, exc.smtp_error, stage)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            return SendResult(SendOutcome.DEFERRED, f"connection lost: {exc}", stage)
        return self._answered(code, text, stage)

    def _pipelined(
        self, smtp: smtplib.SMTP, mail: str, rcpt: str, raw: bytes
    ) -> SendResult:
        """MAIL, RCPT and DATA in one write, then the message: RFC 2920.

        Each command still gets its own answer, read in order; the first
        refusal decides the outcome (a 5xx at RCPT fails this copy, a 4xx
        defers it). A connection lost on the way raises to :meth:`send`.
        """
        smtp.send(f"MAIL {mail}\r\nRCPT {rcpt}\r\nDATA\r\n")
        mail_code, mail_text = smtp.getreply()
        rcpt_code, rcpt_text = smtp.getreply()
        data_code, data_text = smtp.getreply()
        envelope_ok = mail_code == 250 and rcpt_code in (250, 251)
        if data_code == 354 and not envelope_ok:
            # DATA was taken though the envelope was refused: an empty
            # message ends it, and the server refuses that (RFC 2920, 3.1).
            smtp.send(b".\r\n")
            smtp.getreply()
        if mail_code != 250:
            return self._refused(mail_code, mail_text, "mail")
        if rcpt_code not in (250, 251):
            return self._refused(rcpt_code, rcpt_text, "rcpt")
        if data_code != 354:
            return self._refused(data_code, data_text, "data")
        smtp.send(_data_bytes(raw))
        code, text = smtp.getreply()
        return self._answered(code, text, "data")

    def _answered(self, code: int, text: bytes | str, stage: str) -> SendResult:
        if code == 421:
            self.close()
        return SendResult(outcome_of(code), _answer(code, text), stage)

    def _refused(self, code: int, text: bytes | str, stage: str) -> SendResult:
        """A refused MAIL, RCPT or DATA: reset the transaction, keep the connection."""
        if code == 421 or self._smtp is None:
            self.close()
        else:
            try:
                self._smtp.rset()
            except (OSError, smtplib.SMTPException):
                self.close()
        return SendResult(outcome_of(code), _answer(code, text), stage)

    def close(self) -> None:
        """QUIT and forget the connection (the next send reconnects)."""
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            _quietly_close(smtp)


def _quoted(address: str) -> str:
    """``<address>`` as smtplib.quoteaddr writes it, without parsing a plain address.

    quoteaddr runs the email package's address parser, a large share of a
    copy's CPU; a plain address (every subscriber's, every VERP return path)
    comes back from it unchanged, so only the others are parsed.
    """
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return smtplib.quoteaddr(address)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass
