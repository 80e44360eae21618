"""``ediscuss demo``: the model discussion played end to end by email, on a compressed clock.

:func:`demo_settings` points the configured model discussion at a temporary
SQLite database and Maildir (or a given database), free loopback ports and a
local DNS server for the moderators' DKIM key. :func:`run_demo` starts the
whole service (``serve``) on a :class:`~mailer.clock.ScaledClock`, plays the
script through real SMTP, prints the account and the summary, and leaves the
archive running until it is told to stop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from mailer.clock import ScaledClock
from mailer.config.settings import (
    DatabaseSettings,
    DiscussionSettings,
    HostPort,
    Settings,
)
from mailer.core.choices import Protocol
from mailer.core.errors import EdiscussError
from mailer.demo import cast, summary
from mailer.demo.account import Account
from mailer.demo.dkimkey import DemoKey, KeyServer, make_key
from mailer.demo.mailboxes import DemoMailboxes
from mailer.demo.player import Player
from mailer.demo.scenario import Scenario
from mailer.demo.script import Contribute, Step
from mailer.demo.stage import Stage
from mailer.demo.story_late import STORY
from mailer.links import discussion_url
from mailer.runtime import Runtime, open_runtime
from mailer.serve import serve

PACE_SECONDS = 40.0  # how long the three weeks take on the compressed clock
CLIENTS = ("thunderbird", "thunderbird", "plain")  # the moderators' mail clients
SIGNING = (True, True, False)  # whose mail server signs with DKIM


class DemoError(EdiscussError):
    """The configuration cannot play the model discussion; the message says why."""


@dataclass(frozen=True)
class DemoOptions:
    """How to run: *fast* plays without the compressed clock's pauses."""

    fast: bool = False
    pace_seconds: float = PACE_SECONDS
    database_url: str | None = None
    state_dir: Path | None = None
    web_port: int | None = None


@dataclass
class DemoRun:
    """What a run leaves behind for the summary, the caller and the acceptance test."""

    settings: Settings
    url: str
    message_ids: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    finished: bool = False


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def model_discussion(settings: Settings) -> DiscussionSettings:
    """The configured discussion the script fits, or DemoError saying what differs."""
    for d in settings.discussions:
        weeks = {q.week for q in d.questions}
        days = (
            d.closes_at.astimezone(d.time_zone).date()
            - d.opens_at.astimezone(d.time_zone).date()
        ).days
        if (
            len(d.questions) == 11
            and weeks == {1, 2}
            and len(d.moderators) >= 3
            and {"en", "es", "fr"} <= set(d.languages)
            and days == 21
        ):
            return d
    raise DemoError(
        "the demo plays the model discussion of the shipped config.toml (11 questions "
        "in two weeks, three moderators, English, Spanish and French, 21 days); "
        "no configured discussion has that shape"
    )


def demo_settings(base: Settings, options: DemoOptions, dns_port: int) -> Settings:
    """The configuration, moved to temporary places, free ports and the demo's DNS."""
    discussion = model_discussion(base)
    if options.state_dir is not None and any(options.state_dir.glob("*")):
        raise DemoError(
            f"{options.state_dir} is not empty (an earlier demo?): remove it or name"
            " a new folder"
        )
    state = (
        options.state_dir or Path(tempfile.mkdtemp(prefix="ediscuss-demo-"))
    ).resolve()
    state.mkdir(parents=True, exist_ok=True)
    web = HostPort("127.0.0.1", options.web_port or free_port())
    smtp = HostPort("127.0.0.1", free_port())
    return dataclasses.replace(
        base,
        service=dataclasses.replace(
            base.service,
            state_dir=state,
            base_url=f"http://{web}",
            secret=base.service.secret or secrets.token_urlsafe(32),
        ),
        database=DatabaseSettings(
            options.database_url or f"sqlite:///{state.resolve()}/ediscuss.db"
        ),
        inbound=dataclasses.replace(
            base.inbound,
            workers=0,  # a thread of serve, on the demo's clock (no child process)
            listen=smtp,
            protocol=Protocol.SMTP,
            dkim_resolver=HostPort("127.0.0.1", dns_port),
            trusted_authserv_id="",
        ),
        relay=None,
        imap=None,
        dkim=None,
        outbox=dataclasses.replace(base.outbox, workers=1, poll_seconds=0.5),
        web=dataclasses.replace(base.web, listen=web),
        discussions=(discussion,),
    )


def moderators_of(discussion: DiscussionSettings) -> list[cast.CastMember]:
    """The configured moderators as people of the script (``mod0``, ``mod1``...)."""
    return [
        cast.CastMember(
            f"mod{i}",
            m.name,
            m.email,
            m.language if m.language in ("en", "es", "fr") else "en",
            "",
            "",
            CLIENTS[i % 3],
        )
        for i, m in enumerate(discussion.moderators)
    ]


def _authors(
    story: tuple[Step, ...],
    people: dict[str, cast.CastMember],
    moderators: list[cast.CastMember],
) -> dict[str, str]:
    names = {
        **{k: p.name for k, p in people.items()},
        **{m.key: m.name for m in moderators},
    }
    return {
        a.key: names[a.who]
        for st in story
        for a in st.actions
        if isinstance(a, Contribute)
    }


