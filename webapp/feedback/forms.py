"""The vote and comment forms (public: the Fetch Metadata check guards them, not a token)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, Regexp

VOTES = ("yes", "no")
VOTE_ID_PATTERN = r"[A-Za-z0-9_-]{16,64}"
COMMENT_MAX = 1000

BAD_VOTE = 'The vote must be "yes" or "no".'
BAD_VOTE_ID = "The vote id must be 16 to 64 letters, digits, - or _."


def strip(text: str | None) -> str | None:
    return text.strip() if text else text


def clean_comment(text: str | None) -> str | None:
    """Return the comment as typed, with line ends as browsers count them and no NULs."""
    if text is None:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()


class PublicForm(FlaskForm):
    """A form on a page that is the same bytes for every reader: no CSRF token."""

    class Meta:
        csrf = False

    # Hidden by CSS; people leave it empty, form-filling bots do not.
    website = StringField("Leave this empty", validators=[Optional()])

    @property
    def is_spam(self) -> bool:
        """Tell whether the honeypot was filled in."""
        return bool((self.website.data or "").strip())


class VoteForm(PublicForm):
    vote = StringField("Vote", validators=[InputRequired(BAD_VOTE), AnyOf(VOTES, message=BAD_VOTE)])
    vote_id = HiddenField(
        "Vote id", filters=[strip], validators=[Optional(), Regexp(rf"^{VOTE_ID_PATTERN}\Z", message=BAD_VOTE_ID)]
    )


class CommentForm(PublicForm):
    vote = HiddenField("Vote", validators=[InputRequired(BAD_VOTE), AnyOf(VOTES, message=BAD_VOTE)])
    vote_id = HiddenField(
        "Vote id",
        filters=[strip],
        validators=[InputRequired(BAD_VOTE_ID), Regexp(rf"^{VOTE_ID_PATTERN}\Z", message=BAD_VOTE_ID)],
    )
    comment = TextAreaField(
        "Comment",
        id="feedback-comment",
        # No maxlength (it cuts pasted text silently) and no `required` (the comment is optional):
        # the server says what is wrong and keeps the text.
        render_kw={"maxlength": False, "required": False, "rows": 4},
        filters=[clean_comment],
        validators=[
            DataRequired("Write a comment before sending it. Your answer has already been counted."),
            Length(max=COMMENT_MAX, message=f"Keep your comment to {COMMENT_MAX:,} characters or fewer."),
        ],
    )

    def hidden_fields_errors(self) -> list[str]:
        """Return the errors of the fields a reader cannot see (a tampered or broken request)."""
        return self.vote.errors + self.vote_id.errors
