"""The moderators' command language: what a line means, where reading stops."""

from __future__ import annotations

import pytest

from mailer.core.modcommands import (
    MAX_COMMANDS,
    Command,
    Rejection,
    Verb,
    clean_subject,
    commands_from_json,
    commands_to_json,
    parse_commands,
    parse_line,
    rejection_of,
)


@pytest.mark.parametrize(
    ("line", "verb", "numbers", "text"),
    [
        ("release 3", Verb.RELEASE, (3,), ""),
        ("RELEASE Q3, q4", Verb.RELEASE, (3, 4), ""),
        ("Release week 2", Verb.RELEASE_WEEK, (2,), ""),
        ("publicar semana 2", Verb.RELEASE_WEEK, (2,), ""),
        ("approve 12", Verb.APPROVE, (12,), ""),
        ("Approve #12", Verb.APPROVE, (12,), ""),
        ("approuver 12", Verb.APPROVE, (12,), ""),
        (
            "reject 12 off topic, see guidelines",
            Verb.REJECT,
            (12,),
            "off topic, see guidelines",
        ),
        ("reject 12", Verb.REJECT, (12,), ""),
        ("rechazar 12 spam", Verb.REJECT, (12,), "spam"),
        ("hold 7", Verb.HOLD, (7,), ""),
        ("close", Verb.CLOSE, (), ""),
        ("Reopen", Verb.REOPEN, (), ""),
        ("stats", Verb.STATS, (), ""),
        ("estadísticas", Verb.STATS, (), ""),
        ("ban Spammer@Example.COM", Verb.BAN, (), "spammer@example.com"),
        ("unban <spammer@example.com>", Verb.UNBAN, (), "spammer@example.com"),
        ("subscribers", Verb.SUBSCRIBERS, (), ""),
        ("help", Verb.HELP, (), ""),
    ],
)
def test_each_command(
    line: str, verb: Verb, numbers: tuple[int, ...], text: str
) -> None:
    cmd = parse_line(line)
    assert cmd is not None
    assert (cmd.verb, cmd.numbers, cmd.text) == (verb, numbers, text)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "hello",
        "release",
        "release three",
        "release week",
        "release week 2 3",
        "approve",
        "approve twelve",
        "approve 12 please",
        "hold 1 2",
        "close now",
        "stats please",
        "ban",
        "ban not-an-address",
        "ban a@b.org c@d.org",
        "ban a%b@c.org@d.org",
    ],
)
def test_not_commands(line: str) -> None:
    assert parse_line(line) is None


def test_held_post_address_binds_bare_approve_and_reject() -> None:
    assert parse_line("approve", held_post=41) == Command(
        Verb.APPROVE, (41,), "", "approve"
    )
    cmd = parse_line("reject Off topic here", held_post=41)
    assert cmd is not None and (cmd.post_id, cmd.text) == (41, "Off topic here")
    explicit = parse_line("reject 9 spam", held_post=41)
    assert explicit is not None and (explicit.post_id, explicit.text) == (9, "spam")
    assert parse_line("approve now", held_post=41) is None


def test_reading_stops_at_quotes_and_signatures() -> None:
    body = (
        "approve\n"
        "\n"
        "On Mon, 30 Mar 2027 at 10:00, Skills e-discussion <x@y> wrote:\n"
        "> reject spam\n"
        "> close\n"
    )
    parsed = parse_commands("Re: [Skills] Held post 41", body, held_post=41)
    assert [c.verb for c in parsed.commands] == [Verb.APPROVE]
    assert parsed.unknown == ()
    for stop in (
        "-- \nclose",
        "> close",
        "-----Original Message-----\nclose",
        "Le lun. 30 mars 2027, Paul <p@x.org> a écrit :\nclose",
        "From: Paul <p@x.org>\nclose",
        "________________\nclose",
    ):
        assert parse_commands("", "stats\n" + stop).commands == (
            Command(Verb.STATS, line="stats"),
        ), stop


