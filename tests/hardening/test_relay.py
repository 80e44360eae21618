"""Promise 1: never a relay, never backscatter.

Only the service's own addresses are accepted, and that is decided at RCPT:
every routing trick an old MTA would have followed is refused there, and
nothing refused at SMTP time ever causes a mail to be sent.
"""

from __future__ import annotations

import socket

import pytest

from tests.fixtures.service import (
    ServiceFactory,
    ServiceProcess,
    address,
    message,
    wait_until,
)

pytestmark = [pytest.mark.hardening, pytest.mark.xdist_group("hardening-relay")]

OURS = address("+q1")
TRICKS = [
    "victim@example.com",
    "victim@EXAMPLE.COM",
    "victim@example.com.",
    f"victim%example.com@{OURS.split('@')[1]}",
    "victim%example.com@discuss.example.org",
    "skills-covid19%victim.example.com@discuss.example.org",
    "example.com!victim@discuss.example.org",
    "victim@example.com@discuss.example.org",
    "skills-covid19+q1@discuss.example.org@example.com",
    '"victim@example.com"@discuss.example.org',
    '"skills-covid19+q1@example.com"@discuss.example.org',
    '"skills covid19"@discuss.example.org',
    "<@example.com:victim@discuss.example.org>",
    "<@relay.example.com,@example.net:skills-covid19+q1@discuss.example.org>",
    "<@discuss.example.org:victim@example.com>",
    "=?utf-8?q?skills-covid19?=@discuss.example.org",
    "=?utf-8?b?c2tpbGxzLWNvdmlkMTk=?=@discuss.example.org",
    "skills-covid19+q1@discuss.example.org.example.com",
    "skills-covid19+q1@sub.discuss.example.org",
    "skills-covid19+q1@example.org",
    "skills-covid19+q1@[127.0.0.1]",
    "postmaster@example.com",
    "skills-covid19-request+x@discuss.example.org",
    "skills-covid19-confirm@discuss.example.org",
    "skills-covid19+q1.@discuss.example.org",
    "skills-covid19..x@discuss.example.org",
    "skills-covid19\\@example.com@discuss.example.org",
    "skills-covid19+q1@discuss.example.org,victim@example.com",
    "skills-covid19+q1@discuss.example.org victim@example.com",
]
# Internationalised tricks: they need SMTPUTF8 in MAIL FROM to be sent at all.
UTF8_TRICKS = [
    "skills-covid19+q1@discuss.exаmple.org",  # Cyrillic 'а': a lookalike domain
    "skills-covid19+q1@dіscuss.example.org",  # Ukrainian 'і'
    "skills-covid19+q1@discuss.example.org\u200b",  # zero-width space
    "skіlls-covid19+q1@discuss.example.org",  # lookalike local part
    "skills-cövid19@discuss.example.org",  # an 8-bit local part
    "ｓｋｉｌｌｓ-covid19@discuss.example.org",  # fullwidth letters
    "victim@exámple.com",
]


@pytest.fixture(scope="module")
def service(module_service: ServiceProcess) -> ServiceProcess:
    """The shared service of this module."""
    return module_service


def _rcpt(client: object, rcpt: str) -> tuple[int, bytes]:
    import smtplib

    assert isinstance(client, smtplib.SMTP)
    # smtplib would quote or reject some of these; send them verbatim.
    target = rcpt if rcpt.startswith("<") else f"<{rcpt}>"
    client.putcmd("rcpt", f"TO:{target}")
    return client.getreply()


@pytest.mark.parametrize("trick", TRICKS)
def test_routing_tricks_are_refused_at_rcpt(
    service: ServiceProcess, trick: str
) -> None:
    with service.smtp() as client:
        code, _ = client.mail("mallory@example.net")
        assert code == 250
        code, text = _rcpt(client, trick)
        assert 500 <= code < 600, (trick, code, text)
        # The transaction has no recipient: DATA must not be accepted.
        code, _ = client.docmd("DATA")
        assert code >= 500


@pytest.mark.parametrize("trick", UTF8_TRICKS)
def test_internationalised_lookalikes_are_refused(
    service: ServiceProcess, trick: str
) -> None:
    with service.smtp() as client:
        assert client.has_extn("smtputf8")
        client.command_encoding = "utf-8"
        code, _ = client.mail("mallory@example.net", ["SMTPUTF8", "BODY=8BITMIME"])
        assert code == 250
        code, text = _rcpt(client, trick)
        assert 500 <= code < 600, (trick, code, text)


