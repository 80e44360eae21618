"""The wire form of outgoing mail: encoded words, folding, checked values, SMTPUTF8."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage

import pytest

from mailer.outbound.compose import ListHeaders, Mail, address_safe, compose, render

NOW = datetime(2027, 3, 28, 17, 0, tzinfo=UTC)
LH = ListHeaders(
    list_id="<skills-covid19.discuss.example.org>",
    name="Débat sur les compétences",
    post=None,
    help="skills-covid19-request@discuss.example.org",
    archive="http://127.0.0.1:8080/d/skills-covid19",
    unsubscribe_mailto="skills-covid19-request@discuss.example.org",
    unsubscribe_url="http://127.0.0.1:8080/unsubscribe/7.abcdefghijklmnop",
)


def mail(**kw: object) -> Mail:
    base: dict[str, object] = {
        "from_name": "Zoë Ñúñez via Débat sur les compétences",
        "from_address": "skills-covid19@discuss.example.org",
        "to_address": "bob@example.net",
        "to_name": "Bob (Org.) Smith",
        "subject": "[skills-covid19] Q3 : Connectivité " + "très " * 30,
        "text": "Ligne\r\n.leading dot\r\n" + "mot " * 200,
        "html": "<p>Ligne é</p>",
        "date": NOW,
        "message_id": "<post.1@mail.example.net>",
        "language": "fr",
        "references": ["<q3.skills-covid19@discuss.example.org>", "junk"],
        "in_reply_to": "<parent@x.net>",
        "list_headers": LH,
        "precedence": "list",
        "auto_submitted": "auto-replied",
        "loop": "skills-covid19@discuss.example.org",
    }
    base.update(kw)
    return Mail(**base)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_wire_form_is_ascii_crlf_and_folded() -> None:
    raw = render(mail())
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    msg = parse(raw)
    assert not msg.defects
    assert msg["From"].addresses[0].display_name == (
        "Zoë Ñúñez via Débat sur les compétences"
    )
    assert msg["To"].addresses[0].display_name == "Bob (Org.) Smith"
    assert str(msg["Subject"]).startswith("[skills-covid19] Q3 : Connectivité très")
    assert msg["References"].split() == [
        "<q3.skills-covid19@discuss.example.org>",
        "<parent@x.net>",
    ]
    assert msg["List-Id"] == (
        "Débat sur les compétences <skills-covid19.discuss.example.org>"
    )
    assert msg["List-Post"] == "NO"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Loop"] == "skills-covid19@discuss.example.org"
    assert msg["Content-Language"] == "fr"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n").startswith("Ligne\n.leading dot\n")
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Ligne é" in html


def test_compose_is_the_parsed_render() -> None:
    m = mail(html=None)
    msg = compose(m)
    assert msg.get_content_type() == "text/plain"
    assert msg["Message-ID"] == "<post.1@mail.example.net>"


@pytest.mark.parametrize(
    "bad",
    [
        "a@b.org, c@d.org",
        "a@b.org\r\nBcc: x@y.org",
        "<a@b.org>",
        "a b@c.org",
        "a@b@c.org",
        "",
    ],
)
def test_addresses_that_could_add_a_recipient_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        address_safe(bad)
    with pytest.raises(ValueError):
        render(mail(to_address=bad))
    if bad:
        with pytest.raises(ValueError):
            render(mail(reply_to=bad))


def test_hostile_values_stay_inside_their_header() -> None:
    raw = render(
        mail(
            from_name="Eve\r\nBcc: a@evil.example",
            to_name='x" <evil@example.org>, "y',
            subject="Hi\r\nCc: c@evil.example\x00",
            extra={"X-Note": "one\r\nBcc: d@evil.example"},
        )
    )
    msg = parse(raw)
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert [a.addr_spec for a in msg["To"].addresses] == ["bob@example.net"]
    assert msg["X-Note"] == "one Bcc: d@evil.example"
    with pytest.raises(ValueError):
        render(mail(extra={"Bcc:x": "y"}))
    with pytest.raises(ValueError):
        render(mail(message_id="no id here"))


def test_internationalised_recipient_gets_an_smtputf8_message() -> None:
    raw = render(mail(to_address="zoë@exemple.fr", to_name="Zoë"))
    assert not raw.isascii()
    msg = message_from_string(raw.decode("utf-8"), policy=policy.SMTPUTF8)
    assert msg["To"].addresses[0].addr_spec == "zoë@exemple.fr"
