from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from mailer.config import load_settings, parse_settings
from mailer.config.settings import SUPPORTED_LANGUAGES, CommitDurability
from mailer.core.errors import ConfigError
from mailer.outbound.templates import SHIPPED
from mailer.web.messages import MESSAGES
from tests.fixtures.settings import SHIPPED_CONFIG, shipped_raw


def problems(raw: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, environ or {}, Path("/srv/ediscuss"))
    return [str(p) for p in info.value.problems]


def test_shipped_config_is_the_model_discussion() -> None:
    s = load_settings(SHIPPED_CONFIG, {})
    assert len(s.discussions) == 1
    d = s.discussions[0]
    assert d.slug == "skills-covid19"
    assert d.languages == ("en", "es", "fr")
    assert [q.number for q in d.questions] == list(range(1, 12))
    assert [q.week for q in d.questions] == [1] * 6 + [2] * 5
    assert [m.name for m in d.moderators] == [
        "Ashwani Aggarwal",
        "Paul Comyn",
        "Pedro Moreno da Fonseca",
    ]
    assert d.moderation == "first-post" and d.unknown_senders == "hold"
    for q in d.questions:
        assert set(q.text.values) == {"en", "es", "fr"}
    assert d.opens_at.strftime("%d %B") == "27 March"
    assert d.closes_at.strftime("%d %B") == "17 April"
    assert s.relay is None and s.imap is None and s.dkim is None
    assert s.inbound.listen.port == 2525 and s.web.listen.port == 8080


def test_relative_paths_are_relative_to_the_config_file() -> None:
    s = parse_settings(shipped_raw(), {}, Path("/srv/ediscuss"))
    assert s.service.state_dir == Path("/srv/ediscuss/var")
    assert s.database.url == "sqlite:////srv/ediscuss/var/ediscuss.db"


def test_release_time_without_zone_names_the_key() -> None:
    raw = shipped_raw()
    raw["discussions"][0]["questions"][3]["release_at"] = datetime(2027, 3, 27, 9, 0)
    assert problems(raw) == [
        (
            "discussions[0].questions[3].release_at: not a date-time with a time zone "
            "(write e.g. 2027-03-27T09:00:00+01:00)"
        )
    ]


def test_every_problem_is_listed_with_its_key() -> None:
    raw = shipped_raw()
    raw["inbound"]["listen"] = "localhost"
    raw["inbound"]["max_message_bytes"] = "big"
    raw["discussions"][0]["moderation"] = "sometimes"
    raw["discussions"][0]["questions"][0]["text"].pop("fr")
    raw["discussions"][0]["colour"] = "blue"
    found = problems(raw)
    keys = [p.split(":")[0] for p in found]
    assert "inbound.listen" in keys
    assert "inbound.max_message_bytes" in keys
    assert "discussions[0].moderation" in keys
    assert "discussions[0].questions[0].text.fr" in keys
    assert "discussions[0].colour" in keys


def test_unknown_section_and_key_are_errors() -> None:
    raw = shipped_raw()
    raw["smtp"] = {"port": 25}
    raw["service"]["domian"] = "typo.example.org"
    assert set(problems(raw)) == {"smtp: unknown key", "service.domian: unknown key"}


def test_environment_overrides_and_secrets() -> None:
    env = {
        "EDISCUSS_DATABASE_URL": "postgresql+psycopg://u@db/ediscuss",
        "EDISCUSS_INBOUND_LISTEN": "0.0.0.0:25",
        "EDISCUSS_INBOUND_MAX_MESSAGE_BYTES": "2048",
        "EDISCUSS_RELAY_HOST": "smtp.example.net",
        "EDISCUSS_RELAY_USERNAME": "ed",
        "EDISCUSS_RELAY_PASSWORD": "s3cret",
        "EDISCUSS_TEST_DATABASE_URL": "ignored: not a setting",
    }
    s = parse_settings(shipped_raw(), env, Path("/srv"))
    assert s.database.url == "postgresql+psycopg://u@db/ediscuss"
    assert (s.inbound.listen.host, s.inbound.listen.port) == ("0.0.0.0", 25)
    assert s.inbound.max_message_bytes == 2048
    assert s.relay is not None and s.relay.password == "s3cret"
    assert "s3cret" not in repr(s.relay)


def test_environment_typo_is_named() -> None:
    assert problems(shipped_raw(), {"EDISCUSS_RELAY_PORTT": "25"}) == [
        "relay.portt: unknown key"
    ]


def test_slug_address_clash_between_discussions() -> None:
    raw = shipped_raw()
    other = dict(raw["discussions"][0])
    other["slug"] = "skills-covid19-request"
    raw["discussions"].append(other)
    assert any("clashes" in p for p in problems(raw))


