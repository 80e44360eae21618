"""What the schedule and approved posts send: the mailings of a discussion.

:mod:`~mailer.mailings.releases` releases questions and
:mod:`~mailer.mailings.announcements` announces them;
:mod:`~mailer.mailings.publish` sends an approved post to its readers;
:mod:`~mailer.mailings.digests` builds and sends the daily digests, through the
list-mail helper :mod:`~mailer.mailings.listmail`; :mod:`~mailer.mailings.due`
says what is due now, and :mod:`~mailer.mailings.jobs` is the APScheduler wiring
that ``serve`` runs.

The moderators' commands (a layer below) set some of these going: they are handed
:data:`MAILING_CALLS` by whoever runs them (the inbound handlers, the commands).
"""

from __future__ import annotations

from mailer.mailings.publish import publish_post
from mailer.mailings.releases import (
    close_discussion,
    release_questions,
    reopen_discussion,
)
from mailer.moderation import MailingCalls

MAILING_CALLS = MailingCalls(
    publish=publish_post,
    release=release_questions,
    close=close_discussion,
    reopen=reopen_discussion,
)

__all__ = ["MAILING_CALLS"]
