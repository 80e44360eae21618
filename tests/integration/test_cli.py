"""The CLI called in-process through ``main(argv)``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from mailer.cli import build_parser, main
from tests.fixtures.settings import SHIPPED_CONFIG, free_port


def write_config(tmp_path: Path, text: str | None = None) -> Path:
    text = text if text is not None else SHIPPED_CONFIG.read_text("utf-8")
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    return path


def test_config_check_shipped(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(SHIPPED_CONFIG), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 1 discussion(s), 11 questions, 3 languages (en, es, fr)")
    assert "  digest      at most 100000 bytes a message" in out.splitlines()


def test_config_check_reports_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SHIPPED_CONFIG.read_text("utf-8").replace(
        "release_at = 2027-04-03T09:00:00+02:00", "release_at = 2027-04-03T09:00:00", 1
    )
    code = main(["--config", str(write_config(tmp_path, text)), "config", "check"])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        "discussions[0].questions[6].release_at: not a date-time with a time zone"
        in err
    )


def test_config_check_refuses_a_language_without_templates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SHIPPED_CONFIG.read_text("utf-8").replace(
        'languages = ["en", "es", "fr"]', 'languages = ["en", "es", "fr", "pt"]', 1
    )
    code = main(["--config", str(write_config(tmp_path, text)), "config", "check"])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        "discussions[0].languages: unsupported language 'pt' (supported: en, es, fr)"
        in err
    )


def test_a_bad_digest_size_stops_start_up_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SHIPPED_CONFIG.read_text("utf-8").replace(
        "max_bytes = 100000", "max_bytes = -1", 1
    )
    assert "max_bytes = -1" in text
    cfg = str(write_config(tmp_path, text))
    for command in (["config", "check"], ["serve"]):
        assert main(["--config", cfg, *command]) == 2
        assert "digest.max_bytes: expected an integer from 20000" in (
            capsys.readouterr().err
        )


def test_db_upgrade_questions_and_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(write_config(tmp_path))
    assert main(["--config", cfg, "db", "upgrade"]) == 0
    assert main(["--config", cfg, "db", "status"]) == 0
    assert main(["--config", cfg, "questions", "list"]) == 0
    out = capsys.readouterr().out
    assert "  1  week 1  2027-03-27 09:00 CET" in out
    assert "  7  week 2  2027-04-03 09:00 CEST" in out
    assert (
        main(
            [
                "--config",
                cfg,
                "export",
                "--discussion",
                "skills-covid19",
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--config", cfg, "export", "--discussion", "nope"]) == 1
    assert "no discussion 'nope'" in capsys.readouterr().err
    assert main(["--config", cfg, "subscribers", "export"]) == 0
    assert capsys.readouterr().out.startswith(
        "email,name,organisation,constituency,language,mode,status"
    )
    assert main(["--config", cfg, "outbox", "list"]) == 0


def test_only_what_logs_in_needs_the_passwords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SHIPPED_CONFIG.read_text("utf-8") + (
        '\n[relay]\nhost = "127.0.0.1"\nport = 9\nusername = "ed"\n'
        '\n[imap]\nhost = "127.0.0.1"\nport = 9\nusername = "ed"\n'
    )
    cfg = str(write_config(tmp_path, text))
    for argv in (["export", "--format", "json"], ["inbox", "list"], ["posts", "held"]):
        assert main(["--config", cfg, *argv]) == 0, argv
    capsys.readouterr()
    assert main(["--config", cfg, "config", "check"]) == 2
    err = capsys.readouterr().err
    assert "relay.password: relay.username is set" in err
    assert "imap.password: required: give it as EDISCUSS_IMAP_PASSWORD" in err
    assert main(["--config", cfg, "outbox", "send"]) == 2
    err = capsys.readouterr().err
    assert "relay.password" in err and "imap.password" not in err
    assert main(["--config", cfg, "serve"]) == 2
    assert "imap.password" in capsys.readouterr().err


def test_config_check_prints_the_imap_security(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = SHIPPED_CONFIG.read_text("utf-8") + (
        '\n[imap]\nhost = "imap.example.org"\nsecurity = "starttls"\n'
        'username = "ed@example.org"\n'
    )
    monkeypatch.setenv("EDISCUSS_IMAP_PASSWORD", "pw")
    assert main(["--config", str(write_config(tmp_path, text)), "config", "check"]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if "imap" in x]
    assert line == (
        "  imap        ed@example.org@imap.example.org:143 INBOX (security starttls;"
        " stored mail flagged; IDLE or poll every 60 s)"
    )


def test_questions_list_keeps_its_columns_and_ellipsizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["--config", str(write_config(tmp_path)), "questions", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 11 and all(len(line) <= 80 for line in lines)
    assert lines[0].endswith("…") and lines[6].endswith("…")
    starts = {line.index("scheduled") for line in lines}
    assert len(starts) == 1  # a CEST row does not push its columns right
    texts = {line.index(" How ") if " How " in line else None for line in lines}
    assert len(texts - {None}) == 1


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*path, name))
    return found


def test_every_command_says_what_it_does_and_every_option_has_help() -> None:
    commands = _commands(build_parser())
    assert len(commands) > 40
    for path, parser in commands:
        assert parser.description, path
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            assert action.help, (path, action.dest)
    text = build_parser().format_help()
    assert "main(argv)" not in text
    [(_, add)] = [(p, c) for p, c in commands if p == ("subscribers", "add")]
    assert "--mode {each,digest,announcements}" in add.format_help()
    assert "--language {" in add.format_help()


def test_subcommand_help_describes_the_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["questions", "list", "--help"])
    out = capsys.readouterr().out
    assert "List questions with release time and state." in out
    assert "--discussion SLUG  the discussion (default: the only one configured)" in out


def test_a_database_that_cannot_be_reached_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://ed:s3cret@127.0.0.1:{port}/ediscuss"
    monkeypatch.setenv("EDISCUSS_DATABASE_URL", url)
    assert main(["--config", str(write_config(tmp_path)), "export"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"error: the database postgresql+psycopg://ed:***@127.0.0.1:{port}/ediscuss"
        " cannot be used: connection failed:"
    )
