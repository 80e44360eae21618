"""Every message of the inbound corpus parses to what its sidecar expects."""

from __future__ import annotations

import re

import pytest

from mailer.core.errors import MalformedMessage
from mailer.core.inline_images import is_decoration
from mailer.core.message import ParsedMessage
from mailer.core.parse import parse_message
from mailer.core.trim import count_links
from tests.corpus import CorpusMessage, corpus_messages

DOMAIN = "discuss.example.org"
MESSAGES = corpus_messages()
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def normalised(text: str) -> str:
    """Trailing spaces and runs of blank lines do not count when comparing texts."""
    out: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.rstrip()
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def test_corpus_is_large_and_complete() -> None:
    assert len(MESSAGES) >= 70
    names = [m.name for m in MESSAGES]
    assert len(set(names)) == len(names), "a message both written out and built"
    for message in MESSAGES:
        assert message.expected_path.exists(), message.name
    # Built from its recipe: an attachment over the parser's limit (2 MiB).
    assert "attachment-huge-over-limit" in names
    kinds = {name.split("-", 1)[0] for name in names}
    assert {
        "gmail",
        "outlook",
        "apple",
        "thunderbird",
        "ios",
        "android",
        "yahoo",
        "html",
        "charset",
        "attachment",
        "autoreply",
        "dsn",
        "bounce",
        "loop",
        "malformed",
    } <= kinds


def test_corpus_covers_forty_client_languages() -> None:
    """Replies written by clients in forty interface languages, each tagged."""
    replies = [m.expected() for m in MESSAGES if "new_text" in m.expected()]
    for exp in replies:
        assert exp.get("locale") and exp.get("client"), exp
    locales = {exp["locale"] for exp in replies if exp["new_text"]}
    assert len(locales) >= 40, sorted(locales)
    clients = {exp["client"] for exp in replies}
    assert {
        "gmail",
        "outlook-desktop",
        "ios-mail",
        "thunderbird",
        "zoho",
        "mailru",
    } <= clients
    nothing_new = [exp for exp in replies if not exp["new_text"]]
    assert len({exp["locale"] for exp in nothing_new}) >= 5


def assert_safe(parsed: ParsedMessage) -> None:
    """Nothing exposed as a header-like value holds a control character."""
    for name, value in parsed.headers:
        assert not _CONTROL.search(name), name
        assert not _CONTROL.search(value), (name, value)
    single = [
        parsed.subject,
        parsed.from_name,
        parsed.from_address,
        parsed.reply_to,
        parsed.sender,
        *parsed.to,
        *parsed.cc,
        *parsed.defects,
    ]
    for value in single:
        assert not _CONTROL.search(value), value
    for attachment in parsed.attachments:
        assert not _CONTROL.search(attachment.filename)
        assert "/" not in attachment.filename and "\\" not in attachment.filename
        assert attachment.kept or attachment.content == b""
    assert "\r" not in parsed.text and "\r" not in parsed.new_text
    assert parsed.date is None or parsed.date.tzinfo is not None
    assert len(parsed.references) <= 100


@pytest.mark.parametrize("message", MESSAGES, ids=[m.name for m in MESSAGES])
def test_corpus_message(message: CorpusMessage) -> None:
    exp = message.expected()
    raw = message.read_bytes()
    if exp.get("malformed"):
        with pytest.raises(MalformedMessage):
            parse_message(raw, own_domain=DOMAIN)
        return
    parsed = parse_message(raw, own_domain=DOMAIN)
    assert_safe(parsed)
    assert parsed.message_class.value == exp["class"], parsed.defects
    if "new_text" in exp:
        assert normalised(parsed.new_text) == normalised(exp["new_text"])
    for key in ("language", "subject", "from_name", "from_address", "message_id"):
        if key in exp:
            assert getattr(parsed, key) == exp[key], key
    if exp.get("message_id_missing"):
        assert parsed.message_id is None
    if exp.get("date_missing"):
        assert parsed.date is None
    for fragment in exp.get("text_contains", []):
        assert fragment in parsed.text
    for fragment in exp.get("text_not_contains", []):
        assert fragment not in parsed.text
    for fragment in exp.get("defects_contain", []):
        assert any(fragment.lower() in d.lower() for d in parsed.defects), (
            parsed.defects
        )
    for key in ("suspicious", "over_limits", "encrypted"):
        if key in exp:
            assert getattr(parsed, key) is exp[key], parsed.defects
    if "links" in exp:
        assert count_links(parsed.new_text) == exp["links"]
    if "references_count" in exp:
        assert len(parsed.references) == exp["references_count"]
    if "attachments" in exp:
        got = [(a.filename, a.content_type, a.kept) for a in parsed.attachments]
        want = [
            (a["filename"], a["content_type"], a["kept"]) for a in exp["attachments"]
        ]
        assert got == want
        for attachment, spec in zip(
            parsed.attachments, exp["attachments"], strict=True
        ):
            if "size" in spec:
                assert attachment.size == spec["size"]
            if "inline" in spec:
                assert attachment.inline is spec["inline"]
            if "decoration" in spec:
                assert is_decoration(attachment, parsed.html) is spec["decoration"]
            if attachment.kept:
                assert len(attachment.content) == attachment.size
    if "bounce" in exp:
        assert parsed.bounce is not None
        assert list(parsed.bounce.recipients) == exp["bounce"]["recipients"]
        if "permanent" in exp["bounce"]:
            assert parsed.bounce.permanent is exp["bounce"]["permanent"]
        if "status" in exp["bounce"]:
            assert parsed.bounce.status == exp["bounce"]["status"]
    elif exp["class"] != "bounce":
        assert parsed.bounce is None
    if "original_message_id" in exp:
        report = parsed.bounce or parsed.complaint
        assert report is not None
        assert report.original_message_id == exp["original_message_id"]
    if "complaint" in exp:
        assert parsed.complaint is not None and parsed.bounce is None
        want = exp["complaint"]
        assert parsed.complaint.feedback_type == want["feedback_type"]
        assert list(parsed.complaint.recipients) == want["recipients"]
        assert list(parsed.complaint.return_paths) == want["return_paths"]
        assert list(parsed.complaint.unsubscribe_links) == want["unsubscribe_links"]
    else:
        assert parsed.complaint is None
