"""Accounts: creation, authentication, the password policy, password changes and ending sessions, free of HTTP."""
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
from app.services.transactions import unit_of_work

MIN_PASSWORD_LENGTH = 12
MIN_PASSWORD_SCORE = 3  # zxcvbn's 0-4 scale: 3 is "safely unguessable", about 10^10 guesses
# zxcvbn refuses longer input; a password whose first 72 characters are strong is strong.
_ZXCVBN_MAX_LENGTH = 72


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


def generate_password() -> str:
    """A one-time password: 16 random URL-safe characters, which always pass the policy."""
    while True:
        password = secrets.token_urlsafe(12)
        if not password_problem(password, email=""):
            return password


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(str(exc), errors={"email": [str(exc)]}) from exc


def password_problem(password: str, *, email: str, name: str = "", current_password: str | None = None) -> str | None:
    """Why `password` may not be used, in words for the person choosing it, or None when it is fine.

    The one password policy, for every way a password is set (sign-in page, admin page, CLI, `flask
    init`): at least 12 characters, not the email address or the current password, and hard to guess
    by zxcvbn's estimate (score 3 of 4), which knows common passwords, names, keyboard patterns, dates
    and l33t spellings, and is told the account's email, name and the product's name as well.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    folded = password.strip().casefold()
    if email and folded == email.strip().casefold():
        return "Do not use your email address as your password."
    if current_password is not None and password == current_password:
        return "Choose a password different from your current one."
    hints = ["vendorpulse", "vendor", "pulse"]
    for value in (email, name):
        hints.append(value)
        hints.extend(part for part in value.replace("@", " ").replace(".", " ").split() if part)
    from zxcvbn import zxcvbn  # its dictionaries cost ~13 MB: loaded by the first password checked, not at start-up

    result = zxcvbn(password[:_ZXCVBN_MAX_LENGTH], user_inputs=[hint.casefold() for hint in hints if hint])
    if result["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = result["feedback"]
    reasons = [feedback.get("warning") or ""] + list(feedback.get("suggestions") or [])
    detail = " ".join(reason.rstrip(".") + "." for reason in reasons if reason)
    return ("This password is too easy to guess. " + (detail or "Add another word or two.")
            + " A few unrelated words make a strong password that is easy to remember.")


def check_password_policy(password: str, *, email: str, name: str = "", current_password: str | None = None,
                          field: str = "password") -> None:
    """Raise InvalidInput naming `field` when `password_problem` finds one."""
    problem = password_problem(password, email=email, name=name, current_password=current_password)
    if problem:
        raise InvalidInput(problem, errors={field: [problem]})


@unit_of_work
def create_user(email: str, password: str, role: str = "manager", name: str = "",
                provider: Provider | None = None, must_change_password: bool = False) -> User:
    """Create an account. A unit of work."""
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", errors={"role": ["unknown"]})
    if role == "provider" and provider is None:
        raise InvalidInput("A provider account must belong to a provider.", errors={"provider": ["required"]})
    email = normalise_email(email)
    check_password_policy(password, email=email, name=name)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidInput(f"An account for {email} already exists.", errors={"email": ["taken"]})
    user = User(email=email, name=name, role=role, provider=provider, must_change_password=must_change_password)
    user.set_password(password)
    db.session.add(user)
    return user


@unit_of_work
def authenticate(email: str, password: str) -> User | None:
    """The active account with this email and password (its last sign-in recorded), or None. A unit of work."""
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email)) if "\x00" not in email else None
    if user is None:
        # Hash anyway, so a login with an unknown email takes as long as one with a wrong password.
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.active or not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    return user


@unit_of_work
def change_password(user: User, current_password: str, new_password: str) -> None:
    """The account holder's own change: every other session ends (the caller signs this one in again)."""
    if not user.check_password(current_password):
        message = "The current password is not right."
        raise InvalidInput(message, errors={"current_password": [message]})
    check_password_policy(new_password, email=user.email, name=user.name, current_password=current_password,
                          field="new_password")
    user.replace_password(new_password)


@unit_of_work
def reset_password(user: User, password: str | None = None, *, acting: User | None = None) -> str | None:
    """An admin's reset (web page or `flask users set-password`): every session of the account ends.

    Without `password`, a one-time one is generated and returned, to be handed over and changed at the
    next sign-in. A password chosen on the admin page (`acting` given) is temporary too: only its owner
    should know the password they sign in with. One given on the command line is final. A unit of work.
    """
    if acting is not None and acting.id == user.id:
        message = "Change your own password on the password page."
        raise InvalidInput(message, errors={"password": [message]})
    generated = password is None
    if password is None:
        password = generate_password()
    else:
        check_password_policy(password, email=user.email, name=user.name)
    user.replace_password(password, temporary=generated or acting is not None)
    return password if generated else None


@unit_of_work
def update_account(user: User, *, name: str, role: str, provider: Provider | None, acting: User) -> bool:
    """Rename an account or change its role (and a provider account's provider). A change of role or
    provider ends the account's sessions, since it changes what they may see: returns whether it did.
    A unit of work."""
    if role not in ROLES:
        message = f"Choose one of {', '.join(ROLES)}."
        raise InvalidInput(message, errors={"role": [message]})
    if role == "provider" and provider is None:
        message = "A provider account must belong to a provider."
        raise InvalidInput(message, errors={"provider_id": [message]})
    if user.id == acting.id and role != user.role:
        message = "You cannot change your own role: ask another admin."
        raise InvalidInput(message, errors={"role": [message]})
    version = user.session_version
    user.name = name.strip()
    user.assign_role(role, provider if role == "provider" else None)
    return user.session_version != version


@unit_of_work
def end_sessions(user: User) -> None:
    """Sign the account out everywhere: every session and remember-me cookie issued so far stops working.
    A unit of work; a view that keeps the current browser signed in signs it in again afterwards."""
    user.end_sessions()


@unit_of_work
def set_user_active(user: User, active: bool, acting: User) -> User:
    """Deactivate (or reactivate) an account; nobody can lock themselves out. Deactivation ends the
    account's sessions, so reactivating it later does not bring an old cookie back to life. A unit of work."""
    if user.id == acting.id and not active:
        raise InvalidInput("You cannot deactivate your own account.", errors={"active": ["own account"]})
    if active:
        user.reactivate()
    elif user.active:
        user.deactivate()
    return user


@unit_of_work
def create_first_admin(email: str, password: str | None) -> tuple[User | None, str | None]:
    """Create the first admin unless one exists (`flask init`). Returns the user and, when none was given,
    the generated one-time password to print. A unit of work."""
    if db.session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None:
        return None, None
    generated = password is None
    password = password or generate_password()
    user = create_user(email, password, role="admin", name="Administrator", must_change_password=generated)
    return user, password if generated else None
