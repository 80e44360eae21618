"""``ediscuss demo``'s files: a temporary folder goes at the end, ``--state DIR`` stays."""

from __future__ import annotations

import io
import socket
import tempfile
from pathlib import Path

import pytest

from mailer.cli import main
from mailer.demo import DemoError, DemoOptions, run_demo
from mailer.demo.runner import afterword, demo_settings
from tests.fixtures.settings import SHIPPED_CONFIG, SettingsFactory


def test_a_demo_that_stops_early_leaves_no_temporary_folder(
    make_settings: SettingsFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with socket.socket() as taken:  # the archive's port: serve stops at once
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        options = DemoOptions(fast=True, web_port=taken.getsockname()[1])
        with pytest.raises(OSError, match="in use"):
            run_demo(make_settings(), options, io.StringIO())
    assert list(scratch.iterdir()) == []


def test_state_dir_is_kept_named_and_must_start_empty(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    state = tmp_path / "played"
    options = DemoOptions(fast=True, state_dir=state)
    settings = demo_settings(make_settings(), options, dns_port=53)
    assert settings.service.state_dir == state.resolve()
    text = afterword(settings, options)
    assert f"Its files stay in {state.resolve()}" in text
    assert (
        f"  EDISCUSS_DATABASE_URL=sqlite:///{state.resolve()}/ediscuss.db"
        " ediscuss export --discussion skills-covid19\n"
    ) in text
    (state / "ediscuss.db").write_bytes(b"")
    with pytest.raises(DemoError, match="is not empty"):
        demo_settings(make_settings(), options, dns_port=53)


def test_demo_on_a_used_state_dir_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "ediscuss.db").write_bytes(b"")
    code = main(["--config", str(SHIPPED_CONFIG), "demo", "--state", str(used)])
    assert code == 1
    assert capsys.readouterr().err == (
        f"error: {used} is not empty (an earlier demo?): remove it or name a new folder\n"
    )
