"""A simulated week of the model discussion, driven by a clock the test moves.

From the day before it opens to the release of week two: the opening
announcement, posts every day, a question released early by a moderator,
seven digests across the change to summer time on 28 March 2027, a restart in
the middle, every round fired twice, and the exact mails each kind of
subscriber received, read back from the outbox.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from mailer.core.modauth import AuthMethod
from mailer.core.schedule import ReleaseOutcome
from mailer.core.tokens import SignedFor, verify_token
from mailer.links import question_message_id
from mailer.mailings.due import run_due
from mailer.mailings.releases import release_questions
from mailer.runtime import Runtime, open_runtime
from store.models import DeliveryMode, SubscriptionStatus
from tests.fixtures.schedule import (
    SLUG,
    WEEK_POSTS,
    MovableClock,
    SentMail,
    add_post,
    outbox,
    subscribe,
)

DOMAIN = "discuss.example.org"
START = datetime(2027, 3, 26, 12, 5, tzinfo=UTC)
END = datetime(2027, 4, 3, 18, 0, tzinfo=UTC)
STEP = timedelta(hours=1)
EARLY_Q7 = datetime(2027, 4, 2, 8, 5, tzinfo=UTC)  # 10:05 in Zurich
RESTART = datetime(2027, 3, 30, 12, 5, tzinfo=UTC)

READERS = {
    # address: (language, mode, status)
    "ana@example.net": ("en", DeliveryMode.DIGEST, SubscriptionStatus.ACTIVE),
    "beto@example.net": ("es", DeliveryMode.DIGEST, SubscriptionStatus.ACTIVE),
    "claire@example.net": ("fr", DeliveryMode.DIGEST, SubscriptionStatus.ACTIVE),
    "joao@example.net": ("pt", DeliveryMode.DIGEST, SubscriptionStatus.ACTIVE),
    "eve@example.net": ("en", DeliveryMode.EACH, SubscriptionStatus.ACTIVE),
    "andre@example.net": ("fr", DeliveryMode.ANNOUNCEMENTS, SubscriptionStatus.ACTIVE),
    "pat@example.net": ("en", DeliveryMode.DIGEST, SubscriptionStatus.PENDING),
    "gus@example.net": ("en", DeliveryMode.DIGEST, SubscriptionStatus.UNSUBSCRIBED),
}
DIGEST_DAYS = [f"2027-03-{d}" for d in range(27, 32)] + ["2027-04-01", "2027-04-02"]


def simulate(rt: Runtime, clock: MovableClock) -> tuple[Runtime, dict[int, int]]:
    """Run the week; returns the runtime in use at the end and post ids by index."""
    post_ids: dict[int, int] = {}
    pending = sorted(range(len(WEEK_POSTS)), key=lambda i: WEEK_POSTS[i].at)
    t = START
    while t <= END:
        clock.set(t)
        while pending and WEEK_POSTS[pending[0]].at <= t:
            i = pending.pop(0)
            p = WEEK_POSTS[i]
            post_ids[i] = add_post(
                rt,
                p.question,
                p.at.astimezone(UTC),
                author=p.author,
                organisation=p.organisation,
                constituency=p.constituency,
                body=p.body,
                parent=post_ids[p.reply_to] if p.reply_to is not None else None,
            )
        if t == EARLY_Q7:
            with rt.sessions.begin() as s:
                result = release_questions(
                    s,
                    rt,
                    SLUG,
                    [7, 99],
                    t,
                    "comyn@ilo.example.org",
                    auth=AuthMethod.DKIM,
                )
            assert result.outcome(7) is ReleaseOutcome.RELEASED
            assert result.outcome(99) is ReleaseOutcome.NO_SUCH_QUESTION
        if t == RESTART:
            settings = rt.settings
            rt.close()
            rt = open_runtime(settings, clock=clock, migrate=True)
        done = run_due(rt, t)
        if done.releases or done.closes or done.digests:
            again = run_due(rt, t)  # a second node, or the job firing twice
            assert not (again.releases or again.closes) and all(
                d.queued == 0 for d in again.digests
            )
        t += STEP
    return rt, post_ids


def by_recipient(mails: list[SentMail]) -> dict[str, list[SentMail]]:
    out: dict[str, list[SentMail]] = defaultdict(list)
    for m in mails:
        out[m.recipient].append(m)
    return out


def test_a_week_of_the_model_discussion(
    sim_runtime: Runtime, sim_clock: MovableClock
) -> None:
    subs = {
        email: subscribe(
            sim_runtime, email, language=lang, mode=mode, status=status, name="Reader"
        )
        for email, (lang, mode, status) in READERS.items()
    }
    rt, post_ids = simulate(sim_runtime, sim_clock)
    try:
        mails = by_recipient(outbox(rt))
        kinds = {who: [(m.kind, m.key) for m in ms] for who, ms in mails.items()}

        # Nobody unconfirmed or gone hears anything.
        assert "pat@example.net" not in mails and "gus@example.net" not in mails

        def announcements(who: str) -> list[str]:
            sub = subs[who]
            return [
                f"announce:{SLUG}:1,2,3,4,5,6:{sub}",
                f"announce:{SLUG}:7:{sub}",
                f"announce:{SLUG}:8,9,10,11:{sub}",
            ]

        # Each- and announcement-mode readers: the three announcements, no digest.
        for who in ("eve@example.net", "andre@example.net"):
            assert [k for _, k in kinds[who]] == announcements(who)
        # Digest readers: the announcements and exactly seven digests, in order.
        for who in ("ana@example.net", "beto@example.net", "claire@example.net"):
            sub = subs[who]
            expected = announcements(who)[:1]
            expected += [f"digest:{SLUG}:{d}:{sub}" for d in DIGEST_DAYS[:6]]
            expected += [announcements(who)[1], f"digest:{SLUG}:2027-04-02:{sub}"]
            expected += [announcements(who)[2]]
            assert [k for _, k in kinds[who]] == expected, who

        check_announcements(mails, subs)
        check_digests(rt, mails, post_ids)
    finally:
        rt.close()


def check_announcements(mails: dict[str, list[SentMail]], subs: dict[str, int]) -> None:
    opening = {who: ms[0] for who, ms in mails.items()}
    assert opening["ana@example.net"].subject == (
        "[skills-covid19] The discussion is open: 6 questions for week 1"
    )
    assert opening["beto@example.net"].subject == (
        "[skills-covid19] Comienza el debate: 6 preguntas de la semana 1"
    )
    assert opening["claire@example.net"].subject == (
        "[skills-covid19] La discussion est ouverte : 6 questions pour la semaine 1"
    )
    # Portuguese is not offered: the discussion's default, English.
    assert opening["joao@example.net"].subject == opening["ana@example.net"].subject
    assert opening["joao@example.net"].message["Content-Language"] == "en"
    for who, m in opening.items():
        text = m.text
        for n in range(1, 7):
            assert f"skills-covid19+q{n}@{DOMAIN}" in text, who
        assert m.message["Reply-To"] is None  # six questions, six addresses
        assert m.message["List-Post"] == f"<mailto:{SLUG}@{DOMAIN}>"
        token = m.message["List-Unsubscribe"].split("/unsubscribe/")[1].split(">")[0]
        # <subscription in base 36>-<generation>-<day>.<signature>
        assert int(token.split("-")[0], 36) == subs[who]
        sent = parsedate_to_datetime(m.message["Date"])
        assert sent == datetime(2027, 3, 27, 8, 5, tzinfo=UTC)  # 09:00 CET, next round
    assert "Write to: skills-covid19+q1@" in opening["ana@example.net"].text
    assert "Escriba a: skills-covid19+q1@" in opening["beto@example.net"].text
    assert "This discussion invites government representatives" in (
        opening["ana@example.net"].text
    )

    q7 = {
        who: next(m for m in ms if m.key.startswith(f"announce:{SLUG}:7:"))
        for who, ms in mails.items()
    }
    en = q7["ana@example.net"]
    assert en.subject.startswith("[skills-covid19] New question 7: What new and")
    assert en.message["Reply-To"] == f"skills-covid19+q7@{DOMAIN}"
    assert en.message["References"] == question_message_id(DOMAIN, SLUG, 7)
    assert q7["claire@example.net"].subject.startswith(
        "[skills-covid19] Nouvelle question 7 : Quelles approches nouvelles"
    )

    week2 = [m for ms in mails.values() for m in ms if ":8,9,10,11:" in m.key]
    assert len(week2) == 6
    for m in week2:
        assert all(f"+q{n}@" in m.text for n in (8, 9, 10, 11))
        assert "+q7@" not in m.text  # already announced on its own
        assert parsedate_to_datetime(m.message["Date"]) == datetime(
            2027, 4, 3, 7, 5, tzinfo=UTC
        )  # 09:00 CEST, next round
    subjects = {m.message["Content-Language"]: m.subject for m in week2}
    assert subjects == {
        "en": "[skills-covid19] Week 2: 4 new questions",
        "es": "[skills-covid19] Semana 2: 4 nuevas preguntas",
        "fr": "[skills-covid19] Semaine 2 : 4 nouvelles questions",
    }


def expected_windows() -> dict[str, list[int]]:
    """Which posts (by index) each day's digest carries: 18:00 Zurich to 18:00 Zurich."""
    out: dict[str, list[int]] = {}
    for day in DIGEST_DAYS:
        y, m, d = map(int, day.split("-"))
        until = WEEK_POSTS[0].at.replace(year=y, month=m, day=d, hour=18, minute=0)
        since = until - timedelta(days=1)
        out[day] = [
            i
            for i, p in enumerate(WEEK_POSTS)
            if (day == DIGEST_DAYS[0] or p.at >= since) and p.at < until
        ]
    return out


