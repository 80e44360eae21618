"""The IMAP poller against a real Dovecot: same store path as SMTP, flagged after commit."""

from __future__ import annotations

import logging
import socket
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from mailer.config.settings import ImapSettings
from mailer.core.choices import Security
from mailer.core.errors import StoreUnavailable
from mailer.inbound import imap
from mailer.inbound.imap import (
    STORED,
    PolledMailbox,
    connect,
    envelope_of,
    open_folder,
    poll_once,
    run_poller,
    waiting_criteria,
)
from mailer.inbound.receive import make_accept
from mailer.inbound.smtp import Accepted, Delivery
from store.models import InboundState
from tests.fixtures.dovecot import DovecotServer
from tests.fixtures.inbound import (
    DOMAIN,
    OPEN_POLICY,
    SLUG,
    MailhostFactory,
    Served,
    address,
    mail,
    wait_until,
)

pytestmark = pytest.mark.imap


def imap_settings(server: DovecotServer, folder: str, **changes: Any) -> ImapSettings:
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": server.username,
        "password": server.password,
        "folder": folder,
        "poll_seconds": 1,
    }
    values.update(changes)
    return ImapSettings(**values)


def box(settings: ImapSettings) -> PolledMailbox:
    return PolledMailbox(settings, DOMAIN, (SLUG,))


def test_envelope_from_headers() -> None:
    raw = (
        b"Return-Path: <ana@example.net>\r\nDelivered-To: "
        + address("+q2").encode()
        + b"\r\nTo: Someone <other@example.com>, "
        + address("+q1").encode()
        + b"\r\nCc: "
        + address("-request").encode()
        + b"\r\n\r\nhi\r\n"
    )
    sender, rcpts = envelope_of(raw, DOMAIN, (SLUG,))
    assert sender == "ana@example.net"
    assert rcpts == [address("+q2"), address("+q1"), address("-request")]
    sender, rcpts = envelope_of(
        b"Return-Path: <>\r\nFrom: a@b.c\r\n\r\nx", DOMAIN, (SLUG,)
    )
    assert (sender, rcpts) == ("", [])
    sender, _ = envelope_of(b"From: Ana <ana@example.net>\r\n\r\nx", DOMAIN, (SLUG,))
    assert sender == "ana@example.net"


def test_envelope_addresses_are_never_read_from_decoded_text() -> None:
    # The display names name the moderator and one of the service's own
    # addresses; the addresses themselves are a stranger's and nobody's.
    own = address("+q1").replace("@", "=40")
    raw = (
        b"From: =?utf-8?q?aggarwal=40ilo.example.org?= <x@evil.test>\r\n"
        b"To: =?utf-8?q?" + own.encode() + b"?= <other@example.com>,"
        b" =?utf-8?q?" + own.encode() + b"?= x@evil.test\r\n\r\nhi\r\n"
    )
    assert envelope_of(raw, DOMAIN, (SLUG,)) == ("x@evil.test", [])


def test_poll_stores_then_flags_and_a_crash_before_commit_brings_it_again(
    dovecot: DovecotServer, make_mailhost: MailhostFactory
) -> None:
    host = make_mailhost(listen=False, **OPEN_POLICY)
    folder = dovecot.new_folder()
    for i in (1, 2, 3):
        dovecot.append(
            folder, mail(to=address("+q1"), message_id=f"<i{i}@example.net>")
        )
    settings = imap_settings(dovecot, folder)
    real = make_accept(host.runtime.sessions, host.runtime.clock)
    calls: list[str] = []

    def failing_on_second(delivery: Delivery) -> Accepted:
        calls.append(delivery.via)
        if len(calls) == 2:
            raise StoreUnavailable("database is locked")
        return real(delivery)

    client = connect(settings)
    try:
        with pytest.raises(StoreUnavailable):
            poll_once(client, box(settings), failing_on_second)
        # Only the committed message left the waiting set.
        assert dovecot.count(folder, "UNSEEN") == 2
        assert poll_once(client, box(settings), real) == 2
        assert dovecot.count(folder, "UNSEEN") == 0
        assert poll_once(client, box(settings), real) == 0
    finally:
        client.logout()
    rows = host.inbound()
    assert [(r.message_id, r.received_via) for r in rows] == [
        (f"<i{i}@example.net>", "imap") for i in (1, 2, 3)
    ]
    assert rows[0].envelope_to == address("+q1")
    assert rows[0].envelope_from == "ana@example.net"


def test_processed_folder_receives_the_stored_messages(
    dovecot: DovecotServer, make_mailhost: MailhostFactory
) -> None:
    host = make_mailhost(listen=False)
    folder = dovecot.new_folder()
    done = folder + "-done"
    dovecot.append(folder, mail(to=address("+q1"), message_id="<m1@example.net>"))
    settings = imap_settings(dovecot, folder, processed_folder=done)
    client = connect(settings)
    try:
        accept = make_accept(host.runtime.sessions, host.runtime.clock)
        assert poll_once(client, box(settings), accept) == 1
    finally:
        client.logout()
    assert dovecot.count(folder) == 0 and dovecot.count(done) == 1


