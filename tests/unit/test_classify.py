"""Focused cases of classify, parse_dsn and parse_text_bounce."""

from __future__ import annotations

from typing import Any

import pytest

from mailer.core.classify import classify, parse_dsn, parse_text_bounce
from mailer.core.message import MessageClass

OWN = "discuss.example.org"


def cls(
    *headers: tuple[str, str], subject: str = "Re: question", **kw: Any
) -> MessageClass:
    return classify(
        list(headers),
        subject=subject,
        from_address=str(kw.pop("from_address", "ana@example.net")),
        own_domain=OWN,
        **kw,
    )


def test_a_person_writing_is_normal() -> None:
    assert cls(("Received", "from a by b")) is MessageClass.NORMAL


@pytest.mark.parametrize(
    "header",
    [
        ("Auto-Submitted", "auto-replied"),
        ("Auto-Submitted", "auto-generated"),
        ("Auto-Submitted", "auto-notified; owner-email=x@y"),
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "Vacation"),
        ("Precedence", "bulk"),
        ("Precedence", "junk"),
        ("Precedence", "list"),
        ("X-Precedence", "auto_reply"),
        ("X-Mail-Autoreply", "yes"),
        ("X-Autoreply-From", "ana@example.org"),
        ("Content-Type", "multipart/report; report-type=disposition-notification; b=x"),
    ],
)
def test_auto_reply_headers(header: tuple[str, str]) -> None:
    assert cls(header) is MessageClass.AUTO_REPLY


def test_auto_submitted_no_is_a_person() -> None:
    assert cls(("Auto-Submitted", "no")) is MessageClass.NORMAL
    assert cls(("X-Autoreply", "no")) is MessageClass.NORMAL


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Question 1",
        "Out of Office: Re: Question 1",
        "Auto-Reply: away",
        "Respuesta automática: Pregunta 1",
        "Fuera de la oficina",
        "Ausente: hasta el lunes",
        "Réponse automatique : Question 1",
        "Absence du bureau : Question 1",
        "Absent",
        "Resposta automática: Pergunta 1",
        "Ausência temporária",
        "Automatische Antwort: Frage 1",
        "AW: Abwesenheitsnotiz: Frage 1",
        "Abwesend: bis Montag",
        "[Auto-Reply] Question 1",
        "I am on vacation",
        "I'm on annual leave until 6 April",
        "Estoy de vacaciones",
        "De vacaciones: Pregunta 1",
        "Je suis en congés jusqu'au 6 avril",
        "En vacances",
        "Congés : Question 1",
        "Estou de férias",
        "Ferienabwesenheit",
        "Ich bin im Urlaub",
        "Risposta automatica: Domanda 1",
        "Automatisch antwoord: Vraag 1",
        "Afwezig: Vraag 1",
        "Autosvar: Question 1",
    ],
)
def test_out_of_office_subjects(subject: str) -> None:
    assert cls(subject=subject) is MessageClass.AUTO_REPLY


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Training during the summer vacation period",
        "Ausencia de formación en zonas rurales",
        "Absence of funding for apprenticeships",
        "Urlaubsanspruch von Auszubildenden",
        "Re: Out-of-school youth",
        "Congés de formation: the French model",
        "De vacaciones y formación dual",
        "En vacances scolaires, les centres ferment",
        "I am on the board of a training provider",
        "[Question 1] Our ministry's view",
    ],
)
def test_ordinary_subjects_are_not_out_of_office(subject: str) -> None:
    assert cls(subject=subject) is MessageClass.NORMAL


@pytest.mark.parametrize(
    ("kw", "headers"),
    [
        ({"has_delivery_report": True}, ()),
        (
            {},
            (
                (
                    "Content-Type",
                    "multipart/report; report-type=delivery-status; boundary=x",
                ),
            ),
        ),
        ({}, (("X-Failed-Recipients", "x@y.org"),)),
        ({}, (("X-MS-Exchange-Message-Is-Ndr", ""),)),
        ({}, (("X-MDDSN-Message", "Yes"),)),
        ({"from_address": "MAILER-DAEMON@mx.example.com"}, ()),
        ({"from_address": "postmaster@example.fr", "subject": "Non remis : Q1"}, ()),
        ({"envelope_from": "", "subject": "Undeliverable: Q1"}, ()),
        (
            {"subject": "Mail delivery failed: returning message to sender"},
            (("Return-Path", "<>"),),
        ),
    ],
)
def test_bounces(kw: dict[str, str], headers: tuple[tuple[str, str], ...]) -> None:
    assert cls(*headers, **kw) is MessageClass.BOUNCE


