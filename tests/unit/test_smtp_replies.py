from __future__ import annotations

import pytest

from mailer.inbound.smtp_replies import with_enhanced_code

HOST = "discuss.example.org"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("250 OK", "250 2.0.0 OK"),
        ("221 Bye", "221 2.0.0 Bye"),
        ("503 Error: need RCPT command", "503 5.5.1 Error: need RCPT command"),
        ("500 Error: bad syntax", "500 5.5.2 Error: bad syntax"),
        ("501 Syntax: RSET", "501 5.5.4 Syntax: RSET"),
        ("421 Too busy", "421 4.0.0 Too busy"),
        ("220 Ready to start TLS", "220 2.0.0 Ready to start TLS"),
        # Already coded, or not a completion reply: as they are.
        ("250 2.1.5 OK", "250 2.1.5 OK"),
        (
            "550 5.1.1 Recipient address rejected",
            "550 5.1.1 Recipient address rejected",
        ),
        ("354 End data with <CR><LF>.<CR><LF>", "354 End data with <CR><LF>.<CR><LF>"),
        ("250-PIPELINING", "250-PIPELINING"),
        ("250 HELP", "250 HELP"),
        (f"220 {HOST} ediscuss ESMTP", f"220 {HOST} ediscuss ESMTP"),
        ("250 2.0.0 OK\r\n451 4.3.0 later", "250 2.0.0 OK\r\n451 4.3.0 later"),
        ("garbage", "garbage"),
    ],
)
def test_enhanced_codes_are_added_only_where_missing(
    status: str, expected: str
) -> None:
    assert with_enhanced_code(status, HOST) == expected
