"""What ``serve`` and its processing children load at start-up, and what they must not.

Each module a process imports stays in its memory for the process's life:
matplotlib and numpy (some 50 MB) only for the report's chart, Alembic and
Mako (some 11 MB) only to migrate, the parser (some 10 MB) only where mail is
processed, and there the HTML reader (lxml and inscriptis, some 6 MB) only for
a message with HTML, the charset detector (some 3 MB) only for text whose
charset is wrong, the bounce detector only for machine-made mail;
``cryptography`` (some 8 MB) only to sign with DKIM, dkimpy and dnspython
(some 3 MB) only to sign or to check a moderator's signature, email-validator
only to sign someone up, sqlite3 (some 1 MB) only with a SQLite database (its
engine loads it), the SMTP server (some 2 MB) only where mail is
received, the demonstration's script and the import's progress bar (some
1.5 MB) only by their commands. A fresh interpreter imports what each process
imports and lists which of those it holds.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# What `python -m mailer serve` imports before it runs (the CLI registers every
# command module), and what it starts: the web, the outbox, the scheduler, the
# supervisor of the processing children.
SERVE = [
    "mailer.cli",
    "mailer.serve",
    "mailer.web.app",
    "mailer.outbound.worker",
    "mailer.mailings.jobs",
    "mailer.inbound.workers",
]
# What a processing child (python -m mailer.inbound.runner) imports to run.
CHILD = [
    "mailer.inbound.runner",
    "mailer.inbound.pipeline",
    "mailer.keys",
    "mailer.runtime",
    "store.db",
]
HEAVY = [
    "matplotlib",
    "numpy",
    "alembic",
    "mako",
    "mailer.core.parse",
    "mailer.core.html_text",
    "lxml",
    "inscriptis",
    "charset_normalizer",
    "flufl.bounce",
    "cryptography",
    "dkim",
    "dns",
    "email_validator",
    "sqlite3",
    "aiosmtpd",
    "mailer.demo",
    "tqdm",
]


def loaded(modules: list[str]) -> set[str]:
    """Which of HEAVY a fresh interpreter holds after importing *modules*."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps([h for h in {HEAVY!r} if h in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    ("modules", "allowed"),
    [(SERVE, {"aiosmtpd"}), (CHILD, {"mailer.core.parse"})],
    ids=["serve", "processing child"],
)
def test_a_process_loads_only_what_it_uses(
    modules: list[str], allowed: set[str]
) -> None:
    assert loaded(modules) == allowed
