"""``ediscuss report``: the moderators' synthesis pack from the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailer.cli import main
from mailer.runtime import Runtime
from mailer.synthesis import build_report, load_report, to_html, to_markdown
from mailer.synthesis.chart import participation_png
from store.models import Post, PostStatus, Subscriber
from tests.fixtures.schedule import WEEK_POSTS, add_post, subscribe
from tests.fixtures.settings import SHIPPED_CONFIG

HOSTILE = "<script>alert('x')</script> *bold* [link](http://evil.example) # not a title"


def seed(rt: Runtime) -> dict[int, int]:
    """The model week's posts; Ana signed up (her posts carry no affiliation themselves)."""
    subscribe(rt, "ana@example.net", language="es")
    with rt.sessions.begin() as s:
        s.execute(
            update(Subscriber)
            .where(Subscriber.email == "ana@example.net")
            .values(organisation="Ministerio de Trabajo", constituency="government")
        )
    ids: dict[int, int] = {}
    for i, p in enumerate(WEEK_POSTS):
        ids[i] = add_post(
            rt,
            p.question,
            p.at.astimezone(UTC),
            author=p.author,
            organisation="" if p.author == "Ana Ruiz" else p.organisation,
            constituency="" if p.author == "Ana Ruiz" else p.constituency,
            body=p.body,
            parent=ids[p.reply_to] if p.reply_to is not None else None,
        )
    # A moderator's post, a hostile one, and one still held (left out).
    at = datetime(2027, 3, 30, 9, 0, tzinfo=UTC)
    ids[100] = add_post(rt, 2, at, author="Paul Comyn", body="Thank you all.")
    ids[101] = add_post(rt, 3, at + timedelta(hours=1), author="Eve", body=HOSTILE)
    ids[102] = add_post(rt, 3, at + timedelta(hours=2), author="Held", body="Wait.")
    with rt.sessions.begin() as s:
        s.execute(
            update(Post)
            .where(Post.id == ids[100])
            .values(author_email="comyn@ilo.example.org")
        )
        s.execute(
            update(Post).where(Post.id == ids[102]).values(status=PostStatus.HELD)
        )
    return ids


def test_the_report_per_question_counts_and_days(sim_runtime: Runtime) -> None:
    rt = sim_runtime
    ids = seed(rt)
    d = rt.settings.discussions[0]
    report = load_report(rt, d, "en")
    assert report.total == len(WEEK_POSTS) + 2 and report.participants == 11
    q1 = report.questions[0]
    assert [c.id for c in q1.contributions] == [ids[0], ids[1], ids[4], ids[12]]
    ana, tom, lucia = q1.contributions[:3]
    assert (ana.author, ana.organisation, ana.constituency, ana.language) == (
        "Ana Ruiz",
        "Ministerio de Trabajo",  # from her sign-up
        "Government",
        "",
    )
    assert tom.reply_to == "in reply to Ana Ruiz" and lucia.reply_to.endswith(
        "Tom Baker"
    )
    assert ana.when == "27 Mar, 10:15"  # Zurich time
    paul = next(
        c for c in report.questions[1].contributions if c.author == "Paul Comyn"
    )
    assert paul.constituency == "Moderator"
    assert dict(report.by_constituency) == {
        "Government": 4,
        "Employers' organization": 2,
        "Workers' organization": 1,
        "Education or training provider": 4,
        "NGO": 2,
        "Individual": 1,
        "Other": 1,
        "Moderator": 1,
        "not given": 1,
    }
    days = dict(report.per_day)
    assert len(days) == 22  # every day of the discussion, quiet ones too
    assert sum(sum(c.values()) for c in days.values()) == report.total
    assert days[datetime(2027, 3, 28).date()] == {"?": 3}  # language unknown
    assert days[datetime(2027, 4, 10).date()] == {}
    # The same report in Spanish: labels and question texts.
    es = build_report([], d, "es", datetime(2027, 4, 18, tzinfo=UTC))
    assert es.questions[0].text.startswith("¿Cómo ha perturbado")
    assert es.window == "Del 27 de marzo de 2027 al 17 de abril de 2027."
    assert es.total == 0 and es.questions[0].contributions == ()


def test_html_and_markdown_escape_what_participants_wrote(sim_runtime: Runtime) -> None:
    seed(sim_runtime)
    report = load_report(sim_runtime, sim_runtime.settings.discussions[0], "fr")
    png = participation_png(report)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    html = to_html(report, png)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in html
    assert "Rapport de synthèse" in html and "Contributions par groupe" in html
    assert 'src="http' not in html and "<link" not in html  # no remote assets
    md = to_markdown(report)
    assert r"\<script\>" in md and r"\*bold\*" in md and r"\[link\]" in md
    assert r"\# not a title" in md
    assert "![Diagramme en barres" in md and "(participation.png)" in md
    assert "Wait." not in md  # the held post is not in the report


def test_ediscuss_report_writes_the_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim_runtime: Runtime, db_url: str
) -> None:
    seed(sim_runtime)
    cfg = tmp_path / "config.toml"
    cfg.write_text(SHIPPED_CONFIG.read_text("utf-8"), "utf-8")
    monkeypatch.setenv("EDISCUSS_DATABASE_URL", db_url)
    monkeypatch.setenv("EDISCUSS_SERVICE_STATE_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("EDISCUSS_SERVICE_SECRET", "test-secret")
    out = tmp_path / "pack"
    code = main(["--config", str(cfg), "report", "--discussion", "skills-covid19",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "participation.png",
        "report.html",
        "report.md",
    ]
    assert "Synthesis report" in (out / "report.md").read_text("utf-8")
    assert os.path.getsize(out / "participation.png") > 5000
    with sim_runtime.sessions() as s:  # reading wrote nothing
        assert (
            s.scalar(select(Post.id).where(Post.status == PostStatus.REJECTED)) is None
        )


def test_an_author_without_a_name_is_not_named_by_address(sim_runtime: Runtime) -> None:
    at = datetime(2027, 3, 30, 9, 0, tzinfo=UTC)
    post = add_post(sim_runtime, 1, at, author="Lee", body="No name in my From.")
    with sim_runtime.sessions.begin() as s:
        s.execute(
            update(Post)
            .where(Post.id == post)
            .values(author_email="lee.wong@example.org", author_name="")
        )
    report = load_report(sim_runtime, sim_runtime.settings.discussions[0], "en")
    md = to_markdown(report)
    assert "lee.wong" not in md and "l…@example.org" in md
    assert "lee.wong" not in to_html(report, b"")
