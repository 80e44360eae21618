"""The one entry point for received mail, whatever carried it: store it, durably, once."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailer.clock import Clock
from mailer.core.dedupe import inbound_key
from mailer.core.errors import StoreUnavailable
from mailer.inbound.smtp import Accept, Accepted, Delivery
from store.inbox import store_inbound


def make_accept(sessions: sessionmaker[Session], clock: Clock) -> Accept:
    """A function that commits a :class:`Delivery` and says where it landed.

    It returns only after the commit: its caller may then say 250 (or, for IMAP,
    flag the message on the server). A database error becomes
    :class:`StoreUnavailable`, which the SMTP server answers with 451.
    """

    def accept(delivery: Delivery) -> Accepted:
        key = inbound_key(delivery.raw)
        try:
            with sessions.begin() as session:
                stored = store_inbound(
                    session,
                    raw=delivery.raw,
                    dedupe_key=key.key,
                    message_id=key.message_id,
                    envelope_from=delivery.mail_from,
                    envelope_to=delivery.rcpt_tos,
                    received_via=delivery.via,
                    peer=delivery.peer,
                    now=clock(),
                )
        except (OperationalError, DBAPIError) as exc:
            raise StoreUnavailable(str(exc.orig or exc).splitlines()[0]) from exc
        except OSError as exc:  # disk full, permissions
            raise StoreUnavailable(str(exc)) from exc
        return Accepted(stored.inbound_id, stored.duplicate, key.message_id)

    return accept
