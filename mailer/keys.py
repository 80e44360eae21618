"""The service's signing key: from EDISCUSS_SERVICE_SECRET, or a key file made once."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from mailer.config.settings import ServiceSettings


def load_signing_key(service: ServiceSettings) -> bytes:
    """The HMAC key for address and link tokens.

    Several nodes must share it: set ``EDISCUSS_SERVICE_SECRET`` on each. A single
    node without it gets ``<state_dir>/secret.key``, created once with mode 0600.
    """
    if service.secret:
        return service.secret.encode("utf-8")
    path = Path(service.state_dir) / "secret.key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key
