"""Every outgoing text comes from jinja2 templates in ``digest_templates/``.

One mechanism for all languages: one file per language and part,
``<lang>/<name>.subject.j2``, ``<lang>/<name>.txt.j2`` and optionally
``<lang>/<name>.html.j2``. A language without its own file falls back to the
discussion's default language, then to English. An operator overrides any file
for one discussion by putting it under ``<discussion templates_dir>/<lang>/``.

Text parts are rendered without autoescaping (they are text/plain); HTML parts
with autoescaping on, so nothing a participant wrote can become markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from mailer.core.errors import EdiscussError


def _shipped() -> Path:
    """``digest_templates/``: inside the installed package, else at the repository's top."""
    packaged = Path(__file__).resolve().parents[1] / "digest_templates"
    if packaged.is_dir():  # a wheel carries them in the package (see setup.py)
        return packaged
    return Path(__file__).resolve().parents[2] / "digest_templates"


SHIPPED = _shipped()


@dataclass(frozen=True)
class RenderedMail:
    """The subject, text body and optional HTML body of one mail."""

    subject: str
    text: str
    html: str | None
    language: str


class TemplateMissing(EdiscussError, LookupError):
    """No language has the named template."""


def _wrap(text: str, width: int = 72) -> str:
    import textwrap

    out: list[str] = []
    for para in text.split("\n"):
        if len(para) <= width:
            out.append(para)
            continue
        indent = para[: len(para) - len(para.lstrip(" >"))]
        out.append(
            textwrap.fill(
                para,
                width=width,
                initial_indent="",
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(out)


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.split("\n"))


@lru_cache(maxsize=32)
def _environment(search: tuple[str, ...], autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(search)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["wrap"] = _wrap
    env.filters["indent_text"] = _indent
    return env


class Templates:
    """Finds and renders mail templates, with per-discussion overrides."""

    def __init__(
        self, override_dir: Path | None = None, shipped: Path = SHIPPED
    ) -> None:
        dirs = [str(override_dir)] if override_dir else []
        self.search = (*dirs, str(shipped))

    def _pick_language(self, name: str, candidates: Sequence[str]) -> str:
        for lang in candidates:
            for base in self.search:
                if (Path(base) / lang / f"{name}.txt.j2").is_file():
                    return lang
        raise TemplateMissing(f"no template {name!r} in {', '.join(candidates)}")

    def template(
        self, name: str, part: str, language: str, html: bool = False
    ) -> jinja2.Template:
        """The compiled template *name*.*part* in *language* (exactly)."""
        env = _environment(self.search, html)
        return env.get_template(f"{language}/{name}.{part}.j2")

    def macros(self, name: str, language: str, html: bool = False) -> Any:
        """The macros of the shared template ``<language>/<name>.j2``, callable from Python.

        The same file the templates import, from the same environment (HTML
        ones escape), so a piece rendered here is byte for byte the piece the
        whole template writes: the digest measures its entries so.
        """
        env = _environment(self.search, html)
        return env.get_template(f"{language}/{name}.j2").module

    def language_of(
        self, name: str, language: str, fallbacks: Sequence[str] = ("en",)
    ) -> str:
        """The language :meth:`render` uses for *name* asked in *language*."""
        return self._pick_language(name, [language, *fallbacks])

    def has_html(self, name: str, language: str) -> bool:
        """Whether *name* has an HTML part in *language*."""
        return any(
            (Path(b) / language / f"{name}.html.j2").is_file() for b in self.search
        )

    def render(
        self,
        name: str,
        language: str,
        context: Mapping[str, Any],
        fallbacks: Sequence[str] = ("en",),
        html: bool = True,
    ) -> RenderedMail:
        """Render the subject, text and HTML of *name* in the best available language.

        With *html* false the mail is text alone even where an HTML template exists.
        """
        lang = self._pick_language(name, [language, *fallbacks])
        ctx = {**context, "language": lang}
        subject = self.template(name, "subject", lang).render(ctx)
        text = self.template(name, "txt", lang).render(ctx)
        markup = None
        if html and self.has_html(name, lang):
            markup = self.template(name, "html", lang, html=True).render(ctx)
        return RenderedMail(" ".join(subject.split()), text, markup, lang)
