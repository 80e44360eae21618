"""STARTTLS, implicit TLS and AUTH against real aiosmtpd relays; DKIM checked by dkimpy."""

from __future__ import annotations

import dataclasses
import os
import stat
from email import message_from_bytes, policy
from pathlib import Path

import dkim
import pytest

from mailer.cli import main
from mailer.config.settings import DkimSettings
from mailer.core.choices import Security
from mailer.outbound.dkim import DkimSigner, generate_key
from mailer.outbound.relay import SendOutcome, SmtpRelay
from mailer.outbound.worker import OutboxSender
from tests.fixtures.relay import RelayFactory, TlsFiles
from tests.fixtures.settings import SHIPPED_CONFIG, SettingsFactory
from tests.integration.outbound_setup import (
    add_subscriber,
    make_runtime,
    queue_hello,
)

RAW = (
    b"From: d@discuss.example.org\r\nTo: ana@example.net\r\nSubject: hi\r\n"
    b"Message-ID: <t1@discuss.example.org>\r\n\r\nhello\r\n"
)
USERS = {"ediscuss": "s3cret pass"}


def _send(relay_settings, tls: TlsFiles) -> tuple[SendOutcome, str]:  # type: ignore[no-untyped-def]
    transport = SmtpRelay(
        relay_settings,
        local_hostname="discuss.example.org",
        ssl_context=tls.client_context(),
    )
    try:
        result = transport.send("b@discuss.example.org", "ana@example.net", RAW)
    finally:
        transport.close()
    return result.outcome, result.answer


def test_starttls_with_auth_plain(
    make_relay: RelayFactory, tls_files: TlsFiles
) -> None:
    relay = make_relay(tls=tls_files.server_context(), users=USERS)
    outcome, answer = _send(
        relay.settings(Security.STARTTLS, "ediscuss", USERS["ediscuss"]), tls_files
    )
    assert outcome is SendOutcome.SENT, answer
    assert relay.auth_used == ["PLAIN"]
    assert relay.received[0].data.endswith(b"hello\r\n")


def test_implicit_tls_with_auth_login(
    make_relay: RelayFactory, tls_files: TlsFiles
) -> None:
    relay = make_relay(
        tls=tls_files.server_context(),
        implicit_tls=True,
        users=USERS,
        auth_exclude=("PLAIN",),
    )
    outcome, answer = _send(
        relay.settings(Security.TLS, "ediscuss", USERS["ediscuss"]), tls_files
    )
    assert outcome is SendOutcome.SENT, answer
    assert relay.auth_used == ["LOGIN"]
    assert len(relay.received) == 1


def test_wrong_password_defers_and_untrusted_certificate_refused(
    make_relay: RelayFactory, tls_files: TlsFiles
) -> None:
    relay = make_relay(tls=tls_files.server_context(), users=USERS)
    outcome, answer = _send(
        relay.settings(Security.STARTTLS, "ediscuss", "wrong"), tls_files
    )
    assert outcome is SendOutcome.DEFERRED and "refused login" in answer
    # The system's trust store does not know the test certificate.
    plain = SmtpRelay(
        relay.settings(Security.STARTTLS, "ediscuss", USERS["ediscuss"]),
        local_hostname="discuss.example.org",
    )
    result = plain.send("b@discuss.example.org", "ana@example.net", RAW)
    plain.close()
    assert (
        result.outcome is SendOutcome.DEFERRED
        and "CERTIFICATE" in result.answer.upper()
    )
    assert relay.received == []


