"""One received message for one of the service's addresses, as the handlers of those addresses get it."""

from __future__ import annotations

from dataclasses import dataclass

from mailer.core.addresses import Recipient
from mailer.core.message import ParsedMessage


@dataclass(frozen=True)
class Incoming:
    """One received message for one of the service's addresses, as handlers get it."""

    inbound_id: int
    parsed: ParsedMessage
    recipient: Recipient
    envelope_from: str
    raw: bytes
