"""Promise 6: no header or protocol injection outward.

Hostile subjects, names, organisations, addresses and Message-IDs reach the
running service by SMTP and by its web form; every mail it then hands to a
real relay on loopback has one recipient, no extra header, CRLF line ends
and no line over 998 octets. This Python (3.11.7) still has CVE-2024-6923,
which the first test demonstrates before showing the service is not open to it.
"""

from __future__ import annotations

import email
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from http.cookiejar import CookieJar

import pytest

from store.models import DeliveryMode, PostStatus
from tests.fixtures.relay import CapturingRelay
from tests.fixtures.schedule import subscribe
from tests.fixtures.service import (
    ServiceProcess,
    address,
    finish,
    message,
    outgoing_problems,
    prepare_service,
    wait_until,
)

pytestmark = [pytest.mark.hardening, pytest.mark.xdist_group("hardening-injection")]

VICTIM = "victim@example.com"
READERS = ("reader-en@example.net", "reader-es@example.net")


@pytest.fixture(scope="module")
def relay() -> Iterator[CapturingRelay]:
    """A capturing relay on loopback that the service hands its mail to."""
    r = CapturingRelay().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, relay: CapturingRelay
) -> Iterator[ServiceProcess]:
    """Open policies, two readers of every post, outgoing mail to *relay*."""
    svc = prepare_service(
        tmp_path_factory.mktemp("injection"),
        env={
            "EDISCUSS_RELAY_HOST": "127.0.0.1",
            "EDISCUSS_RELAY_PORT": str(relay.port),
            "EDISCUSS_RELAY_SECURITY": "none",
        },
    )
    for reader, lang in zip(READERS, ("en", "es"), strict=True):
        subscribe(svc.runtime(), reader, language=lang, mode=DeliveryMode.EACH)
    svc.start()
    yield svc
    finish([svc])
    problems = [
        (r.rcpt_tos, p) for r in relay.received for p in outgoing_problems(r.data)
    ]
    assert not problems, problems


def _relayed(relay: CapturingRelay, needle: bytes, count: int) -> list[bytes]:
    """Wait until *count* relayed messages contain *needle*; return them."""
    found: list[bytes] = []

    def enough() -> bool:
        found[:] = [r.data for r in list(relay.received) if needle in r.data]
        return len(found) >= count

    wait_until(enough, 30)
    return found


def _settled(service: ServiceProcess, relay: CapturingRelay) -> None:
    """Wait until every queued mail went to the relay, then check all it got."""
    wait_until(
        lambda: all(r.state.value in ("sent", "failed") for r in service.outbox()), 30
    )
    for received in list(relay.received):
        assert len(received.rcpt_tos) == 1, received.rcpt_tos
        assert VICTIM not in received.rcpt_tos[0], received.rcpt_tos
        _assert_clean(received.data)


def _assert_clean(raw: bytes) -> None:
    assert outgoing_problems(raw) == [], outgoing_problems(raw)
    head = raw.split(b"\r\n\r\n", 1)[0]
    names = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n")]
    assert b"bcc" not in names and b"x-injected" not in names, head
    assert not re.search(rb"(?im)^(bcc|x-injected)\s*:", head), head
    assert VICTIM.encode() not in head.replace(b"\r\n ", b" ").split(b"Subject:")[0]


def test_cve_2024_6923_is_present_in_this_python() -> None:
    """The naive path (parse, copy a header, serialise) injects a Bcc here."""
    raw = b"Subject: =?utf-8?q?Hi=0D=0ABcc:_victim@example.com?=\r\n\r\nbody\r\n"
    received = email.message_from_bytes(raw, policy=policy.default)
    out = EmailMessage(policy=policy.SMTP)
    out["Subject"] = received["Subject"]
    out.set_content("hi")
    assert b"\r\nBcc: victim@example.com\r\n" in out.as_bytes()


