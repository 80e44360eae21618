"""The participants' mailboxes: what the service delivered to each address.

With no relay configured the service writes every outgoing message to the
Maildir ``<state_dir>/outbox/``, with ``Delivered-To`` and ``Return-Path`` in
front as a local delivery agent would. The demonstration reads it as each
recipient's mail client would, to answer what they received.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import cached_property
from pathlib import Path

_HEADERS = BytesParser(policy=policy.compat32)
_SERVICE_ID = re.compile(r"^<([a-z0-9-]+)\.[0-9a-f]{32}@(.+)>$")


@dataclass(frozen=True)
class Delivered:
    """One message as it landed in one recipient's mailbox (read in full when asked)."""

    name: str
    path: Path
    recipient: str
    return_path: str
    message_id: str
    kind: str  # from the service's Message-ID (``digest``, ``announce``...), or "post"

    @cached_property
    def message(self) -> EmailMessage:
        """The whole message, as a mail client reads it."""
        msg = message_from_bytes(self.path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def subject(self) -> str:
        """The decoded subject."""
        return str(self.message.get("Subject", "")).strip()

    @property
    def text(self) -> str:
        """The text/plain body, decoded."""
        part = self.message.get_body(("plain",))
        if not isinstance(part, EmailMessage):
            return ""
        return str(part.get_content()).replace("\r\n", "\n")

    def header(self, name: str) -> str:
        """One header's decoded value, or ''."""
        return str(self.message.get(name, "")).strip()

    @property
    def reply_to(self) -> str:
        """The bare Reply-To address, if any."""
        value = self.message.get("Reply-To")
        addresses = getattr(value, "addresses", ())
        return str(addresses[0].addr_spec) if addresses else ""


def kind_of(message_id: str, domain: str) -> str:
    """What the service sent, from its Message-ID; "post" for a post's own ID."""
    found = _SERVICE_ID.match(message_id.strip())
    if found and found.group(2) == domain:
        return found.group(1)
    return "post"


class DemoMailboxes:
    """Every recipient's mailbox, read from the service's outbox Maildir."""

    def __init__(self, maildir: Path, domain: str) -> None:
        self.maildir = maildir
        self.domain = domain
        self._seen: set[str] = set()
        self._by_recipient: dict[str, list[Delivered]] = defaultdict(list)
        self.all: list[Delivered] = []

    def refresh(self) -> list[Delivered]:
        """Read what arrived since the last call, oldest first."""
        folder = self.maildir / "new"
        if not folder.is_dir():
            return []
        names = sorted(n for n in _listdir(folder) if n not in self._seen)
        fresh = []
        for name in names:
            path = folder / name
            with path.open("rb") as fh:  # the headers only: bodies are read on demand
                head = _HEADERS.parse(fh, headersonly=True)
            message_id = " ".join(str(head.get("Message-ID", "")).split())
            item = Delivered(
                name=name,
                path=path,
                recipient=str(head.get("Delivered-To", "")).strip().lower(),
                return_path=str(head.get("Return-Path", "")).strip("<> \n"),
                message_id=message_id,
                kind=kind_of(message_id, self.domain),
            )
            self._seen.add(name)
            self._by_recipient[item.recipient].append(item)
            self.all.append(item)
            fresh.append(item)
        return fresh

    def of(self, address: str) -> list[Delivered]:
        """What *address* received so far, oldest first."""
        return list(self._by_recipient.get(address.lower(), ()))

    def latest(self, address: str, kind: str) -> Delivered | None:
        """The newest message of *kind* in *address*'s mailbox."""
        found = [d for d in self.of(address) if d.kind == kind]
        return found[-1] if found else None


def _listdir(folder: Path) -> list[str]:
    # Maildir names start with the delivery time in microseconds: sorting
    # them sorts the deliveries. Only whole files are ever renamed into new/.
    return os.listdir(folder)
