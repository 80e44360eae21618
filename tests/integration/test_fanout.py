"""A post's copies queued a chunk at a time: resumed after a crash, each sent once."""

from __future__ import annotations

from contextlib import nullcontext

import pytest
from sqlalchemy import select

from mailer.mailings import fanout
from mailer.mailings.fanout import publish_pending, start_publishing
from mailer.mailings.publish import publish_post
from store.fanouts import Fanout, advance, unfinished
from store.models import OutboxMessage, Post, PostFanout, PostStatus
from tests.fixtures.settings import SettingsFactory
from tests.integration.outbound_setup import (
    add_subscriber,
    discussion_id,
    make_runtime,
)
from tests.integration.test_publish import _post


class Crash(Exception):
    """The process dies right after a chunk is committed."""


def _keys(rt) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return list(s.scalars(select(OutboxMessage.dedupe_key)))


def test_a_fanout_cut_short_resumes_and_queues_each_copy_once(
    db_url: str, make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "CHUNK", 3)
    rt = make_runtime(make_settings, db_url)
    try:
        subs = [add_subscriber(rt, f"reader{i}@example.net") for i in range(8)]
        post = _post(rt, 3)
        with rt.sessions.begin() as s:
            assert start_publishing(s, post, discussion_id(rt), rt.clock())
            assert not start_publishing(s, post, discussion_id(rt), rt.clock())
        late = add_subscriber(rt, "late@example.net")  # joined after publishing

        def crash() -> None:
            raise Crash

        with pytest.raises(Crash):
            publish_pending(rt, nullcontext(), crash)
        assert sorted(_keys(rt)) == sorted(f"post:{post}:{s}" for s in subs[:3])
        with rt.sessions() as s:
            (left,) = unfinished(s)
        assert left == Fanout(post, subs[2], subs[-1])

        # A second worker that read the same mark commits nothing.
        with rt.sessions.begin() as s:
            assert (
                advance(
                    s,
                    Fanout(post, 0, subs[-1]),
                    subs[2],
                    finished=False,
                    now=rt.clock(),
                )
                is False
            )

        assert publish_pending(rt, nullcontext()) == 5
        keys = _keys(rt)
        assert len(keys) == len(set(keys)) == 8
        assert f"post:{post}:{late}" not in keys
        with rt.sessions() as s:
            assert unfinished(s) == []
            row = s.get(PostFanout, post)
            assert row is not None and row.finished_at is not None
            # Publishing the whole post again would add the late reader alone.
            assert publish_post(s, rt, post, rt.clock()) == 1
        assert publish_pending(rt, nullcontext()) == 0
    finally:
        rt.close()


def test_a_post_withdrawn_before_its_fanout_sends_nothing(
    db_url: str, make_settings: SettingsFactory
) -> None:
    rt = make_runtime(make_settings, db_url)
    try:
        add_subscriber(rt, "reader@example.net")
        post = _post(rt, 3)
        with rt.sessions.begin() as s:
            start_publishing(s, post, discussion_id(rt), rt.clock())
            s.get_one(Post, post).status = PostStatus.REJECTED
        assert publish_pending(rt, nullcontext()) == 0
        assert _keys(rt) == []
        with rt.sessions() as s:
            assert unfinished(s) == []
    finally:
        rt.close()
