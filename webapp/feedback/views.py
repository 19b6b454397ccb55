"""Views of the feedback feature."""

from flask import Blueprint

bp = Blueprint("feedback", __name__)
