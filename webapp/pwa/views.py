"""Views of the pwa feature."""

from flask import Blueprint

bp = Blueprint("pwa", __name__)
