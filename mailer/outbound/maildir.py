"""The embedded default: with no relay configured, outgoing mail lands in a Maildir.

``<state_dir>/outbox/`` gets the usual ``tmp/``, ``new/`` and ``cur/``; each
message is written to ``tmp/``, flushed to disk, then renamed into ``new/``,
so a reader never sees half a message. Files use LF line ends, as Maildir
readers expect, with ``Return-Path`` and ``Delivered-To`` in front, as a local
delivery agent would write them.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from pathlib import Path

from mailer.outbound.relay import SendOutcome, SendResult

_counter = itertools.count()


class MaildirTransport:
    """Delivers each message as one file in a Maildir."""

    def __init__(self, path: Path) -> None:
        self.path = path
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        self._host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")

    def send(self, envelope_from: str, recipient: str, raw: bytes) -> SendResult:
        """Write the file; an OSError (disk full) defers the message."""
        name = (
            f"{time.time_ns() // 1000}.P{os.getpid()}Q{next(_counter)}"
            f"R{os.urandom(4).hex()}.{self._host}"
        )
        head = f"Return-Path: <{envelope_from}>\nDelivered-To: {recipient}\n"
        body = raw.replace(b"\r\n", b"\n")
        tmp = self.path / "tmp" / name
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            with os.fdopen(fd, "wb") as fh:
                fh.write(head.encode("utf-8") + body)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, self.path / "new" / name)
        except BaseException as exc:
            try:
                tmp.unlink()
            except OSError:
                pass
            if not isinstance(exc, OSError):
                raise
            return SendResult(SendOutcome.DEFERRED, f"maildir write failed: {exc}")
        return SendResult(SendOutcome.SENT, f"250 maildir new/{name}")

    def close(self) -> None:
        """Nothing to release."""
