"""Reading the DATA section in large pieces gives what aiosmtpd's line loop gives."""

from __future__ import annotations

import asyncio
import random

import pytest

from mailer.inbound.smtp_data import Data, DataState, read_data

LINE_LIMIT = 100


def _line_loop(stream: bytes, line_limit: int, size_limit: int | None) -> Data:
    """aiosmtpd 1.4.6's ``smtp_DATA`` loop, over bytes (the reference)."""
    lines: list[bytes] = []
    size = 0
    state = DataState.NOMINAL
    rest = stream
    while True:
        end = rest.find(b"\r\n")
        assert end >= 0, "the stream ends before the final dot"
        line, rest = rest[: end + 2], rest[end + 2 :]
        if line == b".\r\n":
            break
        if end > line_limit and state is DataState.NOMINAL:
            state = DataState.TOO_LONG
        size += len(line)
        if state is DataState.NOMINAL and size_limit and size > size_limit:
            state = DataState.TOO_MUCH
        if state is DataState.NOMINAL:
            if len(line) > line_limit:
                state = DataState.TOO_LONG
            else:
                lines.append(line[1:] if line.startswith(b".") else line)
    if state is not DataState.NOMINAL:
        return Data(state, b"")
    return Data(state, b"".join(lines))


async def _read(
    stream: bytes, line_limit: int, size_limit: int | None, step: int
) -> tuple[Data, bytes]:
    reader = asyncio.StreamReader(limit=line_limit)
    for start in range(0, len(stream), step):  # arrives in pieces of *step* bytes
        reader.feed_data(stream[start : start + step])
    reader.feed_eof()
    data = await read_data(reader, line_limit=line_limit, size_limit=size_limit)
    return data, await reader.read()


def _check(body: bytes, *, size_limit: int | None = None, step: int = 1 << 20) -> Data:
    after = b"QUIT\r\n"  # a pipelined command after the data stays unread
    data, left = asyncio.run(_read(body + after, LINE_LIMIT, size_limit, step))
    assert data == _line_loop(body, LINE_LIMIT, size_limit)
    assert left == after
    return data


@pytest.mark.parametrize(
    ("body", "content"),
    [
        (b".\r\n", b""),
        (b"a\r\n.\r\n", b"a\r\n"),
        (b"\r\n.\r\n", b"\r\n"),
        (b"end.\r\nnext.\r\n.\r\n", b"end.\r\nnext.\r\n"),
        (b"..\r\n.\r\n", b".\r\n"),
        (b"...\r\n..x\r\n.\r\n", b"..\r\n.x\r\n"),
        (b"a\r\n..\r\n.\r\n", b"a\r\n.\r\n"),
        (b"a\r\n .\r\n.\r\n", b"a\r\n .\r\n"),
        (b"bare\nlf.\r\n.\r\n", b"bare\nlf.\r\n"),
    ],
)
def test_content_and_transparency_dots(body: bytes, content: bytes) -> None:
    data = _check(body)
    assert data == Data(DataState.NOMINAL, content)


def test_the_data_ends_at_the_first_dot_line() -> None:
    stream = b"a\r\n.\r\nb\r\n.\r\n"
    data, left = asyncio.run(_read(stream, LINE_LIMIT, None, 3))
    assert data == Data(DataState.NOMINAL, b"a\r\n")
    assert left == b"b\r\n.\r\n"


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64])
def test_the_same_whatever_pieces_the_bytes_arrive_in(step: int) -> None:
    body = b"one.\r\n..two\r\n" + b"x" * 90 + b".\r\n.\r\n"
    assert _check(body, step=step).content == b"one.\r\n.two\r\n" + b"x" * 90 + b".\r\n"


@pytest.mark.parametrize("length", [LINE_LIMIT - 3, LINE_LIMIT - 2])
def test_a_line_at_the_limit_is_kept(length: int) -> None:
    assert _check(b"y" * length + b"\r\n.\r\n").state is DataState.NOMINAL


@pytest.mark.parametrize("length", [LINE_LIMIT - 1, LINE_LIMIT, 5 * LINE_LIMIT])
def test_a_line_over_the_limit_is_too_long(length: int) -> None:
    body = b"first\r\n" + b"y" * length + b"\r\nlast\r\n.\r\n"
    assert _check(body).state is DataState.TOO_LONG
    assert _check(body, step=5).state is DataState.TOO_LONG


def test_over_the_size_limit_is_too_much_and_the_rest_is_read() -> None:
    body = b"".join(b"line %d.\r\n" % i for i in range(200)) + b".\r\n"
    assert _check(body, size_limit=1000).state is DataState.TOO_MUCH
    assert _check(body, size_limit=len(body) - 3).state is DataState.NOMINAL
    assert _check(body, size_limit=len(body) - 4).state is DataState.TOO_MUCH


def test_whichever_limit_came_first_is_the_answer() -> None:
    long_first = b"y" * (2 * LINE_LIMIT) + b"\r\n" + b"z\r\n" * 600 + b".\r\n"
    assert _check(long_first, size_limit=1000).state is DataState.TOO_LONG
    much_first = b"z\r\n" * 600 + b"y" * (2 * LINE_LIMIT) + b"\r\n.\r\n"
    assert _check(much_first, size_limit=1000).state is DataState.TOO_MUCH


def test_random_bodies_match_the_line_loop() -> None:
    rng = random.Random(19)
    pieces = [b".", b"..", b"\r\n", b"a", b"\n", b"\r", b" ", b".\r\n", b"x" * 40]
    for _ in range(400):
        body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        if not body.endswith(b"\r\n") and body:
            body += b"\r\n"
        while b"\r\n.\r\n" in body:  # no end of data before the end
            body = body.replace(b"\r\n.\r\n", b"\r\n,\r\n")
        if body.startswith(b".\r\n"):
            body = b"," + body[1:]
        body += b".\r\n"
        size_limit = rng.choice([None, 50, 200])
        _check(body, size_limit=size_limit, step=rng.randint(1, 50))


@pytest.mark.parametrize(
    "fake_end",
    [b"\n.\r\n", b"\r.\r\n", b"\n.\n", b"\r\n.\n", b"\r\n.\r", b"\n..\r\n"],
    ids=["LF.CRLF", "CR.CRLF", "LF.LF", "CRLF.LF", "CRLF.CR", "LF..CRLF"],
)
def test_only_crlf_dot_crlf_ends_the_data(fake_end: bytes) -> None:
    # SMTP smuggling: a second message hidden behind an end of data that
    # another server would take for one stays inside this message.
    hidden = b"MAIL FROM:<forged@example.org>\r\nRCPT TO:<victim@example.net>\r\n"
    body = b"Subject: hello\r\n\r\nfirst" + fake_end + hidden + b"\r\n.\r\n"
    data = _check(body)
    assert data.state is DataState.NOMINAL
    assert hidden in data.content and data.content.startswith(b"Subject: hello")
