from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address

from mailer.core.headers import header_safe, stable_message_id
from mailer.outbound.compose import (
    SMTP_POLICY,
    ListHeaders,
    Mail,
    compose,
    message_bytes,
    render,
)

NOW = datetime(2027, 3, 28, 17, 0, tzinfo=UTC)


def mail(**kw: object) -> Mail:
    base: dict[str, object] = {
        "from_name": "Ana Ruiz via Skills e-discussion",
        "from_address": "skills-covid19@discuss.example.org",
        "to_address": "bob@example.net",
        "subject": "Re: Apprenticeships",
        "text": "Hello\n" + "long " * 400 + "\n",
        "date": NOW,
        "message_id": stable_message_id("post:1:2", "discuss.example.org", "post"),
    }
    base.update(kw)
    return Mail(**base)  # type: ignore[arg-type]


def test_injection_through_names_and_subject_is_neutralised() -> None:
    m = mail(
        from_name='Eve\r\nBcc: victim@example.com "x" <a@b>',
        subject="Hi\r\nBcc: v@example.com",
        to_name="Bob\nCc: c@example.com",
    )
    raw = message_bytes(compose(m))
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["Cc"] is None
    assert parsed["From"].addresses[0].addr_spec == "skills-covid19@discuss.example.org"
    assert parsed["To"].addresses[0].addr_spec == "bob@example.net"


def test_wire_form_is_crlf_with_short_lines() -> None:
    raw = message_bytes(compose(mail(html="<p>hi</p>")))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]


def test_list_headers() -> None:
    lh = ListHeaders(
        list_id="<skills-covid19.discuss.example.org>",
        name="Skills e-discussion",
        post="skills-covid19+q1@discuss.example.org",
        help="skills-covid19-request@discuss.example.org",
        archive="http://127.0.0.1:8080/d/skills-covid19",
        unsubscribe_mailto="skills-covid19-request@discuss.example.org",
        unsubscribe_url="http://127.0.0.1:8080/unsubscribe/tok",
    )
    parsed = message_from_bytes(
        message_bytes(compose(mail(list_headers=lh, precedence="list"))),
        policy=policy.default,
    )
    assert (
        parsed["List-Id"] == "Skills e-discussion <skills-covid19.discuss.example.org>"
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<http://127.0.0.1:8080/unsubscribe/tok>" in parsed["List-Unsubscribe"]
    assert parsed["Precedence"] == "list" and parsed["Content-Language"] == "en"


def test_header_safe_and_message_ids() -> None:
    assert header_safe("a\r\n b\x00c\u202e d") == "a b c d"
    assert header_safe("word " * 100, 20).endswith("…")
    assert stable_message_id("k", "d.org") == stable_message_id("k", "d.org")
    assert stable_message_id("k", "d.org") != stable_message_id("k2", "d.org")


def test_headers_outside_ascii_fold_as_the_standard_library_does_every_time() -> None:
    # Such headers are folded once and remembered: later copies get the same
    # bytes, and those are the standard library's.
    m = mail(
        from_name="Ana Ruiz vía Debate sobre competencias y la COVID-19 en América",
        subject="Re: Aprendizaje en línea: ¿qué funcionó en las zonas rurales?",
        to_name="Zoë",
    )
    first, second = render(m), render(m)
    assert first == second
    head = first.split(b"\r\n\r\n", 1)[0].decode("ascii")
    for name, value in (
        ("From", Address(m.from_name, addr_spec=m.from_address)),
        ("Subject", m.subject),
        ("To", Address("Zoë", addr_spec="bob@example.net")),
    ):
        folded = SMTP_POLICY.header_factory(name, value).fold(policy=SMTP_POLICY)
        assert folded in head + "\r\n"  # SMTP_POLICY folds with CRLF
    parsed = message_from_bytes(first, policy=policy.default)
    assert str(parsed["Subject"]) == m.subject
    assert parsed["From"].addresses[0].display_name == m.from_name
