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
# Letters and endings that give a language away, worth two words each.
_MARKS = {
    "es": re.compile(r"[ñ¿¡]|ción\b|ciones\b"),
    "fr": re.compile(r"[èùœ]|\b[dlj]'|eux\b"),
    "pt": re.compile(r"[ãõ]|ção\b|ções\b"),
    "de": re.compile(r"[äöüß]|\bsch"),
    "en": re.compile(r"\b\w+'(?:s|t|re|ve|ll)\b|\w+ing\b"),
}
_WORD = re.compile(r"[^\W\d_]+")
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


def guess_language(text: str) -> str:
    """The language of *text* by its function words, or '' when unclear."""
    sample = text[:_SAMPLE].casefold()
    scores = {lang: 2 * len(_MARKS[lang].findall(sample)) for lang in _LEXICON}
    for word in _WORD.findall(sample):
        for lang in _WORD_LANGUAGES.get(word, ()):
            scores[lang] += 1
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < 2 or top <= second:
        return ""
    return best