def check_digests(
    rt: Runtime, mails: dict[str, list[SentMail]], post_ids: dict[int, int]
) -> None:
    windows = expected_windows()
    assert [len(windows[d]) for d in DIGEST_DAYS] == [3, 3, 2, 1, 2, 1, 3]
    digests = {
        who: {m.key.split(":")[2]: m for m in ms if m.kind == "digest"}
        for who, ms in mails.items()
    }
    en = digests["ana@example.net"]
    assert en["2027-03-28"].subject == (
        "[skills-covid19] Digest for 28 March 2027: 3 new contributions"
    )
    assert en["2027-03-30"].subject == (
        "[skills-covid19] Digest for 30 March 2027: 1 new contribution"
    )
    assert digests["beto@example.net"]["2027-03-28"].subject == (
        "[skills-covid19] Resumen del 28 de marzo de 2027: 3 nuevas aportaciones"
    )
    assert digests["claire@example.net"]["2027-03-28"].subject == (
        "[skills-covid19] Résumé du 28 mars 2027 : 3 nouvelles contributions"
    )
    # The digest hour follows the clocks: 17:00 UTC in winter, 16:00 in summer
    # (sent at the first round after it: the simulation steps hourly at :05).
    sent = {day: parsedate_to_datetime(m.message["Date"]) for day, m in en.items()}
    assert sent["2027-03-27"] == datetime(2027, 3, 27, 17, 5, tzinfo=UTC)
    assert sent["2027-03-28"] == datetime(2027, 3, 28, 16, 5, tzinfo=UTC)
    assert sent["2027-04-02"] == datetime(2027, 4, 2, 16, 5, tzinfo=UTC)

    reply_re = re.compile(r"skills-covid19\+r-([a-z0-9.-]+)@")
    for who in ("ana@example.net", "beto@example.net", "claire@example.net"):
        for day, mail in digests[who].items():
            text = mail.text
            carried = sorted(
                int(verify_token(rt.key, SignedFor.REPLY, tok))
                for tok in reply_re.findall(text)
            )
            assert carried == sorted(post_ids[i] for i in windows[day]), (who, day)
            for i in windows[day]:
                assert f"/d/{SLUG}/posts/{post_ids[i]}" in text
                assert WEEK_POSTS[i].author in text
            assert mail.html is not None and "<!DOCTYPE html>" in mail.html
            assert mail.message.get_content_type() == "multipart/alternative"
            parts = [p.get_content_type() for p in mail.message.iter_parts()]
            assert parts == ["text/plain", "text/html"]
            long_lines = [
                line
                for line in text.splitlines()
                if len(line) > 72 and "@" not in line and "http" not in line
            ]
            assert long_lines == [], (who, day)

    # Question order, threading and the reply to a post of the day before.
    day28 = en["2027-03-28"].text
    q1, q2 = day28.index("QUESTION 1:"), day28.index("QUESTION 2:")
    assert q1 < q2
    assert "* Lucía Gómez (Individual)\n  28 Mar, 12:10, in reply to Tom Baker" in day28
    assert "\n  * Tom Baker (Federation of Small Businesses, Employers'" in day28
    assert day28.index("* Priya Nair") < day28.index("  * Tom Baker")
    # Open questions are in the header, in the reader's language.
    es28 = digests["beto@example.net"]["2027-03-28"].text
    assert "PREGUNTAS ABIERTAS" in es28 and "¿Qué recursos se están utilizando" in es28
    fr = digests["claire@example.net"]["2027-04-02"].text
    assert "Q7." in fr and "skills-covid19+q7@" in fr  # released early that day
    assert "Q8." not in fr
    # Portuguese readers get the default language, English.
    pt = digests["joao@example.net"]["2027-03-28"]
    assert (
        pt.message["Content-Language"] == "en"
        and pt.subject == en["2027-03-28"].subject
    )
