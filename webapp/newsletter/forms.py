"""The signup form, as readers and browser tests find it: "Email", "First name", "Subscribe"."""

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField
from wtforms.validators import InputRequired, ValidationError

from .addresses import InvalidAddress, clean_name, has_forbidden_characters, normalise_email

MAX_SOURCE = 300


class SignupForm(FlaskForm):
    """Email, optional first name, the page it was sent from, and a field only robots fill in."""

    class Meta:
        # Public pages carry no per-reader token; Fetch Metadata guards the POST (webapp/security.py).
        csrf = False

    email = EmailField(
        "Email",
        id="newsletter-email",
        validators=[InputRequired("Enter your email address.")],
        render_kw={"autocapitalize": "none", "spellcheck": "false", "maxlength": "254"},
    )
    first_name = StringField("First name", id="newsletter-first-name", render_kw={"maxlength": "100"})
    source = HiddenField(id="newsletter-source")
    website = StringField("Leave this field empty", id="newsletter-website")  # the honeypot

    address = None  # the normalised address, once validated

    def is_robot(self) -> bool:
        """Tell whether the honeypot field was filled in."""
        return bool((self.website.data or "").strip())

    def validate_email(self, field):
        try:
            self.address = normalise_email(
                field.data or "", check_deliverability=current_app.config["NEWSLETTER_CHECK_DELIVERABILITY"]
            )
        except InvalidAddress as exc:
            raise ValidationError(str(exc)) from None

    def validate_first_name(self, field):
        try:
            field.data = clean_name(field.data)
        except InvalidAddress as exc:
            raise ValidationError(str(exc)) from None

    def clean_source(self) -> str | None:
        """Return the page the form was on when it is a plain path on this site, else None."""
        source = (self.source.data or "").strip()
        if not source.startswith("/") or source.startswith("//") or len(source) > MAX_SOURCE:
            return None
        if has_forbidden_characters(source) or "\\" in source or " " in source:
            return None
        return source
