"""A moderator's full day by email, through the SMTP listener and the pipeline.

Morning: week 1 is open and four strangers have written (held): each moderator
hears of the first at once and of the other three in one summary. Paul releases
week 2; Pedro approves three posts, by replying to the notice and writing to
the addresses in his summary; Ashwani
rejects one with a reason; Paul asks for stats, then closes the discussion.
Then every party's mail is read from the outbox, as their clients would.
"""

from __future__ import annotations

from collections import Counter
from email.message import EmailMessage

from sqlalchemy import select

from mailer.core.addresses import AddressBook
from mailer.links import held_post_address
from mailer.mailings.releases import release_questions
from mailer.moderation import send_held_summaries
from mailer.runtime import Runtime
from store.models import Discussion, DiscussionState, OutboxMessage, PostStatus
from tests.fixtures.moderation import (
    DOMAIN,
    SLUG,
    DkimKey,
    Listener,
    SettableClock,
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
    contribution,
    held_posts,
    post,
    process,
    question,
)

STRANGERS = [
    (
        "ana@example.net",
        "Ana Ruiz",
        1,
        "En nuestra región la formación en empresas se detuvo en marzo.",
    ),
    (
        "bo@example.com",
        "Bo Lin",
        2,
        "We moved all theory lessons to a video platform in a week.",
    ),
    (
        "chloe@example.fr",
        "Chloé Martin",
        3,
        "Beaucoup d'apprentis n'ont pas d'ordinateur à la maison.",
    ),
    (
        "dan@example.org",
        "Dan Seller",
        1,
        "Buy our course bundle today, 50% off for your whole team!",
    ),
]
SUBSCRIBERS = [
    ("s-en@example.org", "en", "each"),
    ("s-es@example.org", "es", "each"),
    ("s-fr@example.org", "fr", "digest"),
    ("s-ann@example.org", "en", "announcements"),
]


def _by_recipient(rows: list[OutboxMessage]) -> dict[str, list[OutboxMessage]]:
    found: dict[str, list[OutboxMessage]] = {}
    for row in rows:
        found.setdefault(row.recipient, []).append(row)
    return found


def _reply_to(msg: EmailMessage) -> str:
    return str(msg["Reply-To"].addresses[0].addr_spec)


