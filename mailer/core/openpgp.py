"""The words of an OpenPGP clear-signed message, without its armour.

Mail clients with OpenPGP (Thunderbird, Mutt, Mailvelope, K-9/FairEmail) can
sign a plain-text message "inline" (RFC 4880, section 7): the text sits
between ``-----BEGIN PGP SIGNED MESSAGE-----`` with its ``Hash:`` lines and a
``-----BEGIN PGP SIGNATURE-----`` ... ``-----END PGP SIGNATURE-----`` block,
and each of its lines that starts with a dash is "dash-escaped" with ``- ``.
The signature is not checked here (a post is not a moderator's command); the
armour is transport, not words, so neither the post nor the archive shows it.
Pure text functions.
"""

from __future__ import annotations

import re

_BEGIN = "-----BEGIN PGP SIGNED MESSAGE-----"
_SIGNATURE = "-----BEGIN PGP SIGNATURE-----"
_END = "-----END PGP SIGNATURE-----"
_MESSAGE = "-----BEGIN PGP MESSAGE-----"
_MESSAGE_END = "-----END PGP MESSAGE-----"
# The armour headers of RFC 4880, section 6.2.
_ARMOUR_HEADER = re.compile(r"(?:Hash|Charset|Version|Comment|MessageID): ")


def unwrap_clearsigned(text: str) -> str:
    """*text* with every clear-signed block replaced by the text it signs.

    Lines outside such blocks, and quoted ones (``> -----BEGIN ...``), are
    left alone. A block cut short (no signature, or no end line) keeps the
    text read so far and loses only the armour.
    """
    if _BEGIN not in text:
        return text
    out: list[str] = []
    lines = text.split("\n")
    found = False
    i = 0
    while i < len(lines):
        if lines[i].rstrip() != _BEGIN:
            out.append(lines[i])
            i += 1
            continue
        found = True
        i += 1
        while i < len(lines) and _ARMOUR_HEADER.match(lines[i]):  # "Hash: SHA256"
            i += 1
        if i < len(lines) and not lines[i].strip():  # the blank line after them
            i += 1
        while i < len(lines) and lines[i].rstrip() != _SIGNATURE:
            line = lines[i]
            out.append(line.removeprefix("- "))
            i += 1
        while i < len(lines) and lines[i].rstrip() != _END:
            i += 1
        i += 1  # the end line
    if not found:
        return text
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def without_encrypted(text: str) -> tuple[str, bool]:
    """*text* without its OpenPGP encrypted blocks (``-----BEGIN PGP MESSAGE-----``
    ... ``-----END PGP MESSAGE-----``, not quoted), and whether it had any.

    Such a block is ciphertext: read as text it would be posted as a page of
    letters. What is around it stays.
    """
    if _MESSAGE not in text:
        return text, False
    out: list[str] = []
    found = False
    inside = False
    for line in text.split("\n"):
        if not inside and line.rstrip() == _MESSAGE:
            found = inside = True
        elif inside:
            inside = line.rstrip() != _MESSAGE_END
        else:
            out.append(line)
    return ("\n".join(out) if found else text), found
