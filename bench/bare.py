"""The framework's own ceiling: a bare Flask app returning a fixed string."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    """Return a fixed string."""
    return "Hello, World!"
