"""fit_digest: which entries stay whole, in which layout, within a byte budget."""

from __future__ import annotations

import pytest

from mailer.core.digest import ABRIDGED_CHARS, abridge_body
from mailer.core.digest_fit import DigestFit, Layout, fit_digest
from mailer.outbound.compose import encoded_size


def layout(
    whole: list[int], abridged: list[int], fixed: int = 1000, note: int = 100
) -> Layout:
    return Layout(fixed, note, tuple(whole), tuple(abridged))


def test_everything_whole_up_to_the_last_byte() -> None:
    text = layout([500, 500, 500], [200, 200, 200])
    exact = fit_digest([text], 2500)
    assert exact == DigestFit(0, (True, True, True), 2500, True)
    # One byte less: the note comes in and the last entry is abridged.
    short = fit_digest([text], 2499)
    assert short.whole == (True, True, False) and short.abridged == 1
    assert short.size == 1000 + 100 + 500 + 500 + 200 and short.fits


def test_an_entry_that_does_not_fit_is_abridged_and_later_ones_may_stay_whole() -> None:
    text = layout([300, 5000, 300, 300], [150, 150, 150, 150])
    fit = fit_digest([text], 2400)
    assert fit.whole == (True, False, True, True)
    assert fit.size == 1000 + 100 + 300 + 150 + 300 + 300 <= 2400


def test_order_decides_between_entries_that_cannot_all_be_whole() -> None:
    text = layout([700, 700, 700], [200, 200, 200])
    fit = fit_digest([text], 1000 + 100 + 700 + 700 + 200)
    assert fit.whole == (True, True, False)


def test_one_entry_larger_than_the_budget_is_abridged() -> None:
    text = layout([250_000], [400])
    fit = fit_digest([text], 100_000)
    assert fit == DigestFit(0, (False,), 1000 + 100 + 400, True)


def test_many_small_entries() -> None:
    n = 2000
    text = layout([40] * n, [60] * n)  # too short to abridge: abridging adds bytes
    assert fit_digest([text], 1000 + 40 * n).whole == (True,) * n
    # Over the budget, and no entry can be made smaller: nothing fits.
    over = fit_digest([text], 1000 + 40 * n - 1)
    assert not over.fits and over.whole == (False,) * n
    assert over.size == 1000 + 100 + 60 * n
    mixed = layout([40, 400] * (n // 2), [60, 100] * (n // 2))
    fit = fit_digest([mixed], 1000 + 100 + (40 + 100) * (n // 2) + 300 * 10)
    assert fit.fits and fit.abridged == n // 2 - 10
    assert fit.whole[: 2 * 10] == (True,) * 20  # the first long ones kept whole
    assert all(fit.whole[0::2])  # and every short one


def test_text_and_html_first_then_text_alone_before_anything_is_abridged() -> None:
    both = layout([600, 600], [250, 250], fixed=2000, note=200)
    text = layout([300, 300], [100, 100], fixed=900, note=90)
    assert fit_digest([both, text], 3200).layout == 0
    alone = fit_digest([both, text], 3199)
    assert alone == DigestFit(1, (True, True), 1500, True)
    # Too large even as text alone: the layout that keeps more entries whole.
    fit = fit_digest([both, text], 1400)
    assert fit.layout == 1 and fit.whole == (True, False) and fit.size == 1390


def test_nothing_fits_gives_the_last_layout_all_abridged() -> None:
    both = layout([600, 600], [250, 250], fixed=2000)
    text = layout([300, 300], [100, 100], fixed=900)
    fit = fit_digest([both, text], 500)
    assert fit == DigestFit(1, (False, False), 900 + 100 + 200, False)


def test_no_entries_and_bad_input() -> None:
    assert fit_digest([layout([], [])], 1000) == DigestFit(0, (), 1000, True)
    with pytest.raises(ValueError):
        fit_digest([], 1000)
    with pytest.raises(ValueError):
        Layout(10, 10, (1, 2), (1,))
    with pytest.raises(ValueError):
        Layout(10, -1, (), ())
    with pytest.raises(ValueError):
        fit_digest([layout([1], [1]), layout([1, 2], [1, 2])], 1000)


def test_abridged_text_counts_characters_and_cuts_between_words() -> None:
    assert abridge_body("Short\n\npost.") == "Short post."
    words = "palabra " * 100
    cut = abridge_body(words)
    assert cut.endswith("palabra…") and len(cut) <= ABRIDGED_CHARS[0] + 1
    # Characters, not bytes: 150 accented letters are 300 bytes, still one cut.
    accents = "é" * 400
    assert abridge_body(accents) == "é" * ABRIDGED_CHARS[0] + "…"
    assert abridge_body(accents, 70) == "é" * 70 + "…"
    assert abridge_body("one two, three four", 12) == "one two…"
    # A word longer than half the excerpt is cut inside.
    assert abridge_body("Fin. " + "x" * 300, 20) == "Fin. " + "x" * 15 + "…"


def test_sizes_are_bytes_on_the_wire_not_characters() -> None:
    """Two posts of 300 characters: the English one fits whole, the French one not."""
    english = "The learners lost their workshop time. " * 8
    french = "Élèves privés d'atelier, évaluées à côté. " * 8
    assert abs(len(english) - len(french)) < 30
    sizes = [encoded_size(t) for t in (english, french)]
    assert sizes[0] < 340 and sizes[1] > 470  # é is =C3=A9 on the wire: six bytes
    assert encoded_size("字" * 5) == 45 + 2  # three bytes, nine characters each
    text = layout(sizes, [120, 120], fixed=1000, note=60)
    fit = fit_digest([text], 1000 + 60 + sizes[0] + 120)
    assert fit.whole == (True, False)
