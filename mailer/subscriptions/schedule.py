"""The scheduler's part: one reminder for an unconfirmed sign-up, then expiry.

Both are safe to run on every node at once: the reminder is claimed with an
atomic update (and its mail has a dedupe key), and expiry is a conditional
update.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailer.subscriptions.notices import place_for
from mailer.subscriptions.signup import queue_confirmation
from store.models import Discussion, Subscriber, Subscription
from store.subscribers import due_reminders, expire_unconfirmed, mark_reminded

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.subscribers")


def send_confirmation_reminders(
    session: Session, runtime: Runtime, now: datetime
) -> int:
    """Remind, once, every sign-up unconfirmed for ``subscribers.reminder_after_hours``.

    The reminder carries a new token that expires with the original request,
    so a reminder never makes a request live longer. Returns how many went out.
    """
    hours = runtime.settings.subscribers.reminder_after_hours
    sent = 0
    for due in due_reminders(session, now - timedelta(hours=hours), now):
        if not mark_reminded(session, due.subscription_id, now):
            continue  # another node took it
        sub = session.get(Subscription, due.subscription_id)
        person = session.get(Subscriber, sub.subscriber_id) if sub else None
        discussion = session.get(Discussion, due.discussion_id)
        if sub is None or person is None or discussion is None:
            continue
        if runtime.settings.discussion(discussion.slug) is None:
            continue  # a discussion no longer configured sends nothing
        place = place_for(session, runtime, discussion.slug)
        queue_confirmation(
            session,
            runtime,
            place,
            sub,
            person,
            now,
            template="reminder",
            expires_at=due.expires_at,
            key_prefix=f"reminder:{sub.id}",
        )
        sent += 1
    if sent:
        log.info("confirmation reminders sent: %d", sent)
    return sent


def expire_pending(session: Session, now: datetime, ttl_days: int = 7) -> int:
    """Sign-ups never confirmed, whose every token has expired, become EXPIRED.

    *ttl_days* only matters for a pending subscription that never had a token;
    the others expire with their last token (``subscribers.confirm_ttl_days``).
    """
    expired = expire_unconfirmed(session, now - timedelta(days=ttl_days), now)
    if expired:
        log.info("unconfirmed subscriptions expired: %d", expired)
    return expired
