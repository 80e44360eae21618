"""The inbound listener's TLS: a server context from PEM files, reloaded when they are renewed.

``load_certificate`` checks a certificate and its private key the way start-up
needs (each problem names the file at fault) and builds a modern server-side
context: TLS 1.2 or later, no compression, no renegotiation, no client
certificates. ``ServerCertificate`` hands the listener that context for each
new connection and builds a new one when either file changes on disk, so a
renewed certificate (Let's Encrypt renews every 60-90 days) is used without a
restart; a renewal caught half-written is retried on the next change while
the loaded certificate stays in use.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mailer.core.errors import UnusableCertificate

log = logging.getLogger("ediscuss.inbound")


@dataclass(frozen=True)
class LoadedCertificate:
    """A server context and what the log says about its certificate."""

    context: ssl.SSLContext
    subject: str
    not_after: datetime


def _read(path: Path, which: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnusableCertificate(
            which, path, f"cannot read {path}: {exc.strerror or exc}"
        ) from exc


def load_certificate(certificate: Path, key: Path) -> LoadedCertificate:
    """Check the PEM *certificate* (chain) and unencrypted *key*; build the server context.

    Raises :class:`UnusableCertificate` naming the file at fault: unreadable,
    not PEM, a key with a passphrase, or a key that is not the certificate's.
    """
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    cert_pem, key_pem = _read(certificate, "certificate"), _read(key, "key")
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError as exc:
        raise UnusableCertificate(
            "certificate", certificate, f"no PEM certificate in {certificate}"
        ) from exc
    try:
        private = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError as exc:  # "Password was not given but private key is encrypted"
        raise UnusableCertificate(
            "key", key, f"{key} is encrypted: give the key without a passphrase"
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise UnusableCertificate("key", key, f"no PEM private key in {key}") from exc
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    certified = chain[0].public_key().public_bytes(der, spki)
    if private.public_key().public_bytes(der, spki) != certified:
        raise UnusableCertificate(
            "key", key, f"{key} does not match the certificate in {certificate}"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= (
        ssl.OP_NO_COMPRESSION  # CRIME
        | ssl.OP_NO_RENEGOTIATION
        | ssl.OP_CIPHER_SERVER_PREFERENCE
    )
    try:
        # OpenSSL reads the files again: a renewal between the two reads shows
        # up here as a mismatch, and is refused like one.
        context.load_cert_chain(certificate, key)
    except (ssl.SSLError, OSError) as exc:
        raise UnusableCertificate(
            "key", key, f"cannot use {certificate} with {key}: {_reason(exc)}"
        ) from exc
    return LoadedCertificate(
        context, chain[0].subject.rfc4514_string(), chain[0].not_valid_after_utc
    )


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc)


def handshake_failure(error: BaseException | None) -> str:
    """Why a server-side TLS handshake failed, in a few words for the log."""
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason)  # e.g. WRONG_VERSION_NUMBER, NO_SHARED_CIPHER
    if isinstance(error, ConnectionError | EOFError | TimeoutError):
        # asyncio ends a handshake still running after 60 s with this error too
        return "connection closed before the handshake completed"
    return type(error).__name__ if error else "unknown"


_Stamp = tuple[int, int, int, int] | None


def _stamp(path: Path) -> _Stamp:
    try:
        st = os.stat(path)  # follows symlinks: certbot's live/ links to archive/
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


class ServerCertificate:
    """The listener's TLS context, made again when the certificate or key file changes.

    ``context()`` is called for every new connection; it costs two ``stat``
    calls unless a file changed. A new pair that cannot be used (the key not
    written yet, say) is logged once and the loaded one stays in use.
    """

    def __init__(self, certificate: Path, key: Path) -> None:
        self.certificate = certificate
        self.key = key
        self._stamps = (_stamp(certificate), _stamp(key))
        self._failed: tuple[_Stamp, _Stamp] | None = None
        self._loaded = load_certificate(certificate, key)
        _log_loaded(self._loaded, "loaded")

    def context(self) -> ssl.SSLContext:
        """The context for a new connection, from the files as they are now."""
        stamps = (_stamp(self.certificate), _stamp(self.key))
        if stamps != self._stamps and stamps != self._failed:
            self._reload(stamps)
        return self._loaded.context

    def _reload(self, stamps: tuple[_Stamp, _Stamp]) -> None:
        try:
            loaded = load_certificate(self.certificate, self.key)
        except UnusableCertificate as exc:
            self._failed = stamps
            log.warning(
                "tls reload failed reason=%s; still using the certificate loaded before",
                exc.reason,
            )
            return
        self._loaded, self._stamps, self._failed = loaded, stamps, None
        _log_loaded(loaded, "reloaded")


def _log_loaded(loaded: LoadedCertificate, what: str) -> None:
    expired = loaded.not_after <= datetime.now(UTC)
    (log.warning if expired else log.info)(
        "tls certificate %s subject=%s %s=%s",
        what,
        loaded.subject,
        "expired" if expired else "expires",
        f"{loaded.not_after:%Y-%m-%d %H:%M}Z",
    )
