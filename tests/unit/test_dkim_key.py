"""Signing many copies with one key parses the key once, and the signatures verify."""

from __future__ import annotations

import dkim

from mailer.outbound.dkim import DkimSigner, make_key_pair

RAW = (
    b"From: d@discuss.example.org\r\nTo: ana@example.net\r\nSubject: hi\r\n"
    b"Message-ID: <t1@discuss.example.org>\r\n\r\nhello\r\n"
)


def test_the_key_is_parsed_once_for_many_signatures() -> None:
    pair = make_key_pair(1024)
    signer = DkimSigner("sel", "discuss.example.org", pair.private_pem)
    before = dkim.parse_pem_private_key.cache_info()
    signed = [signer.sign(RAW.replace(b"ana", f"p{i}".encode())) for i in range(5)]
    after = dkim.parse_pem_private_key.cache_info()
    assert after.misses - before.misses == 1
    assert after.hits - before.hits == 4

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"sel._domainkey.discuss.example.org."
        return pair.record_value.encode("ascii")

    assert all(dkim.verify(m, dnsfunc=dns) for m in signed)
