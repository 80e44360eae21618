"""Who may command: alignment, Authentication-Results trust, the decision."""

from __future__ import annotations

import pytest

from mailer.core.modauth import (
    AuthMethod,
    AuthOutcome,
    aligned,
    authres_dkim_pass,
    decide,
    parse_authentication_results,
    trusted_results,
)


@pytest.mark.parametrize(
    ("d", "from_domain", "ok"),
    [
        ("ilo.example.org", "ilo.example.org", True),
        ("ILO.example.org.", "ilo.example.org", True),
        ("example.org", "ilo.example.org", True),
        ("mail.ilo.example.org", "ilo.example.org", False),
        ("attacker.example", "ilo.example.org", False),
        ("xilo.example.org", "ilo.example.org", False),
        ("org", "ilo.example.org", False),
        ("", "ilo.example.org", False),
    ],
)
def test_alignment(d: str, from_domain: str, ok: bool) -> None:
    assert aligned(d, from_domain) is ok


def test_parse_rfc8601_header_with_comments_and_quotes() -> None:
    value = (
        "mx.discuss.example.org (Postfix 3.7) 1; spf=pass smtp.mailfrom=ilo.example.org;\r\n"
        ' dkim=pass (2048-bit key; unprotected) header.d=ilo.example.org header.s="sel;1"'
        " header.b=AbCd; dmarc=pass (p=reject) header.from=ilo.example.org"
    )
    parsed = parse_authentication_results(value)
    assert parsed is not None
    assert parsed.authserv_id == "mx.discuss.example.org"
    methods = {r.method: r for r in parsed.results}
    assert methods["dkim"].result == "pass"
    assert methods["dkim"].properties["header.d"] == "ilo.example.org"
    assert methods["dkim"].properties["header.s"] == "sel;1"
    none = parse_authentication_results("mx.example.org; none")
    assert none is not None and none.results == ()


def test_only_the_topmost_trusted_header_counts() -> None:
    trusted = "mx.discuss.example.org"
    headers = [
        ("Received", "from x"),
        ("Authentication-Results", f"{trusted}; dkim=fail header.d=ilo.example.org"),
        ("Authentication-Results", f"{trusted}; dkim=pass header.d=ilo.example.org"),
        ("Authentication-Results", "evil.example; dkim=pass header.d=ilo.example.org"),
    ]
    res = trusted_results(headers, trusted)
    assert res is not None and not authres_dkim_pass(res, "ilo.example.org")
    # a stranger's header under another id is never believed
    assert trusted_results(headers[3:], trusted) is None
    # nothing is believed when no trusted id is configured
    assert trusted_results(headers, "") is None


def test_authres_needs_pass_and_alignment() -> None:
    def ok(text: str) -> bool:
        return authres_dkim_pass(parse_authentication_results(text), "ilo.example.org")

    assert ok("mx; dkim=pass header.d=ilo.example.org")
    assert ok("mx; dkim=pass header.i=@ilo.example.org")
    assert ok("mx; dkim=fail header.d=ilo.example.org; dkim=pass header.d=example.org")
    assert not ok("mx; dkim=pass header.d=attacker.example")
    assert not ok("mx; dkim=neutral header.d=ilo.example.org")
    assert not ok("mx; spf=pass smtp.mailfrom=ilo.example.org")
    assert not ok("mx; dkim=pass (header.d=ilo.example.org) header.d=evil.example")


def test_decide() -> None:
    assert (
        decide(is_moderator=False, dkim_aligned=True, authres_aligned=True).outcome
        is AuthOutcome.REFUSE
    )
    run = decide(is_moderator=True, dkim_aligned=True, authres_aligned=False)
    assert (run.outcome, run.method) == (AuthOutcome.RUN, AuthMethod.DKIM)
    run = decide(is_moderator=True, dkim_aligned=False, authres_aligned=True)
    assert (run.outcome, run.method) == (AuthOutcome.RUN, AuthMethod.AUTHRES)
    ask = decide(is_moderator=True, dkim_aligned=False, authres_aligned=False)
    assert (ask.outcome, ask.method) == (AuthOutcome.CONFIRM, None)
