"""One place for error pages: HTML for a browser, JSON for fetch() and CSV clients."""

from flask import Flask, current_app, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

TITLES = {
    400: "That request didn't make sense",
    401: "Please log in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    413: "That was too much to send",
    415: "That form arrived in a format we don't read",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "Back in a moment",
}


def wants_json() -> bool:
    """Tell whether the client asked for JSON rather than a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, message: str):
    """Render an error as JSON or as a styled page, with the given status."""
    title = TITLES.get(status, "Error")
    if wants_json():
        response = jsonify(ok=False, error=title, message=message)
    else:
        response = make_response(render_template("errors/error.html", status=status, title=title, message=message))
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def handle_http_exception(exc: HTTPException):
    if exc.code is None or exc.code < 400:
        return exc
    response = error_response(exc.code, exc.description or "")
    for name, value in exc.get_headers():  # Allow, Retry-After, WWW-Authenticate
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_unexpected(exc: Exception):
    db.session.rollback()
    original = getattr(exc, "original_exception", exc)
    if isinstance(original, HTTPException):
        return handle_http_exception(original)
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, InternalServerError.description)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
