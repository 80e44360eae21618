"""End to end through the running service: mail in by SMTP, threaded on the web page."""

from __future__ import annotations

import html
import re
import signal
import smtplib
import socket
import time
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from urllib.error import HTTPError

import pytest

from tests.fixtures.web import SLUG, Served

QUESTION = f"/d/{SLUG}/q/1"


def fetch(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return (
                r.status,
                r.read().decode(),
                {k.lower(): v for k, v in r.headers.items()},
            )
    except HTTPError as exc:
        return (
            exc.code,
            exc.read().decode(),
            {k.lower(): v for k, v in exc.headers.items()},
        )


def send(port: int, msg: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(msg)


def wait_for_page(url: str, needle: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while True:
        status, text, _ = fetch(url)
        if status == 200 and needle in text:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not on {url} after {seconds}s")
        time.sleep(0.25)


@pytest.mark.slow
def test_mail_to_a_question_shows_up_threaded(
    make_served: Callable[..., Served], db_url: str
) -> None:
    served = make_served(db_url)
    first = EmailMessage()
    first["From"] = "Ana Ruiz <ana@example.net>"
    first["To"] = "skills-covid19+q1@discuss.example.org"
    first["Subject"] = "Apprenticeships in our region"
    first["Message-ID"] = "<e2e-first@example.net>"
    first.set_content(
        "Most workplace training stopped in March; we moved theory online.\n"
        "<script>alert('x')</script> https://example.org/report\n"
    )
    send(served.smtp_port, first)
    page = wait_for_page(served.base_url + QUESTION, "Most workplace training stopped")
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert '<a href="https://example.org/report" rel="nofollow ugc noopener">' in page
    assert "ana@example.net" not in page
    # Reply to the address the page offers under Ana's post, as a reader would.
    found = re.search(
        r'href="mailto:(skills-covid19\+r-[^"?]+)\?subject=([^"]*)"', page
    )
    assert found is not None
    reply = EmailMessage()
    reply["From"] = "Bo Li <bo@example.org>"
    reply["To"] = html.unescape(found.group(1))
    reply["Subject"] = "Re: Apprenticeships in our region"
    reply["Message-ID"] = "<e2e-reply@example.org>"
    reply.set_content("Which tools did you use?\n\n> Most workplace training stopped\n")
    send(served.smtp_port, reply)
    page = wait_for_page(served.base_url + QUESTION, "Which tools did you use?")
    posts = re.findall(r'<article class="post (d\d)" id="p(\d+)"', page)
    assert [depth for depth, _ in posts] == ["d0", "d1"]
    assert f'In reply to <a href="#p{posts[0][1]}">Ana Ruiz</a>' in page
    status, listing, _ = fetch(f"{served.base_url}/d/{SLUG}")
    assert status == 200
    item = re.search(r'<li value="1".*?</li>', listing, re.DOTALL)
    assert item is not None and "2 contributions" in item.group(0)


def test_serve_answers_http_beside_smtp_and_stops_cleanly(
    make_served: Callable[..., Served],
) -> None:
    served = make_served()
    # A client that sends half a request and stalls must not hold up anyone.
    port = int(served.base_url.rsplit(":", 1)[1])
    stalled = socket.create_connection(("127.0.0.1", port))
    stalled.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    status, text, headers = fetch(f"{served.base_url}/d/{SLUG}")
    assert status == 200 and "Week 1 questions" in text
    assert time.monotonic() - started < 5
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert "server" not in headers  # no version banner
    assert headers.get("date")
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as client:
        assert client.noop()[0] == 250
    status, _, _ = fetch(f"{served.base_url}/d/{SLUG}/posts/1")
    assert status == 404
    stalled.close()
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=15) == 0
    log = served.log.read_text()
    assert f"web listening address=127.0.0.1:{port}" in log
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
