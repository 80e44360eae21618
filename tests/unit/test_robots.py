"""Robots the header rules miss: flufl.bounce behind the gate, our layouts, text receipts."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest

from mailer.core.message import MessageClass
from mailer.core.parse import parse_message
from mailer.core.robots import (
    _LAYOUT_SENTENCES,
    _LAYOUT_WORDS,
    _LAYOUTS,
    _ROBOT_SENDER,
    _ROBOT_SUBJECT,
    AsciiFolded,
    detector_failures,
    is_delay,
    layout_of,
    looks_machine_made,
    plausible,
)
from tests.corpus import CORPUS, corpus_messages

OWN = "discuss.example.org"


def parse(raw: str) -> tuple[MessageClass, tuple[str, ...] | None]:
    parsed = parse_message(raw.replace("\n", "\r\n").encode(), own_domain=OWN)
    bounce = parsed.bounce.recipients if parsed.bounce else None
    return parsed.message_class, bounce


def test_qmail_notice_without_any_header_signal_is_a_bounce() -> None:
    # No MAILER-DAEMON, no failure subject, no null sender: only the body says it.
    cls, recipients = parse(
        "From: Mail Server <mail@isp.example.net>\nTo: x@discuss.example.org\n"
        "Subject: your mail\nMessage-ID: <q1@isp.example.net>\n\n"
        "Hi. This is the qmail-send program at isp.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
        "<lost@isp.example.net>:\nSorry, no mailbox here by that name. (#5.1.1)\n"
    )
    assert cls is MessageClass.BOUNCE
    assert recipients == ("lost@isp.example.net",)


def test_a_person_forwarding_a_bounce_in_a_reply_stays_a_person() -> None:
    cls, recipients = parse(
        "From: Ana Ruiz <ana@example.net>\nTo: skills-covid19+q1@discuss.example.org\n"
        "Subject: Re: who else gets these?\nMessage-ID: <a1@example.net>\n"
        "In-Reply-To: <p1@discuss.example.org>\n\n"
        "I keep getting this when I write to Omar, does anyone have his new address?\n\n"
        "> This is the mail system at host mx.example.org.\n"
        "> <omar@example.org>: User unknown in virtual mailbox table\n"
    )
    assert (cls, recipients) == (MessageClass.NORMAL, None)


@pytest.mark.parametrize(
    "body",
    [
        "Die Nachricht konnte nicht zugestellt werden, sagt mir mein Postfach.\n",
        "Our apprentices' reports were undeliverable by post during the lockdown.\n",
        "Le courrier n'a pas pu être remis aux écoles fermées.\n",
    ],
)
def test_a_person_writing_about_undelivered_mail_is_a_person(body: str) -> None:
    cls, _ = parse(
        "From: Jonas Weber <jonas@example.de>\nTo: skills-covid19+q1@discuss.example.org\n"
        f"Subject: Training by post\nMessage-ID: <j1@example.de>\n\n{body}"
    )
    assert cls is MessageClass.NORMAL


def test_the_same_words_from_a_daemon_are_a_bounce() -> None:
    cls, recipients = parse(
        "From: Postmaster <postmaster@mail.example.de>\nTo: x@discuss.example.org\n"
        "Subject: Hinweis\nMessage-ID: <n1@mail.example.de>\n\n"
        "Die Nachricht konnte nicht zugestellt werden an: jonas@mail.example.de\n"
    )
    assert (cls, recipients) == (MessageClass.BOUNCE, ("jonas@mail.example.de",))


def test_a_persons_reply_does_not_look_machine_made() -> None:
    headers = [("From", "Ana <ana@example.net>"), ("In-Reply-To", "<p@x>")]
    quoting = "> This is the mail system at host mx.example.org.\n"
    assert not looks_machine_made(
        headers, subject="Re: Q1", robot=False, replying=True, text=quoting
    )
    assert looks_machine_made(
        headers, subject="Q1", robot=False, replying=False, text=quoting
    )
    assert looks_machine_made(
        [("Content-Type", "multipart/report; report-type=delivery-status")],
        subject="Re: Q1",
        robot=False,
        replying=True,
        text="",
    )
    assert looks_machine_made(
        headers, subject="Re: Q1", robot=True, replying=True, text=""
    )


def test_layouts_and_delays() -> None:
    assert (
        layout_of("Hi!\n\nThis is the MAILER-DAEMON, please DO NOT REPLY") is not None
    )
    assert layout_of("We are delivering training online.") is None
    assert is_delay("Delivery is delayed to these recipients or groups:")
    assert not is_delay("The following address(es) failed:")


def _literal_in_every_match(word: str, sentence: str) -> bool:
    """True when *word* stands in *sentence* outside any group, in a sentence of no
    top-level alternatives, with no quantifier after it: every match holds it."""
    if set(word) & set(".^$*+?{}[]\\|()"):
        return False
    start = sentence.find(word)
    while start >= 0:
        before = re.sub(r"\\.", "", sentence[:start])
        after = sentence[start + len(word) : start + len(word) + 1]
        if before.count("(") == before.count(")") and after not in ("?", "*", "{"):
            return not _top_level_alternative(sentence)
        start = sentence.find(word, start + 1)
    return False


def _top_level_alternative(sentence: str) -> bool:
    depth = 0
    for char in re.sub(r"\\.", "", sentence):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            return True
    return False


@pytest.mark.parametrize("sentence", _LAYOUT_SENTENCES)
def test_every_layout_sentence_holds_a_prefilter_word(sentence: str) -> None:
    # A sentence without one of the words would never be searched for.
    assert any(_literal_in_every_match(w, sentence) for w in _LAYOUT_WORDS)


def test_the_prefilter_never_changes_what_the_layouts_find() -> None:
    for message in corpus_messages():
        text = parse_message(message.read_bytes(), own_domain=OWN).text
        found = _LAYOUTS.search(text[:6_000].lower())
        assert layout_of(text) == (found.group(0) if found else None), message.name


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("gone@example.net", True),
        ("MAILER-DAEMON@example.net", False),
        ("postmaster@example.net", False),
        ("skills-covid19-bounces+s1.x@discuss.example.org", False),
        ("someone@lists.discuss.example.org", False),
        ("not an address", False),
        ("a@b", False),
    ],
)
def test_plausible_failed_recipients(address: str, ok: bool) -> None:
    assert plausible(address, OWN) is ok


def test_detector_failures_never_raise_on_odd_headers() -> None:
    raw = (CORPUS / "malformed-no-from.eml").read_bytes()
    msg = message_from_bytes(raw, policy=policy.compat32)  # the stdlib's old headers
    assert detector_failures(msg) == ((), ())


def test_flufl_names_the_recipient_of_an_exim_notice() -> None:
    raw = (CORPUS / "bounce-exim-x-failed.eml").read_bytes()
    temporary, permanent = detector_failures(
        message_from_bytes(raw, policy=policy.default)
    )
    assert (temporary, permanent) == ((), ("r.evans@example.co.uk",))


@pytest.mark.parametrize(
    ("subject", "body", "want"),
    [
        (
            "Read: Q1",
            "Your message\n\nwas read on Tuesday, 30 March 2027 10:05.\n",
            "auto-reply",
        ),
        ("Read: the report on apprenticeships", "Have you read it? I did.\n", "normal"),
        (
            "Please confirm your message to hans@example.at",
            "Reply once.\n",
            "auto-reply",
        ),
        # A person answering our own confirmation request.
        ("Re: [Skills] Please confirm your subscription", "Yes.\n", "normal"),
    ],
)
def test_text_read_receipts_and_challenges(subject: str, body: str, want: str) -> None:
    cls, _ = parse(
        f"From: Hans <hans@example.at>\nTo: x@discuss.example.org\nSubject: {subject}\n"
        f"Message-ID: <r1@example.at>\n\n{body}"
    )
    assert cls.value == want


def test_a_no_reply_sender_is_never_a_person() -> None:
    cls, _ = parse(
        "From: Survey <no-reply@survey.example.com>\nTo: x@discuss.example.org\n"
        "Subject: Your weekly summary\nMessage-ID: <s1@survey.example.com>\n\nHello!\n"
    )
    assert cls is MessageClass.AUTO_REPLY


def test_a_machine_quoting_a_refusal_under_a_failure_subject_is_a_bounce() -> None:
    # No layout we know; a daemon-like sender, a failure subject, a refusal.
    cls, recipients = parse(
        "From: Mail Gateway <mailgw@gw.example.org>\nTo: x@discuss.example.org\n"
        "Subject: Returned mail\nMessage-ID: <g1@gw.example.org>\n\n"
        "Recipient: <sofia@gw.example.org>\nReason: 550 5.1.1 mailbox unavailable\n"
    )
    assert (cls, recipients) == (MessageClass.BOUNCE, ("sofia@gw.example.org",))


def test_a_person_quoting_a_refusal_is_a_person() -> None:
    cls, _ = parse(
        "From: Ana Ruiz <ana@example.net>\nTo: x@discuss.example.org\n"
        "Subject: Returned mail from the ministry\nMessage-ID: <a2@example.net>\n\n"
        "Mail to the ministry comes back with 550 5.1.1 user unknown; who has a new address?\n"
    )
    assert cls is MessageClass.NORMAL


_FOLDED_SAMPLES = [
    "Undelivered Mail Returned to Sender",
    "UNDELIVERABLE: Re: Question 2",
    "Mail Delivery Subsystem",
    "Returned mail: see transcript for details",
    "Re: Question 2: experience from region 7",
    "Delivery Status Notification (Failure)",
    "Echec de la remise",
    "Warning: could not send message for past 4 hours",
    "[BOUNCE] list mail",
    "Bounce: x",
    "MAILER-DAEMON@mx.example.net",
    "Postmaster <postmaster@example.org>",
    "Person 7 person7@example.net",
    "Microsoft Outlook",
    "no_reply@example.org",
    "NoReply <No-Reply@Example.org>",
    "SMTP gateway",
    "the mta said",
    "mtas and smtpd",
    "Mail System Error - Returned Mail",
    "System Administrator",
    "FML list <fml-admin@example.org>",
    "InterScan MSS",
    "list-owner@example.org",
    "Autoresponder",
    "Nicht zustellbar: Frage 2",
    "Non consegnato: domanda",
    "Ikke levert: spørsmål",
    "Onbestelbaar: vraag 2",
    "No entregado: pregunta 2",
    "Niedostarczona wiadomosc",
    "",
]


@pytest.mark.parametrize("pattern", [_ROBOT_SUBJECT, _ROBOT_SENDER])
def test_ascii_folding_finds_what_ignorecase_finds(pattern: AsciiFolded) -> None:
    samples = [
        variant
        for text in _FOLDED_SAMPLES
        for variant in (text, text.upper(), text.lower(), text.swapcase(), text.title())
    ]
    # Non-ASCII text takes the IGNORECASE pattern: the same answers by definition,
    # including the letters that fold to ASCII ones ("ſ" to "s", "ı" to "i").
    samples += ["Undeliverable: café", "poſtmaster", "maıler-daemon", "Échec de remise"]
    for text in samples:
        assert pattern.found(text) is (pattern.anycase.search(text) is not None), text
    assert any(pattern.found(text) for text in samples)
    assert not all(pattern.found(text) for text in samples)


@pytest.mark.parametrize("pattern", ["Undeliverable", "po\u017ftmaster", "\u212aelvin"])
def test_ascii_folding_refuses_a_pattern_it_would_read_otherwise(pattern: str) -> None:
    with pytest.raises(ValueError):
        AsciiFolded(pattern)


@pytest.mark.parametrize("words", [("Bounce",), ("\u00e9chec",)])
def test_ascii_folding_refuses_words_it_would_never_find(
    words: tuple[str, ...],
) -> None:
    with pytest.raises(ValueError):
        AsciiFolded("bounce|\u00e9chec", words=words)


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of *pattern*."""
    found, current, depth, in_class, i = [], "", 0, False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            current, i = current + pattern[i : i + 2], i + 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and depth == 0:
            found.append(current)
            current, i = "", i + 1
            continue
        current, i = current + char, i + 1
    return [*found, current]


@pytest.mark.parametrize(
    ("pattern", "alternative"),
    [
        (pattern, alternative)
        for pattern in (_ROBOT_SUBJECT, _ROBOT_SENDER)
        for alternative in _alternatives(pattern.lower.pattern)
    ],
)
def test_every_alternative_holds_a_prefilter_word(
    pattern: AsciiFolded, alternative: str
) -> None:
    # An alternative without one of the words would never be searched for in
    # ASCII text, unless it is non-ASCII letters alone (it never matches there).
    literal_non_ascii = not alternative.isascii() and not set(alternative) & set(
        ".^$*+?{}[]\\|()"
    )
    assert literal_non_ascii or any(
        _literal_in_every_match(w, alternative) for w in pattern.words
    )


def test_the_words_never_change_what_the_patterns_find() -> None:
    for message in corpus_messages():
        parsed = parse_message(message.read_bytes(), own_domain=OWN)
        for pattern, text in (
            (_ROBOT_SUBJECT, parsed.subject),
            (_ROBOT_SENDER, f"{parsed.from_name} {parsed.from_address}"),
        ):
            unfiltered = AsciiFolded(pattern.lower.pattern)
            assert pattern.found(text) is unfiltered.found(text), message.name
