"""A moderator's own post, end to end: by SMTP to the service's listener, through
the inbound pipeline, into the store.

A post from a moderator's address skips moderation only when the mail proves
it: an aligned DKIM signature that verifies (the same check as for commands),
or the trusted MTA's Authentication-Results. A From header, a signature by
another domain, one with ``l=``, one that leaves From unsigned, one over an
altered body, or a DNS that does not answer: all held like anyone's post.
DKIM keys are made here and served by a DNS server on loopback (the one stub).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import logging
import re
import socket
import sqlite3
import time
from collections.abc import Iterator

import dkim
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select

import mailer.inbound.lookups
from mailer.runtime import Runtime, open_runtime
from store.models import Post, PostStatus
from tests.fixtures.moderation import (
    DOMAIN,
    MOD_DOMAIN,
    SELECTOR,
    SLUG,
    TRUSTED_MTA,
    DkimKey,
    Listener,
    SettableClock,
    StubDns,
    command_mail,
    dkim_sign,
    outbox,
)
from tests.fixtures.settings import SettingsFactory, shipped_raw
from tests.integration.moderation_setup import COMYN, process, release_directly

Q1 = f"{SLUG}+q1@{DOMAIN}"
KEY_NAME = f"test2027._domainkey.{MOD_DOMAIN}"
OTHER = "other-topic"
OTHER_MODERATOR = f"lead@{MOD_DOMAIN}"  # moderates the other discussion only


def _post(
    sender: str = COMYN, body: str = "Welcome, and thank you for joining.\n"
) -> bytes:
    return command_mail(sender, Q1, body, "Welcome")


def _one_post(runtime: Runtime) -> Post:
    with runtime.sessions() as s:
        [post] = s.scalars(select(Post)).all()
        return post


def _runtime(
    db_url: str,
    make_settings: SettingsFactory,
    clock: SettableClock,
    resolver: str,
) -> Runtime:
    """Two discussions (the second with its own moderator), DKIM keys from *resolver*."""
    first = shipped_raw()["discussions"][0]
    other = copy.deepcopy(first)
    other["slug"] = OTHER
    other["moderators"] = [{"name": "Lead", "email": OTHER_MODERATOR, "language": "en"}]
    settings = make_settings(
        db_url,
        {
            "inbound": {"dkim_resolver": resolver, "trusted_authserv_id": TRUSTED_MTA},
            "discussions": [first, other],
        },
    )
    runtime = open_runtime(settings, clock=clock, migrate=False)
    release_directly(runtime, [1], clock.now)
    return runtime


@pytest.fixture
def runtime(
    db_url: str,
    make_settings: SettingsFactory,
    stub_dns: StubDns,
    stranger_key: DkimKey,
    clock: SettableClock,
) -> Iterator[Runtime]:
    """The service on the test database; the stub DNS serves both domains' keys."""
    stub_dns.publish("s1", "evil.example", stranger_key)
    rt = _runtime(db_url, make_settings, clock, f"127.0.0.1:{stub_dns.port}")
    try:
        yield rt
    finally:
        rt.close()


@pytest.fixture
def smtp(runtime: Runtime) -> Iterator[Listener]:
    """The service's SMTP listener on loopback."""
    server = Listener(runtime)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_an_aligned_signature_publishes_the_moderators_post_at_once(
    smtp: Listener,
    runtime: Runtime,
    dkim_key: DkimKey,
    stub_dns: StubDns,
    caplog: pytest.LogCaptureFixture,
) -> None:
    raw = dkim_sign(_post(), dkim_key)
    with caplog.at_level(logging.INFO, logger="ediscuss.inbound"):
        smtp.send(raw, Q1)
        process(runtime)
    post = _one_post(runtime)
    assert (post.author_email, post.status, post.hold_reason) == (
        COMYN,
        PostStatus.APPROVED,
        None,
    )
    assert outbox(runtime, "mod-held") == []  # nobody is asked to approve it
    assert stub_dns.queries == [KEY_NAME]
    [line] = [
        r.getMessage() for r in caplog.records if "moderator post" in r.getMessage()
    ]
    assert f"message-id={post.message_id} from={COMYN} proven by dkim" in line


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_dns_lookup_happens_before_the_write(
    smtp: Listener,
    runtime: Runtime,
    dkim_key: DkimKey,
    stub_dns: StubDns,
    db_url: str,
) -> None:
    # DNS may take seconds; SQLite has one writer, and the SMTP listener's 250
    # waits for it: no write may be open while a moderator's mail is checked.
    path = db_url.removeprefix("sqlite:///")
    writable: list[bool] = []

    def try_to_write(_name: str) -> None:
        probe = sqlite3.connect(path, timeout=0.2)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            writable.append(True)
        except sqlite3.OperationalError:  # "database is locked"
            writable.append(False)
        finally:
            probe.close()

    stub_dns.on_query = try_to_write
    smtp.send(dkim_sign(_post(), dkim_key), Q1)
    process(runtime)
    assert _one_post(runtime).status is PostStatus.APPROVED
    assert writable == [True]


