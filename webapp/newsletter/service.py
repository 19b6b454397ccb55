"""Signing up, confirming, unsubscribing and erasing: the work behind the views and the CLI.

Functions change the session and leave the commit to their caller. A signup is committed
before its confirmation mail is sent, so no signup is lost to a mail server that is down:
the row keeps `mail_owed=True` until a mail goes out, and `flask newsletter retry-mail`
sends what is owed.
"""

import contextlib
import datetime as dt
import smtplib
from dataclasses import dataclass

from flask import current_app
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db, mail
from ..idempotency import claim, utcnow
from .addresses import clean_name, email_key, normalise_email, stored_ip
from .links import (
    absolute_url,
    confirm_url,
    subscriber_for_confirm_token,
    subscriber_for_unsubscribe_token,
    unsubscribe_url,
)
from .models import Subscriber

OUTBOX_BACKEND = "webapp.newsletter.mailer"


@dataclass(frozen=True)
class SignupOutcome:
    """What a signup did, and the confirmation mail it owes (None: no mail this time)."""

    subscriber_id: int | None
    message: EmailMultiAlternatives | None = None
    optin_time: dt.datetime | None = None
    confirm_url: str | None = None


# --- signing up ----------------------------------------------------------------------------


def _insert_or_lock(values: dict) -> tuple[Subscriber, bool]:
    """Insert the row, or lock the one that has this address; True when it is new.

    INSERT ... ON CONFLICT DO NOTHING waits for a concurrent insert of the same address and
    then finds it; on SQLite, BEGIN IMMEDIATE already lets one writer in at a time.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for _attempt in range(2):  # the second try covers a row erased between the two statements
        stmt = (
            insert(Subscriber)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["email_key"])
            .returning(Subscriber.id)
        )
        new_id = db.session.execute(stmt).scalar()
        if new_id is not None:
            return db.session.get(Subscriber, new_id), True
        query = select(Subscriber).where(Subscriber.email_key == values["email_key"]).with_for_update()
        existing = db.session.execute(query).scalar_one_or_none()
        if existing is not None:
            return existing, False
    raise RuntimeError("the subscriber row vanished twice during one signup")


def signup(email: str, first_name: str | None, source: str | None, ip: str | None, idempotency_key=None):
    """Record a signup and decide whether a confirmation mail is owed; return a SignupOutcome.

    Every kind of address (new, pending, subscribed, unsubscribed) gets the same answer from the
    view: only the mail differs. New and unsubscribed addresses start a new opt-in; a pending one
    is sent its link again, at most once per NEWSLETTER_RESEND_AFTER; a subscribed one, nothing.
    Raises InvalidAddress for an address or a name that cannot be stored.
    """
    config = current_app.config
    address = normalise_email(email)
    first_name = clean_name(first_name)
    if not claim(idempotency_key, "newsletter.signup"):
        return SignupOutcome(None)  # applied before: change nothing, send nothing
    now = utcnow()
    consent = {
        "first_name": first_name,
        "source": source,
        "consent_version": config["NEWSLETTER_CONSENT_VERSION"],
        "optin_time": now,
        "optin_ip": stored_ip(ip, config["NEWSLETTER_IP_STORAGE"]),
    }
    subscriber, created = _insert_or_lock(
        {"email": address.email, "email_key": address.key, "status": "pending", **consent}
    )
    if not created and subscriber.status == "subscribed":
        return SignupOutcome(subscriber.id)
    if not created and subscriber.status == "unsubscribed":  # a new opt-in, with a new consent record
        subscriber.email = address.email
        for name, value in consent.items():
            setattr(subscriber, name, value)
        subscriber.status = "pending"
        subscriber.confirm_time = subscriber.confirm_ip = subscriber.unsub_time = None
    elif not created:  # pending: send the link again, but not to the same inbox every minute
        resend_after = dt.timedelta(seconds=config["NEWSLETTER_RESEND_AFTER"])
        if subscriber.last_mailed_at is not None and now - subscriber.last_mailed_at < resend_after:
            return SignupOutcome(subscriber.id)
    # Reserve the mail in this transaction: a concurrent signup of the same address sees it and
    # sends nothing, and if sending fails the row still says a mail is owed.
    subscriber.mail_owed = True
    subscriber.last_mailed_at = now
    return _owed_mail(subscriber)


def _owed_mail(subscriber: Subscriber) -> SignupOutcome:
    link = confirm_url(subscriber)
    return SignupOutcome(subscriber.id, confirmation_message(subscriber, link), subscriber.optin_time, link)


def confirmation_message(subscriber: Subscriber, link: str) -> EmailMultiAlternatives:
    """Build the confirmation mail: text and HTML, with one-click unsubscribe headers."""
    config = current_app.config
    unsubscribe = unsubscribe_url(subscriber)
    context = {
        "site_name": config["SITE_NAME"],
        "first_name": subscriber.first_name,
        "confirm_url": link,
        "unsubscribe_url": unsubscribe,
        "privacy_url": absolute_url("newsletter.privacy"),
        "days": max(1, config["NEWSLETTER_CONFIRM_MAX_AGE"] // 86400),
    }
    # Rendered from the environment, not render_template: no request (and no page context) in the CLI.
    env = current_app.jinja_env
    message = EmailMultiAlternatives(
        subject=config["NEWSLETTER_SUBJECT"],
        body=env.get_template("newsletter/email/confirm.txt").render(context),
        from_email=config["MAIL_DEFAULT_SENDER"],
        to=[subscriber.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(env.get_template("newsletter/email/confirm.html").render(context), "text/html")
    return message


def deliver(outcome: SignupOutcome) -> bool:
    """Send the mail an outcome owes, outside any transaction; True when it went out.

    Call it after committing the signup. On success the row no longer owes a mail (the
    caller commits that). On failure the error is logged and the row still owes it, unless
    the server refused the address for good (5xx): retrying that would never succeed.
    """
    if outcome.message is None:
        return False
    backend = None
    try:
        backend = mail.get_connection()
        backend.send_messages([outcome.message])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _text in exc.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        current_app.logger.warning(
            "newsletter: the mail server refused the address of subscriber %s (%s); %s",
            outcome.subscriber_id,
            ", ".join(map(str, codes)),
            "giving up" if permanent else "it stays owed",
        )
        if permanent:
            _settle(outcome)
        return False
    except Exception as exc:  # any other failure: the signup is kept and the mail stays owed
        detail = exc.smtp_code if isinstance(exc, smtplib.SMTPResponseException) else exc  # no address in logs
        current_app.logger.warning(
            "newsletter: confirmation mail for subscriber %s not sent (%s: %s); it stays owed",
            outcome.subscriber_id,
            type(exc).__name__,
            detail,
        )
        return False
    finally:
        _close_quietly(backend)
    _settle(outcome)
    if current_app.config.get("MAIL_BACKEND") == OUTBOX_BACKEND:
        # No mail server: the operator can follow the link from the log (a real server never logs it).
        current_app.logger.info(
            "newsletter: confirm link for subscriber %s: %s", outcome.subscriber_id, outcome.confirm_url
        )
    return True


def _close_quietly(backend) -> None:
    """Close an SMTP connection a failed send left open (Flask-Mailman closes only after success)."""
    smtp = getattr(backend, "connection", None)
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()
        backend.connection = None


def _settle(outcome: SignupOutcome) -> None:
    """Mark the mail as no longer owed, unless a newer opt-in has replaced the one it was for."""
    db.session.execute(
        update(Subscriber)
        .where(Subscriber.id == outcome.subscriber_id, Subscriber.optin_time == outcome.optin_time)
        .values(mail_owed=False)
    )


# --- confirming, unsubscribing, erasing ------------------------------------------------------


def confirm(token: str, ip: str | None) -> Subscriber:
    """Confirm the opt-in a token names (twice is harmless), or raise BadLink."""
    subscriber = subscriber_for_confirm_token(token, lock=True)
    if subscriber.status == "pending":
        subscriber.status = "subscribed"
        subscriber.confirm_time = utcnow()
        subscriber.confirm_ip = stored_ip(ip, current_app.config["NEWSLETTER_IP_STORAGE"])
        subscriber.mail_owed = False
    return subscriber


def unsubscribe(token: str) -> Subscriber:
    """Unsubscribe the person a token names (twice is harmless), or raise BadLink."""
    subscriber = subscriber_for_unsubscribe_token(token, lock=True)
    if subscriber.status != "unsubscribed":
        subscriber.status = "unsubscribed"
        subscriber.unsub_time = utcnow()
        subscriber.mail_owed = False
    return subscriber


def erase_subscriber(email: str) -> bool:
    """Delete the person with this address (any case) and their consent record; True when found."""
    plain = (email or "").strip().lower()
    keys = {email_key(email), plain}
    result = db.session.execute(delete(Subscriber).where(Subscriber.email_key.in_(keys)))
    return result.rowcount > 0


# --- cron jobs ---------------------------------------------------------------------------------


def owed_subscriber_ids(grace_seconds: int = 60) -> list[int]:
    """Return the rows that still owe a confirmation mail.

    Rows reserved in the last `grace_seconds` are left alone: a web worker may be sending them now.
    """
    cutoff = utcnow() - dt.timedelta(seconds=grace_seconds)
    query = (
        select(Subscriber.id)
        .where(Subscriber.mail_owed.is_(True))
        .where(or_(Subscriber.last_mailed_at.is_(None), Subscriber.last_mailed_at <= cutoff))
        .order_by(Subscriber.id)
    )
    return list(db.session.execute(query).scalars())


def reserve_owed_mail(subscriber_id: int) -> SignupOutcome:
    """Lock a row that owes a mail and build the mail again, with a fresh link (caller commits)."""
    query = select(Subscriber).where(Subscriber.id == subscriber_id).with_for_update()
    subscriber = db.session.execute(query).scalar_one_or_none()
    if subscriber is None or not subscriber.mail_owed:
        return SignupOutcome(subscriber_id)
    if subscriber.status != "pending":  # confirmed or unsubscribed since: nothing is owed any more
        subscriber.mail_owed = False
        return SignupOutcome(subscriber_id)
    subscriber.last_mailed_at = utcnow()
    return _owed_mail(subscriber)


def prune_pending(now: dt.datetime | None = None) -> int:
    """Delete signups never confirmed within NEWSLETTER_PENDING_DAYS; return how many."""
    cutoff = (now or utcnow()) - dt.timedelta(days=current_app.config["NEWSLETTER_PENDING_DAYS"])
    stmt = delete(Subscriber).where(Subscriber.status == "pending", Subscriber.optin_time < cutoff)
    return db.session.execute(stmt).rowcount
