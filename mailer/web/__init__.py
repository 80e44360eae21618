"""The web archive: discussion and question pages, sign-up, confirm, unsubscribe, exports."""

from __future__ import annotations

from mailer.web.app import build_app
from mailer.web.server import WebServer

__all__ = ["WebServer", "build_app"]