# (how the From is claimed, what the log says is missing)
FORGERIES = {
    "unsigned": "no DKIM signature",
    "signed by another domain": "d=evil.example: not aligned with ilo.example.org",
    "body length l=": "l= body length",
    "From not signed": "From, Subject and Message-ID not all signed",
    "body altered": "body hash mismatch",
    # dnspython refuses a label over 63 octets before asking anyone.
    "selector no resolver takes": "DNS failed (LabelTooLong",
}


def _relaxed_header(name: bytes, value: bytes) -> bytes:
    unfolded = re.sub(rb"\r\n(?=[ \t])", b"", value)
    return name.lower() + b":" + re.sub(rb"[ \t]+", b" ", unfolded).strip(b" \t")


def _sign_without_from(raw: bytes, key: DkimKey) -> bytes:
    """*raw* with a valid signature (rsa-sha256, relaxed/relaxed) that leaves From out.

    RFC 6376 lets a signer choose its headers and dkimpy's verifier accepts
    such a signature; dkimpy's signer refuses to make one, so it is made here.
    """
    head, _, body = raw.partition(b"\r\n\r\n")
    fields: dict[bytes, bytes] = {}
    for line in re.split(rb"\r\n(?![ \t])", head):
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value
    lines = [
        re.sub(rb"[ \t]+", b" ", line).rstrip(b" ") for line in body.split(b"\r\n")
    ]
    while lines and not lines[-1]:
        lines.pop()
    body_hash = hashlib.sha256(b"".join(line + b"\r\n" for line in lines)).digest()
    names = (b"to", b"subject", b"date", b"message-id")
    tags = (
        f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={MOD_DOMAIN}; s={SELECTOR};"
        f" h={':'.join(n.decode() for n in names)};"
        f" bh={base64.b64encode(body_hash).decode()}; b="
    ).encode()
    signed = b"".join(_relaxed_header(n, fields[n]) + b"\r\n" for n in names)
    signed += _relaxed_header(b"DKIM-Signature", b" " + tags)
    private = serialization.load_pem_private_key(key.private_pem, None)
    assert isinstance(private, rsa.RSAPrivateKey)
    b = private.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return b"DKIM-Signature: " + tags + base64.b64encode(b) + b"\r\n" + raw


def test_a_signature_without_from_is_one_dkim_itself_accepts(
    dkim_key: DkimKey,
) -> None:
    """The forgery below is a real signature: only the From rule refuses it."""
    raw = _sign_without_from(_post(), dkim_key)
    txt = {f"{KEY_NAME}.".encode(): dkim_key.txt}
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: txt.get(name))
    assert not dkim.verify(
        raw.replace(b"Subject: Welcome", b"Subject: Welcome!"),
        dnsfunc=lambda name, timeout=5: txt.get(name),
    )


