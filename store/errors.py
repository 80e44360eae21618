"""The store's exceptions: one base, so callers above can catch what the store raises.

``store`` imports nothing from ``mailer``, so its base is its own; the tree in
:mod:`mailer.core.errors` names it beside ``EdiscussError``.

StoreError
└── MissingRow     a row the caller relies on is not there (LookupError)
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class MissingRow(StoreError, LookupError):
    """A row that the caller relies on is not there (deleted, pruned or never made)."""
