"""header_safe (its format-character class against unicodedata, code point by
code point) and display_name_safe."""

from __future__ import annotations

import random
import re
import sys
import unicodedata

from mailer.core.headers import _FORMAT, display_name_safe, header_safe

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def _reference(text: str, limit: int = 200) -> str:
    """header_safe as first written: unicodedata asked character by character."""
    flat = _CONTROL.sub(" ", text)
    flat = "".join(ch for ch in flat if unicodedata.category(ch) != "Cf")
    flat = " ".join(flat.split())
    if len(flat) > limit:
        cut = flat[:limit].rsplit(" ", 1)[0] if " " in flat[:limit] else flat[:limit]
        flat = cut.rstrip() + "…"
    return flat


def test_format_class_is_exactly_category_cf() -> None:
    every = "".join(
        chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF
    )
    expected = [ch for ch in every if unicodedata.category(ch) == "Cf"]
    assert _FORMAT.findall(every) == expected


def test_header_safe_matches_the_reference_on_random_text() -> None:
    rng = random.Random(6923)
    alphabet = (
        "ab cé\t\r\n\x00\x7f\u0085\u2028\u00ad\u200b\u200e\u202e\u2066\ufeff"
        "\U000e0041\udc80ñ漢\u0600 "
    )
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        limit = rng.randint(1, 80)
        assert header_safe(text, limit) == _reference(text, limit)


def test_bidi_and_zero_width_characters_go() -> None:
    assert header_safe("Ana\u202e \u200bRuiz\u2066") == "Ana Ruiz"
    assert header_safe("soft\u00adhyphen") == "softhyphen"


def test_plain_ascii_values_match_the_reference() -> None:
    # Most header values are printable ASCII and are returned as they are:
    # that shortcut must give what the full path gives, near its edges too.
    rng = random.Random(1035)
    alphabet = "ab Z~!<>@ \t"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        limit = rng.randint(1, 32)
        assert header_safe(text, limit) == _reference(text, limit)


def test_display_names_lose_what_could_pose_as_an_address() -> None:
    assert display_name_safe('Ana <ana@example.net>; "x"') == "Ana ana example.net x"
    # A comma stays in a name as people read it, never in one for a header.
    assert display_name_safe("Ruiz, Ana", commas=True) == "Ruiz, Ana"
    assert display_name_safe("Ruiz, Ana") == "Ruiz Ana"
    assert display_name_safe(", Ana,", commas=True) == "Ana"
