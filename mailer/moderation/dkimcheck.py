"""Verify a command mail's DKIM signatures with dkimpy; keys come from DNS.

The DNS lookup is a function (``dnsfunc``) so the resolver can be chosen:
the system's, or the one named by ``inbound.dkim_resolver``. A signature
counts for moderator commands only when it verifies, its ``d=`` is aligned
with the one From domain, it signs From, Subject and Message-ID (so a
captured mail cannot be replayed under a new subject or a new Message-ID),
and it has no ``l=`` body length (which would let anyone append commands
below the signed part, RFC 6376 section 8.2).

The same check proves a moderator's post (:mod:`mailer.inbound.lookups`), with
a shorter time budget: every DNS lookup of one message shares ``timeout``.

dkimpy logs an ERROR of its own when a key cannot be had (a DNS timeout, no
record, an unusable record): a normal event, for which the callers already
log one line per message. Each verification therefore hands dkimpy a logger
of its own, outside the logging tree, whose messages become the verdict's
reason instead.

dkimpy and dnspython (some 3 MB that a process keeps) are imported when a
signature is checked, not with this module: most mail is no moderator's.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import TYPE_CHECKING

from mailer.config.settings import HostPort
from mailer.core.modauth import aligned

if TYPE_CHECKING:
    import dns.resolver

log = logging.getLogger("ediscuss.moderation")

DnsFunc = Callable[..., bytes | None]
MAX_SIGNATURES = 5  # a stranger cannot make us look up keys without end
DNS_SECONDS = 5.0  # all the key lookups of one message together
REQUIRED_HEADERS = frozenset({b"from", b"subject", b"message-id"})


@dataclass(frozen=True)
class DkimVerdict:
    """Whether an aligned, complete signature verified, and which domain signed."""

    ok: bool
    domain: str = ""
    reason: str = ""


def resolver_dnsfunc(server: HostPort | None, timeout: float = 5.0) -> DnsFunc:
    """A dkimpy ``dnsfunc`` asking *server* (or the system's resolver) for TXT records."""
    import dkim
    import dns.exception
    import dns.rdatatype
    import dns.resolver

    made: list[dns.resolver.Resolver] = []

    def resolver() -> dns.resolver.Resolver:
        # Made at the first lookup, inside its try: without /etc/resolv.conf
        # the system's resolver cannot be made, and that is a DNS failure too.
        if not made:
            made.append(dns.resolver.Resolver(configure=server is None))
            if server is not None:
                made[0].nameservers = [server.host]
                made[0].port = server.port
        return made[0]

    def txt(name: bytes, timeout: float = timeout) -> bytes | None:
        try:
            answer = resolver().resolve(
                name.decode("ascii"),
                dns.rdatatype.TXT,
                lifetime=timeout,
                raise_on_no_answer=False,
            )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
            return None
        except (dns.exception.DNSException, UnicodeError) as exc:
            # A timeout, no resolver, or a name no resolver takes (a selector
            # label over 63 octets, not ASCII: the sender chose it). dkimpy
            # lets any other exception of this function through.
            raise dkim.DnsTimeoutError(f"{type(exc).__name__}: {exc}") from exc
        for rrset in answer.response.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(next(iter(rrset)).strings)
        return None

    return txt


class _DkimpyNotes(logging.Logger):
    """A logger for dkimpy that keeps its messages (warnings and worse) in ``notes``.

    Made directly, not by ``logging.getLogger``: it has no parent and no
    handler, so nothing reaches the service's log, and it goes with its
    verification.
    """

    def __init__(self) -> None:
        super().__init__("dkimpy", logging.WARNING)
        self.propagate = False
        self.notes: list[str] = []

    def handle(self, record: logging.LogRecord) -> None:
        self.notes.append(record.getMessage())


def _tags(value: bytes) -> dict[bytes, bytes]:
    tags: dict[bytes, bytes] = {}
    for part in re.sub(rb"\s+", b"", value).split(b";"):
        key, eq, val = part.partition(b"=")
        if eq:
            tags[key.lower()] = val
    return tags


def verify_dkim(
    raw: bytes, from_address: str, dnsfunc: DnsFunc, timeout: float = DNS_SECONDS
) -> DkimVerdict:
    """Check every DKIM signature of *raw* (up to a few) for one that proves From.

    Never raises for a bad message or an unreachable DNS: the answer is then
    simply "not proven", and the moderator is asked to confirm instead. The
    key lookups of all the signatures share *timeout* seconds.
    """
    import dkim

    deadline = time.monotonic() + timeout
    failures: list[str] = []
    missing: list[bytes] = []

    def lookup(name: bytes, timeout: float = timeout) -> bytes | None:
        try:
            found = dnsfunc(name, timeout=timeout)
        except dkim.DnsTimeoutError as exc:  # dkimpy only says "False" then
            failures.append(str(exc) or "timeout")
            raise
        if not found:
            missing.append(name)
        return found

    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    if len(headers.get_all("From") or []) != 1:
        return DkimVerdict(False, reason="not exactly one From header")
    from_domain = from_address.rpartition("@")[2].lower()
    signatures = headers.get_all("DKIM-Signature") or []
    if not signatures:
        return DkimVerdict(False, reason="no DKIM signature")
    reasons: list[str] = []
    for idx, value in enumerate(signatures[:MAX_SIGNATURES]):
        tags = _tags(str(value).encode("utf-8", "surrogateescape"))
        domain = tags.get(b"d", b"").decode("ascii", "replace").lower()
        signed = set(tags.get(b"h", b"").lower().split(b":"))
        if b"l" in tags:
            reasons.append(f"d={domain}: l= body length")
            continue
        if not aligned(domain, from_domain):
            reasons.append(f"d={domain}: not aligned with {from_domain}")
            continue
        if not REQUIRED_HEADERS <= signed:
            reasons.append(f"d={domain}: From, Subject and Message-ID not all signed")
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            reasons.append(f"d={domain}: DNS time spent")
            break
        notes = _DkimpyNotes()
        failures.clear()
        missing.clear()
        try:
            verifier = dkim.DKIM(raw, minkey=1024, timeout=left, logger=notes)
            ok = verifier.verify(idx=idx, dnsfunc=lookup)
        except dkim.DKIMException as exc:
            reasons.append(f"d={domain}: {exc}")
            continue
        if ok:
            return DkimVerdict(True, domain)
        if failures:
            reasons.append(f"d={domain}: DNS failed ({failures[-1]})")
        elif missing:
            name = missing[-1].decode("ascii", "replace").rstrip(".")
            reasons.append(f"d={domain}: no key in DNS at {name}")
        elif notes.notes:  # dkimpy's word on the record DNS gave
            reasons.append(f"d={domain}: unusable key ({notes.notes[-1]})")
        else:
            reasons.append(f"d={domain}: signature does not verify")
    return DkimVerdict(False, reason="; ".join(reasons) or "no usable signature")
