"""SharedMail: rendered once, personalised per line, the same bytes as queue_mail makes."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from mailer.config.settings import Settings
from mailer.core.digest import DigestPlan
from mailer.core.texts import Texts
from mailer.mailings.digests import digest_context
from mailer.outbound.bulk import SharedMail, normalise_text, personal_values
from mailer.outbound.dates import LocalDates
from mailer.outbound.mailing import build_row
from store.outbox import OutboxRecipient
from tests.digest_plans import awkward_plan, digest_outgoing
from tests.fixtures.settings import SettingsFactory

NOW = datetime(2027, 3, 28, 16, 0, 30, tzinfo=UTC)
KEY = b"k" * 32
BOUNDARY = re.compile(rb'boundary="([^"]+)"')


def _plan(settings: Settings, language: str, extra: tuple[str, ...] = ()) -> DigestPlan:
    return awkward_plan(settings.discussions[0], language, NOW, extra=extra)


def _same_but_boundary(a: bytes, b: bytes) -> None:
    ba, bb = BOUNDARY.search(a), BOUNDARY.search(b)
    assert ba and bb
    assert a.replace(ba.group(1), b"B") == b.replace(bb.group(1), b"B")


@pytest.mark.parametrize("language", ["en", "es", "fr", "pt"])
def test_shared_rows_equal_naive_rows(
    make_settings: SettingsFactory, language: str
) -> None:
    settings = make_settings()
    disc = settings.discussions[0]
    plan = _plan(settings, language)
    dates = LocalDates(language, disc.time_zone)
    shared = SharedMail(settings, disc, "digest", language, digest_context(plan, dates))
    for sub_id, email, name in [
        (7, "ana@example.net", "Ana Ruiz"),
        (123456, "bo@example.org", 'Bö Chen, "the" <trainer>'),
    ]:
        links = personal_values(
            settings, KEY, OutboxRecipient(sub_id, email, name, language), NOW
        )
        url, manage = links["unsubscribe_url"], links["manage_url"]
        context = digest_context(plan, dates)
        out = digest_outgoing(settings, language, context, (sub_id, email, name), links)
        naive = build_row(settings, KEY, disc, 1, out, NOW)
        fast = shared.row(settings, KEY, disc, 1, out, links, NOW)
        _same_but_boundary(naive.raw, fast.whole())
        assert (naive.dedupe_key, naive.message_id, naive.envelope_from) == (
            fast.dedupe_key,
            fast.message_id,
            fast.envelope_from,
        )
        msg = message_from_bytes(fast.whole(), policy=policy.default)
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        assert text is not None and html is not None
        assert url in text.get_content() and url in html.get_content()
        assert manage in text.get_content() and manage in html.get_content()
        # Over 78 only where a header holds a URL, which cannot be folded
        # (List-Unsubscribe: <.../unsubscribe/<token>>); never in a body.
        head, _, body = fast.whole().partition(b"\r\n\r\n")
        assert max(len(line) for line in body.split(b"\r\n")) <= 78
        for line in head.split(b"\r\n"):
            assert len(line) <= 78 or (len(line) <= 998 and b"://" in line), line


def test_a_post_quoting_a_placeholder_is_printed_as_written(
    make_settings: SettingsFactory,
) -> None:
    # Placeholders are new for each rendering: text that looks like one (say,
    # copied from an earlier rendering) is a post's text, not a slot to fill.
    settings = make_settings()
    disc = settings.discussions[0]
    dates = LocalDates("en", disc.time_zone)
    context = digest_context(_plan(settings, "en"), dates)
    first = SharedMail(settings, disc, "digest", "en", context)
    seen = [*first._markers.values(), first._text_slot, first._html_slot]
    seen += ["QQ0PERSONAL0UNSUBSCRIBE_URL0QQ", "QQ0SHARED0TEXT0BODY0QQ"]
    plan = _plan(settings, "en", extra=tuple(f"See {m} here" for m in seen))
    shared = SharedMail(settings, disc, "digest", "en", digest_context(plan, dates))
    reader = (7, "ana@example.net", "Ana")
    links = personal_values(settings, KEY, OutboxRecipient(*reader, "en"), NOW)
    out = digest_outgoing(settings, "en", digest_context(plan, dates), reader, links)
    naive = build_row(settings, KEY, disc, 1, out, NOW)
    fast = shared.row(settings, KEY, disc, 1, out, links, NOW)
    _same_but_boundary(naive.raw, fast.whole())
    text = message_from_bytes(fast.whole(), policy=policy.default).get_body(("plain",))
    assert text is not None
    for marker in seen:
        assert f"See {marker} here" in text.get_content()


def test_personal_value_in_the_subject_is_refused(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:

    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "x.subject.j2").write_text("Hi {{ unsubscribe_url }}")
    (tmp_path / "en" / "x.txt.j2").write_text("body")
    settings = make_settings()
    disc = dataclasses.replace(settings.discussions[0], templates_dir=tmp_path)
    with pytest.raises(ValueError, match="subject"):
        SharedMail(settings, disc, "x", "en", {})


def test_normalise_text_matches_compose() -> None:
    assert normalise_text("a  \r\nb\t\r\n\n\n") == "a\nb\n"
    assert normalise_text(Texts({"en": "x"}).in_language("en")) == "x\n"
