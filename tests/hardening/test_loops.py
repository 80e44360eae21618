"""Promise 7: no loops, no storms.

Mail that would normally earn an automatic notice (a reply to a question
not released yet) is sent over SMTP from every kind of automatic sender:
nothing is ever sent back. A person gets at most one notice of a kind a day,
and nothing the service sends goes to ``<>`` or a MAILER-DAEMON.
"""

from __future__ import annotations

import pytest

from store.models import OutboxState
from tests.fixtures.service import (
    DOMAIN,
    ServiceProcess,
    address,
    message,
    wait_until,
)

pytestmark = [pytest.mark.hardening, pytest.mark.xdist_group("hardening-loops")]

UNRELEASED = address("+q9")  # week two: a person writing here gets a notice

# name -> (envelope sender, extra headers, From)
AUTOMATIC = {
    "null sender": ("", {}, "someone@example.net"),
    "MAILER-DAEMON sender": ("MAILER-DAEMON@example.net", {}, "mailer-daemon@example.net"),
    "postmaster with a failure subject": (
        "postmaster@example.net",
        {"Subject": "Undelivered Mail Returned to Sender"},
        "postmaster@example.net",
    ),
    "Auto-Submitted auto-replied": ("away@example.net", {"Auto-Submitted": "auto-replied"}, "away@example.net"),
    "Auto-Submitted auto-generated": ("robot@example.net", {"Auto-Submitted": "auto-generated"}, "robot@example.net"),
    "X-Autoreply": ("away2@example.net", {"X-Autoreply": "yes"}, "away2@example.net"),
    "Precedence bulk": ("news@example.net", {"Precedence": "bulk"}, "news@example.net"),
    "Precedence list": ("list@example.net", {"Precedence": "list"}, "list@example.net"),
    "another list's List-Id": (
        "other-list-bounces@lists.example.com",
        {"List-Id": "Other list <other.lists.example.com>"},
        "member@example.com",
    ),
    "our own X-Loop": ("fwd@example.net", {"X-Loop": f"skills-covid19@{DOMAIN}"}, "fwd@example.net"),
    "our own List-Id": ("fwd2@example.net", {"List-Id": f"<skills-covid19.{DOMAIN}>"}, "fwd2@example.net"),
    "out-of-office subject": ("ooo@example.net", {"Subject": "Out of Office: away until Monday"}, "ooo@example.net"),
    "Spanish auto-reply subject": ("ooo2@example.net", {"Subject": "Respuesta automática: fuera de la oficina"}, "ooo2@example.net"),
    "envelope sender at our own domain": (f"skills-covid19-bounces@{DOMAIN}", {}, "someone2@example.net"),
}  # fmt: skip


def _with(raw: bytes, headers: dict[str, str]) -> bytes:
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = [
        line
        for line in head.split(b"\r\n")
        if line.split(b":", 1)[0].decode().lower() not in {k.lower() for k in headers}
    ]
    lines += [f"{k}: {v}".encode() for k, v in headers.items()]
    return b"\r\n".join(lines) + sep + body


def _answers_to(service: ServiceProcess, who: str) -> list[str]:
    return [
        r.kind
        for r in service.outbox()
        if r.recipient.lower() == who.lower() and r.kind != "post"
    ]


def _a_person_is_answered(service: ServiceProcess, person: str, mid: str) -> None:
    """The control: the same mail from a person earns one notice, and it is sent.

    Without it every "nothing was answered" below would also hold for a
    service that answers nobody at all.
    """
    service.accepted(
        message(message_id=mid, sender=person, to=UNRELEASED),
        UNRELEASED,
        mail_from=person,
    )
    service.processed(mid)

    def sent() -> bool:
        rows = [r for r in service.outbox() if r.recipient == person]
        return len(rows) == 1 and rows[0].state is OutboxState.SENT

    wait_until(sent)
    assert _answers_to(service, person) == ["notice"]
    delivered = [raw for raw in service.maildir() if person.encode() in raw]
    assert len(delivered) == 1


