"""The wheel ``python -m build`` makes runs on its own, away from the source tree.

Built without build isolation (the backend is in the test extras), so that the
test needs no download. The clean venv (``python -m venv``, no system site
packages) gets the wheel with ``pip install --no-index --no-deps``; its
dependencies come from this venv's site-packages through one ``.pth`` line,
which adds that folder to ``sys.path`` without running its ``.pth`` files (so
not the editable install of the source tree). Every check below asserts that
``mailer`` and ``store`` are imported from the clean venv.
"""

from __future__ import annotations

import http.client
import importlib.metadata
import os
import signal
import smtplib
import socket
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.settings import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _shipped_files() -> set[str]:
    """What the wheel must carry beside the code, as paths inside it."""
    files = {
        f"mailer/digest_templates/{p.relative_to(ROOT / 'digest_templates')}"
        for p in (ROOT / "digest_templates").rglob("*")
        if p.is_file()
    }
    files.add("mailer/config/config.toml")
    for folder in ("mailer/web/templates", "mailer/web/static", "store/migrations"):
        files |= {
            str(p.relative_to(ROOT))
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
    return files


def _run(
    argv: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
    return done


def _get(port: int, path: str) -> tuple[int, str, bytes]:
    """Status, Location and body of one GET to the web archive."""
    web = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        web.request("GET", path)
        answer = web.getresponse()
        return answer.status, answer.getheader("Location", ""), answer.read()
    finally:
        web.close()


def test_the_built_wheel_installs_and_serves_outside_the_source_tree(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.pop("EDISCUSS_CONFIG", None)
    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), "."],
        ROOT,
        env,
    )
    (wheel,) = dist.glob("ediscuss-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert _shipped_files() - names == set()
    assert not any(n.startswith(("tests/", "bench/")) for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    py = venv / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q"]
        + ["--no-index", "--no-deps", str(wheel)],
        tmp_path,
        env,
    )
    site = Path(
        _run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            tmp_path,
            env,
        ).stdout.strip()
    )
    (site / "ediscuss-test-deps.pth").write_text(
        sysconfig.get_path("purelib") + "\n", "utf-8"
    )

    where = tmp_path / "site"  # not the source tree: nothing of it is importable here
    state = where / "state"
    where.mkdir()
    found = _run(
        [
            str(py),
            "-c",
            (
                "import mailer, store, mailer.outbound.templates as t;"
                " print(mailer.__file__, store.__file__, t.SHIPPED)"
            ),
        ],
        where,
        env,
    ).stdout.split()
    assert all(Path(f).is_relative_to(venv) for f in found), found
    assert (Path(found[2]) / "en" / "welcome.txt.j2").is_file()

    ediscuss = str(venv / "bin" / "ediscuss")
    version = _run([ediscuss, "--version"], where, env).stdout.strip()
    assert version == f"ediscuss {importlib.metadata.version('ediscuss')}"

    sample = _run([ediscuss, "config", "sample"], where, env).stdout
    assert sample == (ROOT / "config.toml").read_text("utf-8")
    smtp_port, web_port = free_port(), free_port()
    config = sample.replace('state_dir = "var"', f'state_dir = "{state}"').replace(
        'url = "sqlite:///var/ediscuss.db"', f'url = "sqlite:///{state}/ediscuss.db"'
    )
    config = config.replace(
        'listen = "127.0.0.1:2525"', f'listen = "127.0.0.1:{smtp_port}"'
    )
    config = config.replace(
        'listen = "127.0.0.1:8080"', f'listen = "127.0.0.1:{web_port}"'
    )
    (where / "config.toml").write_text(config, "utf-8")
    checked = _run([ediscuss, "config", "check"], where, env).stdout
    assert checked.startswith("OK: 1 discussion(s)"), checked
    assert f"sqlite:///{state}/ediscuss.db" in checked

    notify = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(notify))
        listener.settimeout(90)
        proc = subprocess.Popen(
            [ediscuss, "serve"],
            cwd=where,
            env={**env, "NOTIFY_SOCKET": str(notify)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            assert listener.recv(256) == b"READY=1"
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
                assert client.ehlo("client.example.com")[0] == 250
            status, location, _ = _get(web_port, "/")
            assert status == 302
            status, _, page = _get(web_port, location)
            assert status == 200 and b"</html>" in page  # a template of the wheel
            status, _, style = _get(web_port, "/static/style.css")
            assert status == 200 and style
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            log = proc.stdout.read().decode()
            proc.stdout.close()
    assert "stopped" in log, log
    assert (state / "ediscuss.db").is_file()  # the migrations ran from the wheel
