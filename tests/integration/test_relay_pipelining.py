"""PIPELINING (RFC 2920) on the wire: a scripted SMTP server on loopback reads what arrives.

The server answers nothing until it has read the whole group, so a client
that waited for each answer would stall here (and the test fail on its
timeout); it records the lines it got, to check what was sent in one go.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from mailer.config.settings import RelaySettings
from mailer.core.choices import Security
from mailer.outbound.relay import SendOutcome, SmtpRelay


@dataclass
class ScriptedServer:
    """Each step: read *n* lines (DATA: until the dot), then write an answer."""

    steps: list[tuple[int | str, bytes]]
    got: list[list[bytes]] = field(default_factory=list)
    error: list[BaseException] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            with self.sock:
                conn, _ = self.sock.accept()
            conn.settimeout(5)
            with conn, conn.makefile("rb") as reader:
                conn.sendall(b"220 relay.example.net ESMTP\r\n")
                for count, answer in self.steps:
                    lines: list[bytes] = []
                    if count == "data":
                        while not lines or lines[-1] != b".\r\n":
                            lines.append(reader.readline())
                    else:
                        assert isinstance(count, int)
                        lines = [reader.readline() for _ in range(count)]
                    self.got.append(lines)
                    conn.sendall(answer)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            self.error.append(exc)


EHLO = (1, b"250-relay.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
QUIT = (1, b"221 2.0.0 bye\r\n")
RAW = b"From: a@discuss.example.org\r\nSubject: hi\r\n\r\n.dot first\r\nend\r\n"


@pytest.fixture
def relay_for() -> Iterator[list[SmtpRelay]]:
    made: list[SmtpRelay] = []
    yield made
    for relay in made:
        relay.close()


def connect(server: ScriptedServer, made: list[SmtpRelay]) -> SmtpRelay:
    settings = RelaySettings(
        host="127.0.0.1", port=server.port, security=Security.NONE, timeout_seconds=10
    )
    relay = SmtpRelay(settings, local_hostname="discuss.example.org")
    made.append(relay)
    return relay


def test_envelope_and_data_command_go_in_one_group(
    relay_for: list[SmtpRelay],
) -> None:
    server = ScriptedServer(
        [
            EHLO,
            (3, b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n"),
            ("data", b"250 2.0.0 queued as A1\r\n"),
            QUIT,
        ]
    )
    relay = connect(server, relay_for)
    result = relay.send("b+x@discuss.example.org", "ana@example.net", RAW)
    relay.close()
    server.thread.join(10)
    assert not server.error, server.error
    assert result.outcome is SendOutcome.SENT
    assert result.answer == "250 2.0.0 queued as A1"
    assert server.got[1] == [
        b"MAIL FROM:<b+x@discuss.example.org>\r\n",
        b"RCPT TO:<ana@example.net>\r\n",
        b"DATA\r\n",
    ]
    # The dot at a line's start is doubled on the wire.
    assert b"".join(server.got[2]) == RAW.replace(b"\r\n.dot", b"\r\n..dot") + b".\r\n"


@pytest.mark.parametrize(
    ("answers", "outcome", "stage"),
    [
        (b"250 ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n",
         SendOutcome.FAILED, "rcpt"),
        (b"250 ok\r\n451 4.7.1 greylisted\r\n554 5.5.1 no valid recipients\r\n",
         SendOutcome.DEFERRED, "rcpt"),
        (b"553 5.7.1 sender refused\r\n503 5.5.1 no sender\r\n503 5.5.1 no rcpt\r\n",
         SendOutcome.FAILED, "mail"),
    ],
)  # fmt: skip
def test_each_command_keeps_its_own_answer(
    relay_for: list[SmtpRelay], answers: bytes, outcome: SendOutcome, stage: str
) -> None:
    server = ScriptedServer([EHLO, (3, answers), (1, b"250 2.0.0 reset\r\n"), QUIT])
    relay = connect(server, relay_for)
    result = relay.send("b@discuss.example.org", "ana@example.net", RAW)
    relay.close()
    server.thread.join(10)
    assert not server.error, server.error
    assert (result.outcome, result.stage) == (outcome, stage)
    assert [line.upper() for line in server.got[2]] == [b"RSET\r\n"]  # kept


def test_data_taken_after_a_refused_recipient_is_ended_empty(
    relay_for: list[SmtpRelay],
) -> None:
    # A server that says 354 though no recipient was accepted (RFC 2920, 3.1):
    # the client ends the empty message at once and sends nothing of it.
    server = ScriptedServer(
        [
            EHLO,
            (3, b"250 ok\r\n550 5.1.1 no such user\r\n354 go ahead\r\n"),
            (1, b"554 5.5.1 no valid recipients\r\n"),
            (1, b"250 2.0.0 reset\r\n"),
            QUIT,
        ]
    )
    relay = connect(server, relay_for)
    result = relay.send("b@discuss.example.org", "ana@example.net", RAW)
    relay.close()
    server.thread.join(10)
    assert not server.error, server.error
    assert (result.outcome, result.stage) == (SendOutcome.FAILED, "rcpt")
    assert server.got[2] == [b".\r\n"]
    assert [line.upper() for line in server.got[3]] == [b"RSET\r\n"]


def test_a_connection_lost_mid_group_defers_the_copy(
    relay_for: list[SmtpRelay],
) -> None:
    server = ScriptedServer([EHLO, (3, b"250 ok\r\n")])  # then it hangs up
    relay = connect(server, relay_for)
    result = relay.send("b@discuss.example.org", "ana@example.net", RAW)
    server.thread.join(10)
    assert result.outcome is SendOutcome.DEFERRED
    assert result.answer.startswith("connection lost")
