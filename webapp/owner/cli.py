"""`flask --app webapp owner …`."""

from flask.cli import AppGroup

owner_cli = AppGroup("owner", help="Owner accounts.")
