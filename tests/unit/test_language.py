"""The cheap language guess: function words, telling letters and endings."""

from __future__ import annotations

import pytest

from mailer.core.language import _scores, guess_language, language_from_header


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We moved the training online and it was hard for our apprentices.", "en"),
        (
            "Hemos trasladado la formación en línea, pero las prácticas están paradas.",
            "es",
        ),
        ("Nous avons mis la formation en ligne, mais les stages sont à l'arrêt.", "fr"),
        (
            "A formação passou para o digital, mas não foi fácil para os aprendizes.",
            "pt",
        ),
        (
            "Wir haben die Ausbildung auf online umgestellt, aber nicht alles geht.",
            "de",
        ),
        ("OK", ""),
        ("", ""),
        ("12345 67890", ""),
    ],
)
def test_guesses_the_language(text: str, expected: str) -> None:
    assert guess_language(text) == expected


def test_a_tie_is_no_answer() -> None:
    assert guess_language("the el") == ""


def test_portuguese_ending_counts_once_with_its_letter() -> None:
    # "ção" is one sign of Portuguese, not two: its "ã" is the same evidence.
    assert _scores("ção")["pt"] == 2
    assert _scores("ções")["pt"] == 2


def test_endings_and_openings() -> None:
    assert _scores("ing")["en"] == 0  # an ending needs a word before it
    assert _scores("going")["en"] == 2
    assert _scores("naciones nación")["es"] == 4
    assert _scores("eux heureux")["fr"] == 4
    assert _scores("schule")["de"] == 2
    assert _scores("über")["de"] == 2


def test_endings_and_openings_count_once_a_word_and_only_at_its_edges() -> None:
    assert _scores("ing going ing sing")["en"] == 4
    assert _scores("ingot singer")["en"] == 0
    assert _scores("acción acciones ciónes")["es"] == 4
    assert _scores("deuxieme schsch asch")["de"] == 2
    assert _scores("deuxieme schsch asch")["fr"] == 0


def test_a_word_is_letters_only_in_ascii_text_as_in_any_other() -> None:
    assert _scores("the_the 2the going3")["en"] == 5
    assert _scores("the_the 2the going3 \u00e9")["en"] == 5  # the Unicode pattern


def test_elisions_and_contractions() -> None:
    assert _scores("l'école d'abord j'ai")["fr"] == 6
    assert _scores("dog's cat's isn't")["en"] == 6


def test_only_the_start_of_a_long_text_is_read() -> None:
    text = "x " * 5000 + "the and of to is that for we"
    assert guess_language(text) == ""


def test_content_language_header() -> None:
    assert language_from_header("fr-CH, en") == "fr"
    assert language_from_header("it, es-419") == "es"
    assert language_from_header("it") == ""
    assert language_from_header(None) == ""
