"""DKIM signing of outgoing mail (dkimpy), and making a key pair for it.

Messages are signed when they are sent, not when they are queued: a key or
selector rotated while mail waits in the outbox (a deferred row may wait three
days) applies to everything not yet sent, only the sending worker reads the
private key, and queueing (thousands of copies in one moderator's transaction)
stays cheap. The signature covers the exact bytes handed to the relay.

dkimpy computes RSA in pure Python (two 1024-bit modular exponentiations, about
8 ms a signature, most of a digest's sending time); the RSA step is handed to
OpenSSL through ``cryptography`` instead, roughly ten times faster. PKCS #1 v1.5
signatures are deterministic, so the header is byte for byte the one dkimpy
would make (a test compares them). ``cryptography`` (some 8 MB a process) is
imported at the first signature or key made, and dkimpy itself (with
dnspython, some 3 MB) when the first signer is made: a service without
``[dkim]`` never loads them.
"""

from __future__ import annotations

import base64
import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailer.config.settings import DkimSettings
from mailer.core.errors import EdiscussError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

# Every header a reader or a filter relies on; a header listed but absent is
# signed as absent, so nobody can add it later. From, Subject, Reply-To and the
# unsubscribe headers are listed twice ("oversigned") so that a second copy
# cannot be prepended either (RFC 6376 section 8.15; RFC 8058 section 4 asks
# for List-Unsubscribe and List-Unsubscribe-Post to be signed).
SIGNED_HEADERS: tuple[str, ...] = (
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Post",
    "List-Help",
    "List-Archive",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Language",
    "Auto-Submitted",
    "Precedence",
    "X-Loop",
    "From",
    "Subject",
    "Reply-To",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


_HASH_NAMES = ("sha256", "sha1")  # what OpenSSL signs here; others go to dkimpy
_KEYS: dict[int, rsa.RSAPrivateKey] = {}  # by modulus: keys are few, made once
_KEYS_LOCK = threading.Lock()


def _openssl_key(private_key: dict[str, int]) -> rsa.RSAPrivateKey:
    """The OpenSSL key of dkimpy's parsed private key (its CRT numbers)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    n = private_key["modulus"]
    with _KEYS_LOCK:
        key = _KEYS.get(n)
        if key is None:
            key = _KEYS[n] = rsa.RSAPrivateNumbers(
                p=private_key["prime1"],
                q=private_key["prime2"],
                d=private_key["privateExponent"],
                dmp1=private_key["exponent1"],
                dmq1=private_key["exponent2"],
                iqmp=private_key["coefficient"],
                public_numbers=rsa.RSAPublicNumbers(private_key["publicExponent"], n),
            ).private_key()
    return key


def _rsa_sign(hashed: Any, private_key: Any) -> bytes:
    """dkimpy's RSASSA-PKCS1-v1_5 signing step, done by OpenSSL.

    Anything unexpected (a hash or a key this does not know) goes to dkimpy's
    own code, which raises what dkimpy raises.
    """
    name = str(getattr(hashed, "name", "")).lower()
    if name not in _HASH_NAMES or not isinstance(private_key, dict):
        return _pure_rsa_sign(hashed, private_key)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, utils

    try:
        key = _openssl_key(private_key)
    except (KeyError, TypeError, ValueError):
        return _pure_rsa_sign(hashed, private_key)
    algorithm = hashes.SHA256() if name == "sha256" else hashes.SHA1()
    return key.sign(hashed.digest(), padding.PKCS1v15(), utils.Prehashed(algorithm))


def _pure_rsa_sign(hashed: Any, private_key: Any) -> bytes:
    """dkimpy's own RSA step (its module keeps it when the package's is replaced)."""
    from dkim.crypto import RSASSA_PKCS1_v1_5_sign

    return bytes(RSASSA_PKCS1_v1_5_sign(hashed, private_key))


_PATCH_LOCK = threading.Lock()


def dkimpy() -> Any:
    """dkimpy, made ready to sign: imported, and changed once (under a lock, so
    that two first signers do not change it twice).

    dkimpy looks its RSA step up in its package at each signature: OpenSSL's
    replaces it. It also parses the PEM key (base64, then ASN.1 in pure Python)
    at every signature: about 0.14 ms of a copy's CPU, for the same key every
    time. The parsed key is only read, so one parse a key serves every copy.
    The outbox worker holds one key; a few more cover a key rotated while
    serve runs.
    """
    import dkim

    if dkim.RSASSA_PKCS1_v1_5_sign is not _rsa_sign:
        with _PATCH_LOCK:
            if dkim.RSASSA_PKCS1_v1_5_sign is not _rsa_sign:
                dkim.RSASSA_PKCS1_v1_5_sign = _rsa_sign
                dkim.parse_pem_private_key = functools.lru_cache(maxsize=8)(
                    dkim.parse_pem_private_key
                )
    return dkim


class SigningError(EdiscussError, ValueError):
    """dkimpy could not sign a message; the text is its reason."""


@dataclass(frozen=True)
class DkimSigner:
    """Signs raw messages for one domain and selector (relaxed/relaxed, rsa-sha256)."""

    selector: str
    domain: str
    private_key: bytes  # PEM

    def __post_init__(self) -> None:
        dkimpy()  # made ready with the first signer, before any signature

    def sign(self, raw: bytes) -> bytes:
        """*raw* with a DKIM-Signature header in front.

        Raises :class:`SigningError` when dkimpy cannot sign it (a bad key, a
        message it cannot read).
        """
        dkim = dkimpy()
        try:
            header = dkim.sign(
                raw,
                self.selector.encode("ascii"),
                self.domain.encode("ascii"),
                self.private_key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[h.lower().encode("ascii") for h in SIGNED_HEADERS],
                linesep=b"\r\n",
            )
        except dkim.DKIMException as exc:
            raise SigningError(str(exc)) from exc
        return bytes(header) + raw


def load_signer(
    settings: DkimSettings | None, service_domain: str
) -> DkimSigner | None:
    """The signer for the configured key, or None when DKIM is not configured.

    A configured key file that cannot be read is an error (OSError): sending
    unsigned mail from a domain that publishes a key would fail DMARC.
    """
    if settings is None:
        return None
    return DkimSigner(
        settings.selector,
        settings.domain or service_domain,
        settings.key_file.read_bytes(),
    )


@dataclass(frozen=True)
class KeyPair:
    """A new RSA key: the private key in PEM, the public one as a DKIM TXT record value."""

    private_pem: bytes
    record_value: str


def make_key_pair(bits: int = 2048) -> KeyPair:
    """A fresh RSA key in the forms dkimpy signs with and reads from DNS (RFC 6376 3.6.1)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(pem, f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode('ascii')}")


@dataclass(frozen=True)
class GeneratedKey:
    """A new key pair: where the private key went, and the DNS record to publish."""

    key_file: Path
    record_name: str
    record_value: str


def generate_key(
    key_file: Path, selector: str, domain: str, bits: int = 2048
) -> GeneratedKey:
    """Write a new RSA private key to *key_file* (mode 0600) and give its TXT record.

    Refuses to overwrite an existing file (FileExistsError): replacing a key in
    use breaks every signature until DNS follows.
    """
    pair = make_key_pair(bits)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pair.private_pem)
    return GeneratedKey(key_file, f"{selector}._domainkey.{domain}", pair.record_value)


def txt_record_lines(record: GeneratedKey) -> list[str]:
    """The record in zone-file form, split in strings of at most 255 characters."""
    chunks = [
        record.record_value[i : i + 255]
        for i in range(0, len(record.record_value), 255)
    ]
    quoted = " ".join(f'"{c}"' for c in chunks)
    return [f"{record.record_name}. IN TXT ( {quoted} )"]
