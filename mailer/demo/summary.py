"""The table at the end of the demonstration, read from the store and the delivered mail."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy import select

from mailer.demo.mailboxes import DemoMailboxes
from mailer.runtime import Runtime
from store.models import (
    InboundMessage,
    OutboxMessage,
    Post,
    PostStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from store.reports import report_posts

_COLUMNS = ("announce", "post", "digest", "closing")
_GROUPS = ("each", "digest", "announcements", "ended", "moderators", "others")
_GROUP_NAMES = {
    "each": "each post",
    "digest": "daily digest",
    "announcements": "announcements only",
    "ended": "left or disabled",
    "moderators": "moderators",
    "others": "not subscribed",
}


@dataclass
class Summary:
    """Counts that describe the whole run."""

    posts: Counter[str] = field(default_factory=Counter)
    held_first: int = 0
    by_question: Counter[int] = field(default_factory=Counter)
    by_language: Counter[str] = field(default_factory=Counter)
    by_constituency: Counter[str] = field(default_factory=Counter)
    people: Counter[str] = field(default_factory=Counter)
    mail: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    inbound: Counter[str] = field(default_factory=Counter)
    outbox: Counter[str] = field(default_factory=Counter)
    delivered: int = 0
    delivered_twice: int = 0


def collect(runtime: Runtime, mailboxes: DemoMailboxes) -> Summary:
    """Read the end state: posts, subscribers' mail by kind, inbox and outbox."""
    out = Summary()
    moderators = {
        m.email.lower() for d in runtime.settings.discussions for m in d.moderators
    }
    with runtime.sessions() as s:
        for status, reason in s.execute(select(Post.status, Post.hold_reason)):
            out.posts[status.value] += 1
            out.held_first += status is PostStatus.APPROVED and reason is not None
        for slug in runtime.settings.slugs:
            for post in report_posts(s, slug):
                out.by_question[post.question] += 1
                out.by_language[post.language or "?"] += 1
                if post.author_email.lower() in moderators:
                    out.by_constituency["moderator"] += 1
                else:
                    out.by_constituency[post.constituency or "not given"] += 1
        group: dict[str, str] = {}
        for email, sub_status, mode in s.execute(
            select(Subscriber.email, Subscription.status, Subscription.mode).join(
                Subscription, Subscription.subscriber_id == Subscriber.id
            )
        ):
            if sub_status is SubscriptionStatus.ACTIVE:
                group[email.lower()] = mode.value
            elif sub_status is not SubscriptionStatus.PENDING:
                group[email.lower()] = "ended"
        for email in moderators:
            group[email] = "moderators"
        members: dict[str, set[str]] = defaultdict(set)
        for recipient, kind in s.execute(
            select(OutboxMessage.recipient, OutboxMessage.kind)
        ):
            g = group.get(recipient.lower(), "others")
            out.mail[g][kind if kind in _COLUMNS else "other"] += 1
            members[g].add(recipient.lower())
        for g, who in members.items():
            out.people[g] = len(who)
        out.inbound.update(k or "?" for (k,) in s.execute(select(InboundMessage.kind)))
        out.outbox.update(st.value for (st,) in s.execute(select(OutboxMessage.state)))
    mailboxes.refresh()
    seen: Counter[tuple[str, str]] = Counter(
        (d.recipient, d.message_id) for d in mailboxes.all
    )
    out.delivered = len(mailboxes.all)
    out.delivered_twice = sum(n - 1 for n in seen.values() if n > 1)
    return out


def _counts(counter: Counter[str] | Counter[int], prefix: str = "") -> str:
    items = sorted(counter.items(), key=lambda kv: str(kv[0]).zfill(3))
    return " · ".join(f"{prefix}{k} {v}" for k, v in items)


def render(summary: Summary, out: TextIO, seconds: float, fast: bool) -> None:
    """Write the summary table."""
    w = out.write
    p = summary.posts
    w("\nSummary\n")
    w(
        f"  Contributions   {sum(p.values())} posts: {p['approved']} published, "
        f"{p['rejected']} rejected, {p['held']} still held; "
        f"{summary.held_first} of the published waited for a moderator\n"
    )
    w(f"  By question     {_counts(summary.by_question, 'Q')}\n")
    w(f"  By language     {_counts(summary.by_language)}\n")
    w(f"  By constituency {_counts(summary.by_constituency)}\n")
    w("\n  Mail received by kind of subscriber\n")
    w(
        f"    {'':22}{'people':>7}{'announce':>10}{'copies':>8}{'digests':>9}{'closing':>9}{'other':>7}\n"
    )
    for g in _GROUPS:
        if g not in summary.mail:
            continue
        m = summary.mail[g]
        w(
            f"    {_GROUP_NAMES[g]:22}{summary.people[g]:>7}{m['announce']:>10}{m['post']:>8}"
            f"{m['digest']:>9}{m['closing']:>9}{m['other']:>7}\n"
        )
    inbound = summary.inbound
    w(
        f"\n  Inbox           {sum(inbound.values())} messages received: {_counts(inbound)}\n"
    )
    w(
        f"  Outbox          {sum(summary.outbox.values())} messages: {_counts(summary.outbox)}; "
        f"{summary.delivered} delivered, {summary.delivered_twice} delivered twice\n"
    )
    pace = "without pauses" if fast else "on the compressed clock"
    w(f"\n  The scripted part took {seconds:.1f} s ({pace}).\n")
    out.flush()
