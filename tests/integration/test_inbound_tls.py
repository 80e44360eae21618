"""STARTTLS on the inbound listener: real handshakes with smtplib on loopback.

The certificate is self-signed and made at test time (``tests.fixtures.relay``).
The store's backend plays no part in TLS, so these tests run on SQLite only.
"""

from __future__ import annotations

import logging
import os
import shutil
import smtplib
import socket
import ssl
import warnings
from pathlib import Path
from typing import Any

import pytest

from mailer.cli import main
from mailer.config import parse_settings
from mailer.core.errors import ConfigError
from tests.fixtures.inbound import (
    OPEN_POLICY,
    Mailhost,
    MailhostFactory,
    address,
    mail,
    wait_until,
)
from tests.fixtures.relay import TlsFiles, self_signed
from tests.fixtures.settings import SHIPPED_CONFIG, shipped_raw

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _tls(files: TlsFiles, **more: Any) -> dict[str, Any]:
    return {
        "inbound": {
            "tls_certificate": str(files.cert),
            "tls_key": str(files.key),
            **more,
        }
    }


def _smtp(host: Mailhost) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", host.port, "mx.example.net", timeout=10)


def _tls_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "tls" in r.getMessage()]


def _handshake_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [m for m in _tls_lines(caplog) if m.startswith("tls handshake failed")]


