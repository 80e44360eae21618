"""Spam complaints (RFC 5965 feedback reports) over SMTP: the complaining subscriber leaves.

Each report goes through the real inbound path (the listener on loopback, the
store, the pipeline) to the address a feedback loop would use, and names the
subscriber only as a real report does: through the returned copy of our mail.
"""

from __future__ import annotations

from mailer.core.addresses import AddressBook
from mailer.links import unsubscribe_url, verp_address
from store.models import SubscriptionStatus
from tests.fixtures.inbound import DOMAIN, SLUG, MailhostFactory, address
from tests.integration.outbound_setup import add_subscriber, subscription


def feedback_report(
    *,
    message_id: str,
    recipient: str,
    return_path: str = "",
    unsubscribe: str = "",
    feedback_type: str = "abuse",
) -> bytes:
    """An ARF report as a mailbox provider's feedback loop sends it."""
    mail_from = f"Original-Mail-From: <{return_path}>\r\n" if return_path else ""
    returned = f"Return-Path: <{return_path}>\r\n" if return_path else ""
    if unsubscribe:
        returned += (
            f"List-Unsubscribe: <{unsubscribe}>,\r\n"
            f" <mailto:{SLUG}-request@{DOMAIN}?subject=unsubscribe>\r\n"
        )
    return (
        "From: Feedback Loop <fbl@complaints.example-isp.net>\r\n"
        f"To: postmaster@{DOMAIN}\r\n"
        "Subject: complaint about message from 198.51.100.25\r\n"
        f"Message-ID: {message_id}\r\n"
        "Date: Tue, 30 Mar 2027 12:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=feedback-report;\r\n"
        ' boundary="fbl"\r\n\r\n'
        "--fbl\r\nContent-Type: text/plain\r\n\r\n"
        "A user of ours marked this message as spam.\r\n\r\n"
        "--fbl\r\nContent-Type: message/feedback-report\r\n\r\n"
        f"Feedback-Type: {feedback_type}\r\nUser-Agent: ExampleFBL/2.1\r\nVersion: 1\r\n"
        f"{mail_from}Original-Rcpt-To: <{recipient}>\r\n"
        "Source-IP: 198.51.100.25\r\n\r\n"
        "--fbl\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
        f"{returned}From: Skills and COVID-19 <{address('+q1')}>\r\n"
        f"To: {recipient}\r\n"
        "Subject: [skills-covid19] Question 1 is open\r\n"
        f"Message-ID: <q1.announce@{DOMAIN}>\r\n"
        f"List-Id: Skills and COVID-19 <{SLUG}.{DOMAIN}>\r\n\r\n"
        "Question 1 is open for your contributions.\r\n\r\n"
        "--fbl--\r\n"
    ).encode()


def test_a_spam_complaint_unsubscribes_the_complainer(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost()
    rt = host.runtime
    book = AddressBook(SLUG, DOMAIN)
    carla = add_subscriber(rt, "carla@example-isp.net")
    omar = add_subscriber(rt, "omar@example.org")
    bystander = add_subscriber(rt, "ana@example.net")
    # To postmaster, naming Carla by our envelope sender (VERP) in the report.
    host.send(
        feedback_report(
            message_id="<fbl.1@complaints.example-isp.net>",
            recipient="carla@example-isp.net",
            return_path=verp_address(book, rt.key, "carla@example-isp.net", carla),
        ),
        [f"postmaster@{DOMAIN}"],
        mail_from="fbl@complaints.example-isp.net",
    )
    # To a question's address, the recipient redacted, naming Omar only by the
    # one-click link of the returned copy.
    host.send(
        feedback_report(
            message_id="<fbl.2@complaints.example-isp.net>",
            recipient="redacted@example-isp.net",
            unsubscribe=unsubscribe_url(
                rt.settings.service.base_url, rt.key, omar, 1, rt.clock()
            ),
        ),
        [address("+q1")],
        mail_from="",
    )
    # A forgery: Ana's address, no token of ours. Nobody is unsubscribed.
    host.send(
        feedback_report(
            message_id="<fbl.3@complaints.example-isp.net>",
            recipient="ana@example.net",
            return_path=f"{SLUG}-bounces+s{bystander}.AAAAAAAA@{DOMAIN}",
        ),
        [f"postmaster@{DOMAIN}"],
        mail_from="prankster@example.com",
    )
    # A report that is not a complaint ("not-spam") changes nothing either.
    host.send(
        feedback_report(
            message_id="<fbl.4@complaints.example-isp.net>",
            recipient="ana@example.net",
            return_path=verp_address(book, rt.key, "ana@example.net", bystander),
            feedback_type="not-spam",
        ),
        [f"postmaster@{DOMAIN}"],
    )
    host.process()
    kinds = {row.message_id: row.kind for row in host.inbound()}
    assert kinds == {
        "<fbl.1@complaints.example-isp.net>": "complaint-left",
        "<fbl.2@complaints.example-isp.net>": "complaint-left",
        "<fbl.3@complaints.example-isp.net>": "complaint-unmatched",
        "<fbl.4@complaints.example-isp.net>": "feedback-other",
    }
    assert subscription(rt, carla).status is SubscriptionStatus.UNSUBSCRIBED
    assert subscription(rt, omar).status is SubscriptionStatus.UNSUBSCRIBED
    assert subscription(rt, bystander).status is SubscriptionStatus.ACTIVE
    assert host.posts() == []  # a report is never a post
    assert host.outbox() == []  # and never answered, not even with a goodbye


def test_a_second_report_about_the_same_subscriber_changes_nothing(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost()
    rt = host.runtime
    sub = add_subscriber(rt, "carla@example-isp.net")
    link = unsubscribe_url(rt.settings.service.base_url, rt.key, sub, 1, rt.clock())
    for n in (1, 2):
        host.send(
            feedback_report(
                message_id=f"<again.{n}@complaints.example-isp.net>",
                recipient="carla@example-isp.net",
                unsubscribe=link,
            ),
            [f"postmaster@{DOMAIN}"],
        )
    host.process()
    assert [row.kind for row in host.inbound()] == [
        "complaint-left",
        "complaint-again",
    ]
    assert subscription(rt, sub).status is SubscriptionStatus.UNSUBSCRIBED
