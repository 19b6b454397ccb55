"""Owner accounts: create, change the password, delete, and check a login."""

import functools

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .models import Owner


class AccountError(ValueError):
    """A request about an account that cannot be done; the message says why."""


def normalise_email(raw: str) -> str:
    """Return an owner's email in the form it is stored: checked and lower-cased."""
    try:
        checked = validate_email((raw or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(f"{raw!r} is not an email address: {exc}") from None
    return checked.normalized.lower()


def check_password_strength(password: str) -> None:
    """Refuse a password that is too short to be safe."""
    minimum = current_app.config["OWNER_PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise AccountError(f"The password must be at least {minimum} characters long.")


def find_owner(email: str) -> Owner | None:
    """Return the owner with this email, or None."""
    key = (email or "").strip().lower()
    return db.session.execute(db.select(Owner).where(Owner.email == key)).scalar_one_or_none()


def create_owner(email: str, password: str) -> Owner:
    """Add an owner account (the caller commits)."""
    key = normalise_email(email)
    check_password_strength(password)
    if find_owner(key) is not None:
        raise AccountError(f"There is already an owner account for {key}; use `owner set-password`.")
    owner = Owner(email=key, password_hash=generate_password_hash(password))
    db.session.add(owner)
    return owner


def set_password(email: str, password: str) -> Owner:
    """Give an owner a new password and end their sessions (the caller commits)."""
    owner = existing_owner(email)
    check_password_strength(password)
    owner.password_hash = generate_password_hash(password)
    owner.end_sessions()
    return owner


def delete_owner(email: str) -> None:
    """Remove an owner account (the caller commits)."""
    db.session.delete(existing_owner(email))


def existing_owner(email: str) -> Owner:
    """Return the owner with this email, or raise AccountError."""
    owner = find_owner(email)
    if owner is None:
        raise AccountError(f"There is no owner account for {email.strip().lower()}.")
    return owner


@functools.cache
def _decoy_hash() -> str:
    return generate_password_hash("not anyone's password, only spends the same time")


def authenticate(email: str, password: str) -> Owner | None:
    """Return the owner when the email and password match, else None.

    An unknown email still costs one password hash check, so the answer takes as long
    as a wrong password and the timing tells nobody which addresses have accounts.
    """
    owner = find_owner(email)
    if owner is None:
        check_password_hash(_decoy_hash(), password)
        return None
    if not check_password_hash(owner.password_hash, password):
        return None
    return owner
