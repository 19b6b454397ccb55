"""The signed-cookie session: opened only when the request carries one, Secure over HTTPS."""

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface


class SiteSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, with two changes.

    - Requests without a session cookie skip building the signing serializer: readers never
      get one (public pages are the same bytes for everybody); only the owner area makes one.
    - The cookie is marked Secure whenever the request came over HTTPS (behind the proxy),
      not only when SESSION_COOKIE_SECURE says so.
    """

    def open_session(self, app: Flask, request):
        if app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)
