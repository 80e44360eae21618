"""The subscriber command language: forgiving, in three languages, never guessing."""

from __future__ import annotations

import pytest

from mailer.core.commands import (
    Help,
    Manage,
    Mode,
    Problem,
    SetLanguage,
    SetMode,
    Subscribe,
    SubscriberCommands,
    Unsubscribe,
    clean_subject,
    parse_commands,
    parse_constituency,
    parse_language,
    parse_mode,
)

SENDER = "ana@example.net"


def parse(subject: str, body: str = "") -> SubscriberCommands:
    return parse_commands(
        subject, body, ("en", "es", "fr"), slug="skills-covid19", sender=SENDER
    )


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("subscribe", ""),
        ("SUBSCRIBE", ""),
        ("Re: Fwd: [skills] subscribe", ""),
        ("Subscription request", ""),
        ("", "subscribe"),
        ("", "Please subscribe me."),
        ("", "I would like to join"),
        ("", "subscribe skills-covid19"),
        ("", f"subscribe {SENDER}"),
        ("", "Suscribir"),
        ("", "Quiero darme de alta"),
        ("", "S’abonner"),
        ("", "m'inscrire"),
    ],
)
def test_subscribe_spellings(subject: str, body: str) -> None:
    result = parse(subject, body)
    assert result.commands == (Subscribe(),)
    assert result.unknown == ()


def test_subscribe_with_every_detail_on_its_own_line() -> None:
    body = (
        "subscribe\n"
        "language es\n"
        "mode digest\n"
        "Name: Ana Ruiz\n"
        "organisation Ministry of Labour\n"
        "constituency government\n"
    )
    result = parse("", body)
    assert result.commands == (
        Subscribe(
            language="es",
            mode=Mode.DIGEST,
            name="Ana Ruiz",
            organisation="Ministry of Labour",
            constituency="government",
        ),
    )
    assert result.unknown == ()


def test_details_follow_a_subscribe_in_the_subject() -> None:
    result = parse("subscribe", "nombre: Ana Ruiz\nsector: sindicato")
    assert result.commands == (Subscribe(name="Ana Ruiz", constituency="workers"),)


@pytest.mark.parametrize(
    ("line", "language", "mode"),
    [
        ("subscribe es digest", "es", Mode.DIGEST),
        ("subscribe en", "en", None),
        ("subscribe in Spanish, daily digest", "es", Mode.DIGEST),
        ("suscribir en español", "es", None),
        ("suscribir en modo resumen", None, Mode.DIGEST),
        ("s'abonner en français", "fr", None),
        ("subscribe language fr mode announcements", "fr", Mode.ANNOUNCEMENTS),
        ("subscribe every post", None, Mode.EACH),
    ],
)
def test_inline_language_and_mode(
    line: str, language: str | None, mode: Mode | None
) -> None:
    result = parse("", line)
    assert result.commands == (Subscribe(language=language, mode=mode),)
    assert result.unknown == ()


def test_semicolons_put_several_commands_in_a_subject() -> None:
    result = parse("subscribe; language es; mode announcements; name Ana Ruiz")
    assert result.commands == (
        Subscribe(language="es", mode=Mode.ANNOUNCEMENTS, name="Ana Ruiz"),
    )


@pytest.mark.parametrize(
    "body",
    [
        "unsubscribe",
        "Unsubscribe me please",
        "Quiero darme de baja",
        "baja",
        "Désabonner",
        "me désabonner",
        "se desinscrire",
        "remove me from the list",
    ],
)
def test_unsubscribe_spellings(body: str) -> None:
    assert parse("", body).commands == (Unsubscribe(),)


def test_the_same_command_in_subject_and_body_counts_once() -> None:
    result = parse("unsubscribe", "unsubscribe")
    assert result.commands == (Unsubscribe(),)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("language es", SetLanguage("es")),
        ("Idioma: español", SetLanguage("es")),
        ("langue française", SetLanguage("fr")),
        ("language de", None),
        ("mode digest", SetMode(Mode.DIGEST)),
        ("modo: solo anuncios", SetMode(Mode.ANNOUNCEMENTS)),
        ("mode chaque message", SetMode(Mode.EACH)),
        ("help", Help()),
        ("AYUDA", Help()),
        ("aide", Help()),
        ("?", Help()),
    ],
)
def test_changes_and_help(body: str, expected: object) -> None:
    result = parse("", body)
    if expected is None:
        assert result.commands == ()
        assert result.unknown[0].problem is Problem.LANGUAGE_NOT_OFFERED
    else:
        assert result.commands == (expected,)
        assert result.unknown == ()


def test_language_after_unsubscribe_is_a_change_not_a_detail() -> None:
    result = parse("", "subscribe\nunsubscribe\nlanguage fr")
    assert result.commands == (Subscribe(), Unsubscribe(), SetLanguage("fr"))


def test_unknown_lines_are_reported_with_their_line_number() -> None:
    result = parse("hello", "Hi there\n\nmode weekly\nname Ana\nlanguage klingon")
    assert result.commands == ()
    assert [(u.line, u.problem) for u in result.unknown] == [
        (1, Problem.UNKNOWN_COMMAND),
        (3, Problem.UNKNOWN_MODE),
        (4, Problem.NEEDS_SUBSCRIBE),
        (5, Problem.UNKNOWN_LANGUAGE),
    ]
    assert result.unknown[0].text == "Hi there"


