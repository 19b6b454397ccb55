"""Confirm and unsubscribe links: signed tokens, the URLs that carry them, and reading them back."""

import hashlib
import hmac

from flask import current_app, has_request_context
from itsdangerous import BadData, SignatureExpired, Signer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from sqlalchemy import select

from ..extensions import db
from ..urls import external_url
from .models import Subscriber

CONFIRM_SALT = "fitspot.newsletter.confirm"
UNSUBSCRIBE_SALT = "fitspot.newsletter.unsubscribe"
FALLBACK_SITE_URL = "http://127.0.0.1:8000"  # `make run`, for links made outside a request without SITE_URL
MAX_TOKEN = 300


class BadLink(Exception):
    """A confirm or unsubscribe link that cannot be used; the message is for the reader."""


def absolute_url(endpoint: str, **values) -> str:
    """Return an absolute URL from SITE_URL, also outside a request (the CLI, exports)."""
    if has_request_context():
        return external_url(endpoint, **values)
    site = current_app.config.get("SITE_URL") or FALLBACK_SITE_URL
    return site.rstrip("/") + current_app.url_map.bind("localhost").build(endpoint, values)


def confirm_serializer() -> URLSafeTimedSerializer:
    """Sign confirmation tokens; they carry their time and expire."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


class UnsubscribeLinks:
    """Unsubscribe links: the subscriber's link key, signed; they never expire and stay the same.

    Build one, then `url(link_key)` costs a single HMAC, so an export of a million rows
    signs a million links quickly; `link_key(token)` checks a token and returns its key.
    """

    def __init__(self):
        self.signer = Signer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT, digest_method=hashlib.sha256)
        self._key = self.signer.derive_key()
        placeholder = "TOKEN"
        self._prefix, _, self._suffix = absolute_url("newsletter.unsubscribe", token=placeholder).partition(placeholder)

    def token(self, link_key: str) -> str:
        """Sign a link key exactly as `Signer.sign` would, without deriving the key again."""
        signature = base64_encode(hmac.digest(self._key, link_key.encode(), "sha256")).decode()
        return f"{link_key}.{signature}"

    def url(self, link_key: str) -> str:
        """Return the absolute unsubscribe URL for a link key."""
        return self._prefix + self.token(link_key) + self._suffix

    def link_key(self, token: str) -> str:
        """Return the link key a token carries, or raise itsdangerous.BadData."""
        return self.signer.unsign(token).decode()


def confirm_payload(subscriber: Subscriber) -> list[str]:
    """Name the row and this opt-in: a new opt-in (or erasure) makes older links useless."""
    return [subscriber.link_key, subscriber.optin_time.isoformat()]


def confirm_url(subscriber: Subscriber) -> str:
    """Return the absolute link that confirms this subscriber's current opt-in."""
    token = confirm_serializer().dumps(confirm_payload(subscriber))
    return absolute_url("newsletter.confirm", token=token)


def unsubscribe_url(subscriber: Subscriber) -> str:
    """Return the subscriber's absolute unsubscribe link: signed, stable, valid until the row is erased."""
    return UnsubscribeLinks().url(subscriber.link_key)


def _find_by_link_key(link_key, lock: bool) -> Subscriber | None:
    if not isinstance(link_key, str):
        return None
    query = select(Subscriber).where(Subscriber.link_key == link_key)
    if lock:
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


INVALID_CONFIRM = (
    "This confirmation link isn't valid. It may have been cut short by your email program, or a newer "
    "link replaced it. Sign up again and we'll send you a fresh one."
)


def subscriber_for_confirm_token(token: str, lock: bool = False) -> Subscriber:
    """Return the pending or subscribed row a confirmation token names, or raise BadLink."""
    max_age = current_app.config["NEWSLETTER_CONFIRM_MAX_AGE"]
    if not token or len(token) > MAX_TOKEN:
        raise BadLink(INVALID_CONFIRM)
    try:
        payload = confirm_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        days = max(1, max_age // 86400)
        raise BadLink(
            f"This confirmation link has expired: links work for {days} days. "
            "Sign up again and we'll send you a fresh one."
        ) from None
    except BadData:
        raise BadLink(INVALID_CONFIRM) from None
    if not (isinstance(payload, list) and len(payload) == 2):
        raise BadLink(INVALID_CONFIRM)
    subscriber = _find_by_link_key(payload[0], lock)
    if subscriber is None or subscriber.optin_time.isoformat() != payload[1]:
        raise BadLink(INVALID_CONFIRM)
    if subscriber.status == "unsubscribed":  # unsubscribed after this link was sent: opt in again
        raise BadLink(INVALID_CONFIRM)
    return subscriber


INVALID_UNSUBSCRIBE = (
    "This unsubscribe link isn't valid. It may have been cut short by your email program, "
    "or the address was already erased from the list."
)


def subscriber_for_unsubscribe_token(token: str, lock: bool = False) -> Subscriber:
    """Return the row an unsubscribe token names, or raise BadLink."""
    if not token or len(token) > MAX_TOKEN:
        raise BadLink(INVALID_UNSUBSCRIBE)
    try:
        link_key = UnsubscribeLinks().link_key(token)
    except BadData:
        raise BadLink(INVALID_UNSUBSCRIBE) from None
    subscriber = _find_by_link_key(link_key, lock)
    if subscriber is None:
        raise BadLink(INVALID_UNSUBSCRIBE)
    return subscriber