def test_bad_slug_and_time_zone() -> None:
    raw = shipped_raw()
    raw["discussions"][0]["slug"] = "Skills COVID"
    raw["discussions"][0]["time_zone"] = "Mars/Olympus"
    keys = {p.split(":")[0] for p in problems(raw)}
    assert keys == {"discussions[0].slug", "discussions[0].time_zone"}


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "missing.toml", {})
    assert "cannot read" in str(info.value)
    bad = tmp_path / "bad.toml"
    bad.write_text("[service\n")
    with pytest.raises(ConfigError) as info:
        load_settings(bad, {})
    assert "(syntax)" in str(info.value)


def test_a_discussion_names_only_languages_with_templates_and_pages() -> None:
    raw = shipped_raw()
    raw["discussions"][0]["languages"] = ["en", "es", "fr", "pt"]
    assert problems(raw)[0] == (
        "discussions[0].languages: unsupported language 'pt' (supported: en, es, fr)"
    )


def test_supported_languages_are_those_with_templates_and_web_pages() -> None:
    folders = {p.name for p in SHIPPED.iterdir() if p.is_dir()}
    assert set(SUPPORTED_LANGUAGES) == folders == set(MESSAGES)


def test_digest_max_bytes_default_environment_and_bounds() -> None:
    raw = shipped_raw()
    assert parse_settings(raw, {}, Path("/srv")).digest.max_bytes == 100_000
    raw.pop("digest", None)
    assert parse_settings(raw, {}, Path("/srv")).digest.max_bytes == 100_000
    env = {"EDISCUSS_DIGEST_MAX_BYTES": "250000"}
    assert parse_settings(shipped_raw(), env, Path("/srv")).digest.max_bytes == 250_000
    raw = shipped_raw()
    raw["digest"] = {"max_bytes": 5000, "max_posts": 3}
    assert problems(raw) == [
        "digest.max_posts: unknown key",
        "digest.max_bytes: expected an integer from 20000 to 26214400, got 5000",
    ]
    assert problems(shipped_raw(), {"EDISCUSS_DIGEST_MAX_BYTES": "100 KB"}) == [
        "digest.max_bytes: expected an integer, got a string"
    ]


def test_processing_commits_fast_by_default_durable_on_request() -> None:
    assert load_settings(SHIPPED_CONFIG, {}).database.processing_commits is (
        CommitDurability.FAST
    )
    raw = shipped_raw()
    raw["database"]["processing_commits"] = "durable"
    s = parse_settings(raw, {}, Path("/srv"))
    assert s.database.processing_commits is CommitDurability.DURABLE
    env = {"EDISCUSS_DATABASE_PROCESSING_COMMITS": "durable"}
    s = parse_settings(shipped_raw(), env, Path("/srv"))
    assert s.database.processing_commits is CommitDurability.DURABLE
    raw["database"]["processing_commits"] = "off"
    assert problems(raw) == [
        "database.processing_commits: expected one of fast, durable, got 'off'"
    ]


def test_moderation_notice_minutes_default_environment_and_bounds() -> None:
    raw = shipped_raw()
    assert parse_settings(raw, {}, Path("/srv")).moderation.notice_minutes == 30
    raw.pop("moderation", None)
    assert parse_settings(raw, {}, Path("/srv")).moderation.notice_minutes == 30
    env = {"EDISCUSS_MODERATION_NOTICE_MINUTES": "90"}
    assert (
        parse_settings(shipped_raw(), env, Path("/srv")).moderation.notice_minutes == 90
    )
    raw = shipped_raw()
    raw["moderation"] = {"notice_minutes": 0, "summary_hours": 1}
    assert problems(raw) == [
        "moderation.summary_hours: unknown key",
        "moderation.notice_minutes: expected an integer from 1 to 10080, got 0",
    ]
    assert problems(
        shipped_raw(), {"EDISCUSS_MODERATION_NOTICE_MINUTES": "half an hour"}
    ) == ["moderation.notice_minutes: expected an integer, got a string"]


def test_outbox_connections_default_environment_and_bounds() -> None:
    raw = shipped_raw()
    assert parse_settings(raw, {}, Path("/srv")).outbox.connections == 4
    env = {"EDISCUSS_OUTBOX_CONNECTIONS": "8"}
    assert parse_settings(shipped_raw(), env, Path("/srv")).outbox.connections == 8
    raw["outbox"] = {"connections": 0}
    assert problems(raw) == [
        "outbox.connections: expected an integer from 1 to 64, got 0"
    ]
    assert problems(shipped_raw(), {"EDISCUSS_OUTBOX_CONNECTIONS": "many"}) == [
        "outbox.connections: expected an integer, got a string"
    ]
