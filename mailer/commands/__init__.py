"""The CLI's command groups; each module adds its subcommands with ``register``."""

from __future__ import annotations