def test_a_prose_subject_is_not_reported() -> None:
    result = parse("Question about the discussion", "help")
    assert result.commands == (Help(),)
    assert result.unknown == ()


def test_no_one_else_can_be_named() -> None:
    result = parse("", "unsubscribe bob@example.org\nsubscribe carol@example.org")
    assert result.commands == ()
    assert {u.problem for u in result.unknown} == {Problem.OTHER_ADDRESS}


def test_unknown_constituency_keeps_the_subscribe() -> None:
    result = parse("", "subscribe\nconstituency astronauts")
    assert result.commands == (Subscribe(),)
    assert result.unknown[0].problem is Problem.UNKNOWN_CONSTITUENCY


def test_words_after_subscribe_are_noted_not_guessed() -> None:
    result = parse("", "subscribe Ana Ruiz")
    assert result.commands == (Subscribe(),)
    assert result.unknown[0].problem is Problem.IGNORED_WORDS


@pytest.mark.parametrize(
    "stop",
    [
        "-- ",
        "--",
        "> unsubscribe",
        "On Mon, 3 Apr 2027 at 10:00, Ana <ana@example.net> wrote:",
        "El lun, 3 abr 2027 a las 10:00, Ana escribió:",
        "Le lun. 3 avr. 2027 à 10:00, Ana a écrit :",
        "-----Original Message-----",
        "________________________________",
        "From: Ana Ruiz <ana@example.net>",
        "Sent from my iPhone",
        "Envoyé de mon iPhone",
        "Thanks,",
        "Saludos cordiales",
        "Cordialement",
        "end",
    ],
)
def test_reading_stops_at_signatures_quotes_and_closings(stop: str) -> None:
    result = parse("", f"language es\n{stop}\nunsubscribe\nmode digest")
    assert result.commands == (SetLanguage("es"),)
    assert result.unknown == ()


def test_a_long_letter_is_not_read_to_the_end() -> None:
    body = "\n".join(f"line {i} of a letter" for i in range(50)) + "\nunsubscribe"
    result = parse("", body)
    assert result.commands == ()
    assert len(result.unknown) == 8


def test_control_characters_never_reach_a_name() -> None:
    result = parse("", "subscribe\nname Ana\x0bBcc: x@y\u202e")
    assert result.commands == (Subscribe(name="Ana Bcc: x@y"),)


def test_long_names_are_cut_to_the_column() -> None:
    result = parse("", "subscribe\nname " + "Ana " * 100)
    command = result.commands[0]
    assert isinstance(command, Subscribe)
    assert len(command.name) <= 201


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("government", "government"),
        ("Ministry of Labour", "government"),
        ("Ministerio de Trabajo", "government"),
        ("Employers' organisation", "employers"),
        ("empresa privada", "employers"),
        ("trade union", "workers"),
        ("Syndicat", "workers"),
        ("training-provider", "training-provider"),
        ("Centro de formación profesional", "training-provider"),
        ("université", "training-provider"),
        ("NGO", "ngo"),
        ("ONG", "ngo"),
        ("société civile", "ngo"),
        ("individual", "individual"),
        ("particulier", "individual"),
        ("other", "other"),
        ("autre", "other"),
        ("astronauts", None),
        ("", None),
        ("trade union of education workers", None),  # two answers: not guessed
    ],
)
def test_constituency_words(text: str, value: str | None) -> None:
    assert parse_constituency(text) == value


def test_language_and_mode_values() -> None:
    assert parse_language("Español", ("en", "es")) == ("es", None)
    assert parse_language("ES", ("en", "es")) == ("es", None)
    assert parse_language("fr", ("en", "es")) == (None, Problem.LANGUAGE_NOT_OFFERED)
    assert parse_language("", ("en",)) == (None, Problem.MISSING_VALUE)
    assert parse_mode("Résumé quotidien") == (Mode.DIGEST, None)
    assert parse_mode("weekly") == (None, Problem.UNKNOWN_MODE)


def test_clean_subject() -> None:
    assert clean_subject("RE: AW: [list] Fwd: unsubscribe") == "unsubscribe"
    assert clean_subject("Re[2]: help") == "help"


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Enviado desde mi iPhone",
        "Enviado do meu iPhone",
        "Von meinem iPhone gesendet",
        "Verstuurd vanaf mijn iPad",
        "Wysłane z iPhone'a",
        "Sendt fra min iPad",
        "Отправлено с iPhone",
        "iPhoneから送信",
        "Get Outlook for Android",
        "Outlook für Android herunterladen",
        "Inviato da iPhone",
    ],
)
def test_a_phone_footer_in_any_language_ends_the_commands(footer: str) -> None:
    result = parse("", f"language es\n\n{footer}\n")
    assert result.commands == (SetLanguage("es"),)
    assert result.unknown == ()


@pytest.mark.parametrize(
    "line",
    [
        "manage",
        "Manage my subscription",
        "settings please",
        "gestionar",
        "Gestionar mi suscripción",
        "configuración",
        "gérer",
        "Gérer mon abonnement",
        "réglages",
    ],
)
def test_manage_in_three_languages(line: str) -> None:
    parsed = parse_commands("", line)
    assert parsed.commands == (Manage(),) and not parsed.unknown


def test_manage_names_no_other_address() -> None:
    parsed = parse_commands("", "manage bob@example.org", sender="ana@example.net")
    assert parsed.commands == ()
    assert parsed.unknown[0].problem is Problem.OTHER_ADDRESS
