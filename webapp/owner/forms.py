"""Forms of the owner area (Flask-WTF: each carries a CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password."), Length(max=1024)])
    submit = SubmitField("Log in")


class LogoutForm(FlaskForm):
    submit = SubmitField("Log out")


class EraseForm(FlaskForm):
    """Step one of erasure: whose data."""

    email = EmailField(
        "Email of the subscriber to erase",
        validators=[DataRequired(message="Enter the subscriber's email."), Length(max=254)],
    )
    submit = SubmitField("Erase…")


class ConfirmEraseForm(FlaskForm):
    """Step two of erasure: yes, really."""

    email = HiddenField(validators=[DataRequired(), Length(max=254)])
    submit = SubmitField("Erase for good")