def _play(
    runtime: Runtime,
    clock: ScaledClock,
    keys: dict[str, DemoKey],
    run: DemoRun,
    out: TextIO,
    cancelled: Callable[[], bool],
) -> None:
    discussion = runtime.settings.discussions[0]
    zone = discussion.time_zone
    moderators = moderators_of(discussion)
    stage = Stage(runtime, clock, cancelled)
    mailboxes = DemoMailboxes(
        runtime.settings.service.state_dir / "outbox", runtime.settings.service.domain
    )
    player = Player(stage, mailboxes, cast.EVERYONE, moderators, keys)
    authors = _authors(STORY, cast.EVERYONE, moderators)
    account = Account(out, stage, zone, [*cast.EVERYONE.values(), *moderators], authors)
    opening_day = discussion.opens_at.astimezone(zone).date()
    scenario = Scenario(stage, player, account, opening_day, zone)
    start = time.monotonic()
    try:
        scenario.play(STORY)
    finally:
        run.message_ids = dict(player.message_ids)
        run.seconds = time.monotonic() - start
    run.finished = True
    summary.render(
        summary.collect(runtime, mailboxes), out, run.seconds, math.isinf(clock.rate)
    )


def start_instant(discussion: DiscussionSettings) -> datetime:
    """Where the clock starts: just before the first step, on the eve of the opening."""
    zone = discussion.time_zone
    first = STORY[0].at(discussion.opens_at.astimezone(zone).date(), zone)
    return first - timedelta(minutes=5)


async def _run(
    settings: Settings,
    options: DemoOptions,
    keys: dict[str, DemoKey],
    out: TextIO,
    wait: bool,
) -> DemoRun:
    discussion = settings.discussions[0]
    start = start_instant(discussion)
    end = discussion.closes_at + timedelta(hours=2)
    rate = (
        math.inf
        if options.fast
        else (end - start).total_seconds() / options.pace_seconds
    )
    clock = ScaledClock(start, rate)
    runtime = open_runtime(settings, clock=clock, migrate=True)
    url = discussion_url(settings.service.base_url, discussion.slug)
    run = DemoRun(settings, url)
    stop = asyncio.Event()
    ready = asyncio.Event()
    service = asyncio.create_task(serve(runtime, stop, ready.set))
    try:
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({waiter, service}, return_when=asyncio.FIRST_COMPLETED)
        if service.done():
            waiter.cancel()
            service.result()  # raises what stopped it (a port taken...)
        out.write(_banner(settings, url, options))
        await asyncio.to_thread(_play, runtime, clock, keys, run, out, stop.is_set)
        out.write(afterword(settings, options))
        if wait:
            out.write(f"\nThe archive stays at {url}  (Ctrl-C to stop)\n")
            out.flush()
            await stop.wait()
    finally:
        stop.set()
        await service
        runtime.close()
    return run


def _banner(settings: Settings, url: str, options: DemoOptions) -> str:
    pace = (
        "without pauses"
        if options.fast
        else (
            f"three weeks on a clock that runs them in {options.pace_seconds:.0f} s;"
            " each step waits for the service, so a busy machine takes longer"
        )
    )
    return (
        f"ediscuss demo: the model discussion played by email ({pace})\n"
        f"  SMTP      {settings.inbound.listen}\n"
        f"  archive   {url}\n"
        f"  state     {settings.service.state_dir} (database, outgoing Maildir;"
        f" {'kept' if options.state_dir else 'removed at the end: --state DIR keeps it'})\n"
    )


def afterword(settings: Settings, options: DemoOptions) -> str:
    """Where the demo's files are, and how ``report`` and ``export`` read them again."""
    state = settings.service.state_dir
    if options.state_dir is None:
        return (
            f"\nIts files in {state} go when the demo ends; `ediscuss demo --state DIR`"
            " keeps them for `ediscuss report` and `ediscuss export`.\n"
        )
    slug = settings.discussions[0].slug
    env = f"EDISCUSS_DATABASE_URL={settings.database.url}"
    return (
        f"\nIts files stay in {state} (the Maildir outbox/ holds every mail sent)."
        " Read them again with:\n"
        f"  {env} ediscuss export --discussion {slug}\n"
        f"  {env} ediscuss report --discussion {slug} --out {state / 'report'}\n"
    )


def run_demo(
    base: Settings, options: DemoOptions, out: TextIO, wait: bool = False
) -> DemoRun:
    """Play the model discussion; with *wait*, keep serving the archive until Ctrl-C."""
    discussion = model_discussion(base)
    dns = KeyServer()
    settings: Settings | None = None
    try:
        settings = demo_settings(base, options, dns.port)
        keys: dict[str, DemoKey] = {}
        by_domain: dict[str, DemoKey] = {}
        for person, signs in zip(moderators_of(discussion), SIGNING, strict=False):
            if not signs:
                continue
            domain = person.email.rpartition("@")[2].lower()
            if domain not in by_domain:
                by_domain[domain] = make_key(domain)
                dns.publish(by_domain[domain])
            keys[person.key] = by_domain[domain]
        return asyncio.run(_run(settings, options, keys, out, wait))
    finally:
        dns.close()
        if settings is not None and options.state_dir is None:
            # A temporary folder of its own: nothing of the demo is left behind.
            shutil.rmtree(settings.service.state_dir, ignore_errors=True)