HOSTILE = {
    "encoded CR LF in Subject": {
        "Subject": "=?utf-8?q?Hi=0D=0ABcc:_victim@example.com?=",
    },
    "encoded LF and blank line in Subject": {
        "Subject": "=?utf-8?b?"
        + __import__("base64").b64encode(b"Hi\n\nBcc: victim@example.com").decode()
        + "?=",
    },
    "encoded CR LF in the display name": {
        "From": "=?utf-8?q?Ana=0D=0ABcc:_victim@example.com=0D=0AX-Injected:_1?= "
        "<ana.name@example.net>",
    },
    "U+2028 and NEL in Subject": {
        "Subject": "=?utf-8?b?"
        + __import__("base64")
        .b64encode("Hi\u2028Bcc: victim@example.com\u0085X-Injected: 1".encode())
        .decode()
        + "?=",
    },
    "folded In-Reply-To carrying a header": {
        "In-Reply-To": "<parent@example.net>\r\n\tBcc: victim@example.com",
    },
    "a 5,000-character Subject": {"Subject": "word " * 1000},
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_headers_never_reach_an_outgoing_header(
    service: ServiceProcess, relay: CapturingRelay, name: str
) -> None:
    n = sorted(HOSTILE).index(name)
    mid = f"<inject-{n}@example.net>"
    raw = message(
        message_id=mid, sender=f"Writer {n} <writer{n}@example.net>", subject="x"
    )
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = [
        line
        for line in head.split(b"\r\n")
        if line.split(b":", 1)[0].decode() not in HOSTILE[name]
    ]
    lines += [f"{k}: {v}".encode() for k, v in HOSTILE[name].items()]
    service.accepted(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    service.processed(mid)
    (post,) = service.posts(mid)
    if post.status is PostStatus.APPROVED:  # published: each reader got a copy
        for copy in _relayed(relay, mid.encode(), len(READERS)):
            _assert_clean(copy)
    else:  # held as not trusted: the moderators' notices quote it
        assert "not trusted" in (post.hold_reason or ""), post.hold_reason
    _settled(service, relay)


def _signup(service: ServiceProcess, fields: dict[str, str]) -> int:
    """Fill in and post the web sign-up form as a browser would; the status."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{service.base_url}/d/skills-covid19", timeout=30).read()
    csrf = re.search(rb'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    data = urllib.parse.urlencode(
        {"csrf": csrf.group(1).decode(), "mode": "digest", "language": "en", **fields}
    ).encode()
    try:
        with opener.open(
            f"{service.base_url}/d/skills-covid19/signup", data=data, timeout=30
        ) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_web_form_fields_cannot_add_a_header_or_recipient(
    service: ServiceProcess, relay: CapturingRelay
) -> None:
    status = _signup(
        service,
        {
            "email": "newcomer@example.net",
            "name": "Ana\r\nBcc: victim@example.com",
            "organisation": "ACME\r\nX-Injected: 1\n\nbody",
        },
    )
    assert status == 200
    (confirmation,) = _relayed(relay, b"newcomer@example.net", 1)
    _assert_clean(confirmation)
    for hostile in (
        "newcomer2@example.net\r\nBcc: victim@example.com",
        "newcomer3@example.net\nRCPT TO:<victim@example.com>",
        "newcomer4@example.net>, <victim@example.com",
        "victim@example.com\r\n.\r\nMAIL FROM:<x@y.z>",
        '"victim@example.com"@example.net',
    ):
        assert _signup(service, {"email": hostile}) in (200, 400, 422)
    _settled(service, relay)


def test_subject_of_a_mail_quoted_in_a_notice_stays_in_the_body(
    service: ServiceProcess, relay: CapturingRelay
) -> None:
    """An automatic notice quotes the sender's subject: in the text, never a header."""
    mid = "<notice-inject@example.net>"
    raw = message(
        message_id=mid,
        sender="Noor <noor@example.net>",
        to=address("+q9"),  # week two: not released yet, so a notice answers
        subject="=?utf-8?q?Q9=0D=0ABcc:_victim@example.com?=",
    )
    service.accepted(raw, address("+q9"), mail_from="noor@example.net")
    service.processed(mid)
    (notice,) = _relayed(relay, b"noor@example.net", 1)
    _assert_clean(notice)
    _settled(service, relay)
