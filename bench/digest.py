"""Daily digest: enqueue every subscriber's digest, beside a naive render-per-subscriber.

One SQLite store seeded with the model discussion, N digest subscribers
(default 10,000, spread over English, Spanish and French) and P approved
posts (default 300, over the six week-one questions, a third of them replies,
200 to 1,200 characters each) in one day's window. Then, in the same run:

* shared: the production path, :func:`mailer.mailings.digests.send_due_digests`: the
  digest is planned and rendered once per language, its bodies encoded once,
  and per subscriber only the headers and the unsubscribe line are made;
* naive: the same plan, but the templates rendered and the whole message
  composed for every subscriber (``build_row`` with the full context), queued
  in the same batches.

Prints the time to enqueue every digest, digests per second, the speed-up
(target: at least 5x), and the peak resident memory of the process after each
phase (target: under 300 MB for the shared path; it runs first). Checks that
both paths queue the same message for a few subscribers. Also prints what the
shared path stored in the outbox (rows with their personal bytes, one body per
language) beside what the same digests take stored whole, one per row.

Usage: python bench/digest.py [--subscribers 10000] [--posts 300] [--naive-sample 1000]
The naive path is slow (a quarter of a second per digest at 300 posts), so by
default it is timed on the first 1,000 subscribers and scaled up linearly;
--naive-sample 0 runs it for everyone.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select

from mailer.config import parse_settings
from mailer.core.digest import plan_digest
from mailer.mailings.digests import (
    digest_context,
    post_items,
    question_items,
    send_due_digests,
)
from mailer.mailings.releases import release_questions
from mailer.outbound.bulk import (
    BATCH_BYTES,
    BATCH_ROWS,
    personal_values,
    reader_language,
)
from mailer.outbound.dates import LocalDates
from mailer.outbound.mailing import Outgoing, build_row
from mailer.runtime import Runtime, open_runtime
from store.digests import release_times
from store.models import (
    DeliveryMode,
    OutboxBody,
    OutboxMessage,
    Post,
    PostStatus,
    Question,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from store.outbox import enqueue, iter_recipients

OPENED = datetime(2027, 3, 27, 8, 0, tzinfo=UTC)
DIGEST_AT = datetime(2027, 3, 27, 17, 1, tzinfo=UTC)  # 18:01 in Zurich
WORDS = [
    "apprentices",
    "training",
    "online",
    "learners",
    "employers",
    "trainers",
    "platform",
    "mobile",
    "data",
    "workplace",
    "skills",
    "course",
    "module",
    "assessment",
    "teachers",
    "radio",
    "video",
    "rural",
    "access",
    "bandwidth",
    "certificate",
    "partnership",
    "government",
    "union",
    "provider",
    "lesson",
    "practice",
    "tutor",
    "evaluation",
    "quality",
    "distance",
    "digital",
    "support",
    "content",
]
ACCENTED = "formación aprendizaje también évaluation compétences réseau niño"


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def body(rng: random.Random) -> str:
    """A contribution of 200 to 1,200 characters in a few paragraphs."""
    size = rng.randint(200, 1200)
    paragraphs: list[str] = []
    current = ""
    total = 0
    while total < size:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16)))
        if rng.random() < 0.2:
            sentence += " " + rng.choice(ACCENTED.split())
        sentence = sentence.capitalize() + ". "
        current += sentence
        total += len(sentence)
        if rng.random() < 0.25:
            paragraphs.append(current.strip())
            current = ""
    paragraphs.append(current.strip())
    return "\n\n".join(p for p in paragraphs if p)


def seed(rt: Runtime, subscribers: int, posts: int) -> int:
    """Release week one, add the subscribers and the posts; returns the discussion id."""
    rng = random.Random(7)
    with rt.sessions.begin() as s:
        release_questions(s, rt, "skills-covid19", range(1, 7), OPENED, "bench")
    with rt.sessions.begin() as s:
        did = s.scalar(select(Question.discussion_id).limit(1))
        qids = dict(
            s.execute(
                select(Question.number, Question.id).where(
                    Question.discussion_id == did
                )
            ).all()
        )
        s.execute(
            insert(Subscriber),
            [
                {
                    "email": f"reader{i}@example.net",
                    "name": f"Reader {i}",
                    "created_at": OPENED,
                }
                for i in range(subscribers)
            ],
        )
        ids = s.scalars(select(Subscriber.id).order_by(Subscriber.id)).all()
        langs = ("en", "es", "fr")
        s.execute(
            insert(Subscription),
            [
                {
                    "discussion_id": did,
                    "subscriber_id": sid,
                    "language": langs[i % 3],
                    "mode": DeliveryMode.DIGEST,
                    "status": SubscriptionStatus.ACTIVE,
                    "created_at": OPENED,
                    "source": "import",
                    "bounce_score": 0,
                }
                for i, sid in enumerate(ids)
            ],
        )
        post_ids: list[int] = []
        for i in range(posts):
            at = OPENED + timedelta(minutes=1 + i * 500 // posts)
            parent = rng.choice(post_ids) if post_ids and i % 3 == 2 else None
            row = Post(
                discussion_id=did,
                question_id=qids[1 + i % 6],
                parent_id=parent,
                message_id=f"<bench{i}@example.net>",
                author_email=f"author{i}@example.net",
                author_name=f"Author {i}",
                organisation=rng.choice(["", "Ministry of Labour", "Skills Network"]),
                constituency=rng.choice(["", "workers", "employers", "government"]),
                body=body(rng),
                status=PostStatus.APPROVED,
                received_at=at,
                approved_at=at,
            )
            s.add(row)
            s.flush()
            post_ids.append(row.id)
    return int(did)


def naive(rt: Runtime, discussion_id: int, limit: int | None) -> tuple[int, float]:
    """Render and compose the whole digest for each subscriber; returns (count, seconds)."""
    settings, key = rt.settings, rt.key
    disc = settings.discussions[0]
    day = date(2027, 3, 27)
    start = time.perf_counter()
    with rt.sessions() as s:
        posts = post_items(s, rt, disc, discussion_id, None, DIGEST_AT)
        released = release_times(s, discussion_id)
    questions = question_items(rt, disc, released, DIGEST_AT)
    plans = {}
    count = 0
    with rt.sessions() as s:
        batch, size = [], 0
        for person in iter_recipients(s, discussion_id, [DeliveryMode.DIGEST]):
            if limit is not None and count >= limit:
                break
            lang = reader_language(disc, person.language)
            if lang not in plans:
                plans[lang] = plan_digest(
                    posts, questions, None, DIGEST_AT, lang, disc.default_language, day
                )
            context = {
                **digest_context(plans[lang], LocalDates(lang, disc.time_zone)),
                **personal_values(settings, key, person, DIGEST_AT),
            }
            out = Outgoing(
                template="digest",
                language=lang,
                to_address=person.email,
                to_name=person.name,
                dedupe_key=f"naive:{person.subscription_id}",
                kind="digest",
                context=context,
                subscription_id=person.subscription_id,
                link_generation=person.link_generation,
                as_list_mail=True,
                list_post="skills-covid19@discuss.example.org",
            )
            row = build_row(settings, key, disc, discussion_id, out, DIGEST_AT)
            batch.append(row)
            size += len(row.raw)
            count += 1
            if len(batch) >= BATCH_ROWS or size >= BATCH_BYTES:
                enqueue(s, batch, DIGEST_AT)
                s.commit()
                batch, size = [], 0
        enqueue(s, batch, DIGEST_AT)
        s.commit()
    return count, time.perf_counter() - start


def same_messages(rt: Runtime, sample: int = 6) -> int:
    """Compare the shared and naive messages of the first subscribers, part by part."""
    boundary = re.compile(rb'boundary="([^"]+)"')
    checked = 0
    with rt.sessions() as s:
        for sub_id in s.scalars(
            select(Subscription.id).order_by(Subscription.id).limit(sample)
        ):
            rows = {
                row.dedupe_key: row.whole()
                for row in s.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.subscription_id == sub_id,
                        OutboxMessage.kind == "digest",
                    )
                )
            }
            shared = rows[f"digest:skills-covid19:2027-03-27:{sub_id}"]
            plain = rows[f"naive:{sub_id}"]

            # Same but the MIME boundary and the Message-ID (from the dedupe key).
            def norm(raw: bytes) -> bytes:
                m = boundary.search(raw)
                assert m is not None
                raw = raw.replace(m.group(1), b"B")
                return re.sub(rb"Message-ID: <[^>]+>", b"Message-ID: <x>", raw)

            if norm(shared) != norm(plain):
                raise SystemExit(
                    f"shared and naive digests differ for subscription {sub_id}"
                )
            checked += 1
    return checked


@dataclass(frozen=True)
class Storage:
    """Bytes the outbox holds: rows (personal parts), bodies, and the same whole."""

    rows: int
    bodies: int
    count: int
    whole: int


def storage(rt: Runtime) -> Storage:
    """What the queued rows and their shared bodies take, and what they would whole."""
    with rt.sessions() as s:
        rows = s.scalar(select(func.sum(func.length(OutboxMessage.raw))))
        bodies, count = s.execute(
            select(func.sum(func.length(OutboxBody.content)), func.count())
        ).one()
        # A row's whole message is its own bytes plus its body's segments.
        shared = s.scalar(
            select(func.sum(func.length(OutboxBody.content))).join_from(
                OutboxMessage, OutboxBody, OutboxMessage.body_hash == OutboxBody.hash
            )
        )
    return Storage(
        int(rows or 0), int(bodies or 0), int(count), int(rows or 0) + int(shared or 0)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--naive-sample", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ediscuss-bench-") as tmp:
        raw = tomllib.loads((ROOT / "config.toml").read_text("utf-8"))
        raw["service"]["state_dir"] = f"{tmp}/var"
        raw["service"]["secret"] = "bench-secret"
        raw["database"]["url"] = f"sqlite:///{tmp}/bench.db"
        settings = parse_settings(raw, {}, Path(tmp))
        rt = open_runtime(settings, clock=lambda: DIGEST_AT, migrate=True)
        try:
            t0 = time.perf_counter()
            did = seed(rt, args.subscribers, args.posts)
            print(
                f"digest bench: {args.subscribers} subscribers (en, es, fr), "
                f"{args.posts} posts in one day, SQLite; seeded in "
                f"{time.perf_counter() - t0:.1f} s"
            )
            base_rss = peak_rss_mb()

            t0 = time.perf_counter()
            results = send_due_digests(rt, DIGEST_AT)
            fast = time.perf_counter() - t0
            fast_rss = peak_rss_mb()
            queued = sum(r.queued for r in results)
            stored = storage(rt)
            print(
                f"shared (render once per language): {queued} digests in {fast:.1f} s "
                f"({queued / fast:.0f}/s), {stored.whole / queued / 1024:.0f} KB each, "
                f"peak RSS {fast_rss:.0f} MB (before: {base_rss:.0f} MB)"
            )
            print(
                f"outbox storage: {stored.rows / 1e6:.1f} MB in {queued} rows + "
                f"{stored.bodies / 1e6:.1f} MB in {stored.count} shared bodies = "
                f"{(stored.rows + stored.bodies) / 1e6:.1f} MB; stored whole, one "
                f"per row: {stored.whole / 1e6:.1f} MB"
            )

            count, slow = naive(rt, did, args.naive_sample or None)
            naive_rss = peak_rss_mb()
            total_naive = slow * args.subscribers / count
            note = "" if count == args.subscribers else f" (timed on {count}, scaled)"
            print(
                f"naive (render per subscriber):     {args.subscribers} digests in "
                f"{total_naive:.1f} s{note} ({count / slow:.0f}/s), "
                f"peak RSS {naive_rss:.0f} MB"
            )
            print(
                f"speed-up: {total_naive / fast:.1f}x (target >= 5x); same messages: {same_messages(rt)} checked"
            )
        finally:
            rt.close()


if __name__ == "__main__":
    main()
