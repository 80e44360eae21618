"""What the schedule and approved posts send: the mailings of a discussion.

:mod:`~mailer.mailings.releases` releases questions and
:mod:`~mailer.mailings.announcements` announces them;
:mod:`~mailer.mailings.publish` sends an approved post to its readers;
:mod:`~mailer.mailings.digests` builds and sends the daily digests, through the
list-mail helper :mod:`~mailer.mailings.listmail`; :mod:`~mailer.mailings.due`
says what is due now, and :mod:`~mailer.mailings.jobs` is the APScheduler wiring
that ``serve`` runs.
"""
