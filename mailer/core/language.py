"""A cheap guess of the language a message is written in: en, es, fr, pt, de or ''.

``Content-Language`` wins when it names one of those; otherwise the most
frequent function words decide, and a tie or too little evidence gives ''.
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "es", "fr", "pt", "de")

# Frequent words that mostly belong to one language (shared ones left out).
_WORDS = {
    "en": "the and of to is that for we our it with was this have are they were has you "
    "will be by at from not which would there their been",
    "es": "el los las del y una por es se lo nuestro nuestra pero su sus fue han hemos "
    "muy también más hay al desde este esta están son",
    "fr": "le les des et une du qui est pour dans pas nous sur au avec ce sont ont été "
    "par vous aux leur notre nos mais cette ces il elle à avons je très être aussi "
    "tous ou où ils sans chez donc car ainsi",
    "pt": "os do da em uma não no na dos das mais foi ao nosso nossa são é também "
    "pelo pela muito foram às seu sua sem aqui mas já quando isso essa esse pelos "
    "nas num numa até ainda",
    "de": "der die das und den von zu mit ist nicht sich des auf für im dem ein eine "
    "auch wir unsere wurde bei haben sind aus werden nach wie oder",
}
_LEXICON = {lang: frozenset(words.split()) for lang, words in _WORDS.items()}
# Signs that give a language away, worth two words each: letters anywhere
# (Portuguese "ção" and "ções" count by their letter), word endings ("ción",
# "ciones", "eux", and English "-ing" after at least one letter), German "sch"
# opening a word, French elisions ("d'", "l'", "j'") and English contractions
# ("it's", "don't").
_LETTERS = {"es": "ñ¿¡", "fr": "èùœ", "pt": "ãõ", "de": "äöüß"}
_ELISION = re.compile(r"\b[dlj]'")
_CONTRACTION = re.compile(r"\w'(?:s|t|re|ve|ll)\b")
# The last three letters of a word to (language, the ending they may close).
_ENDINGS = {
    "ión": ("es", "ción"),
    "nes": ("es", "ciones"),
    "eux": ("fr", "eux"),
    "ing": ("en", "ing"),
}
_WORD = re.compile(r"[^\W\d_]+")
_ASCII_NOT_LETTERS = str.maketrans(
    {chr(c): " " for c in range(128) if not chr(c).isalpha()}
)
_SAMPLE = 5000


def language_from_header(value: str | None) -> str:
    """The first of our languages named in a Content-Language value, or ''."""
    if not value:
        return ""
    for tag in value.split(","):
        primary = tag.strip().split("-", 1)[0].lower()
        if primary in LANGUAGES:
            return primary
    return ""


# Each function word and the languages it counts for (one pass over the text).
_WORD_LANGUAGES: dict[str, tuple[str, ...]] = {}
for _lang, _lexicon in _LEXICON.items():
    for _word in _lexicon:
        _WORD_LANGUAGES[_word] = (*_WORD_LANGUAGES.get(_word, ()), _lang)


def _scores(sample: str) -> dict[str, int]:
    """Each language's evidence in a case-folded *sample*: function words count
    one, telling letters and endings two."""
    scores = dict.fromkeys(_LEXICON, 0)
    # Telling letters, counted by C string methods.
    if not sample.isascii():
        for lang, letters in _LETTERS.items():
            scores[lang] += 2 * sum(sample.count(ch) for ch in letters)
    if "'" in sample:
        scores["fr"] += 2 * len(_ELISION.findall(sample))
        scores["en"] += 2 * len(_CONTRACTION.findall(sample))
    # In ASCII text a word is a run of letters: every other character becomes
    # a space and str.split cuts, in C, where the Unicode pattern tries the
    # word categories at each character.
    words = (
        sample.translate(_ASCII_NOT_LETTERS).split()
        if sample.isascii()
        else _WORD.findall(sample)
    )
    # Only the function words reach Python code: the filter runs in C.
    for word in filter(_WORD_LANGUAGES.__contains__, words):
        for lang in _WORD_LANGUAGES[word]:
            scores[lang] += 1
    # Endings and openings, counted in C over the words joined by single spaces
    # (a word is letters only): "ción " ends a word, " sch" opens one. "-ing"
    # counts after at least one letter, so the word "ing" alone does not.
    joined = f" {' '.join(words)} "
    for lang, suffix in _ENDINGS.values():  # each suffix ends in its key
        found = joined.count(f"{suffix} ")
        if lang == "en":
            found -= words.count(suffix)
        scores[lang] += 2 * found
    scores["de"] += 2 * joined.count(" sch")
    return scores


def guess_language(text: str) -> str:
    """The language of *text* by its function words, or '' when unclear."""
    scores = _scores(text[:_SAMPLE].casefold())
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < 2 or top <= second:
        return ""
    return best