def test_same_message_by_smtp_twice_and_by_imap_is_one_post(
    dovecot: DovecotServer, make_mailhost: MailhostFactory
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    raw = mail(to=address("+q3"), message_id="<thrice@example.net>")
    host.send(raw, [address("+q3")])
    host.send(raw, [address("+q3")])
    folder = dovecot.new_folder()
    dovecot.append(folder, raw)
    settings = imap_settings(dovecot, folder)
    client = connect(settings)
    try:
        accept = make_accept(host.runtime.sessions, host.runtime.clock)
        assert poll_once(client, box(settings), accept) == 1
    finally:
        client.logout()
    host.process()
    [row] = host.inbound()
    assert row.received_via == "smtp" and row.state is InboundState.PROCESSED
    [post] = host.posts()
    assert post.message_id == "<thrice@example.net>"
    assert host.question_number(post) == 3


def test_a_message_a_person_read_first_is_taken_all_the_same(
    dovecot: DovecotServer, make_mailhost: MailhostFactory
) -> None:
    """A shared mailbox: someone opens a message before the poll. It is still
    taken, once: what the poller skips is its own keyword, not the read flag.
    The mailbox's read history (older than READ_WINDOW_DAYS) is left alone."""
    host = make_mailhost(listen=False)
    folder = dovecot.new_folder()
    old = datetime.now(UTC) - timedelta(days=imap.READ_WINDOW_DAYS + 3)
    with dovecot.client() as person:
        person.append(
            folder,
            mail(to=address("+q1"), message_id="<read@example.net>"),
            flags=[b"\\Seen"],
        )
        person.append(
            folder,
            mail(to=address("+q1"), message_id="<history@example.net>"),
            flags=[b"\\Seen"],
            msg_time=old,
        )
    dovecot.append(folder, mail(to=address("+q1"), message_id="<unread@example.net>"))
    settings = imap_settings(dovecot, folder)
    client, criteria = open_folder(settings)
    try:
        assert criteria[:3] == ["NOT", "KEYWORD", STORED]
        accept = make_accept(host.runtime.sessions, host.runtime.clock)
        assert poll_once(client, box(settings), accept, criteria=criteria) == 2
        assert poll_once(client, box(settings), accept, criteria=criteria) == 0
    finally:
        client.logout()
    assert {r.message_id for r in host.inbound()} == {
        "<read@example.net>",
        "<unread@example.net>",
    }
    assert dovecot.count(folder, "UNSEEN") == 0


def test_waiting_means_without_our_keyword_where_the_server_keeps_keywords() -> None:
    plain = ImapSettings(host="imap.example.org")
    today = date(2027, 3, 28)
    recent = ["NOT", "KEYWORD", STORED, "OR", "UNSEEN", "SINCE", date(2027, 3, 21)]
    assert waiting_criteria(plain, [b"\\Seen", b"\\*"], today) == recent
    assert waiting_criteria(plain, [b"\\Seen", STORED], today) == recent
    assert waiting_criteria(plain, [b"\\Seen", b"\\Deleted"], today) == ["UNSEEN"]
    moved = ImapSettings(host="imap.example.org", processed_folder="Done")
    assert waiting_criteria(moved, [], today) == ["ALL"]


@pytest.mark.parametrize(
    ("security", "says"),
    [
        ("tls", "answers in plain text, not TLS"),
        ("starttls", "offers no STARTTLS"),
    ],
)
def test_security_that_does_not_fit_the_port_is_one_line_and_no_retry(
    dovecot: DovecotServer,
    caplog: pytest.LogCaptureFixture,
    security: str,
    says: str,
) -> None:
    settings = imap_settings(dovecot, "INBOX", security=security)  # a plain port

    def never(delivery: Delivery) -> Accepted:
        raise AssertionError("nothing to accept")

    caplog.set_level(logging.INFO, logger="ediscuss.imap")
    halt = threading.Event()
    thread = threading.Thread(target=run_poller, args=(box(settings), never, halt))
    thread.start()
    thread.join(10)
    stopped = not thread.is_alive()
    halt.set()
    thread.join(10)
    assert stopped  # it gave up by itself: no endless retry
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert says in record.message
    assert "IMAP polling stopped: fix imap.security or imap.port" in record.message


def test_mail_to_a_question_that_does_not_exist_is_stored_and_never_answered(
    dovecot: DovecotServer,
    make_mailhost: MailhostFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SMTP refuses +q999 at RCPT; a mailbox already took it. It is kept, the
    log says why it went nowhere, and its sender (perhaps forged) gets nothing."""
    host = make_mailhost(listen=False, **OPEN_POLICY)
    folder = dovecot.new_folder()
    dovecot.append(folder, mail(to=address("+q999"), message_id="<q999@example.net>"))
    settings = imap_settings(dovecot, folder)
    client = connect(settings)
    try:
        accept = make_accept(host.runtime.sessions, host.runtime.clock)
        assert poll_once(client, box(settings), accept) == 1
    finally:
        client.logout()
    caplog.set_level(logging.INFO, logger="ediscuss")
    host.process()
    [row] = host.inbound()
    assert row.received_via == "imap" and row.state is InboundState.PROCESSED
    assert host.posts() == [] and host.outbox() == []
    assert (
        "message-id=<q999@example.net> decision=dropped reason=no question 999:"
        " an address that does not exist gets no answer"
    ) in caplog.text


def test_a_burst_that_arrives_while_a_batch_is_stored_waits_for_no_poll(
    dovecot: DovecotServer, make_mailhost: MailhostFactory
) -> None:
    """Mail that arrives while a batch is fetched and stored is announced by the
    server during that FETCH or STORE, not again by the IDLE that follows: the
    poller must look again before it idles, or that mail waits a whole poll."""
    host = make_mailhost(listen=False)
    folder = dovecot.new_folder()
    for i in range(25):
        dovecot.append(
            folder, mail(to=address("+q1"), message_id=f"<b{i}@example.net>")
        )
    settings = imap_settings(dovecot, folder, poll_seconds=60)  # IDLE, else a minute
    real = make_accept(host.runtime.sessions, host.runtime.clock)
    stored: list[Delivery] = []

    def accept_while_a_burst_arrives(delivery: Delivery) -> Accepted:
        if not stored:  # the first message of the first batch: 40 more arrive
            with dovecot.client() as other:
                for i in range(25, 65):
                    other.append(
                        folder,
                        mail(to=address("+q2"), message_id=f"<b{i}@example.net>"),
                    )
        result = real(delivery)
        stored.append(delivery)
        return result

    halt = threading.Event()
    thread = threading.Thread(
        target=run_poller, args=(box(settings), accept_while_a_burst_arrives, halt)
    )
    thread.start()
    try:
        took = wait_until(lambda: len(stored) == 65, seconds=30)
    finally:
        halt.set()
        thread.join(10)
    assert not thread.is_alive()
    assert took < 15  # not the 60 s poll
    assert dovecot.count(folder, "UNSEEN") == 0
    assert len({r.message_id for r in host.inbound()}) == 65


def test_wrong_password_is_logged_clearly_and_not_retried_in_a_loop(
    dovecot: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = imap_settings(dovecot, "INBOX", password="not-the-password")
    halt = threading.Event()

    def never(delivery: Delivery) -> Accepted:
        raise AssertionError("nothing to accept")

    caplog.set_level(logging.INFO, logger="ediscuss.imap")
    thread = threading.Thread(target=run_poller, args=(box(settings), never, halt))
    thread.start()
    try:
        wait_until(lambda: any("login refused" in r.message for r in caplog.records))
        threading.Event().wait(1.5)  # a tight loop would log again meanwhile
    finally:
        halt.set()
        thread.join(10)
    assert not thread.is_alive()
    refused = [r for r in caplog.records if "login refused" in r.message]
    assert len(refused) == 1
    assert refused[0].levelno == logging.ERROR
    assert "wrong username or password" in refused[0].message
    assert settings.password not in refused[0].message


def test_serve_with_imap_stores_and_processes_new_mail_promptly(
    dovecot: DovecotServer,
    make_mailhost: MailhostFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = dovecot.new_folder()
    overrides = {
        "imap": {
            "host": dovecot.host,
            "port": dovecot.port,
            "security": "none",
            "username": dovecot.username,
            "password": dovecot.password,
            "folder": folder,
            "poll_seconds": 60,  # only IDLE can make this prompt
        }
    }
    host = make_mailhost(overrides, listen=False, **OPEN_POLICY)
    caplog.set_level(logging.INFO, logger="ediscuss.imap")
    served = Served(host.runtime)
    try:
        wait_until(lambda: any("imap connected" in r.message for r in caplog.records))
        threading.Event().wait(0.5)  # past the first poll: now idling
        dovecot.append(folder, mail(to=address("+q2"), message_id="<idle@example.net>"))
        took = wait_until(lambda: len(host.posts()) == 1, seconds=20)
    finally:
        served.close()
    assert took < 10
    assert host.posts()[0].message_id == "<idle@example.net>"
    assert dovecot.count(folder, "UNSEEN") == 0


def test_a_plain_text_client_on_a_tls_port_is_told_why_nothing_answers(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Port 993 waits for a TLS handshake and says nothing to a plain client."""
    monkeypatch.setattr(imap, "CONNECT_TIMEOUT", 0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings = ImapSettings(
            host="127.0.0.1",
            port=silent.getsockname()[1],
            security=Security.STARTTLS,
            username="ed",
            password="pw",
        )

        def never(delivery: Delivery) -> Accepted:
            raise AssertionError("nothing to accept")

        caplog.set_level(logging.INFO, logger="ediscuss.imap")
        halt = threading.Event()
        thread = threading.Thread(target=run_poller, args=(box(settings), never, halt))
        thread.start()
        try:
            wait_until(lambda: "no greeting" in caplog.text, seconds=10)
        finally:
            halt.set()
            thread.join(10)
    assert not thread.is_alive()
    [record] = [r for r in caplog.records if "no greeting" in r.message]
    assert record.levelno == logging.WARNING
    assert 'speaks TLS, as port 993 does, set imap.security = "tls")' in record.message
