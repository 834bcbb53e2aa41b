"""Personal survey links: issuing a fresh token for an email and finding an invitation by token."""
from __future__ import annotations

import re
import secrets

from sqlalchemy import select

from app.extensions import db
from app.models import Invitation, InvitationToken, hash_token

TOKEN_BYTES = 24  # 192 bits from `secrets`; the link carries 32 URL-safe characters
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")


def issue_token(invitation: Invitation, purpose: str = "invite") -> str:
    """Create a new random token for one email and store only its SHA-256. The caller commits."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(InvitationToken(invitation=invitation, token_hash=hash_token(token), purpose=purpose))
    return token


def is_well_formed(token: str) -> bool:
    return bool(TOKEN_PATTERN.match(token))


def token_digest(token: str) -> str:
    """The stored digest to look a token up by. A malformed token gets a digest no token can have, at
    the same cost, so response times do not tell a malformed token from an unknown one."""
    return hash_token(token if is_well_formed(token) else "!" + token[:64])


def find_invitation(token: str) -> Invitation | None:
    """The invitation a token belongs to, or None."""
    return db.session.scalar(
        select(Invitation).join(InvitationToken, InvitationToken.invitation_id == Invitation.id)
        .where(InvitationToken.token_hash == token_digest(token))
    )
