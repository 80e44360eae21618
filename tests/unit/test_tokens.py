from __future__ import annotations

import pytest

from mailer.core.errors import BadToken
from mailer.core.tokens import (
    SignedFor,
    hash_token,
    random_token,
    sign_token,
    verify_token,
)

KEY = b"k" * 32


def test_signed_token_round_trip_and_case_insensitive() -> None:
    token = sign_token(KEY, SignedFor.REPLY, "42")
    assert verify_token(KEY, SignedFor.REPLY, token) == "42"
    assert verify_token(KEY, SignedFor.REPLY, token.upper()) == "42"
    assert token == token.lower()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1] + ("a" if t[-1] != "a" else "b"),
        lambda t: "43" + t[2:],
        lambda t: t.replace(".", ""),
        lambda t: "",
    ],
)
def test_forged_tokens_are_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    token = sign_token(KEY, SignedFor.REPLY, "42")
    with pytest.raises(BadToken):
        verify_token(KEY, SignedFor.REPLY, mutate(token))


def test_purpose_and_key_are_bound() -> None:
    token = sign_token(KEY, SignedFor.REPLY, "42")
    with pytest.raises(BadToken):
        verify_token(KEY, SignedFor.BOUNCE, token)
    with pytest.raises(BadToken):
        verify_token(b"other", SignedFor.REPLY, token)


def test_values_must_be_address_safe() -> None:
    with pytest.raises(ValueError):
        sign_token(KEY, SignedFor.REPLY, "a.b")
    with pytest.raises(ValueError):
        sign_token(KEY, SignedFor.REPLY, "A")


def test_random_tokens() -> None:
    a, b = random_token(), random_token()
    assert a != b and len(a) == 26 and a.isalnum() and a == a.lower()
    assert hash_token(a) == hash_token(a.upper()) != hash_token(b)
