"""`flask --app webapp feedback …`."""

from flask.cli import AppGroup

feedback_cli = AppGroup("feedback", help="Readers' answers to 'Was this page helpful?'.")
