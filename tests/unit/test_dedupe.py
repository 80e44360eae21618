from __future__ import annotations

import random
from email.parser import BytesHeaderParser
from email.policy import compat32

from mailer.core.dedupe import _message_id_field, inbound_key, normalise_message_id


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


def test_non_ascii_message_ids_stay_apart() -> None:
    # compat32 reads each 8-bit byte as U+FFFD: <café@x> and <cafè@x> were one
    # key, and the second message was dropped as a copy of the first.
    def key(mid: bytes) -> str:
        return inbound_key(
            b"Message-ID: " + mid + b"\r\nSubject: \xc3\xa9\r\n\r\nb\r\n"
        ).key

    assert key("<café@example.org>".encode()) == "mid:<café@example.org>"
    assert key("<cafè@example.org>".encode()) == "mid:<cafè@example.org>"
    assert key(b"<caf\xe9@example.org>") == "mid:<caf\\xe9@example.org>"  # not UTF-8
    assert key(b"<caf\xe8@example.org>") != key(b"<caf\xe9@example.org>")


def test_a_message_id_with_a_control_character_is_none() -> None:
    # PostgreSQL cannot store NUL in text: such a message is known by its hash.
    for mid in (b"<a\x00b@x>", b"<a\x01b@x>", b"<a\x7fb@x>"):
        raw = b"Message-ID: " + mid + b"\r\nSubject: x\r\n\r\nbody\r\n"
        found = inbound_key(raw)
        assert found.message_id is None and found.key.startswith("sha256:")
    assert normalise_message_id("<a\x00b@x>") is None


def test_the_header_block_gives_the_key_the_whole_message_gives() -> None:
    import random
    from email.parser import BytesHeaderParser
    from email.policy import compat32

    from mailer.core.dedupe import header_block

    rng = random.Random(3834)
    pieces = [b"Message-ID: <a@b>", b"Subject: x", b" folded", b"\tmore", b"body",
              b"\r\n", b"\n", b"\r", b"", b"no header line", b"Message-Id:<c@d>",
              b"From x", b":", b"X-A: y"]  # fmt: skip
    for _ in range(5000):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        whole = BytesHeaderParser(policy=compat32).parsebytes(raw)
        block = BytesHeaderParser(policy=compat32).parsebytes(header_block(raw))
        assert whole.items() == block.items(), raw
        assert whole.get("Message-ID") == block.get("Message-ID"), raw


def test_the_quick_scan_finds_what_the_parser_finds() -> None:
    # Plain header sections are scanned, not parsed: on random sections with
    # folding, odd names, bare CR or LF, 8-bit bytes and misplaced "From "
    # lines, the Message-ID found must be the one the parser gives.
    def parsed(block: bytes) -> str | None:
        # The first Message-ID the parser reads, its bytes read as UTF-8.
        for name, value in (
            BytesHeaderParser(policy=compat32).parsebytes(block).raw_items()
        ):
            if name.lower() == "message-id":
                data = value.encode("ascii", "surrogateescape")
                return data.decode("utf-8", "backslashreplace")
        return None

    rng = random.Random(822)
    pieces = [
        b"Message-ID: <a@b>", b"message-id:<x@y>", b"MESSAGE-ID:   <z@w> (c)",
        b"Subject: hi", b" folded", b"\tfold <q@r>", b"From someone", b"X: y",
        b"bad line", b"Message-ID:", b"Message-ID : <s@t>", b": empty",
        b"Message-Id: <\xc3\xa9@x>", b"", b"To: a@b",
    ]  # fmt: skip
    for _ in range(4000):
        sep = rng.choice([b"\n", b"\r"]) if rng.random() < 0.2 else b"\r\n"
        block = b"".join(
            rng.choice(pieces)
            + (rng.choice([b"\n", b"\r"]) if rng.random() < 0.1 else sep)
            for _ in range(rng.randint(0, 6))
        )
        block += sep if rng.random() < 0.5 else b""
        assert normalise_message_id(_message_id_field(block)) == normalise_message_id(
            parsed(block)
        ), block
