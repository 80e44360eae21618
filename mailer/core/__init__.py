"""The pure core: values in, values out; no sockets, database, files or clock."""

from __future__ import annotations
