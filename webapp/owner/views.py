"""Views of the owner feature."""

from flask import Blueprint

bp = Blueprint("owner", __name__)
