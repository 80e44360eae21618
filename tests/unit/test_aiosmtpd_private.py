"""The parts of aiosmtpd that the listener (mailer/inbound/smtp.py) uses without their being public.

aiosmtpd has no hook to parse a MAIL/RCPT path differently, to refuse a
connection before its greeting, or to tell that STARTTLS has begun, so the
listener overrides ``SMTP._getaddr`` and ``SMTP._handle_client`` and reads
``_original_transport`` and ``_tls_protocol``. pyproject.toml bounds aiosmtpd
to the release these were checked against; when a new release is tried, this
test says first whether any of them moved.
"""

from __future__ import annotations

import asyncio
import inspect
from importlib.metadata import version

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

CHECKED = {"1.4.6"}  # releases read against mailer/inbound/smtp.py


def _parameters(function: object) -> list[tuple[str, object]]:
    assert callable(function)
    return [(p.name, p.kind) for p in inspect.signature(function).parameters.values()]


def test_the_installed_release_is_one_that_was_checked() -> None:
    assert version("aiosmtpd") in CHECKED


def test_getaddr_still_parses_a_path_into_address_and_rest() -> None:
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert _parameters(SMTP._getaddr) == [("self", positional), ("arg", positional)]

    async def parse() -> tuple[object, object]:
        server = SMTP(handler=object())
        found: tuple[object, object] = server._getaddr("<ana@example.net> SIZE=10")
        return found

    assert asyncio.run(parse()) == ("ana@example.net", "SIZE=10")
    assert isinstance(SMTP.__dict__["local_part_limit"], int)


def test_handle_client_is_still_the_coroutine_each_connection_runs() -> None:
    assert inspect.iscoroutinefunction(SMTP._handle_client)
    assert _parameters(SMTP._handle_client) == [
        ("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    # connection_made starts it; LMTP inherits both.
    assert "self._handle_client()" in inspect.getsource(SMTP.connection_made)
    assert LMTP._handle_client is SMTP._handle_client
    assert LMTP._getaddr is SMTP._getaddr


def test_the_starttls_state_is_still_where_the_listener_reads_it() -> None:
    async def fresh() -> SMTP:
        return SMTP(handler=object())

    server = asyncio.run(fresh())
    assert server._original_transport is None
    assert server._tls_protocol is None
    source = inspect.getsource(SMTP.smtp_STARTTLS)
    assert "self._original_transport = self.transport" in source
    assert "self._tls_protocol = " in source


def test_data_is_still_read_and_handed_over_as_the_listener_does_it() -> None:
    """The listener's ``smtp_DATA`` reads ``_reader`` and closes ``_writer``
    itself, then hands over through ``_call_handler_hook`` and resets the
    envelope with ``_set_post_data_state``, as aiosmtpd's own does."""

    async def fresh() -> SMTP:
        return SMTP(handler=object())

    server = asyncio.run(fresh())
    reader = server._stream_reader  # type: ignore[attr-defined]  # handed on
    assert isinstance(reader, asyncio.StreamReader)
    assert reader._limit == SMTP.line_length_limit  # type: ignore[attr-defined]
    connected = inspect.getsource(SMTP._cb_client_connected)
    assert "self._reader = reader" in connected
    assert "self._writer = writer" in connected
    assert inspect.iscoroutinefunction(SMTP._call_handler_hook)
    source = inspect.getsource(SMTP.smtp_DATA)
    for step in (
        "await self._reader.readuntil(b'\\r\\n')",
        "self._writer.close()",
        "status = await self._call_handler_hook('DATA')",
        "self._set_post_data_state()",
        "await self.push('250 OK' if status is MISSING else status)",
        "if text.startswith(b'.'):",
    ):
        assert step in source, step