@SQLITE_ONLY
def test_starttls_is_offered_and_a_message_is_stored(
    make_mailhost: MailhostFactory,
    tls_files: TlsFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ediscuss")
    host = make_mailhost(_tls(tls_files), **OPEN_POLICY)
    raw = mail(to=address("+q1"), message_id="<tls1@example.net>")
    with _smtp(host) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")
        assert client.starttls(context=tls_files.client_context())[0] == 220
        sock = client.sock
        assert isinstance(sock, ssl.SSLSocket)
        version = sock.version()
        assert version in ("TLSv1.2", "TLSv1.3")
        client.ehlo()
        assert not client.has_extn("starttls")  # RFC 3207 4.2: not offered again
        assert not client.has_extn("auth")  # aiosmtpd's always-failing AUTH
        assert client.sendmail("ana@example.net", [address("+q1")], raw) == {}
    [row] = host.inbound()
    assert row.envelope_to.splitlines() == [address("+q1")]
    assert host.process() == 1
    [post] = host.posts()
    assert post.message_id == "<tls1@example.net>"
    [line] = [m for m in _tls_lines(caplog) if m.startswith("received ")]
    assert line.endswith(f" tls={version}")


@SQLITE_ONLY
def test_plaintext_still_works_when_tls_is_optional(
    make_mailhost: MailhostFactory, tls_files: TlsFiles
) -> None:
    host = make_mailhost(_tls(tls_files), **OPEN_POLICY)
    host.send(
        mail(to=address("+q1"), message_id="<plain@example.net>"), [address("+q1")]
    )
    assert len(host.inbound()) == 1


@SQLITE_ONLY
def test_require_tls_refuses_mail_before_starttls(
    make_mailhost: MailhostFactory, tls_files: TlsFiles
) -> None:
    host = make_mailhost(_tls(tls_files, require_tls=True), **OPEN_POLICY)
    raw = mail(to=address("+q2"), message_id="<req@example.net>")
    with _smtp(host) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert client.mail("ana@example.net") == (
            530,
            b"5.7.0 Must issue a STARTTLS command first",
        )
        assert client.rcpt(address("+q2"))[0] == 530
        assert client.noop()[0] == 250  # RFC 3207 4: NOOP, EHLO, STARTTLS, QUIT
        client.starttls(context=tls_files.client_context())
        client.ehlo()
        assert client.sendmail("ana@example.net", [address("+q2")], raw) == {}
    assert [r.envelope_to for r in host.inbound()] == [address("+q2")]


@SQLITE_ONLY
def test_client_below_tls_1_2_is_refused_with_one_log_line(
    make_mailhost: MailhostFactory,
    tls_files: TlsFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    host = make_mailhost(_tls(tls_files))
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer TLS 1.1 at all
    with warnings.catch_warnings():  # the versions themselves are deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with _smtp(host) as client:
        client.ehlo()
        with pytest.raises((ssl.SSLError, ConnectionError)):
            client.starttls(context=old)
    wait_until(lambda: bool(_handshake_failures(caplog)), 5)
    failed = _handshake_failures(caplog)
    assert failed == ["tls handshake failed peer=127.0.0.1 reason=UNSUPPORTED_PROTOCOL"]
    assert not [r for r in caplog.records if r.exc_info]


def _starttls_raw(port: int) -> socket.socket:
    """A plain socket that has said EHLO and STARTTLS and read the 220."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    reader = sock.makefile("rb")
    assert reader.readline().startswith(b"220 ")
    sock.sendall(b"EHLO mx.example.net\r\n")
    while not (line := reader.readline()).startswith(b"250 "):
        assert line.startswith(b"250-")
    sock.sendall(b"STARTTLS\r\n")
    assert reader.readline().startswith(b"220 ")
    reader.close()
    return sock


def _wait_closed(sock: socket.socket) -> None:
    """Return once the server has closed *sock* (socket.timeout after 10 s if not)."""
    try:
        while sock.recv(4096):  # a TLS alert may come first
            pass
    except ConnectionResetError:
        pass


@SQLITE_ONLY
def test_garbage_instead_of_a_handshake_neither_crashes_nor_blocks(
    make_mailhost: MailhostFactory,
    tls_files: TlsFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    host = make_mailhost(_tls(tls_files, max_connections_per_ip=3), **OPEN_POLICY)
    # One client says STARTTLS, then nothing: its handshake stays open.
    with _starttls_raw(host.port) as _silent:
        with _starttls_raw(host.port) as garbage:
            garbage.sendall(
                b"GET / HTTP/1.1\r\nHost: mx\r\n\r\n" + bytes(range(256)) * 4
            )
            _wait_closed(garbage)
        host.send(
            mail(to=address("+q3"), message_id="<after@example.net>"),
            [address("+q3")],
        )
        assert [r.envelope_to for r in host.inbound()] == [address("+q3")]
        wait_until(lambda: bool(_handshake_failures(caplog)), 5)
        failed = _handshake_failures(caplog)
        assert failed == ["tls handshake failed peer=127.0.0.1 reason=HTTP_REQUEST"]
        assert not [r for r in caplog.records if r.exc_info]
        # The failed connection was counted off once: with the silent one open,
        # two more fit under max_connections_per_ip = 3 and a third does not.
        with _smtp(host) as one, _smtp(host) as two:
            assert one.noop()[0] == two.noop()[0] == 250
            with pytest.raises(smtplib.SMTPConnectError) as refused:
                _smtp(host)
            assert refused.value.smtp_code == 421


@SQLITE_ONLY
def test_client_silent_after_starttls_is_closed_and_counted_off(
    make_mailhost: MailhostFactory,
    tls_files: TlsFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    limits = {"timeout_seconds": 1, "max_connections_per_ip": 1}
    host = make_mailhost(_tls(tls_files, **limits))
    with _starttls_raw(host.port) as silent:
        _wait_closed(silent)  # by the idle timer, a second later
    wait_until(lambda: bool(_handshake_failures(caplog)), 5)
    [failed] = _handshake_failures(caplog)
    assert failed == (
        "tls handshake failed peer=127.0.0.1"
        " reason=connection closed before the handshake completed"
    )
    with _smtp(host) as client:  # the one connection allowed is free again
        assert client.noop()[0] == 250


@SQLITE_ONLY
def test_tls_sessions_count_once_against_the_connection_limit(
    make_mailhost: MailhostFactory, tls_files: TlsFiles
) -> None:
    host = make_mailhost(_tls(tls_files, max_connections_per_ip=2))
    for _ in range(3):  # the TLS layer's second connection_made is not counted
        assert _peer_certificate(host, tls_files) == _der(tls_files)


@SQLITE_ONLY
def test_lmtp_offers_starttls_too(
    make_mailhost: MailhostFactory, tls_files: TlsFiles
) -> None:
    host = make_mailhost(_tls(tls_files, protocol="lmtp"), **OPEN_POLICY)
    raw = mail(to=address("+q1"), message_id="<lmtp-tls@example.net>")
    with smtplib.LMTP("127.0.0.1", host.port, timeout=10) as client:
        client.ehlo("mx.example.net")  # LHLO
        assert client.has_extn("starttls")
        client.starttls(context=tls_files.client_context())
        client.ehlo("mx.example.net")
        assert client.sendmail("ana@example.net", [address("+q1")], raw) == {}
    [row] = host.inbound()
    assert row.received_via == "lmtp"


def _peer_certificate(host: Mailhost, trusted: TlsFiles) -> bytes:
    """The certificate the listener shows a new connection (which must verify)."""
    with _smtp(host) as client:
        client.starttls(context=trusted.client_context())
        sock = client.sock
        assert isinstance(sock, ssl.SSLSocket)
        der = sock.getpeercert(binary_form=True)
        client.ehlo()
        assert client.noop()[0] == 250
    assert der is not None
    return der


def _der(files: TlsFiles) -> bytes:
    return ssl.PEM_cert_to_DER_cert(files.cert.read_text("ascii"))


def _install(source: Path, target: Path) -> None:
    """Put *source* in place of *target* the way renewal tools do: a rename."""
    shutil.copyfile(source, target.with_suffix(".tmp"))
    os.replace(target.with_suffix(".tmp"), target)


@SQLITE_ONLY
def test_renewed_certificate_is_used_without_a_restart(
    make_mailhost: MailhostFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ediscuss")
    first = self_signed(tmp_path / "first")
    renewed = self_signed(tmp_path / "renewed")
    live = TlsFiles(tmp_path / "fullchain.pem", tmp_path / "privkey.pem")
    _install(first.cert, live.cert)
    _install(first.key, live.key)
    host = make_mailhost(_tls(live))
    assert _peer_certificate(host, first) == _der(first)

    # Half-way through a renewal: the new certificate, the old key. Refused,
    # logged once, and the loaded pair stays in use.
    _install(renewed.cert, live.cert)
    assert _peer_certificate(host, first) == _der(first)
    assert _peer_certificate(host, first) == _der(first)
    failed = [m for m in _tls_lines(caplog) if m.startswith("tls reload failed")]
    assert len(failed) == 1 and "does not match the certificate" in failed[0]

    _install(renewed.key, live.key)
    assert _peer_certificate(host, renewed) == _der(renewed)
    reloaded = [
        m for m in _tls_lines(caplog) if m.startswith("tls certificate reloaded")
    ]
    assert len(reloaded) == 1 and "subject=CN=localhost" in reloaded[0]


# Configuration: every problem names its key, and serve does not start.


def _problems(
    tmp_path: Path, inbound: dict[str, Any], environ: dict[str, str] | None = None
) -> list[str]:
    raw = shipped_raw()
    raw["inbound"].update(inbound)
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, environ or {}, tmp_path)
    return [str(p) for p in info.value.problems]


def test_config_problems_name_the_key(tmp_path: Path, tls_files: TlsFiles) -> None:
    other = self_signed(tmp_path / "other", name="other.example")
    cert, key = str(tls_files.cert), str(tls_files.key)
    missing = tmp_path / "missing.pem"
    [p] = _problems(tmp_path, {"tls_certificate": str(missing), "tls_key": key})
    assert (
        p
        == f"inbound.tls_certificate: cannot read {missing}: No such file or directory"
    )
    [p] = _problems(tmp_path, {"tls_certificate": cert, "tls_key": str(other.key)})
    assert p.startswith("inbound.tls_key: ") and "does not match the certificate" in p
    [p] = _problems(tmp_path, {"tls_certificate": cert})
    assert p.startswith("inbound.tls_key: required with inbound.tls_certificate")
    [p] = _problems(tmp_path, {"tls_key": key})
    assert p.startswith("inbound.tls_certificate: required with inbound.tls_key")
    [p] = _problems(tmp_path, {"require_tls": True})
    assert p == "inbound.require_tls: needs inbound.tls_certificate and inbound.tls_key"
    [p] = _problems(
        tmp_path,
        {
            "tls_certificate": cert,
            "tls_key": key,
            "require_tls": True,
            "protocol": "lmtp",
        },
    )
    assert p.startswith("inbound.require_tls: SMTP only")
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    [p] = _problems(tmp_path, {"tls_certificate": "junk.pem", "tls_key": key})
    assert (
        p == f"inbound.tls_certificate: no PEM certificate in {tmp_path / 'junk.pem'}"
    )
    [p] = _problems(tmp_path, {"tls_certificate": cert, "tls_key": cert})
    assert p.startswith("inbound.tls_key: no PEM private key in ")
    [p] = _problems(
        tmp_path, {"tls_certificate": cert, "tls_key": key, "require_tls": "maybe"}
    )
    assert p.startswith("inbound.require_tls: expected true or false")


def test_encrypted_key_is_refused(tmp_path: Path, tls_files: TlsFiles) -> None:
    from cryptography.hazmat.primitives import serialization

    plain = serialization.load_pem_private_key(tls_files.key.read_bytes(), None)
    locked = tmp_path / "locked.pem"
    locked.write_bytes(
        plain.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    [p] = _problems(
        tmp_path, {"tls_certificate": str(tls_files.cert), "tls_key": str(locked)}
    )
    assert (
        p
        == f"inbound.tls_key: {locked} is encrypted: give the key without a passphrase"
    )


def test_environment_sets_tls_relative_to_the_config_folder(
    tmp_path: Path, tls_files: TlsFiles
) -> None:
    shutil.copyfile(tls_files.cert, tmp_path / "fullchain.pem")
    shutil.copyfile(tls_files.key, tmp_path / "privkey.pem")
    environ = {
        "EDISCUSS_INBOUND_TLS_CERTIFICATE": "fullchain.pem",
        "EDISCUSS_INBOUND_TLS_KEY": "privkey.pem",
        "EDISCUSS_INBOUND_REQUIRE_TLS": "true",
    }
    s = parse_settings(shipped_raw(), environ, tmp_path)
    assert s.inbound.tls_certificate == tmp_path / "fullchain.pem"
    assert s.inbound.tls_key == tmp_path / "privkey.pem"
    assert s.inbound.require_tls is True
    plain = parse_settings(shipped_raw(), {}, tmp_path).inbound
    assert (plain.tls_certificate, plain.tls_key, plain.require_tls) == (
        None,
        None,
        False,
    )


def test_serve_does_not_start_with_a_bad_certificate(
    tmp_path: Path, tls_files: TlsFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SHIPPED_CONFIG.read_text("utf-8")
    text = text.replace(
        "[inbound]\n",
        f'[inbound]\ntls_certificate = "{tls_files.cert}"\ntls_key = "nope.pem"\n',
    )
    config = tmp_path / "config.toml"
    config.write_text(
        text.replace('state_dir = "var"', f'state_dir = "{tmp_path}/var"'), "utf-8"
    )
    assert main(["--config", str(config), "serve"]) == 2
    err = capsys.readouterr().err
    assert f"inbound.tls_key: cannot read {tmp_path / 'nope.pem'}" in err
    assert not (tmp_path / "var").exists()  # nothing was started


def test_config_check_says_starttls(
    tmp_path: Path, tls_files: TlsFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SHIPPED_CONFIG.read_text("utf-8").replace(
        "[inbound]\n",
        f'[inbound]\ntls_certificate = "{tls_files.cert}"\n'
        f'tls_key = "{tls_files.key}"\nrequire_tls = true\n',
    )
    config = tmp_path / "config.toml"
    config.write_text(text, "utf-8")
    assert main(["--config", str(config), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert f"STARTTLS (required) with {tls_files.cert}" in out
