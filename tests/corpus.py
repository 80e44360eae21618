"""The inbound corpus (tests/data/corpus/): each message with what parsing must make of it.

A message is ``<name>.eml``, or ``<name>.recipe.toml`` for one too big to keep in
the repository (an attachment over the parser's limit), which is built here when
it is read: the recipe holds the message's text around the attachment and says
how many bytes the attachment has and what they are. Either way the
expectations are ``<name>.expected.toml``.
"""

from __future__ import annotations

import base64
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
_RECIPE = ".recipe.toml"


@dataclass(frozen=True)
class CorpusMessage:
    """One message of the corpus: its name and the file it is read or built from."""

    name: str
    source: Path

    @property
    def expected_path(self) -> Path:
        return self.source.parent / f"{self.name}.expected.toml"

    def expected(self) -> dict[str, Any]:
        """The message's expectations (see tests/data/corpus/README.md)."""
        with self.expected_path.open("rb") as f:
            return tomllib.load(f)

    def read_bytes(self) -> bytes:
        """The raw message, as a mail client or server wrote it."""
        if self.source.name.endswith(_RECIPE):
            with self.source.open("rb") as f:
                return build_message(tomllib.load(f))
        return self.source.read_bytes()


def build_message(recipe: dict[str, Any]) -> bytes:
    """The message a recipe describes: ``head``, the attachment in base64, ``tail``.

    The attachment is ``size`` bytes: ``start``, then ``fill`` repeated. Its base64
    comes in lines of 76 characters (RFC 2045, 6.8), and every line of the message
    ends in CRLF.
    """
    spec = recipe["attachment"]
    start = spec["start"].encode("ascii")
    fill = spec["fill"].encode("ascii")
    size = spec["size"]
    data = (start + fill * (size // len(fill) + 1))[:size]
    body = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return _crlf(recipe["head"]) + body + _crlf(recipe["tail"])


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii")


def corpus_messages(directory: Path = CORPUS) -> list[CorpusMessage]:
    """Every message of the corpus, written out or built, sorted by name."""
    found = [CorpusMessage(p.stem, p) for p in directory.glob("*.eml")]
    found += [
        CorpusMessage(p.name.removesuffix(_RECIPE), p)
        for p in directory.glob(f"*{_RECIPE}")
    ]
    return sorted(found, key=lambda m: m.name)
