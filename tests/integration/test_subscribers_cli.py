"""``ediscuss subscribers import|export|add|remove|stats`` on both databases."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailer.cli import main
from store.db import make_engine, make_sessionmaker
from store.models import (
    Base,
    OutboxMessage,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.fixtures.settings import SHIPPED_CONFIG

GOOD_AND_BAD = """email,name,organisation,constituency,language,mode,status
ana@example.net,Ana Ruiz,Ministry of Labour,government,es,digest,active
not-an-address,Bob,,,,,
li@example.org,Li Wei,,workers,de,,
carol@example.org,,,,,weekly,
dan@example.org,,,astronauts,,,
ANA@example.net,Ana again,,,,,
eve@example.org,Eve,,,fr,announcements,unsubscribed
"Fay@Example.org","Fay, PhD","Centre de formation, Avenir",formation,fr,résumé,
gus@example.org,,,,,,sleeping
"""


@pytest.fixture
def cfg(tmp_path: Path, db_url: str) -> str:
    text = SHIPPED_CONFIG.read_text("utf-8")
    text = text.replace('url = "sqlite:///var/ediscuss.db"', f'url = "{db_url}"', 1)
    text = text.replace('state_dir = "var"', f'state_dir = "{tmp_path / "var"}"', 1)
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    return str(path)


def count(db_url: str, what: type[Base]) -> int:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(what)) or 0)
    finally:
        engine.dispose()


def statuses(db_url: str) -> dict[str, str]:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            rows = session.execute(
                select(Subscriber.email, Subscription.status).join(Subscription)
            ).all()
            return {email: status.value for email, status in rows}
    finally:
        engine.dispose()


def test_import_reports_every_problem_and_imports_the_rest(
    cfg: str, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(GOOD_AND_BAD, "utf-8")
    args = ["--config", cfg, "subscribers", "import", str(path)]
    assert main([*args, "--send-confirmation"]) == 1
    out, err = capsys.readouterr()
    report = err.splitlines()
    assert f"{path}: line 3, column email: 'not-an-address': " in report[0]
    assert any(
        "line 4, column language: 'de' is not one of en, es, fr" in r for r in report
    )
    assert any("line 5, column mode: 'weekly' is not one of" in r for r in report)
    assert any("line 6, column constituency: 'astronauts'" in r for r in report)
    assert any(
        "line 7, column email: ana@example.net already appears on line 2" in r
        for r in report
    )
    assert any("line 10, column status: 'sleeping'" in r for r in report)
    assert out.strip() == (
        "9 row(s) read: 2 confirmation sent, "
        "1 not imported: the status column says they left; "
        "6 row(s) with problems, not imported"
    )
    assert statuses(db_url) == {
        "ana@example.net": "pending",
        "fay@example.org": "pending",
    }
    assert count(db_url, OutboxMessage) == 2

    # The same file again: nothing changes, nothing is sent twice.
    assert main([*args, "--send-confirmation"]) == 1
    out, _ = capsys.readouterr()
    assert "2 already waiting for confirmation" in out
    assert count(db_url, OutboxMessage) == 2
    # Confirmed by the operator: active, no mail; and again, nothing changes.
    assert main([*args, "--confirmed"]) == 1
    assert "2 subscribed (confirmed)" in capsys.readouterr().out
    assert main([*args, "--confirmed"]) == 1
    assert "2 already subscribed" in capsys.readouterr().out
    assert count(db_url, OutboxMessage) == 2
    assert set(statuses(db_url).values()) == {"active"}


def test_export_then_import_round_trip_and_who_left_stays_gone(
    cfg: str, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--config", cfg, "subscribers"]
    assert main([*base, "add", "ana@example.net", "--confirmed", "--name", "Ana"]) == 0
    assert (
        main([*base, "add", "li@example.org", "--confirmed", "--mode", "digest"]) == 0
    )
    assert main([*base, "remove", "li@example.org"]) == 0
    assert main([*base, "remove", "nobody@example.org"]) == 1
    capsys.readouterr()
    assert main([*base, "export"]) == 0
    exported = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["email"], r["status"], r["mode"]) for r in rows] == [
        ("ana@example.net", "active", "each"),
        ("li@example.org", "unsubscribed", "digest"),
    ]
    path = tmp_path / "export.csv"
    path.write_text(exported, "utf-8")
    assert main([*base, "import", str(path), "--confirmed"]) == 0
    out = capsys.readouterr().out
    assert "1 already subscribed" in out
    assert "1 not imported: the status column says they left" in out
    # Without the status column, someone who unsubscribed is still not brought back.
    path.write_text("email\nli@example.org\n", "utf-8")
    assert main([*base, "import", str(path), "--confirmed"]) == 0
    assert "1 not imported: unsubscribed or bouncing" in capsys.readouterr().out
    assert statuses(db_url)["li@example.org"] == "unsubscribed"
    assert count(db_url, OutboxMessage) == 0
    assert main([*base, "stats"]) == 0
    stats = capsys.readouterr().out
    assert "by status        active 1, unsubscribed 1" in stats
    assert main([*base, "list", "--status", "active"]) == 0
    assert capsys.readouterr().out.startswith("ana@example.net")


def test_semicolons_a_bom_and_a_dry_run(
    cfg: str, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufeffE-mail;Nombre;Organization;Language\r\n"
        "ana@example.net;Ana Ruiz;Ministerio de Trabajo;español\r\n"
        "li@example.org;Li;;\r\n".encode()
    )
    base = ["--config", cfg, "subscribers", "import", str(path)]
    assert main([*base, "--confirmed", "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "2 row(s) checked: 2 valid"
    assert "column 'nombre' is not known and is ignored" in err
    assert count(db_url, Subscription) == 0
    assert main([*base, "--confirmed"]) == 0
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            sub = session.scalar(
                select(Subscription)
                .join(Subscriber)
                .where(Subscriber.email == "ana@example.net")
            )
            assert sub is not None and sub.language == "es"
            assert sub.status is SubscriptionStatus.ACTIVE
            assert sub.source == "import"
    finally:
        engine.dispose()


def test_unusable_files_and_a_missing_choice(
    cfg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "names.csv"
    path.write_text("name\nAna\n", "utf-8")
    base = ["--config", cfg, "subscribers", "import", str(path)]
    assert main([*base, "--confirmed"]) == 2
    assert "no 'email' column" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(base)  # --confirmed or --send-confirmation: the operator must say
    assert main([*base[:-1], str(tmp_path / "missing.csv"), "--confirmed"]) == 2


def test_a_file_of_several_batches_imports_once(
    cfg: str, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["email,language,mode"]
    lines += [
        f"p{i}@example{i % 7}.org,{'es' if i % 2 else 'fr'},digest" for i in range(210)
    ]
    lines.insert(205, "p5@example5.org,es,digest")  # a duplicate in the second batch
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    base = ["--config", cfg, "subscribers", "import", str(path)]
    assert main([*base, "--send-confirmation"]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == (
        "211 row(s) read: 210 confirmation sent; 1 row(s) with problems, not imported"
    )
    assert "line 206, column email: p5@example5.org already appears on line 7" in err
    assert count(db_url, OutboxMessage) == 210
    assert main([*base, "--send-confirmation"]) == 1
    assert "210 already waiting for confirmation" in capsys.readouterr().out
    assert count(db_url, OutboxMessage) == 210
