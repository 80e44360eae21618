"""The stylesheet keeps its contrast promises (WCAG 2.2: 1.4.11 and 2.4.13)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "mailer/web/static/style.css").read_text()


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_is_computed_as_wcag_does() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#f5a300", "#ffffff") == pytest.approx(2.07, abs=0.01)


def test_the_focus_ring_stands_out_on_white_and_on_every_panel() -> None:
    ring = re.search(r":focus-visible\{outline:\d+px solid (#[0-9a-f]{6})", CSS)
    assert ring is not None
    backgrounds = {"#ffffff", *re.findall(r"background:(#[0-9a-f]{6})", CSS)}
    backgrounds -= {"#0b4f9c", "#093f7c"}  # the buttons: the ring sits outside them
    assert "#f4f6f8" in backgrounds and "#f7f7f7" in backgrounds
    for background in backgrounds:
        assert contrast(ring.group(1), background) >= 3, background