def _forge(forgery: str, dkim_key: DkimKey, stranger_key: DkimKey) -> bytes:
    mail = _post()
    if forgery == "unsigned":
        return mail
    if forgery == "signed by another domain":
        return dkim_sign(mail, stranger_key, domain="evil.example", selector="s1")
    if forgery == "body length l=":
        return dkim_sign(mail, dkim_key, length=True) + b"And a line nobody signed.\r\n"
    if forgery == "From not signed":
        return _sign_without_from(mail, dkim_key)
    if forgery == "body altered":
        return dkim_sign(mail, dkim_key).replace(b"thank you", b"no thanks")
    assert forgery == "selector no resolver takes"
    return dkim_sign(mail, dkim_key, selector="s" * 70)


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_post_that_does_not_prove_its_from_is_held(
    smtp: Listener,
    runtime: Runtime,
    dkim_key: DkimKey,
    stranger_key: DkimKey,
    forgery: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="ediscuss.inbound"):
        smtp.send(_forge(forgery, dkim_key, stranger_key), Q1)
        process(runtime)  # every message PROCESSED: no failure, no retry
    post = _one_post(runtime)
    assert post.status is PostStatus.HELD
    assert post.hold_reason is not None and "first post" in post.hold_reason
    assert outbox(runtime, "mod-held")  # the moderators are asked, as for anyone
    [line] = [m for m in caplog.messages if "moderator post" in m]
    assert line.startswith(
        f"moderator post message-id={post.message_id} from={COMYN} not proven,"
        " moderated as anyone's: "
    ), line
    assert FORGERIES[forgery] in line, line


def test_the_trusted_mtas_results_still_count_without_a_dns_lookup(
    smtp: Listener, runtime: Runtime, stub_dns: StubDns
) -> None:
    raw = (
        f"Authentication-Results: {TRUSTED_MTA};\r\n"
        f"  dkim=pass (2048-bit key) header.d={MOD_DOMAIN} header.s=sel\r\n".encode()
        + _post()
    )
    smtp.send(raw, Q1)
    process(runtime)
    assert _one_post(runtime).status is PostStatus.APPROVED
    assert stub_dns.queries == []


def test_a_moderator_of_another_discussion_gets_nothing_extra(
    smtp: Listener, runtime: Runtime, dkim_key: DkimKey, stub_dns: StubDns
) -> None:
    # Signed perfectly by the domain, and a moderator elsewhere: here a stranger.
    smtp.send(dkim_sign(_post(OTHER_MODERATOR), dkim_key), Q1)
    # And someone who moderates nothing at all.
    smtp.send(dkim_sign(_post(f"intern@{MOD_DOMAIN}"), dkim_key), Q1)
    process(runtime)
    with runtime.sessions() as s:
        posts = s.scalars(select(Post).order_by(Post.id)).all()
    assert [(p.author_email, p.status) for p in posts] == [
        (OTHER_MODERATOR, PostStatus.HELD),
        (f"intern@{MOD_DOMAIN}", PostStatus.HELD),
    ]
    assert all("unknown sender" in (p.hold_reason or "") for p in posts)
    assert stub_dns.queries == []  # no DNS for a sender who moderates nothing here


def _silent_udp() -> socket.socket:
    """A DNS "server" that takes every query and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def _closed_udp_port() -> int:
    """A loopback UDP port nobody listens on (queries are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("dns", ["times out", "refuses"])
def test_a_dns_that_fails_leaves_the_post_held_within_the_bound(
    db_url: str,
    make_settings: SettingsFactory,
    clock: SettableClock,
    dkim_key: DkimKey,
    dns: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(mailer.inbound.lookups, "POST_DKIM_SECONDS", 0.5)
    silent = _silent_udp()
    port = silent.getsockname()[1] if dns == "times out" else _closed_udp_port()
    runtime = _runtime(db_url, make_settings, clock, f"127.0.0.1:{port}")
    listener = Listener(runtime)
    listener.start()
    try:
        listener.send(dkim_sign(_post(), dkim_key), Q1)
        started = time.monotonic()
        with caplog.at_level(logging.INFO, logger="ediscuss.inbound"):
            process(runtime)
        took = time.monotonic() - started
        post = _one_post(runtime)
    finally:
        listener.stop()
        runtime.close()
        silent.close()
    assert post.status is PostStatus.HELD
    # Without the bound, dkimpy gives each lookup 5 seconds.
    assert took < 4.5, took
    [line] = [m for m in caplog.messages if "moderator post" in m]
    assert "not proven" in line and "DNS" in line, line
    # That one line says it all: no ERROR of dkimpy's own beside it.
    assert [r for r in caplog.records if r.name.startswith("dkimpy")] == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
