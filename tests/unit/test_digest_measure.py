"""An entry measured alone costs what it adds to the composed digest, to the byte.

The digest is fitted from sizes of entries rendered one by one (the entry
macros of ``_digest.j2``) and composed whole afterwards; these tests hold the
two together in every language and part, for awkward bodies (accents, long
and unbreakable lines, blank runs) and deep threads.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailer.config.settings import Settings
from mailer.core.digest import DigestPlan
from mailer.mailings.digests import digest_context
from mailer.outbound.bulk import SharedMail, personal_values
from mailer.outbound.compose import Mail, render
from mailer.outbound.dates import LocalDates
from mailer.outbound.digest_size import WIDEST_READER, EntrySizes
from mailer.outbound.mailing import templates_for
from store.outbox import OutboxRecipient
from tests.digest_plans import awkward_plan, digest_outgoing
from tests.fixtures.settings import SettingsFactory

NOW = datetime(2027, 3, 28, 16, 0, 30, tzinfo=UTC)
KEY = b"k" * 32


def size(settings: Settings, language: str, plan: DigestPlan, html: bool) -> int:
    disc = settings.discussions[0]
    context = digest_context(plan, LocalDates(language, disc.time_zone))
    shared = SharedMail(settings, disc, "digest", language, context, html=html)
    reader = OutboxRecipient(7, "ana@example.net", "Ana", language)
    values = personal_values(settings, KEY, reader, NOW)
    out = digest_outgoing(settings, language, {}, (7, "ana@example.net", "Ana"), values)
    return len(shared.row(settings, KEY, disc, 1, out, values, NOW).whole())


@pytest.mark.parametrize("language", ["en", "es", "fr"])
@pytest.mark.parametrize("html", [True, False])
def test_each_entry_adds_what_it_measures(
    make_settings: SettingsFactory, language: str, html: bool
) -> None:
    settings = make_settings()
    disc = settings.discussions[0]
    plan = awkward_plan(disc, language, NOW, posts=9, extra=("Réponse. " * 40,))
    sizes = EntrySizes(disc, language, LocalDates(language, disc.time_zone))
    n = plan.count
    # With two entries abridged already, the note is there, in the plural,
    # in both (its words are the planner's estimate, checked after).
    base = [False, False] + [True] * (n - 2)
    before = size(settings, language, plan.abridge(base), html)
    for i in range(2, n):
        flags = base.copy()
        flags[i] = False
        after = size(settings, language, plan.abridge(flags), html)
        entry = plan.entries[i]
        short = plan.abridge(flags).entries[i]
        assert short.abridged and not entry.abridged
        assert before - after == sizes.of(entry, html) - sizes.of(short, html), i
    whole = size(settings, language, plan, html)
    assert whole - sum(sizes.of(e, html) for e in plan.entries) > 0


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_an_abridged_entry_in_html_keeps_its_reply_address_and_link(
    make_settings: SettingsFactory, language: str
) -> None:
    settings = make_settings()
    disc = settings.discussions[0]
    plan = awkward_plan(disc, language, NOW, posts=4).abridge([False] * 4)
    macros = templates_for(disc).macros("_digest", language, html=True)
    dates = LocalDates(language, disc.time_zone)
    for entry in plan.entries:
        html = str(macros.entry_html(entry, dates))
        assert f'href="mailto:{entry.post.reply_address}"' in html
        assert f'href="{entry.post.url}"' in html
        assert html.count("<div") == html.count("</div>") == 1


@pytest.mark.parametrize(
    "name",
    [
        "é " * 40,
        "a é " * 20,
        "\U0001d504 a " * 27,
        "é=?_" * 20,
        "字 " * 40,
        "😀a" * 40,
        '"é" ' * 20,
        "x" * 200,
    ],
)
def test_no_name_makes_a_longer_header_than_the_widest_reader(name: str) -> None:
    def to_header(display: str) -> int:
        mail = Mail(
            from_name="Skills",
            from_address="skills-covid19@discuss.example.org",
            to_address=WIDEST_READER.email,
            to_name=display,
            subject="Digest",
            text="text",
            date=NOW,
            message_id="<d.1@discuss.example.org>",
        )
        return len(render(mail).split(b"\r\nSubject:")[0])

    assert to_header(name) <= to_header(WIDEST_READER.name)
