"""`flask --app webapp subscribers …` and `flask --app webapp newsletter …`."""

import click
from flask import current_app
from flask.cli import AppGroup

from ..extensions import db
from . import links, service

subscribers_cli = AppGroup("subscribers", help="Manage the newsletter's subscribers.")
newsletter_cli = AppGroup("newsletter", help="Newsletter mail.")


@subscribers_cli.command("delete")
@click.argument("email")
def delete_subscriber(email: str) -> None:
    """Erase one person and their consent record (GDPR); EMAIL in any capitalisation."""
    if not service.erase_subscriber(email):
        db.session.rollback()
        raise click.ClickException(f"No subscriber has the address {email!r}; nothing was deleted.")
    db.session.commit()
    click.echo(f"Deleted {email} and their consent record.")


@newsletter_cli.command("retry-mail")
@click.option(
    "--grace",
    default=60,
    show_default=True,
    help="Leave alone mail reserved in the last SECONDS: a web worker may be sending it right now.",
)
def retry_mail(grace: int) -> None:
    """Send the confirmation mails still owed (the mail server was down). Run it from cron."""
    if not current_app.config.get("SITE_URL"):
        click.echo(f"warning: SITE_URL is not set; links in the mail will start {links.FALLBACK_SITE_URL}", err=True)
    sent = failed = 0
    for subscriber_id in service.owed_subscriber_ids(grace):
        db.session.rollback()
        outcome = service.reserve_owed_mail(subscriber_id)
        db.session.commit()  # the attempt is recorded before the mail leaves
        if outcome.message is None:
            continue
        if service.deliver(outcome):
            sent += 1
        else:
            failed += 1
        db.session.commit()
    click.echo(f"Sent {sent} confirmation mail(s); {failed} failed and stay owed.")
    if failed:
        raise SystemExit(1)


@newsletter_cli.command("prune")
def prune() -> None:
    """Delete signups never confirmed within NEWSLETTER_PENDING_DAYS. Run it daily from cron."""
    deleted = service.prune_pending()
    db.session.commit()
    click.echo(f"Deleted {deleted} unconfirmed signup(s).")