@pytest.mark.parametrize("name", sorted(AUTOMATIC))
def test_automatic_mail_is_never_answered(
    module_service: ServiceProcess, name: str
) -> None:
    envelope, headers, sender = AUTOMATIC[name]
    n = sorted(AUTOMATIC).index(name)
    mid = f"<auto-{n}@example.net>"
    raw = _with(message(message_id=mid, sender=sender, to=UNRELEASED), headers)
    module_service.accepted(raw, UNRELEASED, mail_from=envelope)
    module_service.processed(mid)
    assert _answers_to(module_service, sender) == []
    if envelope:
        assert _answers_to(module_service, envelope) == []
    # The same message to the request address: no command answer either.
    mid2 = f"<auto-req-{n}@example.net>"
    raw = _with(
        message(message_id=mid2, sender=sender, to=address("-request"), body="help\n"),
        headers,
    )
    module_service.accepted(raw, address("-request"), mail_from=envelope)
    module_service.processed(mid2)
    # The control, processed after both: a person writing the same is answered.
    _a_person_is_answered(
        module_service, f"person-{n}@example.net", f"<person-{n}@example.net>"
    )
    assert _answers_to(module_service, sender) == []
    if envelope:
        assert _answers_to(module_service, envelope) == []


def test_a_bounce_report_is_never_answered(module_service: ServiceProcess) -> None:
    mid = "<dsn-1@mx.example.net>"
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        b"To: skills-covid19+q9@discuss.example.org\r\n"
        b"Subject: Delivery Status Notification (Failure)\r\n"
        b"Message-ID: " + mid.encode() + b"\r\n"
        b"Date: Sat, 28 Mar 2027 10:00:00 +0100\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.net\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\n"
        b"Status: 5.1.1\r\n\r\n--b--\r\n"
    )
    module_service.accepted(raw, UNRELEASED, mail_from="")
    module_service.processed(mid)
    _a_person_is_answered(
        module_service, "dsn-control@example.net", "<dsn-control@example.net>"
    )
    assert _answers_to(module_service, "MAILER-DAEMON@mx.example.net") == []


def test_our_own_notice_coming_back_is_not_answered(
    module_service: ServiceProcess,
) -> None:
    """A notice bounced back to us verbatim by a forwarding loop: silence."""
    person = "loopy@example.net"
    mid = "<loop-start@example.net>"
    module_service.accepted(
        message(message_id=mid, sender=person, to=UNRELEASED),
        UNRELEASED,
        mail_from=person,
    )
    module_service.processed(mid)
    wait_until(lambda: len(_answers_to(module_service, person)) == 1)
    (notice,) = [r for r in module_service.outbox() if r.recipient == person]
    # A forwarder sends it back to the question address and to the request one.
    forwarder = "forwarder@example.net"
    for to in (UNRELEASED, address("-request")):
        module_service.accepted(notice.raw, to, mail_from=forwarder)
    module_service.processed(notice.message_id)
    _a_person_is_answered(
        module_service, "loop-control@example.net", "<loop-control@example.net>"
    )
    assert _answers_to(module_service, forwarder) == []
    assert len(_answers_to(module_service, person)) == 1


def test_one_notice_per_address_and_kind_a_day(module_service: ServiceProcess) -> None:
    person = "repeat@example.net"
    for i in range(5):
        mid = f"<repeat-{i}@example.net>"
        module_service.accepted(
            message(message_id=mid, sender=person, to=UNRELEASED),
            UNRELEASED,
            mail_from=person,
        )
        module_service.processed(mid)
    # Another kind: mail to the bare discussion address without a thread.
    for i in range(3):
        mid = f"<repeat-bare-{i}@example.net>"
        module_service.accepted(
            message(message_id=mid, sender=person, to=address("")),
            address(""),
            mail_from=person,
        )
        module_service.processed(mid)
    kinds = _answers_to(module_service, person)
    assert len(kinds) == 2, kinds
    keys = sorted(
        r.dedupe_key for r in module_service.outbox() if r.recipient == person
    )
    assert keys[0].startswith("auto:not-released:") and keys[1].startswith(
        "auto:use-question-address:"
    ), keys


def test_nothing_ever_goes_to_a_null_or_daemon_address(
    module_service: ServiceProcess,
) -> None:
    # Run alone, the module's other tests have sent nothing yet: send something.
    _a_person_is_answered(
        module_service, "daemon-control@example.net", "<daemon-control@example.net>"
    )
    rows = module_service.outbox()
    assert rows
    for row in rows:
        local = row.recipient.partition("@")[0].lower()
        assert row.recipient.strip("<> ") != ""
        assert local not in ("mailer-daemon", "postmaster", "noreply", "no-reply")
        assert not row.recipient.lower().endswith("@" + DOMAIN)
