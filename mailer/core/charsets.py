"""Bytes of a received text to str: the declared charset when it is right, else a guess.

Mail lies about its charset often: ``iso-8859-1`` that is really windows-1252
(Outlook's curly quotes), ``iso-8859-1`` that is really UTF-8, 8-bit text with
no charset at all, names no codec knows. Each of those is read as well as it
can be and named in a defect, so nothing is stored as mojibake silently.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass

# Names seen in real mail that Python does not know, or knows under another
# meaning. iso-8859-1 and us-ascii are read as windows-1252, as every browser
# does (https://encoding.spec.whatwg.org/#names-and-labels).
_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "x-sjis": "cp932",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "windows-31j": "cp932",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-8-i": "iso8859-8",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "tis-620": "cp874",
    "iso-2022-jp": "iso2022_jp_ext",
}

# Stateful 7-bit encodings: ASCII bytes do not mean ASCII text in them.
_SEVEN_BIT_STATEFUL = ("iso2022", "utf-7", "hz")

# Single-byte charsets often declared for text that is really UTF-8.
_SINGLE_BYTE = re.compile(r"^(cp125\d|iso8859-\d+|mac-roman|ascii|koi8-[ru])$")

# When several guesses read equally well, the one most common in our mail wins.
_PREFERENCE = (
    "utf_8",
    "cp1252",
    "iso8859_15",
    "iso8859_2",
    "cp1250",
    "cp1251",
    "koi8_r",
    "cp932",
    "euc_jp",
    "iso2022_jp",
    "gb18030",
    "big5",
    "cp949",
)
_GUESS_SAMPLE = 64 * 1024
_ASCII_NAMES = frozenset({"us-ascii", "ascii", "ansi_x3.4-1968"})


@dataclass(frozen=True)
class Decoded:
    """Text read from bytes, the codec used, and the problem noticed, if any."""

    text: str
    codec: str
    defect: str = ""


def codec_for(declared: str | None) -> str | None:
    """The Python codec for a declared MIME charset name, or None when unknown."""
    if not declared:
        return None
    name = declared.strip().strip("\"'").lower()
    name = name.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def _guess(data: bytes) -> str | None:
    """The most plausible codec for *data* among those common in mail."""
    import charset_normalizer  # some 3 MB, for the rare text whose charset is wrong

    try:
        results = charset_normalizer.from_bytes(
            data[:_GUESS_SAMPLE], cp_isolation=list(_PREFERENCE)
        )
    except Exception:  # noqa: BLE001 - a detector bug must not lose the message
        return None
    found = [r for r in results if r.encoding]
    if not found:
        return None
    best = min(r.chaos for r in found)
    eligible: set[str] = set()
    for r in found:
        if r.chaos <= best + 0.02:
            eligible.update(r.could_be_from_charset or [r.encoding])
    for name in _PREFERENCE:
        if name in eligible:
            return name
    return found[0].encoding


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Byte order marks: text a Windows program wrote as UTF-16 (or UTF-32) under
# another label; read as that label it loses its NULs and starts with "ÿþ".
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _wide(data: bytes, codec: str | None) -> Decoded | None:
    """*data* as the UTF-16 or UTF-32 its byte order mark says, when it decodes."""
    for bom, wide in _BOMS:
        if data.startswith(bom):
            if codec is not None and codec.startswith(wide):
                return None  # labelled right: the codec reads it
            try:
                text = data.decode(wide)
            except UnicodeDecodeError:
                return None
            # Any even run of bytes reads as UTF-16: only text that reads as
            # text (letters, digits, punctuation, spaces) is taken for it.
            sample = text[:_GUESS_SAMPLE]  # a 10 MB part is judged by its start
            readable = sum(1 for c in sample if c.isprintable() or c in "\r\n\t")
            return Decoded(text, wide) if readable >= 0.95 * len(sample) else None
    return None


def decode_bytes(data: bytes, declared: str | None) -> Decoded:
    """Decode *data* declared as *declared*; guess and say so when that is wrong."""
    codec = codec_for(declared)
    if data[:1] in (b"\xff", b"\xfe", b"\x00"):
        wide = _wide(data, codec)
        if wide is not None:
            said = f"declared charset {declared!r}" if declared else "no charset"
            return Decoded(
                wide.text, wide.codec, f"{said} but the text is {wide.codec.upper()}"
            )
    eight_bit = not data.isascii()
    if (
        codec is not None
        and not eight_bit
        and not codec.startswith(_SEVEN_BIT_STATEFUL)
    ):
        return Decoded(data.decode("ascii"), codec)
    if codec is None and not eight_bit:
        text = data.decode("ascii")
        if declared and codec_for(declared) is None:
            return Decoded(
                text, "ascii", f"unknown charset {declared!r}; text is ASCII"
            )
        return Decoded(text, "ascii")
    if codec is not None:
        if codec != "utf-8" and _SINGLE_BYTE.match(codec) and _is_utf8(data):
            return Decoded(
                data.decode("utf-8"),
                "utf-8",
                f"declared charset {declared!r} but the text is UTF-8",
            )
        if declared and declared.strip().strip("\"'").lower() in _ASCII_NAMES:
            problem = f"8-bit text declared as {declared!r}"
            return _fallback(data, problem)
        try:
            return Decoded(data.decode(codec), codec)
        except (UnicodeDecodeError, LookupError, ValueError):
            if codec == "cp1252":  # five bytes cp1252 leaves undefined
                return Decoded(data.decode("latin-1"), "latin-1")
            if codec.startswith("iso2022_jp"):
                microsoft = _iso2022jp_microsoft(data)
                if microsoft is not None:
                    return Decoded(microsoft, "iso2022_jp_ms")
            problem = f"text is not valid {declared!r}"
    elif declared:
        problem = f"unknown charset {declared!r}"
    else:
        problem = "8-bit text without a charset"
    return _fallback(data, problem)


_JIS_SHIFT = re.compile(rb"\x1b(?:\([BJI]|\$[@B])")


def _jis_pairs_as_sjis(pairs: bytes) -> bytes | None:
    """JIS X 0208 code pairs as the Shift_JIS bytes of the same characters."""
    if len(pairs) % 2:
        return None
    out = bytearray()
    for k in range(0, len(pairs), 2):
        j1, j2 = pairs[k], pairs[k + 1]
        if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
            return None
        s1 = ((j1 - 0x21) >> 1) + 0x81
        if s1 > 0x9F:
            s1 += 0x40
        if j1 & 1:
            s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
        else:
            s2 = j2 + 0x7E
        out += bytes((s1, s2))
    return bytes(out)


def _iso2022jp_microsoft(data: bytes) -> str | None:
    """ISO-2022-JP as Outlook and Windows write it (CP50220/CP50221), or None.

    They put NEC's special characters (①, ㈱, ㍉) and the IBM extensions under
    the iso-2022-jp label, which Python's codecs refuse; every JIS pair is read
    through its Shift_JIS code in cp932, which has them all, and half-width
    katakana (ESC ( I) too.
    """
    if not data.isascii():
        return None
    out = bytearray()
    mode = b"(B"
    position = 0
    shifts = [*_JIS_SHIFT.finditer(data), None]
    for shift in shifts:
        segment = data[position : shift.start() if shift else len(data)]
        if mode in (b"$@", b"$B"):
            for piece in re.split(rb"([\x00-\x20]+)", segment):
                converted = piece if piece[:1] <= b" " else _jis_pairs_as_sjis(piece)
                if converted is None:
                    return None
                out += converted
        elif mode == b"(I":
            out += bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in segment)
        else:
            out += segment
        if shift is not None:
            mode, position = shift.group(0)[1:], shift.end()
    try:
        return bytes(out).decode("cp932")
    except UnicodeDecodeError:
        return None


def _fallback(data: bytes, problem: str) -> Decoded:
    """UTF-8 when the bytes are UTF-8, else the best guess, naming *problem*."""
    if _is_utf8(data):
        return Decoded(data.decode("utf-8"), "utf-8", f"{problem}; read as UTF-8")
    guessed = _guess(data)
    if guessed is not None:
        try:
            return Decoded(
                data.decode(guessed, "replace"),
                guessed,
                f"{problem}; guessed {guessed}",
            )
        except (LookupError, ValueError):
            pass
    return Decoded(
        data.decode("utf-8", "replace"),
        "utf-8",
        f"{problem}; undecodable bytes replaced",
    )


# Typical UTF-8 read as windows-1252 or latin-1: "Ã©" for "é", "â€™" for "’".
_MOJIBAKE = re.compile(
    r"[ÃÂ][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]|â€"
)


def repair_mojibake(text: str) -> Decoded:
    """Undo UTF-8 that was decoded as windows-1252 or latin-1 somewhere upstream."""
    if text.isascii() or not ("Ã" in text or "Â" in text or "â€" in text):
        return Decoded(text, "")  # every sign of it starts with one of those
    hits = len(_MOJIBAKE.findall(text))
    if hits == 0:
        return Decoded(text, "")
    for codec in ("cp1252", "latin-1"):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if len(_MOJIBAKE.findall(fixed)) < hits:
            return Decoded(fixed, "utf-8", "double-encoded UTF-8 repaired")
    if hits >= 3:
        return Decoded(text, "", "text looks like mojibake (could not repair)")
    return Decoded(text, "")


# RFC 2047 encoded words; adjacent ones are joined, whatever lies between them
# is only folding white space (RFC 2047 section 6.2).
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?\s]*)\?=")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    data = payload.encode("ascii", "replace")
    if encoding in "qQ":
        return _QP_ESCAPE.sub(
            lambda m: bytes([int(m.group(1), 16)]), data.replace(b"_", b" ")
        )
    data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    data += b"=" * (-len(data) % 4)
    try:
        return base64.b64decode(data)
    except (binascii.Error, ValueError):
        return None


_SURROGATE = re.compile("[\udc80-\udcff]")


def has_surrogates(text: str) -> bool:
    """True when *text* holds an 8-bit byte the parser kept as a lone surrogate."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def decode_header_text(value: str) -> tuple[str, tuple[str, ...]]:
    """A raw header value as text: 8-bit bytes read, unfolded, encoded words decoded.

    *value* is what the standard library's parser keeps for a header: ASCII,
    with any 8-bit byte as a lone surrogate. The result may still hold control
    characters (an encoded CR LF, CVE-2024-6923); callers pass it through
    :func:`mailer.core.headers.header_safe` before exposing it.
    """
    if value.isascii() and "=?" not in value:  # most headers: nothing to decode
        return (_FOLD.sub("", value) if "\n" in value else value), ()
    defects: list[str] = []
    if has_surrogates(value):
        data = value.encode("utf-8", "surrogateescape")
        if _is_utf8(data):
            value = data.decode("utf-8")
        else:
            read = _fallback(data, "8-bit header without a charset")
            value = read.text
            defects.append(read.defect)
    value = _FOLD.sub("", value)
    out: list[str] = []
    pending: bytes = b""
    pending_charset = ""
    position = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending_charset:
            read = decode_bytes(pending, pending_charset)
            out.append(read.text)
            if read.defect:
                defects.append(f"header: {read.defect}")
        pending, pending_charset = b"", ""

    for m in _ENCODED_WORD.finditer(value):
        between = value[position : m.start()]
        if between.strip() or not pending_charset:
            flush()
            out.append(between)
        charset, encoding, payload = m.groups()
        word = _word_bytes(encoding, payload)
        if word is None:
            flush()
            out.append(m.group(0))
            defects.append("header: undecodable encoded word")
        else:
            if pending_charset and pending_charset.lower() != charset.lower():
                flush()
            pending += word
            pending_charset = charset
        position = m.end()
    flush()
    out.append(value[position:])
    return "".join(out), tuple(dict.fromkeys(d for d in defects if d))
