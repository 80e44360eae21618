"""DKIM verification of command mail with dkimpy, keys from a dict instead of DNS."""

from __future__ import annotations

import logging
import time

import dkim
import dns.resolver
import pytest

from mailer.config.settings import HostPort
from mailer.moderation.dkimcheck import DnsFunc, resolver_dnsfunc, verify_dkim
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


def test_all_the_lookups_of_one_mail_share_the_time_budget(dkim_key: DkimKey) -> None:
    asked: list[float] = []

    def slow(name: bytes, timeout: float = 5) -> bytes | None:
        asked.append(timeout)
        time.sleep(0.2)
        raise dkim.DnsTimeoutError("no answer")

    raw = dkim_sign(command_mail(COMYN, TO, "release 7"), dkim_key)
    for _ in range(4):  # four aligned signatures: four lookups without a budget
        raw = dkim_sign(raw, dkim_key)
    verdict = verify_dkim(raw, COMYN, slow, timeout=0.5)
    assert not verdict.ok
    assert 1 <= len(asked) < 5 and all(t <= 0.5 for t in asked), asked
    assert asked == sorted(asked, reverse=True)  # what is left, each time less
    assert "DNS failed (no answer)" in verdict.reason
    assert verdict.reason.endswith("DNS time spent")


def test_a_name_no_resolver_takes_is_no_key_not_an_error(dkim_key: DkimKey) -> None:
    # Nobody listens there: the name is refused before any query is sent.
    dns = resolver_dnsfunc(HostPort("127.0.0.1", 9), timeout=0.5)
    raw = dkim_sign(command_mail(COMYN, TO, "release 7"), dkim_key, selector="s" * 64)
    verdict = verify_dkim(raw, COMYN, dns, timeout=0.5)
    assert not verdict.ok and "LabelTooLong" in verdict.reason


def test_no_system_resolver_is_not_proof_and_no_crash(
    dkim_key: DkimKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_file(self: dns.resolver.Resolver, filename: str = "") -> None:
        raise dns.resolver.NoResolverConfiguration  # no /etc/resolv.conf

    # A machine without /etc/resolv.conf (a bare container).
    monkeypatch.setattr(dns.resolver.Resolver, "read_resolv_conf", no_file)
    dns_func = resolver_dnsfunc(None)
    raw = dkim_sign(command_mail(COMYN, TO, "release 7"), dkim_key)
    verdict = verify_dkim(raw, COMYN, dns_func)
    assert not verdict.ok and "NoResolverConfiguration" in verdict.reason


def test_a_key_dns_cannot_give_is_our_reason_not_a_dkimpy_error(
    dkim_key: DkimKey, caplog: pytest.LogCaptureFixture
) -> None:
    def down(name: bytes, timeout: float = 5) -> bytes | None:
        raise dkim.DnsTimeoutError("no answer")

    def nothing(name: bytes, timeout: float = 5) -> bytes | None:
        return None

    def broken(name: bytes, timeout: float = 5) -> bytes | None:
        return b"v=DKIM1; k=rsa; p=AAAA"

    raw = dkim_sign(command_mail(COMYN, TO, "release 7"), dkim_key)
    with caplog.at_level(logging.DEBUG):
        reasons = [
            verify_dkim(raw, COMYN, dns).reason for dns in (down, nothing, broken)
        ]
    assert reasons[0] == f"d={MOD_DOMAIN}: DNS failed (no answer)"
    assert reasons[1] == (
        f"d={MOD_DOMAIN}: no key in DNS at {SELECTOR}._domainkey.{MOD_DOMAIN}"
    )
    assert reasons[2].startswith(f"d={MOD_DOMAIN}: unusable key (")
    assert caplog.records == []  # the callers log the reason, once per message


def test_dkimpys_own_logger_is_left_as_it_was(dkim_key: DkimKey) -> None:
    raw = dkim_sign(command_mail(COMYN, TO, "release 7"), dkim_key)
    shared = logging.getLogger("dkimpy")
    before = (shared.level, shared.propagate, list(shared.handlers))
    assert verify_dkim(raw, COMYN, _dns(dkim_key)).ok
    assert (shared.level, shared.propagate, list(shared.handlers)) == before
