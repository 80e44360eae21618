"""Tell systemd the service is ready (``Type=notify``), with the standard library alone.

systemd passes ``NOTIFY_SOCKET``: a Unix datagram socket, a path or, starting
with ``@``, an abstract name. One datagram ``READY=1`` after every listener is
bound. Without the variable nothing is sent.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("ediscuss.service")


def sd_notify(state: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send *state* (``READY=1``, ...) to systemd; False when not run under it or it failed."""
    address = environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError as exc:
        log.warning("notify failed socket=%s state=%s error=%s", address, state, exc)
        return False
    return True
