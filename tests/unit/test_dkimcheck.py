"""DKIM verification of command mail with dkimpy, keys from a dict instead of DNS."""

from __future__ import annotations

import dkim

from mailer.moderation.dkimcheck import DnsFunc, verify_dkim
from tests.fixtures.moderation import (
    MOD_DOMAIN,
    SELECTOR,
    DkimKey,
    command_mail,
    dkim_sign,
)

COMYN = f"comyn@{MOD_DOMAIN}"
TO = "skills-covid19-moderators@discuss.example.org"


def _dns(key: DkimKey) -> DnsFunc:
    records = {f"{SELECTOR}._domainkey.{MOD_DOMAIN}.".encode(): key.txt}

    def txt(name: bytes, timeout: float = 5) -> bytes | None:
        return records.get(name)

    return txt


def test_a_good_aligned_signature_verifies(dkim_key: DkimKey) -> None:
    raw = dkim_sign(command_mail(COMYN, TO, "release 7"), dkim_key)
    verdict = verify_dkim(raw, COMYN, _dns(dkim_key))
    assert verdict.ok and verdict.domain == MOD_DOMAIN


def test_a_changed_body_or_subject_breaks_it(dkim_key: DkimKey) -> None:
    raw = dkim_sign(command_mail(COMYN, TO, "stats", "hello"), dkim_key)
    assert not verify_dkim(raw.replace(b"stats", b"close"), COMYN, _dns(dkim_key)).ok
    assert not verify_dkim(raw.replace(b"hello", b"close"), COMYN, _dns(dkim_key)).ok


def test_another_key_in_dns_fails(dkim_key: DkimKey, stranger_key: DkimKey) -> None:
    raw = dkim_sign(command_mail(COMYN, TO, "release 7"), stranger_key)
    assert not verify_dkim(raw, COMYN, _dns(dkim_key)).ok


def test_what_does_not_count(dkim_key: DkimKey) -> None:
    dns = _dns(dkim_key)
    mail = command_mail(COMYN, TO, "release 7")
    with_length = dkim_sign(mail, dkim_key, length=True)
    assert "l= body length" in verify_dkim(with_length, COMYN, dns).reason
    no_mid = dkim_sign(mail, dkim_key, headers=(b"from", b"subject", b"to"))
    assert "not all signed" in verify_dkim(no_mid, COMYN, dns).reason
    other_from = "boss@elsewhere.example"
    assert (
        "not aligned"
        in verify_dkim(
            dkim_sign(command_mail(other_from, TO, "x"), dkim_key),
            other_from,
            dns,
        ).reason
    )
    two_froms = dkim_sign(mail, dkim_key).replace(
        b"To:", b"From: boss@elsewhere.example\r\nTo:", 1
    )
    assert not verify_dkim(two_froms, COMYN, dns).ok
    assert verify_dkim(mail, COMYN, dns).reason == "no DKIM signature"


def test_unreachable_dns_is_not_proof_and_no_crash(dkim_key: DkimKey) -> None:
    def down(name: bytes, timeout: float = 5) -> bytes | None:
        raise dkim.DnsTimeoutError("no answer")

    raw = dkim_sign(command_mail(COMYN, TO, "release 7"), dkim_key)
    assert not verify_dkim(raw, COMYN, down).ok
    assert not verify_dkim(b"\xff\xfe garbage", COMYN, down).ok