def _dns_stub(record: str, name: str):  # type: ignore[no-untyped-def]
    """Answers the one TXT query dkimpy makes; other domains' DNS cannot run here."""

    def dnsfunc(qname: bytes, timeout: int = 5) -> bytes | None:
        return record.encode() if qname.decode().rstrip(".") == name else None

    return dnsfunc


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_worker_signs_with_dkim_and_dkimpy_verifies(
    db_url: str,
    make_settings: SettingsFactory,
    make_relay: RelayFactory,
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "dkim.key"
    record = generate_key(key_file, "ed2027", "discuss.example.org", 2048)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    relay = make_relay()
    rt = make_runtime(make_settings, db_url, relay=relay.settings())
    rt.settings = dataclasses.replace(
        rt.settings, dkim=DkimSettings("ed2027", key_file)
    )
    try:
        sub = add_subscriber(rt, "ana@example.net", name="Ána Ruiz")
        queue_hello(rt, "ana@example.net", "hello:dkim", sub)
        sender = OutboxSender(rt)
        assert sender.drain().sent == 1
        sender.close()
    finally:
        rt.close()
    data = relay.received[0].data
    dnsfunc = _dns_stub(record.record_value, record.record_name)
    assert dkim.verify(data, dnsfunc=dnsfunc)
    msg = message_from_bytes(data, policy=policy.default)
    tags = dict(
        t.strip().split("=", 1)
        for t in "".join(str(msg["DKIM-Signature"]).split()).split(";")
        if "=" in t
    )
    assert tags["c"] == "relaxed/relaxed" and tags["d"] == "discuss.example.org"
    signed = tags["h"].split(":")
    for name in ("from", "to", "subject", "date", "message-id", "list-id"):
        assert name in signed
    assert "list-unsubscribe" in signed and "list-unsubscribe-post" in signed
    assert signed.count("from") == 2  # oversigned
    # Any change to a signed header breaks it.
    tampered = data.replace(b"Subject: [skills-covid19]", b"Subject: [skills-covid18]")
    assert tampered != data and not dkim.verify(tampered, dnsfunc=dnsfunc)
    # A key from elsewhere does not verify.
    other = generate_key(tmp_path / "other.key", "ed2027", "discuss.example.org")
    assert not dkim.verify(
        data, dnsfunc=_dns_stub(other.record_value, other.record_name)
    )


def test_signer_relaxed_canonicalisation_survives_refolding(tmp_path: Path) -> None:
    record = generate_key(tmp_path / "k", "s", "discuss.example.org", 1024)
    signer = DkimSigner("s", "discuss.example.org", (tmp_path / "k").read_bytes())
    signed = signer.sign(RAW)
    refolded = signed.replace(b"Subject: hi", b"Subject:   hi")
    assert dkim.verify(
        refolded, dnsfunc=_dns_stub(record.record_value, record.record_name)
    )


def test_openssl_signature_is_dkimpys_own(tmp_path: Path) -> None:
    # RSA PKCS #1 v1.5 is deterministic: the fast path must give the very bytes
    # dkimpy's pure-Python RSA gives, for a PKCS #1 and a PKCS #8 key, and for
    # both hashes DKIM knows.
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from dkim.crypto import RSASSA_PKCS1_v1_5_sign, parse_pem_private_key

    from mailer.outbound import dkim as ours

    ours.dkimpy()  # as the first signer made does
    assert dkim.RSASSA_PKCS1_v1_5_sign is ours._rsa_sign  # what dkim.sign calls
    record = generate_key(tmp_path / "k", "s", "discuss.example.org", 2048)
    pkcs1 = (tmp_path / "k").read_bytes()
    key = serialization.load_pem_private_key(pkcs1, password=None)
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    for pem in (pkcs1, pkcs8):
        parsed = parse_pem_private_key(pem)
        for make in (hashlib.sha256, hashlib.sha1):
            fast, slow = dkim.HashThrough(make()), dkim.HashThrough(make())
            for h in (fast, slow):
                h.update(b"from:Ana <ana@discuss.example.org>\r\nsubject:hi\r\n")
            assert ours._rsa_sign(fast, parsed) == bytes(
                RSASSA_PKCS1_v1_5_sign(slow, parsed)
            )
    signed = DkimSigner("s", "discuss.example.org", pkcs8).sign(RAW)
    assert dkim.verify(
        signed, dnsfunc=_dns_stub(record.record_value, record.record_name)
    )


def test_dkim_keygen_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # [dkim] must come before [[discussions]]: put it before [web].
    head, sep, tail = SHIPPED_CONFIG.read_text("utf-8").partition("[web]")
    text = (
        head
        + '[dkim]\nselector = "ed2027"\nkey_file = "keys/dkim.key"\n\n'
        + sep
        + tail
    )
    cfg = tmp_path / "config.toml"
    cfg.write_text(text, "utf-8")
    assert main(["--config", str(cfg), "dkim", "keygen", "--selector", "s2"]) == 0
    out = capsys.readouterr().out
    key_file = tmp_path / "keys" / "dkim.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert "s2._domainkey.discuss.example.org. IN TXT" in out
    assert "v=DKIM1; k=rsa; p=" in out
    # Never overwrites a key in use.
    assert main(["--config", str(cfg), "dkim", "keygen"]) == 1
    assert "exists" in capsys.readouterr().err
