"""How every ediscuss process logs: one line per event, libraries' chatter only at DEBUG."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# Lines an operator does not act on: alembic's plugin set-up and per-migration
# context, APScheduler's "Running job"/"executed successfully" at every run,
# aiosmtpd's log of each SMTP command. Their warnings still show.
CHATTY = ("alembic", "apscheduler", "mail.log")
# flufl.bounce logs each detector it runs, and the tracebacks we catch.
SILENT = ("flufl.bounce",)


def configure_logging(level: int | str = logging.INFO) -> None:
    """Log at *level*; the chatty libraries log only warnings unless *level* is DEBUG."""
    logging.basicConfig(level=level, format=FORMAT)
    root = logging.getLogger()
    root.setLevel(level)
    for name in CHATTY:
        logging.getLogger(name).setLevel(
            logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING
        )
    for name in SILENT:
        logging.getLogger(name).setLevel(logging.CRITICAL)
