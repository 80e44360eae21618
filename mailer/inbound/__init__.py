"""Mail in, in the order it flows; every module of the package, once.

``ls`` sorts these files by name; read them in this order instead.

0. Before the mail comes: :mod:`~mailer.inbound.socketmap` tells Postfix which
   recipient addresses exist, so it refuses the rest itself.
1. Received and stored raw:

   - :mod:`~mailer.inbound.smtp`: the SMTP or LMTP listener, which refuses what
     is not ours at RCPT; :mod:`~mailer.inbound.smtp_paths` reads the envelope
     paths as the client wrote them, :mod:`~mailer.inbound.smtp_data` the mail
     data in large pieces, :mod:`~mailer.inbound.smtp_replies` adds the
     enhanced status codes aiosmtpd leaves out;
   - :mod:`~mailer.inbound.imap`: a polled mailbox, the same way in;
   - :mod:`~mailer.inbound.receive`: the one entry point both call; it stores
     the raw bytes durably, once (group commit), and rings the runtime's
     inbound bell; :mod:`~mailer.inbound.writers` is the queue every SQLite
     writer of the service waits in (the listener's commits, processing's).
2. Processed apart from the listener: :mod:`~mailer.inbound.workers` runs the
   processing children (:mod:`~mailer.inbound.runner` is one child's main), or
   a thread, each looping over :mod:`~mailer.inbound.pipeline`: claim, parse,
   count attempts, record outcomes.
3. Applied, inside the pipeline's transaction:
   :mod:`~mailer.inbound.lookups` gathers what routing needs for a batch,
   :mod:`~mailer.inbound.apply` routes each recipient, and
   :mod:`~mailer.inbound.effects` writes posts and notices, or
   :mod:`~mailer.inbound.handlers` hands the message to the handler of its
   address (subscriptions, moderation, bounces, the operator), one for every
   kind of address that is not a post's.
"""
