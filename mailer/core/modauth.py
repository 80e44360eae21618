"""Who may command a discussion: the rules, without the DNS and the database.

A command runs only when its sender is a configured moderator AND the mail
proves it: a DKIM signature that verifies and is aligned with the From domain
(checked by the service, or reported by the trusted MTA in its own
``Authentication-Results`` header), or else a confirmation round trip to the
moderator's configured address. A From, Sender, Reply-To or display name is
only a claim; so is any ``Authentication-Results`` header but the trusted
MTA's topmost one (RFC 8601 section 5: a receiver must ignore results it did
not add, and its MTA removes forged ones with its own authserv-id).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field


class AuthMethod(enum.StrEnum):
    """How an action was authenticated: the audit log's ``auth``, stored as the word."""

    DKIM = "dkim"
    AUTHRES = "authres"
    CONFIRMED = "confirmed"
    CLI = "cli"
    SYSTEM = "system"  # the service itself (the schedule, routing)
    NONE = "none"  # refused: nobody was proven


class AuthOutcome(enum.Enum):
    """What to do with a command mail."""

    RUN = "run"  # a moderator, proven: run the commands now
    CONFIRM = "confirm"  # a moderator by From only: ask them to confirm
    REFUSE = "refuse"  # not a moderator: do nothing, answer nobody


@dataclass(frozen=True)
class AuthDecision:
    """The outcome, and the method when the commands may run."""

    outcome: AuthOutcome
    method: AuthMethod | None = None
    reason: str = ""


@dataclass(frozen=True)
class MethodResult:
    """One ``method=result`` of an Authentication-Results header, with its properties."""

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthResults:
    """A parsed ``Authentication-Results`` header (RFC 8601)."""

    authserv_id: str
    results: tuple[MethodResult, ...]


def domain_of(address: str) -> str:
    """The lowercased domain of an addr-spec, or '' when there is none."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local:
        return ""
    return domain.strip().strip(".").lower()


def aligned(signing_domain: str, from_domain: str) -> bool:
    """Relaxed DMARC alignment: the From domain is the signing domain or below it.

    Without a public-suffix list this is a little stricter than RFC 7489's
    organisational domain (a signature by a sibling subdomain does not count),
    and a bare top-level signer never counts.
    """
    d = signing_domain.strip().strip(".").lower()
    f = from_domain.strip().strip(".").lower()
    if not d or not f or "." not in d:
        return False
    return f == d or f.endswith("." + d)


def _strip_comments(value: str) -> str:
    """Remove RFC 5322 comments (nested parentheses), keeping quoted strings."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            if depth == 0:
                out.append(ch)
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if quoted:
            out.append(ch)
            if ch == '"':
                quoted = False
            continue
        if ch == "(":
            depth += 1
            continue
        if ch == ")" and depth:
            depth -= 1
            continue
        if depth == 0:
            if ch == '"':
                quoted = True
            out.append(ch)
    return "".join(out)


def _split_outside_quotes(value: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


_PAIR = re.compile(r'([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s"]+)')


def parse_authentication_results(value: str) -> AuthResults | None:
    """Parse one header value; None when it is not a readable RFC 8601 header."""
    flat = " ".join(_strip_comments(value).split())
    pieces = _split_outside_quotes(flat, ";")
    head = pieces[0].strip().split()
    if not head:
        return None
    authserv_id = head[0].lower()
    results: list[MethodResult] = []
    for piece in pieces[1:]:
        pairs = [(k.lower(), v.strip('"')) for k, v in _PAIR.findall(piece)]
        if not pairs or "." in pairs[0][0]:
            continue
        method, result = pairs[0]
        if method == "none":
            continue
        props = {k: v for k, v in pairs[1:] if "." in k}
        results.append(MethodResult(method, result.lower(), props))
    return AuthResults(authserv_id, tuple(results))


def trusted_results(
    headers: Sequence[tuple[str, str]], trusted_authserv_id: str
) -> AuthResults | None:
    """The topmost ``Authentication-Results`` whose authserv-id is the trusted one.

    Headers are in message order (topmost first, as an MTA prepends). Only that
    one header counts; any other, above or below or under another id, is a
    stranger's claim. With no trusted id configured, nothing is believed.
    """
    wanted = trusted_authserv_id.strip().lower()
    if not wanted:
        return None
    for name, value in headers:
        if name.lower() != "authentication-results":
            continue
        parsed = parse_authentication_results(value)
        if parsed is not None and parsed.authserv_id == wanted:
            return parsed
    return None


def authres_dkim_pass(results: AuthResults | None, from_domain: str) -> bool:
    """True when the trusted results say ``dkim=pass`` for a domain aligned with From."""
    if results is None:
        return False
    for r in results.results:
        if r.method != "dkim" or r.result != "pass":
            continue
        d = r.properties.get("header.d", "")
        if not d:
            d = r.properties.get("header.i", "").rpartition("@")[2]
        if aligned(d, from_domain):
            return True
    return False


def decide(
    *, is_moderator: bool, dkim_aligned: bool, authres_aligned: bool
) -> AuthDecision:
    """Combine the checks: who the From claims to be, and what proves it."""
    if not is_moderator:
        return AuthDecision(AuthOutcome.REFUSE, None, "sender is not a moderator")
    if dkim_aligned:
        return AuthDecision(AuthOutcome.RUN, AuthMethod.DKIM)
    if authres_aligned:
        return AuthDecision(AuthOutcome.RUN, AuthMethod.AUTHRES)
    return AuthDecision(
        AuthOutcome.CONFIRM, None, "no aligned DKIM signature: confirmation needed"
    )
