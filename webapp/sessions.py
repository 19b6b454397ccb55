"""The signed-cookie session, opened only when the request carries a session cookie."""

from flask.sessions import SecureCookieSessionInterface


class CookieOnlyWhenNeededSessionInterface(SecureCookieSessionInterface):
    """Skip building the signing serializer for requests without a session cookie.

    Readers never get a session cookie (public pages are the same bytes for everybody), so
    for nearly every request there is nothing to verify; only the owner area creates one.
    """

    def open_session(self, app, request):
        if app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)
