"""A processing child lets a batch fill while mail flows, and no longer (real pipes)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from mailer.inbound.runner import QUIET_SECONDS, _gather


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    os.set_blocking(r, False)
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


def test_a_quiet_pipe_ends_the_wait_long_before_its_longest(
    pipe: tuple[int, int],
) -> None:
    r, w = pipe
    os.write(w, b"w")  # the commit that woke the child
    start = time.monotonic()
    assert _gather(r, 5.0) is False
    assert time.monotonic() - start < 1.0  # QUIET_SECONDS after the last byte


def test_commits_that_keep_coming_are_waited_for_up_to_the_longest(
    pipe: tuple[int, int],
) -> None:
    r, w = pipe
    stop = threading.Event()

    def commits() -> None:  # a commit every 5 ms, as a busy listener makes them
        while not stop.wait(QUIET_SECONDS / 4):
            os.write(w, b"w")

    writer = threading.Thread(target=commits)
    writer.start()
    try:
        start = time.monotonic()
        assert _gather(r, 0.4) is False
        took = time.monotonic() - start
    finally:
        stop.set()
        writer.join()
    assert 0.35 <= took < 3.0


def test_the_end_of_the_pipe_says_serve_is_gone(pipe: tuple[int, int]) -> None:
    r, w = pipe
    os.write(w, b"ww")
    os.close(w)
    assert _gather(r, 5.0) is True
