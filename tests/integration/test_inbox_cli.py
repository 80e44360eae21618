"""``ediscuss inbox``: list, failed (with the reason), show, and retry after a fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailer.cli import main
from mailer.config import load_settings
from mailer.inbound.pipeline import process_pending
from mailer.inbound.receive import make_accept
from mailer.inbound.smtp import Delivery
from mailer.runtime import open_runtime
from store.models import InboundMessage, InboundState, Post, Question, Via
from tests.fixtures.inbound import address, mail
from tests.fixtures.settings import SHIPPED_CONFIG


def test_inbox_commands(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        SHIPPED_CONFIG.read_text("utf-8").replace(
            'unknown_senders = "hold"', 'unknown_senders = "accept"'
        ),
        "utf-8",
    )
    monkeypatch.setenv("EDISCUSS_DATABASE_URL", db_url)
    monkeypatch.setenv("EDISCUSS_SERVICE_SECRET", "test-secret")
    runtime = open_runtime(load_settings(cfg, os.environ))
    try:
        accept = make_accept(runtime.sessions, runtime.clock)
        to = (address("+q1"),)
        poison = accept(
            Delivery(b"\r\n\x1b\x1b\x07\r\n", "x@example.net", to, Via.SMTP, "::1")
        )
        good = accept(
            Delivery(
                mail(to=to[0], message_id="<ok@example.net>"),
                "ana@example.net",
                to,
                Via.SMTP,
                "127.0.0.1",
            )
        )
        assert process_pending(runtime) == 2
        # As if an earlier version had failed on the good one (a bug since
        # fixed), and question 1 has been released meanwhile.
        with runtime.sessions.begin() as s:
            s.execute(
                update(InboundMessage)
                .where(InboundMessage.id == good.inbound_id)
                .values(state=InboundState.FAILED, error="KeyError: 'x'", attempts=1)
            )
            s.execute(
                update(Question)
                .where(Question.number == 1)
                .values(released_at=runtime.clock())
            )
    finally:
        runtime.close()
    c = ["--config", str(cfg)]

    assert main([*c, "inbox", "failed"]) == 0
    out = capsys.readouterr().out
    assert f"{poison.inbound_id:>6} failed" in out
    assert "attempts=1 reason: MalformedMessage: " in out
    assert "attempts=1 reason: KeyError: 'x'" in out

    assert main([*c, "inbox", "list", "--state", "failed"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2

    assert main([*c, "inbox", "show", str(good.inbound_id)]) == 0
    out = capsys.readouterr().out
    assert "state:       failed (attempts 1)" in out
    assert "Message-ID: <ok@example.net>" in out
    assert "Most workplace training stopped" in out
    assert main([*c, "inbox", "show", str(poison.inbound_id), "--raw"]) == 0
    assert "\x1b" not in capsys.readouterr().out  # no terminal escapes

    # Retrying both: the fixed one is processed, the poison fails again (exit 1).
    assert main([*c, "inbox", "retry"]) == 1
    out = capsys.readouterr().out
    assert f"{good.inbound_id:>6} held: post 1: question 1" in out
    assert f"{poison.inbound_id:>6} failed: MalformedMessage" in out

    assert main([*c, "inbox", "retry", "999"]) == 1
    assert "nothing to retry" in capsys.readouterr().err
    assert main([*c, "inbox", "show", "999"]) == 1

    runtime = open_runtime(load_settings(cfg, os.environ))
    try:
        with runtime.sessions() as s:
            rows = {r.id: r for r in s.scalars(select(InboundMessage))}
            assert rows[good.inbound_id].state is InboundState.PROCESSED
            assert rows[poison.inbound_id].attempts == 1  # counted anew after retry
            [post] = s.scalars(select(Post))
            assert post.message_id == "<ok@example.net>"
    finally:
        runtime.close()


ENCODED = (
    b"From: =?utf-8?q?Jos=C3=A9_N=C3=BA=C3=B1ez?= <jose@example.net>\r\n"
    b"To: skills-covid19+q1@discuss.example.org\r\n"
    b"Subject: =?utf-8?b?Rm9ybWFjacOzbiBlbiBsw61uZWE=?=\r\n"
    b"Message-ID: <enc@example.net>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"La formaci=C3=B3n en l=C3=ADnea lleg=C3=B3 a los talleres.\r\n"
    b"--b1\r\n"
    b"Content-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="plan.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQKJcTl8uXr\r\n"
    b"--b1--\r\n"
)


def test_inbox_show_decodes_and_failed_says_when_there_is_none(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(SHIPPED_CONFIG.read_text("utf-8"), "utf-8")
    monkeypatch.setenv("EDISCUSS_DATABASE_URL", f"sqlite:///{tmp_path}/e.db")
    runtime = open_runtime(load_settings(cfg, os.environ))
    try:
        accept = make_accept(runtime.sessions, runtime.clock)
        to = (address("+q1"),)
        got = accept(Delivery(ENCODED, "jose@example.net", to, Via.SMTP, "::1"))
    finally:
        runtime.close()
    c = ["--config", str(cfg)]
    assert main([*c, "inbox", "failed"]) == 0
    assert capsys.readouterr().out == "no failed or quarantined messages\n"
    assert main([*c, "inbox", "show", str(got.inbound_id)]) == 0
    out = capsys.readouterr().out
    assert "From: José Núñez <jose@example.net>" in out
    assert "Subject: Formación en línea" in out
    assert "La formación en línea llegó a los talleres." in out
    assert "[attachment: plan.pdf application/pdf, 15 bytes]" in out
    assert "=C3" not in out and "--b1" not in out
