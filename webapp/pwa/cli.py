"""`flask --app webapp pwa ...`: maintenance commands for the installable app."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

pwa_cli = AppGroup("pwa", help="The installable, offline-first app.")


@pwa_cli.command("icons")
def icons_command():
    """Draw the app icons (PNG, ICO, SVG) into static/img/."""
    from .icons import write_icons

    for path in write_icons(Path(current_app.static_folder) / "img"):
        click.echo(f"wrote {path}")


@pwa_cli.command("precache")
def precache_command():
    """List what the service worker saves for offline reading, with each revision."""
    from .precache import precache_manifest

    with current_app.test_request_context("/sw.js", base_url=current_app.config.get("SITE_URL") or None):
        version, entries = precache_manifest()
    click.echo(f"cache version {version}")
    for entry in entries:
        click.echo(f"{entry['revision'][:12]}  {entry['url']}")
