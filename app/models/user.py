"""People who log in: admins, vendor managers, and the provider's account team (read-only)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.base import UTCDateTime, one_of, utcnow

if TYPE_CHECKING:
    from app.models.org import Provider

ROLES = ("admin", "manager", "provider")
SESSION_ID_SEPARATOR = ":"


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role_known"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("role <> 'provider' OR provider_id IS NOT NULL", name="provider_user_has_provider"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="manager")
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Part of every session and remember-me cookie: raising it ends all of them (logout everywhere,
    # password change, deactivation, role change).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    provider = relationship("Provider")

    @validates("email")
    def _normalise_email(self, _key: str, value: str) -> str:
        return value.strip().lower()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and remember-me cookies. The version in it lets
        `end_sessions` revoke those cookies, which are signed but otherwise kept by the browser alone."""
        return f"{self.id}{SESSION_ID_SEPARATOR}{self.session_version}"

    def accepts_session(self, version: int) -> bool:
        """Whether a cookie issued at `version` still signs this account in."""
        return bool(self.active) and self.session_version == version

    def end_sessions(self) -> None:
        """Every session and remember-me cookie issued so far stops working; the caller commits.

        Raised in SQL, so two raises at once (a deactivation while the person changes their password)
        give two steps and the version the other one just handed out cannot survive."""
        self.session_version = User.session_version + 1

    def replace_password(self, password: str, *, temporary: bool = False) -> None:
        """A new password ends every session; a temporary one (set by an admin) must be changed at the
        next sign-in. The caller checks the password policy and commits."""
        self.set_password(password)
        self.must_change_password = temporary
        self.end_sessions()

    def deactivate(self) -> None:
        self.active = False
        self.end_sessions()

    def reactivate(self) -> None:
        self.active = True

    def assign_role(self, role: str, provider: Provider | None) -> None:
        """What the account may see changes: sessions opened under the old role end."""
        provider_id = provider.id if provider is not None else None
        if role == self.role and provider_id == self.provider_id:
            return
        self.role = role
        self.provider = provider
        self.end_sessions()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return bool(self.active)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"
