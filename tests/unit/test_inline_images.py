"""Pictures of the HTML body that are decoration, and files the writer sent."""

from __future__ import annotations

import dataclasses

import pytest

from mailer.core.inline_images import MAX_DECORATION_BYTES, is_decoration
from mailer.core.message import ParsedAttachment
from mailer.core.route import route_message
from mailer.core.trim import trim_reply
from tests.unit.test_route import facts, msg, to_q

SIGNED = (
    '<p>Tom Hale<br><img src="cid:image001.png@01DB1A2B.3C4D5E60"></p>'
    '<div id="divRplyFwdMsg"><b>From:</b> ...</div><p>Dear participants,</p>'
)
IN_TEXT = (
    '<div>Here is the classroom:</div><img src="cid:E1F2@example.net">'
    '<div class="gmail_quote">On Mon ... wrote:<blockquote>...</blockquote></div>'
)
IN_QUOTE = (
    '<div>Agreed.</div><div class="gmail_quote">On Mon ... wrote:<blockquote>'
    '<img src="cid:Logo-7A@example.net"></blockquote></div>'
)


def picture(
    name: str, size: int = 3_000, *, cid: str = "", inline: bool = True
) -> ParsedAttachment:
    return ParsedAttachment(name, "image/png", size, b"x" * size, True, inline, cid)


@pytest.mark.parametrize(
    ("attachment", "html", "decoration"),
    [
        # Outlook's made-up names, with or without the HTML that shows them.
        (picture("image001.png", cid="<image001.png@01DB1A2B.3C4D5E60>"), SIGNED, True),
        (picture("image002.jpg", inline=False), None, True),
        (picture("~WRL0001.jpg"), None, True),
        (picture("Outlook-x1y2z3.png"), None, True),
        # A picture of the quoted history, whatever its name.
        (picture("banner.png", cid="<Logo-7A@example.net>"), IN_QUOTE, True),
        # A picture in the new text is the writer's.
        (picture("classroom.png", cid="<E1F2@example.net>"), IN_TEXT, False),
        # So are a big picture, a picture attached as a file, and any other file.
        (picture("image001.png", MAX_DECORATION_BYTES + 1), SIGNED, False),
        (picture("classroom.png", inline=False), None, False),
        (picture("classroom.png"), None, False),
        (
            ParsedAttachment(
                "image001.pdf", "application/pdf", 900, b"%" * 900, True, True
            ),
            None,
            False,
        ),
    ],
)
def test_decoration(
    attachment: ParsedAttachment, html: str | None, decoration: bool
) -> None:
    assert is_decoration(attachment, html) is decoration


def test_a_quote_only_mail_with_a_signature_logo_is_held() -> None:
    logo = picture("image001.png", cid="<image001.png@01DB1A2B.3C4D5E60>")
    m = msg(new_text="", html=SIGNED, attachments=(logo,))
    d = route_message(to_q(3), m, facts())
    assert d.post is not None and d.post.hold_reasons == ("no new text",)


def test_a_file_sent_without_words_is_a_post() -> None:
    logo = picture("image001.png", cid="<image001.png@01DB1A2B.3C4D5E60>")
    pdf = ParsedAttachment("report.pdf", "application/pdf", 900, b"%" * 900, True)
    m = msg(new_text="", html=SIGNED, attachments=(logo, pdf))
    d = route_message(to_q(3), m, facts())
    assert d.post is not None and d.post.approved


def test_a_photo_in_the_text_without_words_is_a_post() -> None:
    photo = picture("classroom.png", cid="<E1F2@example.net>")
    m = dataclasses.replace(msg(new_text="", html=IN_TEXT), attachments=(photo,))
    d = route_message(to_q(3), m, facts())
    assert d.post is not None and d.post.approved


@pytest.mark.parametrize(
    "signature",
    [
        (
            "Tom Hale\nTraining Coordinator | Northfield College\n"
            "[cid:image001.png@01DB1A2B.3C4D5E60]"
        ),
        "Tom Hale",
        "TOM HALE\nNorthfield College\n+44 20 7946 0000",
    ],
)
def test_a_quote_signed_without_a_delimiter_has_no_new_text(signature: str) -> None:
    text = (
        f"\n{signature}\n\nFrom: Mod <m@x.org>\nSent: Monday, May 3, 2027 10:02 AM\n"
        "To: Tom <t@x.org>\nSubject: Question 1\n\nDear participants,\n"
    )
    assert trim_reply(text, sender_name="Tom Hale") == ""


def test_words_above_a_named_signature_stay_without_the_picture_place() -> None:
    text = (
        "Tom Hale\nhere: we moved the workshops outdoors.\n\nTom Hale\nCoordinator\n"
        "[cid:image001.png@01DB1A2B.3C4D5E60]\n\nOn Mon, 3 May 2027 at 10:02, Mod"
        " <m@x.org> wrote:\n> Question 1\n"
    )
    assert trim_reply(text, sender_name="Tom Hale") == (
        "Tom Hale\nhere: we moved the workshops outdoors."
    )