@pytest.mark.parametrize(
    "ours",
    [
        "SKILLS-COVID19+Q1@DISCUSS.EXAMPLE.ORG",
        "Skills-Covid19+q1@Discuss.Example.Org",
        "postmaster@discuss.example.org",
        "POSTMASTER@DISCUSS.EXAMPLE.ORG",
    ],
)
def test_own_addresses_in_any_case_are_accepted(
    service: ServiceProcess, ours: str
) -> None:
    with service.smtp() as client:
        client.mail("ana@example.net")
        code, text = _rcpt(client, ours)
        assert code == 250, text
        client.rset()


def test_a_mixed_envelope_keeps_only_our_recipient(service: ServiceProcess) -> None:
    mid = "<mixed-envelope@example.net>"
    reply = service.send(
        message(message_id=mid),
        [OURS, "victim@example.com", "<@example.com:victim@discuss.example.org>"],
        mail_from="ana@example.net",
    )
    assert reply.code == 250
    assert set(reply.refused) == {
        "victim@example.com",
        "<@example.com:victim@discuss.example.org>",
    }
    (row,) = service.inbound(mid)
    assert row.envelope_to.splitlines() == [OURS]


def test_refusals_never_cause_a_bounce(service: ServiceProcess) -> None:
    """Forged senders, unknown recipients and oversized mail: nothing goes out."""
    victim = "victim@example.com"
    for rcpt in ("nobody@discuss.example.org", "victim@example.org", "x@[10.0.0.1]"):
        reply = service.send(message(message_id=f"<bs-{rcpt}>"), rcpt, victim)
        assert reply.code == 0 and rcpt in reply.refused
    too_big = message(message_id="<bs-big@example.net>", body="x" * 70 + "\n") * 200000
    reply = service.send(too_big[: 11 * 1024 * 1024], OURS, victim)
    assert reply.code == 552
    # A null sender with an unknown recipient (a bounce to a forged address).
    reply = service.send(
        message(message_id="<bs-null@x>"), "nobody@discuss.example.org", ""
    )
    assert reply.code == 0
    service.send(message(message_id="<bs-marker@example.net>"), OURS, "ana@example.net")
    service.processed("<bs-marker@example.net>")
    sent_to = [row.recipient for row in service.outbox()]
    assert victim not in sent_to
    assert not [raw for raw in service.maildir() if victim.encode() in raw]
    assert not service.inbound("<bs-victim@example.org>")


def test_nothing_is_stored_without_an_accepted_recipient(
    service: ServiceProcess,
) -> None:
    raw = message(message_id="<no-rcpt@example.net>")
    with socket.create_connection(("127.0.0.1", service.smtp_port), 10) as sock:
        f = sock.makefile("rwb")
        assert f.readline().startswith(b"220")
        for line in (
            b"EHLO x\r\n",
            b"MAIL FROM:<ana@example.net>\r\n",
            b"RCPT TO:<victim@example.com>\r\n",
            b"DATA\r\n",
        ):
            f.write(line)
            f.flush()
            answer = f.readline()
            while answer[3:4] == b"-":
                answer = f.readline()
        assert answer.startswith(b"5"), answer
        # A client that pipelines the body anyway: every line is a bad command.
        f.write(raw + b".\r\nQUIT\r\n")
        f.flush()
    wait_until(lambda: True)
    assert not service.inbound("<no-rcpt@example.net>")


def test_lmtp_refuses_the_same_tricks_per_recipient(
    make_service: ServiceFactory,
) -> None:
    """Behind Postfix, LMTP answers each recipient; a trick is still refused at RCPT."""
    import smtplib

    service = make_service(env={"EDISCUSS_INBOUND_PROTOCOL": "lmtp"})
    client = smtplib.LMTP("127.0.0.1", service.smtp_port, timeout=30)
    try:
        client.ehlo("postfix.example.net")
        client.mail("ana@example.net")
        assert _rcpt(client, OURS)[0] == 250
        for trick in TRICKS[:20]:
            code, text = _rcpt(client, trick)
            assert 500 <= code < 600, (trick, text)
        assert _rcpt(client, address("-request"))[0] == 250
        client.putcmd("data")
        assert client.getreply()[0] == 354
        client.send(message(message_id="<lmtp-mixed@example.net>") + b".\r\n")
        answers = [client.getreply() for _ in range(2)]
        assert [code for code, _ in answers] == [250, 250]
    finally:
        client.close()
    (row,) = service.inbound("<lmtp-mixed@example.net>")
    assert row.envelope_to.splitlines() == [OURS, address("-request")]
