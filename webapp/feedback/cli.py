"""`flask --app webapp feedback …`."""

import click
from flask.cli import AppGroup

feedback_cli = AppGroup("feedback", help="Readers' answers to 'Was this page helpful?'.")


@feedback_cli.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the CSV to this file instead of standard output.",
)
def export(output: str | None) -> None:
    """Write every vote as CSV: article, vote, comment, created_at, updated_at (UTC)."""
    from .service import feedback_csv_lines

    lines = feedback_csv_lines()
    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.writelines(lines)
        click.echo(f"Wrote the feedback CSV to {output}", err=True)
    else:
        for line in lines:  # as bytes: the same CRLF line ends on every platform
            click.echo(line.encode("utf-8"), nl=False)
