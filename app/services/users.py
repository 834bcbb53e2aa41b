"""Accounts: creation, authentication and password changes, free of HTTP."""
from __future__ import annotations

import secrets
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import InvalidInput
from app.extensions import db
from app.models import Provider, User
from app.models.base import utcnow
from app.models.user import ROLES

MIN_PASSWORD_LENGTH = 12


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(str(exc), errors={"email": [str(exc)]}) from exc


def create_user(email: str, password: str, role: str = "manager", name: str = "",
                provider: Provider | None = None, must_change_password: bool = False) -> User:
    """Create an account; the caller commits."""
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", errors={"role": ["unknown"]})
    if role == "provider" and provider is None:
        raise InvalidInput("A provider account must belong to a provider.", errors={"provider": ["required"]})
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.",
                           errors={"password": ["too short"]})
    email = normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidInput(f"An account for {email} already exists.", errors={"email": ["taken"]})
    user = User(email=email, name=name, role=role, provider=provider, must_change_password=must_change_password)
    user.set_password(password)
    db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email)) if "\x00" not in email else None
    if user is None:
        # Hash anyway, so a login with an unknown email takes as long as one with a wrong password.
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.active or not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not user.check_password(current_password):
        raise InvalidInput("The current password is not right.", errors={"current_password": ["wrong"]})
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.",
                           errors={"new_password": ["too short"]})
    user.set_password(new_password)
    user.must_change_password = False
    db.session.commit()
