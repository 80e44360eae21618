"""One-time tokens: confirmations of subscribing and leaving, moderators' confirmations.

A token is stored by its SHA-256 only (the token itself travels by mail), with
its purpose, address, payload and expiry; using it is atomic, so it works once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.models import Token, TokenPurpose
from store.writes import changed_rows


def add_token(
    session: Session,
    *,
    token_hash: str,
    purpose: TokenPurpose,
    discussion_id: int | None,
    email: str,
    payload: Mapping[str, Any],
    now: datetime,
    expires_at: datetime,
) -> Token:
    """Store a one-time token by its hash (the token itself only travels by mail)."""
    row = Token(
        token_hash=token_hash,
        purpose=purpose,
        discussion_id=discussion_id,
        email=email,
        payload=json.dumps(dict(payload), sort_keys=True),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row


def token_by_hash(session: Session, token_hash: str) -> Token | None:
    """The token whose SHA-256 is *token_hash*, or None."""
    return session.scalar(select(Token).where(Token.token_hash == token_hash))


def token_payload(token: Token) -> dict[str, Any]:
    """The token's JSON payload as a dict ({} when unreadable)."""
    try:
        value = json.loads(token.payload or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def use_token(session: Session, token_id: int, now: datetime) -> bool:
    """Mark a token used, atomically: True for exactly one caller, and only before expiry."""
    result = session.execute(
        update(Token)
        .where(Token.id == token_id, Token.used_at.is_(None), Token.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return changed_rows(result) == 1


def latest_live_token(
    session: Session,
    discussion_id: int,
    email: str,
    purpose: TokenPurpose,
    now: datetime,
) -> Token | None:
    """The newest unused, unexpired token of *purpose* for an address, or None."""
    return session.scalar(
        select(Token)
        .where(
            Token.discussion_id == discussion_id,
            Token.email == email,
            Token.purpose == purpose,
            Token.used_at.is_(None),
            Token.expires_at > now,
        )
        .order_by(Token.created_at.desc(), Token.id.desc())
        .limit(1)
    )
