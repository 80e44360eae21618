"""``ediscuss questions release``, ``discussion close|reopen`` and ``digest preview``.

The digest samples under tests/data/digest-samples/ are what ``digest preview``
prints for 28 March 2027 of the model week, in each language, text and HTML;
this test renders them again and compares. After a deliberate change to the
templates, write them anew with ``EDISCUSS_WRITE_SAMPLES=1`` and look at them:
the text on an 80-column terminal, the HTML in a browser.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailer.cli import build_parser, main
from mailer.commands.base import CommandError, Context
from mailer.config import load_settings
from mailer.mailings.due import run_due
from mailer.mailings.releases import release_questions
from mailer.runtime import Runtime, open_runtime
from store.models import DeliveryMode, DigestRun, OutboxMessage
from tests.fixtures.schedule import SLUG, WEEK_POSTS, MovableClock, add_post, subscribe
from tests.fixtures.settings import SHIPPED_CONFIG

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "digest-samples"
LANGUAGES = ("en", "es", "fr")


@pytest.fixture
def cli_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[list[str], Runtime]]:
    """The shipped config on a temporary SQLite store, seeded with the model week."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(SHIPPED_CONFIG.read_text("utf-8"), "utf-8")
    monkeypatch.setenv("EDISCUSS_DATABASE_URL", f"sqlite:///{tmp_path}/ediscuss.db")
    monkeypatch.setenv("EDISCUSS_SERVICE_STATE_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("EDISCUSS_SERVICE_SECRET", "test-secret")
    settings = load_settings(cfg, os.environ)
    clock = MovableClock(datetime(2027, 3, 27, 8, 5, tzinfo=UTC))
    rt = open_runtime(settings, clock=clock, migrate=True)
    try:
        yield ["--config", str(cfg)], rt
    finally:
        rt.close()


def seed_week(rt: Runtime) -> None:
    run_due(rt, datetime(2027, 3, 27, 8, 5, tzinfo=UTC))  # week one opens
    ids: dict[int, int] = {}
    for i, p in enumerate(WEEK_POSTS):
        ids[i] = add_post(
            rt,
            p.question,
            p.at.astimezone(UTC),
            author=p.author,
            organisation=p.organisation,
            constituency=p.constituency,
            body=p.body,
            parent=ids[p.reply_to] if p.reply_to is not None else None,
        )
    with rt.sessions.begin() as s:
        release_questions(
            s, rt, SLUG, [7], datetime(2027, 4, 2, 8, 5, tzinfo=UTC), "moderator"
        )


def test_release_close_reopen_from_the_command_line(
    cli_env: tuple[list[str], Runtime], capsys: pytest.CaptureFixture[str]
) -> None:
    base, rt = cli_env
    subscribe(rt, "ana@example.net", language="es", mode=DeliveryMode.ANNOUNCEMENTS)
    assert main([*base, "questions", "release", "7"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "question 7: released",
        "skills-covid19 is open",
        "announcement queued for 1 subscriber(s)",
    ]
    assert main([*base, "questions", "release", "7", "99"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "question 7: already released",
        "question 99: no such question",
    ]
    assert main([*base, "questions", "release", "--week", "2"]) == 0
    out = capsys.readouterr().out
    assert "question 8: released" in out and "question 7: already released" in out
    assert main([*base, "questions", "release", "--week", "9"]) == 1
    assert "no week 9 (weeks: 1, 2)" in capsys.readouterr().err
    assert main([*base, "questions", "release"]) == 2
    capsys.readouterr()

    assert main([*base, "discussion", "close"]) == 0
    assert "skills-covid19: closed" in capsys.readouterr().out
    assert main([*base, "discussion", "close"]) == 0
    assert capsys.readouterr().out.strip() == "skills-covid19: already closed"
    assert main([*base, "questions", "release", "1"]) == 1
    assert "question 1: discussion closed" in capsys.readouterr().out
    assert main([*base, "discussion", "reopen"]) == 0
    assert capsys.readouterr().out.strip() == "skills-covid19: reopened"
    assert main([*base, "discussion", "reopen"]) == 1
    capsys.readouterr()

    assert main([*base, "questions", "list"]) == 0
    listing = capsys.readouterr().out
    assert listing.count("released") == 5  # week two; week one was never released


def test_digest_preview_matches_the_checked_in_samples(
    cli_env: tuple[list[str], Runtime], capsys: pytest.CaptureFixture[str]
) -> None:
    base, rt = cli_env
    seed_week(rt)
    write = os.environ.get("EDISCUSS_WRITE_SAMPLES") == "1"
    for language in LANGUAGES:
        for html in (False, True):
            args = [*base, "digest", "preview", "--date", "2027-03-28"]
            args += ["--language", language] + (["--html"] if html else [])
            assert main(args) == 0
            rendered, said = capsys.readouterr()
            # The size goes to standard error: the day is small, so it is whole.
            assert re.fullmatch(
                f"digest of 2027-03-28 in {language}: at most [0-9]{{2}},[0-9]{{3}} "
                "bytes a copy, within digest.max_bytes 100,000; "
                "3 contributions, all whole; text and HTML\n",
                said,
            ), said
            sample = (
                SAMPLES / f"digest-2027-03-28.{language}.{'html' if html else 'txt'}"
            )
            if write:
                sample.parent.mkdir(parents=True, exist_ok=True)
                sample.write_text(rendered, "utf-8")
            assert rendered == sample.read_text("utf-8"), sample.name
            if not html:
                # An 80-column terminal shows every line whole; prose wraps at 72.
                assert all(len(line) <= 80 for line in rendered.splitlines())
                prose = [
                    line
                    for line in rendered.splitlines()[1:]
                    if len(line) > 72 and "@" not in line and "://" not in line
                ]
                assert prose == []
    # An unknown language is refused (not rendered in the default one); a
    # quiet day has no digest.
    with pytest.raises(SystemExit) as refused:
        main([*base, "digest", "preview", "--date", "2027-03-28", "--language", "xx"])
    assert refused.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert (
        "argument --language: invalid choice: 'xx' (choose from 'en', 'es', 'fr'" in err
    )
    assert (
        main([*base, "digest", "preview", "--date", "2027-04-05", "--language", "en"])
        == 1
    )
    assert "nothing new" in capsys.readouterr().err


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_html_samples_fit_a_small_phone_in_chromium(language: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Chromium is not installed (Debian package chromium)")
    sample = SAMPLES / f"digest-2027-03-28.{language}.html"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 320, "height": 640})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(sample.as_uri())
            facts = page.evaluate(
                """() => ({
                  width: document.documentElement.scrollWidth,
                  lang: document.documentElement.lang,
                  h1: document.querySelectorAll('h1').length,
                  h2: [...document.querySelectorAll('h2')].map(h => h.textContent),
                  images: document.images.length,
                  links: [...document.links].filter(a => !a.textContent.trim()).length,
                })"""
            )
        finally:
            browser.close()
    assert facts["width"] <= 320  # no sideways scrolling on a small phone
    assert facts["lang"] == language and facts["h1"] == 1
    assert len(facts["h2"]) == 3  # open questions, question 1, question 2
    assert facts["images"] == 0 and facts["links"] == 0
    assert requests == [sample.as_uri()]  # nothing remote, no tracking


def test_digest_send_sends_what_is_due_then_what_came_since_each_once(
    cli_env: tuple[list[str], Runtime], capsys: pytest.CaptureFixture[str]
) -> None:
    base, rt = cli_env
    seed_week(rt)
    subscribe(rt, "reader@example.net", mode=DeliveryMode.DIGEST)
    zurich = ZoneInfo("Europe/Zurich")
    clock = MovableClock(datetime(2027, 3, 28, 12, 0, tzinfo=zurich))

    def send(*extra: str) -> tuple[int, str]:
        """``main`` with the test's clock: the exit code and what was printed."""
        args = build_parser().parse_args([*base, "digest", "send", *extra])
        ctx = Context(Path(base[1]), os.environ, clock)
        try:
            return args.handler(ctx, args), capsys.readouterr().out.strip()
        except CommandError as exc:
            return exc.exit_code, f"error: {exc}"
        finally:
            ctx.close()

    # No serve ran on the 27th: its digest is due and goes first.
    assert send() == (
        0,
        (
            "digest 2027-03-27: 3 post(s), queued for 1 digest reader(s);"
            " serve (or outbox send) delivers it"
        ),
    )
    # Then what came since, up to now (09:30); sending again finds nothing new.
    assert send()[1].startswith("digest 2027-03-28: 1 post(s), queued for 1")
    assert send() == (1, "error: no digest sent: nothing since the last digest")
    assert send("--date", "2027-03-28") == (
        1,
        (
            "error: no digest sent: the digest of 2027-03-28 is due at"
            " 2027-03-28 18:00 CEST; without --date, digest send sends what has"
            " come so far"
        ),
    )
    clock.set(datetime(2027, 3, 28, 19, 0, tzinfo=zurich))
    # The day's own digest carries only what the one by hand did not (12:10, 17:59).
    assert send("--date", "2027-03-28")[1].startswith(
        "digest 2027-03-28-1800: 2 post(s), queued for 1"
    )
    assert send("--date", "2027-03-28") == (
        1,
        (
            "error: no digest sent: the digest of 2027-03-28 went out already"
            " (digest 2027-03-28-1800)"
        ),
    )
    run_due(rt, clock())  # the schedule finds nothing left for that day either
    with rt.sessions() as s:
        runs = [
            (r.label, r.posts)
            for r in s.scalars(select(DigestRun).order_by(DigestRun.id))
        ]
        keys = list(
            s.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "digest")
            )
        )
    assert runs == [("2027-03-27", 3), ("2027-03-28", 1), ("2027-03-28-1800", 2)]
    assert len(keys) == len(set(keys)) == 3
