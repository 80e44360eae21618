"""Changing a subscription from its manage page: what it receives and in which language.

The page's link names one run of one subscription (see :mod:`mailer.links`);
the change is made only while that run is still the subscription's, checked
again inside the transaction that makes it, so a link that raced an
unsubscribe changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from store.models import DeliveryMode, Subscription, SubscriptionStatus

log = logging.getLogger("ediscuss.subscribers")


@dataclass(frozen=True)
class SettingsChange:
    """A subscription's delivery mode and language, before and after a change."""

    mode_before: DeliveryMode
    mode: DeliveryMode
    language_before: str
    language: str

    @property
    def mode_changed(self) -> bool:
        """Whether the delivery mode is new."""
        return self.mode is not self.mode_before

    @property
    def language_changed(self) -> bool:
        """Whether the language is new."""
        return self.language != self.language_before


def change_settings(
    session: Session,
    subscription_id: int,
    generation: int,
    mode: DeliveryMode,
    language: str,
) -> SettingsChange | None:
    """Set mode and language of an active subscription still in run *generation*.

    None when the subscription has ended or started anew since the link was
    made: the caller says the link is spent.
    """
    sub = session.get(Subscription, subscription_id, with_for_update=True)
    if (
        sub is None
        or sub.status is not SubscriptionStatus.ACTIVE
        or sub.link_generation != generation
    ):
        return None
    change = SettingsChange(sub.mode, mode, sub.language, language)
    sub.mode = mode
    sub.language = language
    log.info(
        "subscription %d: mode %s language %s by its manage page",
        sub.id,
        mode.value,
        language,
    )
    return change
