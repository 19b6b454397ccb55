"""`flask --app webapp subscribers …` and `flask --app webapp newsletter …`."""

from flask.cli import AppGroup

subscribers_cli = AppGroup("subscribers", help="Manage the newsletter's subscribers.")
newsletter_cli = AppGroup("newsletter", help="Newsletter mail.")
