"""Daily digests: the due window, one plan and one rendering per language, one mail each.

:func:`send_due_digests` is what the scheduler calls. A digest run is started
in the store first (its window fixed there), then every digest subscriber gets
``digest:<slug>:<label>:<subscription>``, queued in batches that commit as they
go; the run is marked finished at the end. Fired twice, on two nodes, or again
after a crash half-way, each subscriber still gets one digest for the day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings
from mailer.config.timetable import calendar_of, load_state
from mailer.core.addresses import AddressBook
from mailer.core.digest import DigestPlan, PostItem, QuestionItem, plan_digest
from mailer.core.errors import RoundStopped
from mailer.core.schedule import DigestWindow, digest_instant, due_digest
from mailer.links import post_url, question_url, reply_address
from mailer.mailings.listmail import ListMail, queue_list_mail
from mailer.outbound.bulk import normalise_text, reader_language
from mailer.outbound.dates import LocalDates
from mailer.outbound.digest_size import FittedDigest, compose_digest
from mailer.outbound.mailing import base_context, templates_for
from store.digests import (
    approved_posts,
    finish_run,
    release_times,
    run_by_label,
    start_run,
)
from store.models import DeliveryMode

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.digest")

PREVIEW_UNSUBSCRIBE = "/unsubscribe/(personal-link)"
PREVIEW_MANAGE = "/manage/(personal-link)"


@dataclass(frozen=True)
class DigestResult:
    """One digest run: its label, how many posts it carried and mails it queued."""

    slug: str
    label: str
    posts: int
    queued: int


@dataclass(frozen=True)
class DigestPreview:
    """A digest as readers of one language receive it (personal link left generic),
    and its size: the widest reader's copy, within ``digest.max_bytes`` or not."""

    subject: str
    text: str
    html: str | None
    language: str
    posts: int
    size: int  # bytes of the widest reader's copy, before DKIM signing
    limit: int  # digest.max_bytes
    abridged: int  # entries showing only their first lines
    fits: bool


def digest_context(plan: DigestPlan, dates: LocalDates) -> dict[str, Any]:
    """What the digest templates receive besides the discussion's texts."""
    return {"plan": plan, "dates": dates}


def post_items(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    discussion_id: int,
    since: datetime | None,
    until: datetime,
) -> list[PostItem]:
    """The approved posts of a window, with their signed reply addresses and links."""
    s = runtime.settings.service
    book = AddressBook(discussion.slug, s.domain)
    return [
        PostItem(
            p.id,
            p.question,
            p.parent_id,
            p.author_name,
            p.organisation,
            p.constituency,
            p.body,
            p.approved_at,
            reply_address(book, runtime.key, p.id),
            post_url(s.base_url, discussion.slug, p.id),
            p.parent_author,
        )
        for p in approved_posts(session, discussion_id, since, until)
    ]


def question_items(
    runtime: Runtime,
    discussion: DiscussionSettings,
    released: Mapping[int, datetime],
    until: datetime,
) -> list[QuestionItem]:
    """The configured questions with their addresses; open if released before *until*."""
    s = runtime.settings.service
    book = AddressBook(discussion.slug, s.domain)
    return [
        QuestionItem(
            q.number,
            q.text,
            book.question(q.number),
            question_url(s.base_url, discussion.slug, q.number),
            q.number in released and released[q.number] < until,
        )
        for q in discussion.questions
    ]


class _Plans:
    """Plans per language, made when a reader needs one, and the digest context of each."""

    def __init__(
        self,
        discussion: DiscussionSettings,
        posts: Sequence[PostItem],
        questions: Sequence[QuestionItem],
        window: DigestWindow,
    ) -> None:
        self.discussion = discussion
        self.posts = posts
        self.questions = questions
        self.window = window
        self._plans: dict[str, DigestPlan] = {}

    def plan(self, language: str) -> DigestPlan:
        if language not in self._plans:
            w = self.window
            self._plans[language] = plan_digest(
                self.posts,
                self.questions,
                w.since,
                w.until,
                language,
                self.discussion.default_language,
                w.day,
                w.final,
            )
        return self._plans[language]

    def context(self, language: str) -> dict[str, Any]:
        """What the digest templates of *language* receive besides the discussion's texts."""
        return digest_context(self.plan(language), self.dates(language))

    def dates(self, language: str) -> LocalDates:
        """Dates and times as readers of *language* read them."""
        return LocalDates(language, self.discussion.time_zone)

    def fitted(
        self,
        runtime: Runtime,
        discussion_id: int,
        mail: ListMail,
        now: datetime,
    ) -> Callable[[str], FittedDigest]:
        """Each language's digest composed within ``digest.max_bytes``, once."""
        cache: dict[str, FittedDigest] = {}

        def fitted(language: str) -> FittedDigest:
            if language not in cache:
                dates = self.dates(language)
                cache[language] = compose_digest(
                    runtime.settings,
                    runtime.key,
                    self.discussion,
                    discussion_id,
                    language,
                    self.plan(language),
                    dates,
                    lambda plan: digest_context(plan, dates),
                    mail.copy_for,
                    now,
                )
                _log_size(self.discussion.slug, self.window.label, cache[language])
            return cache[language]

        return fitted


def _log_size(slug: str, label: str, fitted: FittedDigest) -> None:
    """One line per language: how large the digest is and what was abridged."""
    log.log(
        logging.INFO if fitted.fits else logging.WARNING,
        "digest size discussion=%s label=%s language=%s bytes=%d limit=%d "
        "entries=%d abridged=%d html=%s%s",
        slug,
        label,
        fitted.shared.language,
        fitted.size,
        fitted.limit,
        fitted.plan.count,
        fitted.abridged,
        "yes" if fitted.html else "no",
        "" if fitted.fits else " over the limit even with every entry abridged",
    )


