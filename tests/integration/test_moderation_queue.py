"""The moderation queue and the other commands: notices, spam, hold, bans, stats, CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from mailer.cli import main
from mailer.core.addresses import AddressBook
from mailer.inbound.pipeline import process_pending
from mailer.links import held_post_address
from mailer.moderation import notify_held
from mailer.runtime import Runtime
from store.models import Ban, InboundMessage, Post, PostStatus
from tests.fixtures.moderation import (
    DOMAIN,
    SLUG,
    DkimKey,
    Listener,
    SettableClock,
    command_mail,
    dkim_sign,
    outbox,
    read,
    text_of,
)
from tests.fixtures.settings import SHIPPED_CONFIG
from tests.integration.moderation_setup import (
    AGGARWAL,
    COMYN,
    MODERATORS,
    MORENO,
    audit,
    contribution,
    hold_three,
    post,
    process,
    release_directly,
)


def _command(
    listener: Listener, key: DkimKey, sender: str, body: str, to: str = MODERATORS
) -> None:
    listener.send(dkim_sign(command_mail(sender, to, body), key), to)
    process(listener.runtime)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_held_notice_once_per_moderator_with_everything_needed(
    listener: Listener, mod_runtime: Runtime, clock: SettableClock
) -> None:
    release_directly(mod_runtime, [3], clock.now)
    raw = contribution(
        "ana@example.net",
        "Ana Ruiz",
        3,
        "Our trainers had no laptops.\n\n-- \nAna Ruiz\nCCOO Formación\n",
        "Technical hurdles",
    )
    listener.send(raw, f"{SLUG}+q3@{DOMAIN}")
    process(mod_runtime)
    [held] = [p.id for p in _posts(mod_runtime) if p.status is PostStatus.HELD]
    with mod_runtime.sessions.begin() as s:  # a second call adds nothing
        assert notify_held(s, mod_runtime, held, clock.now) == 0
    notices = outbox(mod_runtime, "mod-held")
    assert sorted(r.recipient for r in notices) == sorted([AGGARWAL, COMYN, MORENO])
    book = AddressBook(SLUG, DOMAIN)
    for row in notices:
        msg = read(row)
        text = text_of(row)
        assert msg["Reply-To"].addresses[0].addr_spec == held_post_address(
            book, mod_runtime.key, held
        )
        assert "Our trainers had no laptops." in text
        assert "CCOO Formación" not in text  # the signature was trimmed
        assert "Ana Ruiz <ana@example.net>" in text
        why = "remitente desconocido" if row.recipient == MORENO else "unknown sender"
        assert why in text
        assert msg["Auto-Submitted"] == "auto-generated"
    spanish = read(next(r for r in notices if r.recipient == MORENO))
    assert spanish["Content-Language"] == "es"
    assert "técnicos" in text_of(next(r for r in notices if r.recipient == MORENO))


def _posts(runtime: Runtime) -> list[Post]:
    with runtime.sessions() as s:
        return list(s.scalars(select(Post).order_by(Post.id)))


def test_reject_spam_tells_nobody_and_reasons_reach_authors_in_their_language(
    listener: Listener, mod_runtime: Runtime, dkim_key: DkimKey, clock: SettableClock
) -> None:
    release_directly(mod_runtime, [1], clock.now)
    ana, bo, chloe = hold_three(listener, mod_runtime)
    # By the held-post address: a bare "reject <reason>".
    to = held_post_address(AddressBook(SLUG, DOMAIN), mod_runtime.key, ana)
    _command(listener, dkim_key, COMYN, "reject SPAM, obviously", to=to)
    _command(listener, dkim_key, COMYN, f"reject {bo} Please answer question 1 itself")
    assert post(mod_runtime, ana).status is PostStatus.REJECTED
    assert post(mod_runtime, ana).moderation_note == "SPAM, obviously"
    rejections = outbox(mod_runtime, "post-rejected")
    assert [r.recipient for r in rejections] == ["bo@example.com"]
    assert "Please answer question 1 itself" in text_of(rejections[0])
    results = [text_of(r) for r in outbox(mod_runtime, "mod-result")]
    assert "the author is not told" in _flat(results[0])
    assert "the author is told why" in _flat(results[1])
    # A second decision on a decided post changes nothing and says who decided.
    _command(listener, dkim_key, MORENO, f"approve {bo}")
    assert post(mod_runtime, bo).status is PostStatus.REJECTED
    last = text_of(outbox(mod_runtime, "mod-result")[-1])
    assert f"La aportación {bo} ya estaba rechazada por Paul Comyn" in _flat(last)
    assert chloe not in {r.id for r in outbox(mod_runtime, "post-rejected")}


@pytest.mark.parametrize(
    ("moderator", "command"),
    [(MORENO, "rechazar {post} Correo basura."), (COMYN, "rejeter {post} Pourriel")],
)
def test_spam_in_the_moderators_language_is_not_explained_to_the_spammer(
    listener: Listener,
    mod_runtime: Runtime,
    dkim_key: DkimKey,
    clock: SettableClock,
    moderator: str,
    command: str,
) -> None:
    release_directly(mod_runtime, [1], clock.now)
    ana, bo, _ = hold_three(listener, mod_runtime)
    _command(listener, dkim_key, moderator, command.format(post=ana))
    _command(listener, dkim_key, moderator, f"rechazar {bo} correo fuera de tema")
    assert post(mod_runtime, ana).status is PostStatus.REJECTED
    assert [r.recipient for r in outbox(mod_runtime, "post-rejected")] == [
        "bo@example.com"
    ]


def test_hold_ban_unban_and_unknown_lines(
    listener: Listener, mod_runtime: Runtime, dkim_key: DkimKey, clock: SettableClock
) -> None:
    release_directly(mod_runtime, [1], clock.now)
    ana, _, _ = hold_three(listener, mod_runtime)
    _command(
        listener,
        dkim_key,
        AGGARWAL,
        f"Good morning!\napprove {ana}\nhold {ana}\nhold #{ana}\napprove 99999\n"
        "ban Spammer@Example.com\nban spammer@example.com\nban moreno@ilo.example.org\n"
        "release 42\nrelease week 9\nreopen\nsubscribers\nhelp\n",
    )
    text = _flat(text_of(outbox(mod_runtime, "mod-result")[-1]))
    for expected in (
        f"Post {ana} approved and published.",
        f"Post {ana} is held again",
        f"Post {ana} is already held.",
        "There is no post 99999 in this discussion.",
        "spammer@example.com is banned",
        "spammer@example.com was already banned.",
        "moreno@ilo.example.org is a moderator and cannot be banned.",
        "There is no question 42.",
        "There is no week 9 (weeks: 1, 2).",
        "The discussion is not closed: nothing to reopen.",
        "Subscribers: total 0",
        "release week <w>",
        "Not understood (nothing done): Good morning!",
    ):
        assert expected in text, expected
    assert post(mod_runtime, ana).status is PostStatus.HELD
    with mod_runtime.sessions() as s:
        assert list(s.scalars(select(Ban.email))) == ["spammer@example.com"]
    # The pipeline drops a banned sender's mail; unban lets it through again.
    listener.send(
        contribution("spammer@example.com", "S", 1, "Buy now\n"), f"{SLUG}+q1@{DOMAIN}"
    )
    process(mod_runtime)
    assert "spammer@example.com" not in {p.author_email for p in _posts(mod_runtime)}
    _command(listener, dkim_key, AGGARWAL, "unban spammer@example.com\nunban x@y.org")
    text = _flat(text_of(outbox(mod_runtime, "mod-result")[-1]))
    assert "spammer@example.com is no longer banned." in text
    assert "x@y.org was not banned." in text
    kinds = [e.action for e in audit(mod_runtime) if e.actor == AGGARWAL]
    assert kinds.count("ban") == 3 and kinds.count("unban") == 2


def test_forged_held_address_and_mail_without_commands(
    listener: Listener, mod_runtime: Runtime, dkim_key: DkimKey, clock: SettableClock
) -> None:
    release_directly(mod_runtime, [1], clock.now)
    ana, _, _ = hold_three(listener, mod_runtime)
    forged = f"{SLUG}-moderators+p{ana}.aaaaaaaaaaaaaaaa@{DOMAIN}"
    _command(listener, dkim_key, COMYN, "approve", to=forged)
    assert post(mod_runtime, ana).status is PostStatus.HELD
    text = _flat(text_of(outbox(mod_runtime, "mod-result")[-1]))
    assert "held-post address you wrote to is not valid" in text
    assert "Not understood (nothing done): approve" in text
    # Unsigned mail without a command: help, not a confirmation.
    listener.send(command_mail(MORENO, MODERATORS, "Hola, ¿qué tal?"), MODERATORS)
    process(mod_runtime)
    assert outbox(mod_runtime, "mod-confirm") == []
    reply = outbox(mod_runtime, "mod-result")[-1]
    assert reply.recipient == MORENO
    assert "No se encontró ninguna orden" in text_of(reply)
    assert "release week <s>" in text_of(reply)


def test_confirmation_requests_are_rate_limited(
    listener: Listener, mod_runtime: Runtime
) -> None:
    for n in range(12):
        listener.send(command_mail(COMYN, MODERATORS, f"release {n + 1}"), MODERATORS)
    process(mod_runtime)
    assert len(outbox(mod_runtime, "mod-confirm")) == 10
    with mod_runtime.sessions() as s:
        kinds = list(s.scalars(select(InboundMessage.kind).order_by(InboundMessage.id)))
    assert kinds[-2:] == ["mod-confirm-limit", "mod-confirm-limit"]


def test_operator_cli_lists_decides_and_shows_the_audit(
    listener: Listener,
    mod_runtime: Runtime,
    clock: SettableClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    release_directly(mod_runtime, [1], clock.now)
    ana, bo, chloe = hold_three(listener, mod_runtime)
    settings = mod_runtime.settings
    monkeypatch.setenv("EDISCUSS_DATABASE_URL", settings.database.url)
    monkeypatch.setenv("EDISCUSS_SERVICE_STATE_DIR", str(settings.service.state_dir))
    monkeypatch.setenv("EDISCUSS_SERVICE_SECRET", "test-secret")
    monkeypatch.setenv("USER", "ops")
    config = ["--config", str(SHIPPED_CONFIG)]
    assert main([*config, "posts", "held"]) == 0
    out = capsys.readouterr().out
    assert (
        "3 held post(s)" in out and "ana@example.net" in out and "unknown sender" in out
    )
    assert main([*config, "posts", "approve", str(ana)]) == 0
    assert main([*config, "posts", "reject", str(bo), "--reason", "off topic"]) == 0
    out = capsys.readouterr().out
    assert f"post {ana} approved and published" in out
    assert f"post {bo} rejected; the author is told" in out
    assert main([*config, "posts", "approve", str(bo)]) == 1
    assert "already rejected by operator:ops" in capsys.readouterr().err
    assert main([*config, "posts", "approve", "424242"]) == 1
    assert main([*config, "audit", "--limit", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[3:6] for line in lines] == [
        ["operator:ops", "approve", "post:424242"],
        ["operator:ops", "approve", f"post:{bo}"],
        ["operator:ops", "reject", f"post:{bo}"],
        ["operator:ops", "approve", f"post:{ana}"],
    ]
    assert all("auth=cli" in line for line in lines)
    assert lines[1].endswith("already") and lines[2].endswith("done: off topic")
    assert post(mod_runtime, chloe).status is PostStatus.HELD
    assert main([*config, "audit", "--discussion", "nope"]) == 1


def test_a_moderator_approving_twice_by_mail_and_shell(
    listener: Listener, mod_runtime: Runtime, dkim_key: DkimKey, clock: SettableClock
) -> None:
    release_directly(mod_runtime, [1], clock.now)
    ana, _, _ = hold_three(listener, mod_runtime)
    _command(listener, dkim_key, COMYN, f"approve {ana}\napprove {ana}")
    text = _flat(text_of(outbox(mod_runtime, "mod-result")[-1]))
    assert f"Post {ana} approved and published." in text
    assert process_pending(mod_runtime) == 0
    # The same line twice in one mail runs once.
    assert text.count(f"> approve {ana}") == 1
