"""`flask --app webapp owner …`, and `subscribers export` / `subscribers import` on the
newsletter's `subscribers` group (the newsletter feature adds `subscribers delete`)."""

import sys

import click
from flask.cli import AppGroup

from ..extensions import db
from ..newsletter.cli import subscribers_cli
from .accounts import AccountError, create_owner, delete_owner, set_password
from .exports import STATUSES, ExportError, ExportFilter, subscriber_csv_lines
from .imports import import_subscribers
from .models import Owner

owner_cli = AppGroup("owner", help="Owner accounts.")


def read_password() -> str:
    """Ask twice on a terminal; read one line from standard input otherwise (scripts, pipes)."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line:
        raise click.ClickException("No password on standard input.")
    return line.rstrip("\r\n")


def run(action, *args):
    """Run an account action and commit it, turning its refusal into a clean CLI error."""
    try:
        result = action(*args)
        db.session.commit()
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    return result


@owner_cli.command("create")
@click.argument("email")
def create_command(email: str):
    """Create an owner account; the password is asked for (or read from stdin)."""
    owner = run(create_owner, email, read_password())
    click.echo(f"Created the owner account {owner.email}. Log in at /owner/login.")


@owner_cli.command("set-password")
@click.argument("email")
def set_password_command(email: str):
    """Give an owner a new password; their open sessions end."""
    owner = run(set_password, email, read_password())
    click.echo(f"New password set for {owner.email}; their open sessions are logged out.")


@owner_cli.command("delete")
@click.argument("email")
def delete_command(email: str):
    """Delete an owner account."""
    run(delete_owner, email)
    click.echo(f"Deleted the owner account {email.strip().lower()}.")


@owner_cli.command("list")
def list_command():
    """List the owner accounts and when each last logged in."""
    for owner in db.session.execute(db.select(Owner).order_by(Owner.email)).scalars():
        last = owner.last_login_at.isoformat(timespec="minutes") + "Z" if owner.last_login_at else "never"
        click.echo(f"{owner.email}\tlast login {last}")


@subscribers_cli.command("export")
@click.option(
    "--status",
    type=click.Choice(STATUSES, case_sensitive=False),
    default="subscribed",
    show_default=True,
    help="Which subscribers; `unsubscribed` is the suppression list for your email service.",
)
@click.option("--since", metavar="YYYY-MM-DD", help="Only those who signed up on or after this day (UTC).")
@click.option("--until", metavar="YYYY-MM-DD", help="Only those who signed up on or before this day (UTC).")
@click.option(
    "--output",
    "-o",
    type=click.File("wb", atomic=True),
    default="-",
    help="Write the CSV to this file instead of standard output.",
)
def export_command(status: str, since: str | None, until: str | None, output):
    """Write the subscribers as CSV: the same bytes as the owner's download."""
    try:
        export = ExportFilter.parse(status, since, until)
    except ExportError as exc:
        raise click.BadParameter(str(exc)) from None
    for chunk in subscriber_csv_lines(export):
        output.write(chunk.encode("utf-8"))
    output.flush()


@subscribers_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and print the summary, but store nothing.")
def import_command(file: str, dry_run: bool):
    """Import subscribers from a CSV exported by Mailchimp, Ghost, Kit, Buttondown or this app.

    Someone lands as `subscribed` only when the file says they confirmed; otherwise
    `pending`. No mail is sent. Addresses already on the list merge with their row.
    """
    try:
        result = import_subscribers(file)
    except (ValueError, UnicodeDecodeError) as exc:
        db.session.rollback()
        raise click.ClickException(f"{file}: {exc}") from None
    except BaseException:
        db.session.rollback()  # nothing half-imported
        raise
    for problem in result.problems:
        click.echo(f"{file}: {problem}", err=True)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    click.echo(("Dry run, nothing stored: " if dry_run else "") + result.summary())