def _digest_mail(discussion: DiscussionSettings, domain: str, label: str) -> ListMail:
    """The digest of *label* as a list mail: what every reader's copy shares."""
    book = AddressBook(discussion.slug, domain)
    return ListMail(
        "digest",
        "digest",
        f"digest:{discussion.slug}:{label}",
        list_post=book.discussion(),
    )


def send_digest(
    runtime: Runtime,
    discussion: DiscussionSettings,
    discussion_id: int,
    window: DigestWindow,
    now: datetime,
    stopping: Callable[[], bool] | None = None,
) -> DigestResult:
    """Start (or resume) the digest run *window* and queue it to every digest reader.

    A digest to thousands is queued in committed batches; when *stopping*
    says so after one, :class:`RoundStopped` is raised: the run stays
    unfinished and the next round resumes it with the same window.
    """
    with runtime.sessions.begin() as session:
        run = start_run(
            session,
            discussion_id,
            label=window.label,
            digest_date=window.day,
            since=window.since,
            until=window.until,
            final=window.final,
            now=now,
        )
        released = release_times(session, discussion_id)
        # The stored window wins: another node may have started this run first.
        fixed = DigestWindow(
            run.label, run.digest_date, run.since, run.until, run.final
        )
        posts = post_items(
            session, runtime, discussion, discussion_id, fixed.since, fixed.until
        )
    questions = question_items(runtime, discussion, released, fixed.until)
    plans = _Plans(discussion, posts, questions, fixed)
    mail = _digest_mail(discussion, runtime.settings.service.domain, run.label)
    queued = 0
    with runtime.sessions() as session:
        if not plans.plan(discussion.default_language).empty:
            fitted = plans.fitted(runtime, discussion_id, mail, now)

            def committed() -> None:
                session.commit()
                _wake(runtime)
                if stopping is not None and stopping():
                    raise RoundStopped(
                        f"digest {discussion.slug} {run.label} stopped after a batch"
                    )

            queued = queue_list_mail(
                session,
                runtime,
                discussion,
                discussion_id,
                [DeliveryMode.DIGEST],
                mail,
                plans.context,
                now,
                after_batch=committed,
                shared_for=lambda language: fitted(language).shared,
            )
        finish_run(session, run.id, posts=len(posts), recipients=queued, now=now)
        session.commit()
    log.info(
        "digest discussion=%s label=%s posts=%d queued=%d",
        discussion.slug,
        run.label,
        len(posts),
        queued,
    )
    return DigestResult(discussion.slug, run.label, len(posts), queued)


def _wake(runtime: Runtime) -> None:
    runtime.wakes.outbox.ring()


def send_due_digests(
    runtime: Runtime, now: datetime, stopping: Callable[[], bool] | None = None
) -> list[DigestResult]:
    """Send every digest that is due at *now*: an interrupted one first, then today's.

    *stopping*: as for :func:`send_digest`.
    """
    results = []
    for discussion in runtime.settings.discussions:
        calendar = calendar_of(discussion)
        done: set[str] = set()
        for _ in range(3):
            with runtime.sessions() as session:
                state = load_state(session, discussion.slug)
            if state is None:
                break
            window = due_digest(calendar, state.schedule, now)
            if window is None or window.label in done:
                break
            done.add(window.label)
            results.append(
                send_digest(
                    runtime, discussion, state.discussion_id, window, now, stopping
                )
            )
    return results


def preview_digest(
    runtime: Runtime, slug: str, day: date, language: str
) -> DigestPreview | None:
    """The digest of local date *day* for readers of *language*; None when nothing is new.

    The window is the one the digest of that day had (or will have): from the
    previous day's digest hour to that day's.
    """
    discussion = runtime.settings.discussion(slug)
    if discussion is None:
        raise LookupError(slug)
    calendar = calendar_of(discussion)
    language = reader_language(discussion, language)
    with runtime.sessions() as session:
        state = load_state(session, slug)
        if state is None:
            raise LookupError(slug)
        run = run_by_label(session, state.discussion_id, day.isoformat())
        if run is not None:
            window = DigestWindow(run.label, day, run.since, run.until, run.final)
        else:
            window = DigestWindow(
                day.isoformat(),
                day,
                digest_instant(calendar, day - timedelta(days=1)),
                digest_instant(calendar, day),
            )
        posts = post_items(
            session,
            runtime,
            discussion,
            state.discussion_id,
            window.since,
            window.until,
        )
        released = release_times(session, state.discussion_id)
    questions = question_items(runtime, discussion, released, window.until)
    plans = _Plans(discussion, posts, questions, window)
    plan = plans.plan(language)
    if plan.empty:
        return None
    settings = runtime.settings
    mail = _digest_mail(discussion, settings.service.domain, window.label)
    fitted = plans.fitted(runtime, state.discussion_id, mail, runtime.clock())(language)
    context = {
        **base_context(settings, discussion, language),
        **digest_context(fitted.plan, plans.dates(language)),
        "unsubscribe_url": settings.service.base_url + PREVIEW_UNSUBSCRIBE,
        "manage_url": settings.service.base_url + PREVIEW_MANAGE,
    }
    rendered = templates_for(discussion).render(
        "digest",
        language,
        context,
        fallbacks=(discussion.default_language, "en"),
        html=fitted.html,
    )
    return DigestPreview(
        rendered.subject,
        normalise_text(rendered.text),
        rendered.html,
        rendered.language,
        plan.count,
        fitted.size,
        fitted.limit,
        fitted.abridged,
        fitted.fits,
    )