def test_a_moderators_full_day_by_email(
    listener: Listener,
    mod_runtime: Runtime,
    dkim_key: DkimKey,
    clock: SettableClock,
) -> None:
    rt = mod_runtime
    add_subscribers(rt, SUBSCRIBERS, clock.now)
    with rt.sessions.begin() as s:  # the scheduler opened week 1 last week
        release_questions(s, rt, SLUG, [1, 2, 3, 4, 5, 6], clock.now, "scheduler")
    for address, name, number, text in STRANGERS:
        listener.send(
            contribution(address, name, number, text + "\n"),
            f"{SLUG}+q{number}@{DOMAIN}",
        )
    process(rt)
    held = {p.author_email: p.id for p in held_posts(rt)}
    assert sorted(held) == sorted(a for a, *_ in STRANGERS)
    # The four arrived together: the first is noticed at once, the other
    # three wait for each moderator's summary, a window later.
    notices = outbox(rt, "mod-held")
    assert Counter(r.recipient for r in notices) == {AGGARWAL: 1, COMYN: 1, MORENO: 1}
    first = held["ana@example.net"]
    assert all(f" {first} " in read(r)["Subject"] for r in notices)
    clock.advance(minutes=29)
    assert send_held_summaries(rt, clock.now) == 0
    clock.advance(minutes=1)
    assert send_held_summaries(rt, clock.now) == 3
    assert send_held_summaries(rt, clock.now) == 0  # once
    summaries = outbox(rt, "mod-summary")
    assert Counter(r.recipient for r in summaries) == {
        AGGARWAL: 1,
        COMYN: 1,
        MORENO: 1,
    }
    pedros = next(r for r in summaries if r.recipient == MORENO)
    assert " ".join(read(pedros)["Subject"].split()).endswith(
        "3 aportaciones nuevas retenidas, 1 aún en espera"
    )
    book = AddressBook(SLUG, DOMAIN)
    for address, pid in held.items():
        entry = held_post_address(book, rt.key, pid)
        assert (entry in text_of(pedros)) is True, address
    start = max(r.id for r in outbox(rt))

    def signed(sender: str, body: str, subject: str = "", to: str = MODERATORS) -> None:
        raw = dkim_sign(
            command_mail(sender, to, body, subject, date=clock.now), dkim_key
        )
        listener.send(raw, to)
        process(rt)
        clock.advance(minutes=30)

    # 09:00 Paul releases week 2 (subject only).
    clock.advance(minutes=30)
    signed(COMYN, "", "release week 2")
    assert all(question(rt, n).released_at is not None for n in (7, 8, 9, 10, 11))

    # 09:30 Pedro approves Ana's post by answering its notice, and two more by
    # writing to their addresses in his summary.
    notice = next(r for r in notices if r.recipient == MORENO)
    msg = read(notice)
    quoted = "\n".join("> " + line for line in text_of(notice).splitlines())
    body = (
        f"approve\n\nEl lun., 30 mar. 2027, Skills <x@{DOMAIN}> escribió:\n{quoted}\n"
    )
    signed(MORENO, body, f"Re: {msg['Subject']}", to=_reply_to(msg))
    quoted = "\n".join("> " + line for line in text_of(pedros).splitlines())
    for address in ("bo@example.com", "chloe@example.fr"):
        to = held_post_address(book, rt.key, held[address])
        body = f"approve\n\nEl lun., 30 mar. 2027, Skills <x@{DOMAIN}> escribió:\n{quoted}\n"
        signed(MORENO, body, f"Re: {read(pedros)['Subject']}", to=to)

    # 11:00 Ashwani rejects the advertisement, with a reason.
    reason = "Advertising is not allowed (community guidelines)"
    signed(AGGARWAL, f"reject {held['dan@example.org']} {reason}")

    # 11:30 Paul asks for the numbers, 12:00 he closes the discussion.
    signed(COMYN, "stats")
    signed(COMYN, "close\n-- \nPaul Comyn, ILO")

    # The store says what happened.
    statuses = {a: post(rt, pid).status for a, pid in held.items()}
    assert statuses == {
        "ana@example.net": PostStatus.APPROVED,
        "bo@example.com": PostStatus.APPROVED,
        "chloe@example.fr": PostStatus.APPROVED,
        "dan@example.org": PostStatus.REJECTED,
    }
    assert post(rt, held["ana@example.net"]).moderated_by == MORENO
    with rt.sessions() as s:
        assert s.scalars(select(Discussion)).one().state is DiscussionState.CLOSED
    actions = [(e.actor, e.action, e.auth) for e in audit(rt) if e.actor != "scheduler"]
    assert actions == [
        (COMYN, "release", "dkim"),
        (MORENO, "approve", "dkim"),
        (MORENO, "approve", "dkim"),
        (MORENO, "approve", "dkim"),
        (AGGARWAL, "reject", "dkim"),
        (COMYN, "stats", "dkim"),
        (COMYN, "close", "dkim"),
    ]

    # Every party's mail of the day.
    day = [r for r in outbox(rt) if r.id > start]
    mail = _by_recipient(day)
    kinds = {who: Counter(r.kind for r in rows) for who, rows in mail.items()}

    # Paul: three results, four "handled" notices (Pedro's approvals, Ashwani's rejection).
    assert kinds[COMYN] == {"mod-result": 3, "mod-handled": 4}
    paul = [text_of(r) for r in mail[COMYN] if r.kind == "mod-result"]
    assert [f"Question {n} released" in paul[0] for n in (7, 8, 9, 10, 11)] == [
        True
    ] * 5
    assert "Posts: 4 (approved 3, rejected 1)" in paul[1]
    assert "total 4; by status: active 4" in paul[1]
    assert f"{AGGARWAL} reject post:{held['dan@example.org']} (dkim)" in paul[1]
    assert "The discussion is closed." in paul[2]
    assert "Not understood" not in "".join(paul)
    # Pedro, in Spanish: three results, and Ashwani's rejection.
    assert kinds[MORENO] == {"mod-result": 3, "mod-handled": 1}
    for row in mail[MORENO]:
        assert read(row)["Content-Language"] == "es"
        assert read(row)["Auto-Submitted"] in ("auto-replied", "auto-generated")
    pedro = [text_of(r) for r in mail[MORENO] if r.kind == "mod-result"]
    assert all("aprobada y publicada" in t for t in pedro)
    assert all("> approve" in t and "No entendido" not in t for t in pedro)
    # Ashwani: one result, three "handled" notices threaded under his held notices.
    assert kinds[AGGARWAL] == {"mod-result": 1, "mod-handled": 3}
    for row in mail[AGGARWAL]:
        if row.kind == "mod-handled":
            parent = read(row)["In-Reply-To"]
            assert parent in {
                read(n)["Message-ID"]
                for n in notices + summaries
                if n.recipient == AGGARWAL
            }
    ashwani = next(r for r in mail[AGGARWAL] if r.kind == "mod-result")
    assert "the author is told why" in " ".join(text_of(ashwani).split())
    # Dan learns why, in his language; the approved authors get no rejection.
    [rejection] = mail["dan@example.org"]
    assert rejection.kind == "post-rejected" and reason in text_of(rejection)
    assert read(rejection)["Subject"].endswith("Your contribution was not published")
    for address in ("ana@example.net", "bo@example.com", "chloe@example.fr"):
        assert all(r.kind != "post-rejected" for r in mail.get(address, []))
    # Subscribers: each-mode copies of the three approved posts, the week-2
    # announcement and the closing, in their languages; nothing for the spam.
    assert kinds["s-en@example.org"] == {"post": 3, "announce": 1, "closing": 1}
    assert kinds["s-es@example.org"] == {"post": 3, "announce": 1, "closing": 1}
    assert kinds["s-fr@example.org"] == {"announce": 1, "closing": 1}
    assert kinds["s-ann@example.org"] == {"announce": 1, "closing": 1}
    for row in mail["s-es@example.org"]:
        assert read(row)["Content-Language"] == "es"
    copies = " ".join(text_of(r) for r in mail["s-en@example.org"] if r.kind == "post")
    assert "video platform" in copies and "Buy our course" not in copies
    assert set(mail) == {
        COMYN,
        MORENO,
        AGGARWAL,
        "dan@example.org",
        "s-en@example.org",
        "s-es@example.org",
        "s-fr@example.org",
        "s-ann@example.org",
    }
