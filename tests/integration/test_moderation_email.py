"""Moderators by email, end to end: the service's SMTP listener on loopback, the
inbound pipeline, the store, and the mail every party finds in the outbox.

DKIM keys are made here; their public halves are served by a DNS server on
loopback (the one stub: other domains' DNS cannot be reached from a test).
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from mailer.core.modauth import AuthMethod
from mailer.core.modcommands import parse_commands
from mailer.inbound.pipeline import process_pending
from mailer.mailings import MAILING_CALLS
from mailer.moderation import Actor, run_commands
from mailer.runtime import Runtime
from store.models import Discussion, PostStatus, Token
from tests.fixtures.moderation import (
    MOD_DOMAIN,
    SLUG,
    TRUSTED_MTA,
    DkimKey,
    Listener,
    SettableClock,
    StubDns,
    command_mail,
    dkim_sign,
    outbox,
    read,
    text_of,
)
from tests.integration.moderation_setup import (
    AGGARWAL,
    COMYN,
    MODERATORS,
    MORENO,
    add_subscribers,
    audit,
    hold_three,
    post,
    process,
    question,
    release_directly,
)


def _signed(
    key: DkimKey, sender: str, body: str, subject: str = "", to: str = MODERATORS
) -> bytes:
    return dkim_sign(command_mail(sender, to, body, subject), key)


def test_dkim_signed_command_runs_at_once(
    listener: Listener, mod_runtime: Runtime, dkim_key: DkimKey, stub_dns: StubDns
) -> None:
    listener.send(_signed(dkim_key, COMYN, "release 7\n-- \nPaul\n"), MODERATORS, COMYN)
    process(mod_runtime)
    assert question(mod_runtime, 7).released_at is not None
    assert question(mod_runtime, 7).released_by == COMYN
    assert f"test2027._domainkey.{MOD_DOMAIN}" in stub_dns.queries
    [result] = outbox(mod_runtime, "mod-result")
    assert result.recipient == COMYN
    assert "Question 7 released" in text_of(result)
    assert "Paul" in text_of(result)  # the greeting, not an unknown line
    assert "Not understood" not in text_of(result)
    entry = next(a for a in audit(mod_runtime) if a.action == "release")
    assert (entry.actor, entry.target, entry.auth) == (COMYN, "q7", "dkim")


def test_forged_from_never_releases_and_the_confirmation_round_trip_does(
    listener: Listener, mod_runtime: Runtime, clock: SettableClock
) -> None:
    forged = command_mail(
        f"Paul Comyn <{COMYN}>",
        MODERATORS,
        "release 7",
        headers={"Reply-To": "attacker@evil.example", "Sender": COMYN},
    )
    listener.send(forged, MODERATORS, "attacker@evil.example")
    process(mod_runtime)
    assert question(mod_runtime, 7).released_at is None
    assert outbox(mod_runtime, "mod-result") == []
    [ask] = outbox(mod_runtime, "mod-confirm")
    assert ask.recipient == COMYN  # the configured address, never the Reply-To
    msg = read(ask)
    confirm_address = msg["Reply-To"].addresses[0].addr_spec
    assert confirm_address.startswith(f"{SLUG}-confirm+")
    assert "release 7" in text_of(ask)
    assert "attacker" not in ask.raw.decode("utf-8", "replace")

    clock.advance(minutes=20)
    reply = command_mail(
        COMYN, confirm_address, "Yes, please.\n\n> release 7\n", f"Re: {msg['Subject']}"
    )
    listener.send(reply, confirm_address, COMYN)
    process(mod_runtime)
    q7 = question(mod_runtime, 7)
    assert q7.released_at == clock.now and q7.released_by == COMYN
    [result] = outbox(mod_runtime, "mod-result")
    assert result.recipient == COMYN and "Question 7 released" in text_of(result)
    assert "confirmation" in text_of(result)
    entry = next(a for a in audit(mod_runtime) if a.action == "release")
    assert entry.auth == "confirmed"


def test_signed_commands_from_non_moderators_are_refused(
    listener: Listener,
    mod_runtime: Runtime,
    dkim_key: DkimKey,
    stranger_key: DkimKey,
    stub_dns: StubDns,
) -> None:
    stub_dns.publish("s1", "evil.example", stranger_key)
    # A stranger signs their own mail perfectly: not a moderator.
    listener.send(
        _signed_as(
            stranger_key, "mallory@evil.example", "release 7\nclose", "evil.example"
        ),
        MODERATORS,
        "mallory@evil.example",
    )
    # Someone at the moderators' own domain, signed by that domain: not a moderator either.
    listener.send(_signed(dkim_key, f"intern@{MOD_DOMAIN}", "release 8"), MODERATORS)
    # A moderator's From, signed by the stranger's domain: not aligned, so only a
    # confirmation request goes to the real moderator.
    listener.send(
        _signed_as(stranger_key, COMYN, "release 9", "evil.example"), MODERATORS
    )
    process(mod_runtime)
    for n in (7, 8, 9):
        assert question(mod_runtime, n).released_at is None
    with mod_runtime.sessions() as s:
        assert s.scalars(select(Discussion)).one().state.value != "closed"
    rows = outbox(mod_runtime)
    assert [(r.kind, r.recipient) for r in rows] == [("mod-confirm", COMYN)]
    refused = [a for a in audit(mod_runtime) if a.action == "refused"]
    assert sorted(a.actor for a in refused) == [
        f"intern@{MOD_DOMAIN}",
        "mallory@evil.example",
    ]


def _signed_as(key: DkimKey, sender: str, body: str, domain: str) -> bytes:
    return dkim_sign(
        command_mail(sender, MODERATORS, body), key, domain=domain, selector="s1"
    )


def test_stranger_authentication_results_are_ignored(
    listener: Listener, mod_runtime: Runtime
) -> None:
    forged_headers = [
        # another authserv-id saying pass
        {"Authentication-Results": f"mx.evil.example; dkim=pass header.d={MOD_DOMAIN}"},
        # the trusted id, but below the trusted MTA's own header (which found nothing)
        None,
    ]
    listener.send(
        command_mail(COMYN, MODERATORS, "release 7", headers=forged_headers[0]),
        MODERATORS,
    )
    below = command_mail(
        COMYN,
        MODERATORS,
        "release 8",
        headers={
            "Authentication-Results": f"{TRUSTED_MTA}; dkim=pass header.d={MOD_DOMAIN}"
        },
    )
    on_top = f"Authentication-Results: {TRUSTED_MTA}; dkim=none\r\n".encode()
    listener.send(on_top + below, MODERATORS)
    # a trusted-looking header that says pass for the wrong domain
    listener.send(
        f"Authentication-Results: {TRUSTED_MTA}; dkim=pass header.d=evil.example\r\n".encode()
        + command_mail(COMYN, MODERATORS, "release 9"),
        MODERATORS,
    )
    process(mod_runtime)
    for n in (7, 8, 9):
        assert question(mod_runtime, n).released_at is None
    assert len(outbox(mod_runtime, "mod-confirm")) == 3
    assert outbox(mod_runtime, "mod-result") == []


def test_trusted_mta_authentication_results_run_the_command(
    listener: Listener, mod_runtime: Runtime
) -> None:
    raw = (
        f"Authentication-Results: {TRUSTED_MTA};\r\n"
        f"  dkim=pass (2048-bit key) header.d={MOD_DOMAIN} header.s=sel\r\n".encode()
        + command_mail(COMYN, MODERATORS, "release 7")
    )
    listener.send(raw, MODERATORS)
    process(mod_runtime)
    assert question(mod_runtime, 7).released_at is not None
    assert [a.auth for a in audit(mod_runtime) if a.action == "release"] == [
        AuthMethod.AUTHRES.value
    ]


def test_l_tag_and_unsigned_subject_do_not_count(
    listener: Listener, mod_runtime: Runtime, dkim_key: DkimKey
) -> None:
    # With l=, anyone could append lines below the signed body.
    signed = dkim_sign(command_mail(COMYN, MODERATORS, "stats"), dkim_key, length=True)
    listener.send(signed + b"release 7\r\n", MODERATORS)
    # Without the subject signed, the subject could be swapped for a command.
    unsigned_subject = dkim_sign(
        command_mail(COMYN, MODERATORS, "", "release 8"),
        dkim_key,
        headers=(b"from", b"to", b"date", b"message-id"),
    )
    listener.send(unsigned_subject, MODERATORS)
    process(mod_runtime)
    assert question(mod_runtime, 7).released_at is None
    assert question(mod_runtime, 8).released_at is None
    assert len(outbox(mod_runtime, "mod-confirm")) == 2


def test_replayed_and_expired_tokens_do_nothing_and_say_so(
    listener: Listener, mod_runtime: Runtime, clock: SettableClock
) -> None:
    release_directly(mod_runtime, [1], clock.now)
    held = hold_three(listener, mod_runtime)
    listener.send(command_mail(MORENO, MODERATORS, f"approve {held[0]}"), MODERATORS)
    listener.send(command_mail(MORENO, MODERATORS, f"approve {held[1]}"), MODERATORS)
    process(mod_runtime)
    first, second = (
        read(r)["Reply-To"].addresses[0].addr_spec
        for r in outbox(mod_runtime, "mod-confirm")
    )
    # First confirmation: runs. The same token again: replay, nothing done.
    listener.send(command_mail(MORENO, first, "ok"), first)
    process(mod_runtime)
    assert post(mod_runtime, held[0]).status is PostStatus.APPROVED
    listener.send(command_mail(MORENO, first, "ok again"), first)
    process(mod_runtime)
    # The second token waits past its lifetime (subscribers.command_ttl_hours).
    clock.advance(hours=mod_runtime.settings.subscribers.command_ttl_hours, minutes=1)
    listener.send(command_mail(MORENO, second, "ok"), second)
    process(mod_runtime)
    assert post(mod_runtime, held[1]).status is PostStatus.HELD
    results = outbox(mod_runtime, "mod-result")
    texts = [text_of(r) for r in results]
    assert all(r.recipient == MORENO for r in results)
    assert read(results[0])["Content-Language"] == "es"
    assert "aprobada y publicada" in texts[0]
    assert "ya se utilizó" in texts[1]
    assert "ha caducado" in texts[2]
    assert len(results) == 3
    with mod_runtime.sessions() as s:
        tokens = list(s.scalars(select(Token).where(Token.purpose == "command")))
    assert sorted(t.used_at is not None for t in tokens) == [False, True]
    assert all(len(t.token_hash) == 64 for t in tokens)
    refused = [a.detail for a in audit(mod_runtime) if a.action == "confirm-refused"]
    assert refused == ["token used", "token expired"]


def test_two_moderators_approving_the_same_post_publish_it_once(
    listener: Listener, mod_runtime: Runtime, dkim_key: DkimKey, clock: SettableClock
) -> None:
    release_directly(mod_runtime, [1], clock.now)
    add_subscribers(
        mod_runtime,
        [("s1@example.org", "en", "each"), ("s2@example.org", "fr", "each")],
        clock.now,
    )
    target = hold_three(listener, mod_runtime)[0]
    listener.send(_signed(dkim_key, COMYN, f"approve {target}"), MODERATORS)
    listener.send(_signed(dkim_key, AGGARWAL, f"approve {target}"), MODERATORS)
    workers = [
        threading.Thread(target=process_pending, args=(mod_runtime,)) for _ in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    process(mod_runtime)
    assert post(mod_runtime, target).status is PostStatus.APPROVED
    copies = outbox(mod_runtime, "post")
    assert sorted(r.recipient for r in copies) == ["s1@example.org", "s2@example.org"]
    texts = {r.recipient: text_of(r) for r in outbox(mod_runtime, "mod-result")}
    winner = post(mod_runtime, target).moderated_by
    assert winner is not None
    loser = AGGARWAL if winner == COMYN else COMYN
    assert f"Post {target} approved and published" in texts[winner]
    assert f"Post {target} was already approved by" in texts[loser]
    handled = outbox(mod_runtime, "mod-handled")
    assert sorted(r.recipient for r in handled) == sorted(
        {AGGARWAL, COMYN, MORENO} - {winner}
    )


def test_concurrent_approvals_race_in_the_database(
    listener: Listener, mod_runtime: Runtime, clock: SettableClock
) -> None:
    """Two transactions approve at the same moment: one UPDATE matches, one publishes."""
    release_directly(mod_runtime, [1], clock.now)
    target = hold_three(listener, mod_runtime)[0]
    discussion = mod_runtime.settings.discussions[0]
    cmds = parse_commands("", f"approve {target}").commands
    first_updated = threading.Event()
    results: dict[str, list[str]] = {}

    def approve(who: str, wait: bool) -> None:
        if wait:
            first_updated.wait(10)
        with mod_runtime.sessions.begin() as s:
            lines = run_commands(
                s,
                mod_runtime,
                discussion,
                cmds,
                Actor(who, AuthMethod.CLI),
                clock.now,
                MAILING_CALLS,
            )
            if not wait:
                first_updated.set()
                time.sleep(0.5)  # the other transaction now waits on our row
        results[who] = [r.code for r in lines]

    a = threading.Thread(target=approve, args=(COMYN, False))
    b = threading.Thread(target=approve, args=(AGGARWAL, True))
    a.start()
    b.start()
    a.join(30)
    b.join(30)
    assert results == {COMYN: ["approved"], AGGARWAL: ["already"]}
    assert post(mod_runtime, target).moderated_by == COMYN
    approvals = [e for e in audit(mod_runtime) if e.action == "approve"]
    assert sorted(e.detail for e in approvals) == ["already", "done"]


def test_names_sender_and_reply_to_grant_nothing(
    listener: Listener, mod_runtime: Runtime, dkim_key: DkimKey
) -> None:
    """Identity is the From address proven by DKIM; no other header counts."""
    tricks = [
        command_mail(f'"{COMYN}" <mallory@evil.example>', MODERATORS, "release 7"),
        command_mail(
            f"Paul Comyn {COMYN} <mallory@evil.example>", MODERATORS, "release 8"
        ),
        command_mail(
            "mallory@evil.example",
            MODERATORS,
            "release 9",
            headers={"Sender": COMYN, "Reply-To": COMYN},
        ),
    ]
    for raw in tricks:
        listener.send(dkim_sign(raw, dkim_key), MODERATORS, "mallory@evil.example")
    process(mod_runtime)
    for n in (7, 8, 9):
        assert question(mod_runtime, n).released_at is None
    assert outbox(mod_runtime) == []
    refused = [a.actor for a in audit(mod_runtime) if a.action == "refused"]
    assert refused == ["mallory@evil.example"] * 3
