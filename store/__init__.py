"""The store: models, engine set-up, migrations and queries. Imports nothing from mailer."""

from __future__ import annotations

from store.db import make_engine, make_sessionmaker, upgrade

__all__ = ["make_engine", "make_sessionmaker", "upgrade"]
