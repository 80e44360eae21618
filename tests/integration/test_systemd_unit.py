"""``deploy/ediscuss.service`` is a unit systemd accepts as written, hardened as documented."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "ediscuss.service"
INSTALLED = "/opt/ediscuss/bin/ediscuss"  # where docs/deploy.md installs it


def _directives(text: str) -> list[tuple[str, str]]:
    return [
        (key, value)
        for line in text.splitlines()
        if line and not line.startswith(("#", "["))
        for key, _, value in [line.partition("=")]
    ]


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (package systemd)",
)
def test_systemd_analyze_verify_accepts_the_unit_without_a_warning(
    tmp_path: Path,
) -> None:
    # verify checks that ExecStart= is executable: point it at this venv's command.
    ediscuss = Path(sys.executable).parent / "ediscuss"
    assert ediscuss.is_file()
    text = UNIT.read_text("utf-8")
    assert INSTALLED in text
    unit = tmp_path / "ediscuss.service"
    unit.write_text(text.replace(INSTALLED, str(ediscuss)), "utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # An unknown or misspelt key is only a warning on stderr, with exit code 0.
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "")


def test_the_unit_is_notify_restarts_on_failure_and_writes_only_its_state_dir() -> None:
    d = _directives(UNIT.read_text("utf-8"))
    for wanted in [
        ("Type", "notify"),
        ("User", "ediscuss"),
        ("Restart", "on-failure"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/ediscuss"),
        ("StateDirectory", "ediscuss"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"),
    ]:
        assert wanted in d
    assert [v for k, v in d if k == "ExecStart"] == [
        f"{INSTALLED} --config /etc/ediscuss/config.toml serve"
    ]


@pytest.mark.skipif(
    shutil.which("systemd-sysusers") is None,
    reason="systemd-sysusers is not installed (package systemd)",
)
def test_the_sysusers_file_makes_the_ediscuss_user(tmp_path: Path) -> None:
    conf = tmp_path / "ediscuss.conf"
    shutil.copy(ROOT / "deploy" / "ediscuss.sysusers", conf)
    done = subprocess.run(
        ["systemd-sysusers", "--dry-run", str(conf)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    said = done.stdout + done.stderr
    # Already there (on a machine that has it) or made now: either way, no error.
    assert "Failed" not in said and "ignoring" not in said, said
