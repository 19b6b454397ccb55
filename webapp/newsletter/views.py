"""Views of the newsletter feature."""

from flask import Blueprint

bp = Blueprint("newsletter", __name__)
