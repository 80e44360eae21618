from __future__ import annotations

import pytest

from mailer.core.addresses import Mailboxes
from mailer.inbound.socketmap import answer, netstring

BOXES = Mailboxes.of("discuss.example.org", [("skills-covid19", range(1, 12))])


@pytest.mark.parametrize(
    ("request_", "reply"),
    [
        (b"recipients skills-covid19+q1@discuss.example.org", b"OK question"),
        (b"recipients skills-covid19+q11@discuss.example.org", b"OK question"),
        (b"recipients SKILLS-covid19@Discuss.Example.org", b"OK discussion"),
        (b"recipients skills-covid19+r-4.abc@discuss.example.org", b"OK reply"),
        (b"recipients skills-covid19-confirm+t0k@discuss.example.org", b"OK confirm"),
        (b"recipients postmaster@discuss.example.org", b"OK postmaster"),
        (b"recipients skills-covid19+q999@discuss.example.org", b"NOTFOUND "),
        (b"recipients skills-covid19+q12@discuss.example.org", b"NOTFOUND "),
        (b"recipients someone@discuss.example.org", b"NOTFOUND "),
        (b"recipients skills-covid19@example.com", b"NOTFOUND "),
        (b"recipients ", b"NOTFOUND "),
        (b"recipients \xff\xfe@discuss.example.org", b"NOTFOUND "),
    ],
)
def test_answers_what_the_listener_would_at_rcpt(request_: bytes, reply: bytes) -> None:
    assert answer(request_, BOXES)[0] == reply


def test_refusals_say_why_for_the_log() -> None:
    reply, why = answer(b"recipients skills-covid19+q999@discuss.example.org", BOXES)
    assert (reply, why) == (b"NOTFOUND ", "no question 999")
    assert answer(b"recipients skills-covid19+q2@discuss.example.org", BOXES)[1] == ""


def test_a_map_it_does_not_serve_is_a_permanent_error() -> None:
    reply, _ = answer(b"aliases skills-covid19+q1@discuss.example.org", BOXES)
    assert reply.startswith(b"PERM ")


def test_netstring() -> None:
    assert netstring(b"OK question") == b"11:OK question,"
    assert netstring(b"") == b"0:,"
