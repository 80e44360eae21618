"""Mail in, in the order it flows.

1. Received: :mod:`~mailer.inbound.smtp` (SMTP or LMTP, with
   :mod:`~mailer.inbound.smtp_paths` for the envelope paths) and
   :mod:`~mailer.inbound.imap` (a polled mailbox) hand each message to
   :mod:`~mailer.inbound.receive`, which stores the raw bytes durably, once, and
   rings the runtime's inbound bell.
2. Processed apart from the listener: :mod:`~mailer.inbound.workers` runs the
   processing children (:mod:`~mailer.inbound.runner` is one child's main), or a
   thread, each looping over :mod:`~mailer.inbound.pipeline`: claim, parse,
   count attempts, record outcomes.
3. Applied: :mod:`~mailer.inbound.lookups` gathers what routing needs for a batch,
   :mod:`~mailer.inbound.apply` routes each recipient, and
   :mod:`~mailer.inbound.effects` writes posts and notices, or
   :mod:`~mailer.inbound.handlers` hands the message to the handler of its
   address (subscriptions, moderation, bounces).
"""
