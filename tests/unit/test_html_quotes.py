"""Quoted history and signatures cut in the HTML tree, client by client, and what must stay."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.core.html_quotes import MARKS, looks_like_attribution
from mailer.core.html_text import read_html
from mailer.core.parse import parse_message

NEW = "<div>We moved the workshops online.</div>"
OLD = "Dear participants, question 1: what changed?"
LIST = "skills-covid19@discuss.example.org"
ATTRIBUTION = f"On Mon, 4 May 2020 at 10:02, Skills e-discussion &lt;{LIST}&gt; wrote:"
HEADERS = (
    "<b>{0}:</b> Skills e-discussion &lt;{1}&gt;<br><b>{2}:</b> 4 May 2020 10:02<br>"
    "<b>{3}:</b> Ana Ruiz<br><b>{4}:</b> Question 1"
)


def header_block(*labels: str) -> str:
    return HEADERS.format(labels[0], LIST, *labels[1:])


# Each client's way of writing the history it quotes, below the same new text.
CONTAINERS = {
    "gmail": (
        f'<div class="gmail_quote"><div dir="ltr" class="gmail_attr">{ATTRIBUTION}<br></div>'
        f'<blockquote class="gmail_quote" style="margin:0 0 0 .8ex">{OLD}</blockquote></div>'
    ),
    "gmail container": (
        '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">'
        f"El lun, 4 may 2020 a las 10:02, X escribió:</div><blockquote>{OLD}</blockquote></div>"
    ),
    "outlook web": (
        '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
        f'<div id="divRplyFwdMsg" dir="ltr">{header_block("Von", "Gesendet", "An", "Betreff")}'
        f"</div><div>{OLD}</div>"
    ),
    "outlook mobile": (
        '<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg">'
        f"{header_block('From', 'Sent', 'To', 'Subject')}</div><div>{OLD}</div>"
    ),
    "outlook quoted again": (
        f'<div id="x_divRplyFwdMsg">{header_block("De", "Enviado", "Para", "Asunto")}</div>'
        f"<div>{OLD}</div>"
    ),
    "new outlook": (
        '<div id="mail-editor-reference-message-container"><div style="border:none">'
        f"{header_block('Od', 'Wysłano', 'Do', 'Temat')}</div>{OLD}</div>"
    ),
    "outlook desktop": (
        '<div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        f'<p class="MsoNormal">{header_block("Fra", "Sendt", "Til", "Emne")}</p></div></div>'
        f'<p class="MsoNormal">{OLD}</p>'
    ),
    "outlook 2010": (
        '<div style="border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0in 0in 0in">'
        f'<p class="MsoNormal">{header_block("От", "Отправлено", "Кому", "Тема")}</p></div>'
        f"<p>{OLD}</p>"
    ),
    "outlook mac": (
        '<span id="OLK_SRC_BODY_SECTION"><div style="BORDER-TOP: #b5c4df 1pt solid">'
        f"{header_block('From', 'Date', 'To', 'Subject')}</div>{OLD}</span>"
    ),
    "outlook mac 2011": (
        '<div style="border-top: #b5c4df 1pt solid"><span style="font-weight:bold">From: </span>'
        'X<br><span style="font-weight:bold">Date: </span>4 May<br><span style="font-weight:'
        f'bold">To: </span>Y<br><span style="font-weight:bold">Subject: </span>Q1</div>{OLD}'
    ),
    "windows mail": (
        '<div style="padding-top: 5px; border-top-color: rgb(229, 229, 229);'
        ' border-top-width: 1px; border-top-style: solid;">'
        f"{header_block('Van', 'Verzonden', 'Aan', 'Onderwerp')}</div><div>{OLD}</div>"
    ),
    "hotmail": (
        f'<hr id="stopSpelling">{header_block("From", "Sent", "To", "Subject")}<br>{OLD}'
    ),
    "outlook 2003": (
        '<div class="OutlookMessageHeader" lang="en-us" dir="ltr" align="left"><hr tabindex="-1">'
        f"{header_block('From', 'Sent', 'To', 'Subject')}</div><div>{OLD}</div>"
    ),
    "rule and bold labels": (
        f"<hr><div>{header_block('Lähettäjä', 'Lähetetty', 'Vastaanottaja', 'Aihe')}</div>"
        f"<div>{OLD}</div>"
    ),
    "thunderbird": (
        '<div class="moz-cite-prefix">Am 04.05.20 um 10:02 schrieb Skills e-discussion:<br></div>'
        f'<blockquote type="cite" cite="mid:q1@discuss.example.org">{OLD}</blockquote>'
    ),
    "thunderbird forward": (
        '<div class="moz-forward-container"><br>-------- Forwarded Message --------'
        f"<table><tr><th>Subject:</th><td>Question 1</td></tr></table>{OLD}</div>"
    ),
    "yahoo": (
        '<div id="yahoo_quoted_0123456789" class="yahoo_quoted"><div>'
        f"On Monday, 4 May 2020, 10:02:00 CEST, X &lt;{LIST}&gt; wrote:</div>"
        f"<div>{OLD}</div></div>"
    ),
    "yahoo quoted again": (
        '<div id="ydp3c1a2b4yahoo_quoted_99" class="ydp3c1a2b4yahoo_quoted">'
        f"<div>Le lundi 4 mai 2020, X a écrit :</div><div>{OLD}</div></div>"
    ),
    "apple mail": (
        '<div class="AppleOriginalContents"><br><blockquote type="cite"><div>'
        f"Il giorno 4 mag 2020, alle ore 10:02, X &lt;{LIST}&gt; ha scritto:</div>"
        f'<br class="Apple-interchange-newline"><div>{OLD}</div></blockquote></div>'
    ),
    "apple mail older": (
        f"<div><br><div>On 4 May 2020, at 10:02, X &lt;{LIST}&gt; wrote:</div>"
        f'<br class="Apple-interchange-newline"><blockquote type="cite">{OLD}</blockquote></div>'
    ),
    "ios mail": (
        '<div dir="ltr"><br><blockquote type="cite">Op 4 mei 2020 om 10:02 heeft X '
        f"&lt;{LIST}&gt; het volgende geschreven:<br><br></blockquote></div>"
        f'<blockquote type="cite"><div dir="ltr">{OLD}</div></blockquote>'
    ),
    "roundcube": (
        "<p>On 2020-05-04 10:02, Skills e-discussion wrote:</p>"
        f'<blockquote type="cite" style="padding: 0 0.4em">{OLD}</blockquote>'
    ),
    "zimbra": (
        '<hr id="zwchr" data-marker="__DIVIDER__"><div data-marker="__HEADERS__">'
        f"<blockquote>{header_block('De', 'À', 'Envoyé', 'Objet')}</blockquote></div>"
        f"<blockquote>{OLD}</blockquote>"
    ),
    "zoho": (
        '<div class="zmail_extra_hr" style="border-top: 1px solid rgb(204, 204, 204)"><br></div>'
        '<div class="zmail_extra"><div id="Zm-_Id_-Sgn1">---- On Mon, 04 May 2020 10:02:00'
        f" +0200 <b>X</b> wrote ---<br></div><blockquote>{OLD}</blockquote></div>"
    ),
    "protonmail": (
        f'<div class="protonmail_quote">On Monday, May 4th, 2020 at 10:02, X &lt;{LIST}&gt;'
        f' wrote:<br><blockquote class="protonmail_quote" type="cite">{OLD}</blockquote></div>'
    ),
    "tutanota": (
        f"<div>4 May 2020, 10:02 by {LIST}:</div>"
        f'<blockquote class="tutanota_quote">{OLD}</blockquote>'
    ),
    "yandex": (
        f'<div>04.05.2020, 10:02, "Skills e-discussion" &lt;{LIST}&gt;:</div>'
        f"<blockquote><div>{OLD}</div></blockquote>"
    ),
    "mail.ru": (
        "<br>Понедельник, 4 мая 2020, 10:02 +03:00 от Skills &lt;"
        f'<a href="mailto:{LIST}">{LIST}</a>&gt;:<br>'
        f'<blockquote style="border-left:1px solid #0857A6">{OLD}</blockquote>'
    ),
    "samsung": (
        '<div style="font-size:100%;color:#000000"><!-- originalMessage -->'
        "<div>-------- Original message --------</div><div>From: X &lt;x@example.org&gt; "
        f"</div><div>Date: 04/05/2020 10:02 (GMT+01:00) </div></div>{OLD}"
    ),
    "android dashed": (
        "<div>-------- Originalnachricht --------</div><div>Von: X &lt;x@example.org&gt;</div>"
        f"<div>Datum: 04.05.20 10:02 (GMT+01:00)</div><div>{OLD}</div>"
    ),
    "gmx": (
        '<div name="quote" style="margin:10px 5px 5px 10px; border-left:2px solid #C3D9E5;">'
        f'<div style="margin:0 0 10px 0;">{header_block("Gesendet", "Von", "An", "Betreff")}'
        f'</div><div name="quoted-content">{OLD}</div></div>'
    ),
    "yahoo android": (
        '<blockquote style="margin: 0 0 20px 0;"><div style="color:#6D00F6;"><div>On Mon, May 4,'
        f" 2020 at 10:02, Skills e-discussion</div><div>&lt;{LIST}&gt; wrote:</div></div>"
        f'<div style="padding: 10px 0 0 20px;">{OLD}</div></blockquote>'
    ),
    "wrapped above": (
        f"<div>On Mon, 4 May 2020 at 10:02, Skills e-discussion<br>&lt;{LIST}&gt; wrote:</div>"
        f"<blockquote>{OLD}</blockquote>"
    ),
    "spark": (
        '<div name="messageReplySection">On 4 May 2020, 10:02 +0200, Skills, wrote:<br>'
        f'<blockquote type="cite">{OLD}</blockquote></div>'
    ),
    "qq mail": f'<div id="isReplyContent"><div>{ATTRIBUTION}</div>{OLD}</div>',
    "elided": f'<div class="elided-text">{ATTRIBUTION}<blockquote>{OLD}</blockquote></div>',
}


@pytest.mark.parametrize("container", CONTAINERS.values(), ids=list(CONTAINERS))
def test_each_client_history_is_cut_in_the_tree(container: str) -> None:
    read = read_html(f"<html><body>{NEW}<div><br></div>{container}</body></html>")
    assert read.cut
    assert read.reply == "We moved the workshops online."
    assert "Dear participants" in read.text  # the full text keeps it, for moderators
    assert not set(read.text + read.reply) & set(MARKS)


SIGNATURES = {
    "gmail": (
        '<span class="gmail_signature_prefix">-- </span><br><div class="gmail_signature"'
        ' data-smartmail="gmail_signature"><b>Ana Ruiz</b><div>Director, Example VET</div></div>'
    ),
    "thunderbird": '<pre class="moz-signature" cols="72">-- \nAna Ruiz\nExample VET</pre>',
    "protonmail": (
        '<div class="protonmail_signature_block"><div class="protonmail_signature_block-user">'
        'Ana</div><div class="protonmail_signature_block-proton">Sent with <a href="https://'
        'proton.me/">Proton Mail</a> secure email.</div></div>'
    ),
    "outlook web": '<div id="Signature"><div>Kind regards<br>Ana Ruiz | Example VET</div></div>',
    "outlook mobile": '<div id="ms-outlook-mobile-signature">Get Outlook for Android</div>',
    "zoho": '<div id="Zm-_Id_-Sgn" data-zbluepencil-ignore="true"><div>Ana Ruiz</div></div>',
    "apple mail": (
        '<div><br id="lineBreakAtBeginningOfSignature"><div dir="ltr">Ana Ruiz<br>Director'
        "<br>Example VET, Calle Mayor 1, Madrid<br>+34 600 000 000</div></div>"
    ),
    "yahoo": '<div class="ydp2f3a4b5csignature"><div>Ana Ruiz, Example VET</div></div>',
    "samsung": '<div id="composer_signature"><div>Enviado do meu Galaxy</div></div>',
    "spark": '<div name="messageSignatureSection"><br>Ana Ruiz, Example VET</div>',
}


@pytest.mark.parametrize("signature", SIGNATURES.values(), ids=list(SIGNATURES))
def test_signature_containers_are_left_out_of_the_reply(signature: str) -> None:
    read = read_html(f"{NEW}<div><br></div>{signature}{CONTAINERS['gmail']}")
    assert read.reply == "We moved the workshops online."
    assert "Dear participants" in read.text


def test_what_is_typed_into_ios_signature_block_is_kept() -> None:
    html = '<div id="AppleMailSignature">Yes, we can host it.<br><br>Sent from my iPhone</div>'
    assert read_html(html).reply == "Yes, we can host it.\n\nSent from my iPhone"


def test_apple_forward_in_a_cited_blockquote_is_history() -> None:
    forwarded = (
        '<blockquote type="cite"><div>Begin forwarded message:</div><br>'
        "<div><span><b>From: </b></span><span>X &lt;x@example.org&gt;</span></div>"
        "<div><span><b>Subject: </b></span><span>Q1</span></div>"
        "<div><span><b>Date: </b></span><span>4 May 2020 at 10:02</span></div>"
        f"<div>{OLD}</div></blockquote>"
    )
    read = read_html(NEW + forwarded)
    assert read.cut and read.reply == "We moved the workshops online."


def test_a_signature_alone_is_left_out_and_nothing_is_cut() -> None:
    read = read_html(NEW + SIGNATURES["gmail"])
    assert not read.cut
    assert read.reply == "We moved the workshops online."


OWN_QUOTES = {
    "plain at the end": (
        "<p>The report puts it well:</p><blockquote>Skills need practice time.</blockquote>"
    ),
    "gmail quote button": (
        '<div>The report puts it well:</div><blockquote class="gmail_quote" style="margin:0'
        ' 0 0 .8ex;border-left:1px solid #ccc">Skills need practice time.</blockquote>'
    ),
    "apple quote level": (
        '<div>From the 2020 report:</div><blockquote type="cite">Skills need practice time.'
        "</blockquote>"
    ),
    "after a sentence with a time": (
        "<p>We met at 10:30 with the chamber of crafts.</p><p>The report puts it well:</p>"
        "<blockquote>Skills need practice time.</blockquote>"
    ),
    "in the middle": (
        "<p>The report says</p><blockquote>Skills need practice time.</blockquote><p>I agree.</p>"
    ),
}
TRAILING_OWN_QUOTES = [k for k in OWN_QUOTES if k != "in the middle"]


def test_a_quotation_that_ends_the_text_keeps_its_place_before_a_signature() -> None:
    html = OWN_QUOTES["plain at the end"] + "<p>-- <br>Grace Okafor</p>"
    raw = (
        "From: Grace Okafor <grace@example.org>\r\nTo: list@discuss.example.org\r\n"
        "Subject: Re: Q1\r\nMessage-ID: <own2@example.org>\r\n"
        "Date: Tue, 5 May 2020 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + html
    ).encode()
    assert parse_message(raw).new_text == (
        "The report puts it well:\n\nSkills need practice time."
    )


def test_quotes_answered_inline_without_their_attribution_stay_quotes() -> None:
    html = (
        '<blockquote type="cite">Question 1: what changed?</blockquote>'
        "<div>Everything moved online.</div>"
        '<blockquote type="cite">What would you keep?</blockquote>'
        "<div>The recorded lessons.</div>"
    )
    assert read_html(html).reply == (
        "> Question 1: what changed?\nEverything moved online.\n"
        "> What would you keep?\nThe recorded lessons."
    )


@pytest.mark.parametrize(
    "html", [OWN_QUOTES[k] for k in TRAILING_OWN_QUOTES], ids=TRAILING_OWN_QUOTES
)
def test_a_blockquote_without_attribution_is_the_writers_own(html: str) -> None:
    read = read_html(html)
    assert not read.cut
    assert "Skills need practice time." in read.reply
    assert (
        "> Skills" not in read.reply
    )  # not marked: the trimmer must not take it as history
    assert "> Skills need practice time." in read.text  # the full text shows it quoted


def test_an_own_quotation_survives_parsing_at_the_end_of_the_new_text() -> None:
    raw = (
        "From: Grace <grace@example.org>\r\nTo: list@discuss.example.org\r\n"
        "Subject: Re: Q1\r\nMessage-ID: <own@example.org>\r\nDate: Tue, 5 May 2020 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + OWN_QUOTES["plain at the end"]
    ).encode()
    parsed = parse_message(raw)
    assert parsed.new_text == "The report puts it well:\n\nSkills need practice time."


def test_own_quotation_above_a_real_quote_stays_and_the_history_goes() -> None:
    read = read_html(OWN_QUOTES["in the middle"] + CONTAINERS["thunderbird"])
    assert read.cut
    assert read.reply == "The report says\n\n> Skills need practice time.\n\nI agree."


def test_answers_between_quoted_parts_stay_with_what_they_answer() -> None:
    html = (
        '<div class="moz-cite-prefix">On 04/05/2020 10:02, Skills e-discussion wrote:</div>'
        '<blockquote type="cite" cite="mid:q1@x">Question 1: what changed?</blockquote>'
        "<p>Everything moved online.</p>"
        '<blockquote type="cite" cite="mid:q1@x">What would you keep?</blockquote>'
        "<p>The recorded lessons.</p>"
    )
    read = read_html(html)
    assert not read.cut
    assert "Skills e-discussion wrote" not in read.reply
    assert read.reply == (
        "> Question 1: what changed?\n\nEverything moved online.\n\n"
        "> What would you keep?\n\nThe recorded lessons."
    )


def test_a_signature_below_the_quote_is_no_answer() -> None:
    html = NEW + CONTAINERS["thunderbird"] + SIGNATURES["thunderbird"]
    read = read_html(html)
    assert read.cut and read.reply == "We moved the workshops online."


NOT_HISTORY = {
    "a bordered box": (
        '<div style="border-top:solid #E1E1E1 1.0pt">Agenda: <b>Monday</b> and Tuesday</div>'
    ),
    "a dashed heading": "<div>---- Summary ----</div><div>Three things changed.</div>",
    "a rule": "<hr><div>Three things changed.</div>",
    "bold labels without a rule": (
        "<div><b>Date:</b> 5 May<br><b>Place:</b> Geneva<br><b>Topic:</b> skills</div>"
    ),
}


@pytest.mark.parametrize("html", NOT_HISTORY.values(), ids=list(NOT_HISTORY))
def test_what_only_looks_like_a_separator_is_kept(html: str) -> None:
    read = read_html(NEW + html)
    assert not read.cut
    assert read.reply == read.text


@pytest.mark.parametrize(
    ("line", "is_attribution"),
    [
        ("On Mon, 4 May 2020 at 10:02, Ana <ana@example.org> wrote:", True),
        ('04.05.2020, 10:02, "Ana" <ana@example.org>:', True),
        ("2020年5月4日(月) 10:02 Ana <ana@example.org>:", True),
        ("Ana Ruiz wrote:", True),
        ("The 2020 report puts it well:", False),
        ("Three points:", False),
        ("We met at 10:30 and agreed.", False),
    ],
)
def test_attribution_lines(line: str, is_attribution: bool) -> None:
    assert looks_like_attribution(line) is is_attribution


def test_marks_written_by_the_sender_cannot_cut_or_hide_text() -> None:
    forged = "Keep\ue000this\ue001and\ue002that\ue003"
    read = read_html(f"<div>{forged}</div>")
    assert read.reply == read.text == "Keepthisandthat"


def test_a_no_break_space_block_is_an_empty_line() -> None:
    read = read_html(
        "<div>Hello,</div><div>&nbsp;</div><div>we agree.</div><div> </div>"
    )
    assert read.text == read.reply == "Hello,\n\nwe agree."


def test_deep_nesting_and_many_quotes_stay_cheap() -> None:
    deep = "<div>" * 3000 + "text" + "</div>" * 3000
    quotes = NEW + "<blockquote>own</blockquote>" * 5000 + CONTAINERS["gmail"]
    started = time.perf_counter()
    deep_read = read_html(deep)
    many = read_html(quotes)
    elapsed = time.perf_counter() - started
    assert "text" in deep_read.text
    assert many.reply.startswith("We moved the workshops online.")
    assert elapsed < 5  # seconds, on a busy machine; a few hundred ms alone


def test_a_huge_document_is_read_within_the_cap() -> None:
    huge = NEW + "<p>" + "word " * 600_000 + "</p>" + CONTAINERS["outlook web"]
    started = time.perf_counter()
    read = read_html(huge)
    assert time.perf_counter() - started < 30
    assert read.reply.startswith("We moved the workshops online.")


def alternative(plain: str) -> bytes:
    """A multipart/alternative reply whose text/plain part is *plain*."""
    html = f"<p>From the HTML part.</p>{CONTAINERS['outlook mobile']}"
    return (
        "From: Sam <sam@example.org>\r\nTo: list@discuss.example.org\r\nSubject: Re: Q1\r\n"
        "Message-ID: <alt@example.org>\r\nDate: Tue, 5 May 2020 10:00:00 +0000\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n'
        f"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{plain}\r\n"
        f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b--\r\n"
    ).encode()


@pytest.mark.parametrize(
    "stub",
    [
        "",
        "\u200b\r\n\u00a0",
        "&nbsp;",
        "This is an HTML message. Please use an HTML capable mail program to read it.",
        "Your mail client does not support HTML messages.",
        "To view this message, please open it in a browser that displays HTML.",
    ],
)
def test_a_plain_stub_beside_html_is_passed_over(stub: str) -> None:
    parsed = parse_message(alternative(stub))
    assert parsed.text_from_html
    assert parsed.new_text == "From the HTML part."


def test_a_plain_part_that_says_something_is_still_preferred() -> None:
    parsed = parse_message(
        alternative("From the plain part, which mentions HTML once.")
    )
    assert not parsed.text_from_html
    assert parsed.new_text == "From the plain part, which mentions HTML once."


_FRAGMENTS = [
    *CONTAINERS.values(),
    *SIGNATURES.values(),
    *OWN_QUOTES.values(),
    *NOT_HISTORY.values(),
    NEW,
    "<blockquote>",
    "</blockquote>",
    "<div>",
    "</div>",
    "<br>",
    "<p>Plain words, 10:02.</p>",
    "\ue000\ue001",
    "<table><tr><td>cell</td><td>",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12))
def test_any_arrangement_reads_without_error_or_leaked_marks(parts: list[str]) -> None:
    read = read_html("".join(parts))
    assert not set(read.text + read.reply) & set(MARKS)
    for line in read.reply.split("\n"):  # nothing is made up: every line is shown
        assert line.lstrip("> ") in read.text


WORD_STYLE = (
    "<head><style><!--\n/* Font Definitions */\n@font-face {font-family:Calibri;}\n"
    "p.MsoNormal, li.MsoNormal, div.MsoNormal {margin:0cm; margin-bottom:.0001pt;"
    " font-size:11.0pt;}\n--></style></head>"
)


def test_outlook_paragraphs_show_line_under_line_as_in_outlook() -> None:
    html = (
        f"<html>{WORD_STYLE}<body><p class=MsoNormal>Kind regards,<o:p></o:p></p>"
        "<p class=MsoNormal>Ana Ruiz<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        "<p class=MsoNormal>PS: the report is attached.</p><p>A plain paragraph.</p></body></html>"
    )
    assert read_html(html).text == (
        "Kind regards,\nAna Ruiz\n\nPS: the report is attached.\n\nA plain paragraph."
    )


def test_outlook_web_paragraphs_without_margins() -> None:
    html = (
        '<html><head><style type="text/css" style="display:none;"> P {margin-top:0;'
        "margin-bottom:0;} </style></head><body><p>Hello</p><p><br></p><p>Line a</p>"
        "<p>Line b</p></body></html>"
    )
    assert read_html(html).text == "Hello\n\nLine a\nLine b"


def test_paragraphs_keep_their_margins_without_such_a_style_sheet() -> None:
    html = "<style>p.other {margin:0}</style><p class=MsoNormal>A</p><p class=MsoNormal>B</p>"
    assert read_html(html).text == "A\n\nB"


@pytest.mark.parametrize(
    "sheet",
    ["/* " * 33_000, "a" * 100_000, "a{" * 50_000, "}" * 100_000, "<style>" * 20_000],
)
def test_hostile_style_sheets_cost_linear_time(sheet: str) -> None:
    html = f"<style>{sheet}</style>" * 5 + "<p>x</p>"
    started = time.perf_counter()
    assert read_html(html).text.endswith("x")
    assert time.perf_counter() - started < 3  # a comment pattern took 24 s on one