def test_postmaster_writing_normally_is_not_a_bounce() -> None:
    assert cls(from_address="postmaster@example.org") is MessageClass.NORMAL


@pytest.mark.parametrize(
    ("headers", "kw"),
    [
        ((("X-Loop", f"skills-covid19@{OWN}"),), {}),
        ((("List-Id", f"Skills <skills-covid19.{OWN}>"),), {}),
        ((), {"message_id": f"<d.1@{OWN}>"}),
        (tuple(("Received", f"hop {i}") for i in range(31)), {}),
    ],
)
def test_loops(headers: tuple[tuple[str, str], ...], kw: dict[str, str]) -> None:
    assert cls(*headers, **kw) is MessageClass.LOOP


def test_foreign_list_id_and_x_loop_are_not_our_loop() -> None:
    assert cls(("X-Loop", "other@example.com"), ("List-Id", "<x.example.com>")) is (
        MessageClass.NORMAL
    )


def test_our_looping_digest_is_a_loop_not_an_auto_reply() -> None:
    headers = (("List-Id", f"<skills-covid19.{OWN}>"), ("Precedence", "list"))
    assert cls(*headers, ("Auto-Submitted", "auto-generated")) is MessageClass.LOOP


def test_parse_dsn_reads_failed_recipients() -> None:
    blocks = [
        [("Reporting-MTA", "dns; mx.example.com"), ("X-Original-Message-ID", "<o@x>")],
        [
            ("Final-Recipient", "rfc822; Gone@Example.com"),
            ("Action", "failed"),
            ("Status", "5.1.1 (user unknown)"),
            ("Diagnostic-Code", "smtp; 550 5.1.1\r\n  no"),
        ],
        [
            ("Final-Recipient", "rfc822;ok@example.com"),
            ("Action", "delivered"),
            ("Status", "2.0.0"),
        ],
        [
            ("Original-Recipient", "rfc822;slow@example.net"),
            ("Action", "delayed"),
            ("Status", "4.4.1"),
        ],
    ]
    report = parse_dsn(blocks)
    assert report is not None
    assert report.recipients == ("gone@example.com", "slow@example.net")
    assert report.permanent and report.status == "5.1.1"
    assert report.diagnostic == "smtp; 550 5.1.1 no"
    assert report.original_message_id == "<o@x>"


def test_parse_dsn_delay_only_is_not_permanent() -> None:
    report = parse_dsn(
        [
            [("Reporting-MTA", "dns; a")],
            [
                ("Final-Recipient", "rfc822; s@x.org"),
                ("Action", "delayed"),
                ("Status", "4.4.7"),
            ],
        ]
    )
    assert report is not None and not report.permanent and report.status == "4.4.7"


def test_parse_dsn_without_blocks() -> None:
    assert parse_dsn([]) is None
    empty = parse_dsn([[("Reporting-MTA", "dns; a")]])
    assert empty is not None and empty.recipients == ()


def test_text_bounce_from_exim_header() -> None:
    report = parse_text_bounce(
        "A message that you sent could not be delivered.\n  old@example.co.uk\n"
        "    550 No such user here\n",
        [("X-Failed-Recipients", "old@example.co.uk, other@example.co.uk")],
    )
    assert report.recipients == ("old@example.co.uk", "other@example.co.uk")
    assert report.permanent and report.diagnostic == "550 No such user here"


def test_text_bounce_from_qmail_body_skips_our_addresses() -> None:
    text = (
        "Hi. This is the qmail-send program at mail.example.net.\n\n<nouser@example.net>:\n"
        "Sorry, no mailbox here by that name. (#5.1.1)\n\n"
        "--- Below this line is a copy of the message.\n\nFrom: q@discuss.example.org\n"
    )
    report = parse_text_bounce(text, [], own_domain=OWN)
    assert report.recipients == ("nouser@example.net",)
    assert report.status == "5.1.1" and report.permanent


def test_text_bounce_warning_is_temporary() -> None:
    report = parse_text_bounce(
        "This is a warning: delivery is delayed, will be retried.", []
    )
    assert not report.permanent
