"""Search words and snippets: a query is only words, a snippet marks what matched."""

from __future__ import annotations

from mailer.core.search import MAX_TERMS, Piece, fold, search_terms, snippet


def test_a_query_keeps_only_its_words_once_each() -> None:
    assert search_terms('"Online" OR (march) -x* body:NEAR') == (
        "online",
        "or",
        "march",
        "x",
        "body",
        "near",
    )
    assert search_terms("snake_case e-learning") == ("snake", "case", "e", "learning")
    assert search_terms("") == search_terms(" \t*()\"'^:-") == ()
    assert len(search_terms(" ".join(f"w{n}" for n in range(50)))) == MAX_TERMS


def test_folding_drops_accents_and_case() -> None:
    assert fold("ÉDUCATION") == fold("education") == "education"
    assert fold("niños") == "ninos"


def _marks(pieces: list[Piece]) -> list[str]:
    return [p.text for p in pieces if p.hit]


def test_a_snippet_marks_words_and_their_likely_stems() -> None:
    text = "La educación técnica y las aportaciones educativas. Otra educacion."
    pieces = snippet(text, ["educacion", "aportación"])
    assert _marks(pieces) == ["educación", "aportaciones", "educacion"]
    assert "".join(p.text for p in pieces) == text
    assert _marks(snippet("Run, runner, running.", ["run"])) == ["Run"]


def test_a_long_text_is_cut_around_the_first_match() -> None:
    text = " ".join(["filler"] * 100) + " the target word " + " ".join(["tail"] * 100)
    pieces = snippet(text, ["target"], width=80)
    shown = "".join(p.text for p in pieces)
    assert shown.startswith("…") and shown.endswith("…")
    assert "target" in _marks(pieces) and len(shown) <= 82
    start = snippet("Target first.\n\n  then more", ["target"])
    assert "".join(p.text for p in start) == "Target first. then more"
    assert _marks(snippet("No match here.", ["absent"])) == []


def test_marks_line_up_with_the_text_whatever_its_letters() -> None:
    # Accents inside the compared letters, capitals, a dotted capital I whose
    # lower case is two characters, a sharp s whose folding is two: every
    # mark is the text's own word, and the pieces still make up the text.
    text = "İstanbul, straße: ÉCONOMIES y économie sociale; Economía."
    pieces = snippet(text, ["economie", "istanbul", "sociale"])
    marks = ["İstanbul", "ÉCONOMIES", "économie", "sociale", "Economía"]
    assert _marks(pieces) == marks
    assert "".join(p.text for p in pieces) == text
    assert _marks(snippet(text, ["economía"])) == ["ÉCONOMIES", "économie", "Economía"]
    assert _marks(snippet(text, [])) == [] and _marks(snippet(text, [""])) == []
    assert _marks(snippet("ski skis skiing", ["ski", "skiing"])) == ["ski", "skiing"]
