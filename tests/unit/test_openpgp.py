"""OpenPGP clear-signed text loses its armour and keeps every word (RFC 4880, 7)."""

from __future__ import annotations

import pytest

from mailer.core.openpgp import unwrap_clearsigned, without_encrypted

SIGNATURE = """-----BEGIN PGP SIGNATURE-----
Comment: a comment line

iQEzBAEBCAAdFiEE
=Kx3P
-----END PGP SIGNATURE-----"""


def test_the_signed_text_comes_out_dash_escapes_undone() -> None:
    text = (
        "-----BEGIN PGP SIGNED MESSAGE-----\n"
        "Hash: SHA256\n"
        "\n"
        "Three hurdles:\n"
        "- - laptops\n"
        "- - data plans\n"
        "\n"
        "- -- \n"
        "Ana\n" + SIGNATURE + "\n"
    )
    assert unwrap_clearsigned(text) == (
        "Three hurdles:\n- laptops\n- data plans\n\n-- \nAna"
    )


@pytest.mark.parametrize(
    "text",
    [
        "No armour at all.\n\n-- \nAna",
        "Mentions -----BEGIN PGP SIGNED MESSAGE----- inside a line.",
        "> -----BEGIN PGP SIGNED MESSAGE-----\n> Hash: SHA1\n>\n> quoted\n",
        "",
    ],
)
def test_text_without_a_block_of_its_own_is_left_alone(text: str) -> None:
    assert unwrap_clearsigned(text) == text


def test_text_around_the_block_and_two_blocks_are_kept() -> None:
    block = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{}\n" + SIGNATURE
    text = (
        "Before.\n" + block.format("First.") + "\nBetween.\n" + block.format("Second.")
    )
    assert unwrap_clearsigned(text) == "Before.\nFirst.\nBetween.\nSecond."


def test_a_block_cut_short_keeps_what_was_read() -> None:
    cut = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOnly this.\n"
    assert unwrap_clearsigned(cut) == "Only this."
    no_end = cut + "-----BEGIN PGP SIGNATURE-----\n\niQEz\n"
    assert unwrap_clearsigned(no_end) == "Only this."


def test_a_block_without_armour_headers_loses_no_text() -> None:
    """A sender that writes the text straight after the first line (not the
    RFC's form) still gets every word through."""
    text = "-----BEGIN PGP SIGNED MESSAGE-----\nFirst line: of the text.\nSecond.\n"
    assert unwrap_clearsigned(text) == "First line: of the text.\nSecond."
    plain = "-----BEGIN PGP SIGNED MESSAGE-----\nFirst line of the text.\nSecond.\n"
    assert unwrap_clearsigned(plain) == "First line of the text.\nSecond."


def test_encrypted_blocks_are_taken_out_and_told() -> None:
    text = (
        "Hello,\n"
        "-----BEGIN PGP MESSAGE-----\n"
        "\n"
        "hQEMA8x1b2Jk\n"
        "=abcd\n"
        "-----END PGP MESSAGE-----\n"
        "Sent from my phone"
    )
    assert without_encrypted(text) == ("Hello,\nSent from my phone", True)
    cut = "-----BEGIN PGP MESSAGE-----\nhQEMA8x1b2Jk\n"  # no end line: all of it
    assert without_encrypted(cut) == ("", True)


@pytest.mark.parametrize(
    "text",
    [
        "Plain words.",
        "> -----BEGIN PGP MESSAGE-----\n> hQEMA\n> -----END PGP MESSAGE-----",
        "They wrote -----BEGIN PGP MESSAGE----- in a sentence.",
    ],
)
def test_text_without_an_encrypted_block_is_left_alone(text: str) -> None:
    assert without_encrypted(text) == (text, False)
