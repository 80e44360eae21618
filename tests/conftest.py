"""Shared fixtures: each area keeps its own in tests/fixtures/ and is listed here."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.settings",
    "tests.fixtures.inbound",
    "tests.fixtures.dovecot",
    "tests.fixtures.postfix",
    "tests.fixtures.moderation",
    "tests.fixtures.web",
    "tests.fixtures.relay",
    "tests.fixtures.schedule",
    "tests.fixtures.service",
]
