from __future__ import annotations

from mailer.core.dedupe import inbound_key, normalise_message_id


def test_key_from_message_id() -> None:
    raw = b"Message-ID: \r\n <abc@mail.example.com> (comment)\r\nSubject: x\r\n\r\nbody\r\n"
    key = inbound_key(raw)
    assert key.message_id == "<abc@mail.example.com>"
    assert key.key == "mid:<abc@mail.example.com>"


def test_key_without_message_id_is_content_hash() -> None:
    a = inbound_key(b"Subject: x\r\n\r\nbody one\r\n")
    b = inbound_key(b"Subject: x\r\n\r\nbody two\r\n")
    assert a.message_id is None and a.key.startswith("sha256:") and a.key != b.key


def test_bogus_message_ids() -> None:
    assert normalise_message_id("no brackets@x") is None
    assert normalise_message_id("<nodomain>") is None
    assert normalise_message_id(None) is None
    huge = "<" + "a" * 390 + "@x>"
    assert inbound_key(f"Message-ID: {huge}\r\n\r\n".encode()).key.startswith("mid")
    assert inbound_key(
        ("Message-ID: <" + "a" * 500 + "@x>\r\n\r\n").encode()
    ).key.startswith("sha256:")