def test_subject_then_body_unknown_lines_reported_not_run() -> None:
    parsed = parse_commands(
        "release week 2", "Hi all,\nrelease 3\napprove 5\nplease close it\nstats\n"
    )
    assert [c.verb for c in parsed.commands] == [
        Verb.RELEASE_WEEK,
        Verb.RELEASE,
        Verb.APPROVE,
        Verb.STATS,
    ]
    assert parsed.unknown == ("Hi all,", "please close it")


def test_subject_that_is_not_a_command_is_silent() -> None:
    assert parse_commands("Re: Held post 41 (question 3)", "").unknown == ()
    assert clean_subject("RE: Fwd: [Skills e-discussion] release 3") == "release 3"


def test_bounded_work() -> None:
    many = "\n".join(f"release {n}" for n in range(1, 100))
    parsed = parse_commands("", many)
    assert len(parsed.commands) == MAX_COMMANDS and parsed.truncated
    prose = "\n".join(f"line {n}" for n in range(100))
    parsed = parse_commands("", prose + "\nclose")
    assert parsed.commands == () and parsed.truncated and len(parsed.unknown) == 10


def test_repeated_command_runs_once() -> None:
    parsed = parse_commands("approve", "approve", held_post=3)
    assert len(parsed.commands) == 1


def test_json_round_trip_and_bad_payloads() -> None:
    cmds = parse_commands("", "release week 2\nreject 4 too long\nban a@b.org").commands
    assert commands_from_json(commands_to_json(cmds)) == cmds
    for bad in (
        '{"verb": "close"}',
        '[{"verb": "explode"}]',
        '[{"verb": "release", "numbers": ["1"]}]',
        "[1]",
    ):
        with pytest.raises((ValueError, TypeError)):
            commands_from_json(bad)


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Enviado desde mi Samsung Galaxy",
        "Envoyé de mon iPad",
        "Von meinem iPhone gesendet",
        "Verzonden vanaf mijn iPhone",
        "Wysłane z mojego telefonu",
        "Skickat från min iPhone",
        "Отправлено с iPhone",
        "发自我的iPhone",
        "iPhone에서 보냄",
        "Get Outlook for iOS",
    ],
)
def test_a_phone_footer_in_any_language_is_not_a_command(footer: str) -> None:
    parsed = parse_commands("Re: Held post 41", f"approve\n\n{footer}\n", held_post=41)
    assert parsed.unknown == ()
    assert [c.verb for c in parsed.commands] == [Verb.APPROVE]


@pytest.mark.parametrize(
    ("line", "rejection"),
    [
        ("reject 12 spam", Rejection.SPAM),
        ("reject 12 SPAM, obviously", Rejection.SPAM),
        ("rechazar 12 Correo basura.", Rejection.SPAM),
        ("rechazar 12 correo no deseado", Rejection.SPAM),
        ("rejeter 12 Pourriel !", Rejection.SPAM),
        ("rejeter 12 courriel indésirable", Rejection.SPAM),
        ("rechazar 12 correo fuera de tema", Rejection.EXPLAINED),
        ("reject 12 spammy wording, please rephrase", Rejection.EXPLAINED),
        ("reject 12 off topic", Rejection.EXPLAINED),
        ("reject 12", Rejection.EXPLAINED),
        ("approve 12", Rejection.EXPLAINED),
    ],
)
def test_a_rejection_is_read_as_spam_once_in_every_language(
    line: str, rejection: Rejection
) -> None:
    cmd = parse_line(line)
    assert cmd is not None
    assert cmd.rejection is rejection
    assert commands_from_json(commands_to_json((cmd,))) == (cmd,)


def test_a_stored_command_without_its_rejection_is_classified_on_load() -> None:
    payload = (
        '[{"verb": "reject", "numbers": [4], "text": "correo basura", "line": ""}]'
    )
    [cmd] = commands_from_json(payload)
    assert cmd.rejection is Rejection.SPAM
    assert rejection_of("Correo basura") is Rejection.SPAM
