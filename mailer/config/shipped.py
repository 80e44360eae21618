"""The shipped ``config.toml``: the model discussion and every service default, commented.

The repository keeps it at the top; a wheel carries a copy as
``mailer/config/config.toml`` (see setup.py), so that ``ediscuss config sample``
gives an operator who installed from a wheel the same starting point.
"""

from __future__ import annotations

from pathlib import Path


def shipped_config() -> Path:
    """The shipped ``config.toml``: inside the installed package, else at the repository's top."""
    packaged = Path(__file__).resolve().parent / "config.toml"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "config.toml"
