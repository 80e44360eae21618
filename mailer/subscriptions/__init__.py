"""Subscribers: double opt-in sign-up, mail commands, leaving, reminders and expiry.

The web pages call :func:`request_subscription`, :func:`confirm_token` and
:func:`unsubscribe_subscription`; the inbound pipeline calls
:func:`handle_request_mail` and :func:`handle_confirm_mail`; the scheduler calls
:func:`send_confirmation_reminders` and :func:`expire_pending`. Why each
security decision is what it is: :mod:`~mailer.subscriptions.signup` (double
opt-in), :mod:`~mailer.subscriptions.leaving` (one-click, leaving by mail) and
:mod:`~mailer.subscriptions.mail` (what a From header may do).
"""

from __future__ import annotations

from mailer.subscriptions.leaving import (
    ConfirmOutcome,
    ConfirmResult,
    UnsubscribeOutcome,
    confirm_token,
    unsubscribe_subscription,
)
from mailer.subscriptions.mail import handle_confirm_mail, handle_request_mail
from mailer.subscriptions.schedule import expire_pending, send_confirmation_reminders
from mailer.subscriptions.signup import (
    SignupForm,
    SignupOutcome,
    SignupResult,
    request_subscription,
)
from mailer.subscriptions.values import (
    InvalidAddress,
    InvalidValue,
    check_constituency,
    check_language,
    check_mode,
    normalise_address,
)

__all__ = [
    "ConfirmOutcome",
    "ConfirmResult",
    "InvalidAddress",
    "InvalidValue",
    "SignupForm",
    "SignupOutcome",
    "SignupResult",
    "UnsubscribeOutcome",
    "check_constituency",
    "check_language",
    "check_mode",
    "confirm_token",
    "expire_pending",
    "handle_confirm_mail",
    "handle_request_mail",
    "normalise_address",
    "request_subscription",
    "send_confirmation_reminders",
    "unsubscribe_subscription",
]
