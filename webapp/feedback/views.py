"""Views of the feedback feature: a vote, then an optional comment, on every article.

Without JavaScript each form posts normally and the view redirects back to the article
at the widget, with the widget's next state in the query string (the article page is
cached for everyone; a query string makes it render for this reader alone, with no
cookie). With JavaScript, forms.js posts the same forms with fetch() and the view answers
`{"ok": …, "html": <the re-rendered widget>}`.
"""

import re
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for

from ..articles.structured import article_structured_data
from ..errors import wants_json
from ..extensions import csrf, db, limiter
from ..idempotency import BadIdempotencyKey, key_from_request
from ..urls import external_url
from .forms import VOTE_ID_PATTERN, CommentForm, VoteForm
from .service import add_comment, new_vote_id, record_vote

bp = Blueprint("feedback", __name__)

RATE_LIMITED = "You have sent a lot of answers in a short time. Please wait a minute and try again."
STATE_RE = re.compile(rf"(yes|no)\.({VOTE_ID_PATTERN})")


@dataclass
class WidgetState:
    """What the widget shows: the question, the comment form after a vote, or thanks."""

    step: str = "ask"  # "ask" | "comment" | "sent"
    vote: str | None = None
    vote_id: str | None = None
    form: CommentForm | None = None

    def __post_init__(self):
        if self.step == "comment" and self.form is None:
            self.form = CommentForm(formdata=None)
        if self.form is not None:
            comment = self.form.comment
            comment.label.text = self.question
            if comment.errors:  # focus the text box, which reads out its error, not the thanks
                # tabindex 0: forms.js gives a focus target without one tabindex -1, which would
                # take the text box out of the Tab order.
                comment.render_kw = {**comment.render_kw, "data-focus": True, "tabindex": "0"}

    @property
    def question(self) -> str:
        return "What helped?" if self.vote == "yes" else "What was missing or wrong?"

    @property
    def other_vote(self) -> str:
        return "no" if self.vote == "yes" else "yes"


def state_from_query() -> WidgetState:
    """Return the widget state that a no-JavaScript redirect put in `?feedback=`."""
    value = request.args.get("feedback", "")
    if value == "sent":
        return WidgetState("sent")
    match = STATE_RE.fullmatch(value)
    if match:
        return WidgetState("comment", vote=match.group(1), vote_id=match.group(2))
    return WidgetState()


@bp.app_context_processor
def widget_context():
    return {"feedback_state": state_from_query}


def vote_rate_limit() -> str:
    return current_app.config["FEEDBACK_VOTE_RATE_LIMIT"]


def comment_rate_limit() -> str:
    return current_app.config["FEEDBACK_COMMENT_RATE_LIMIT"]


def find_article(slug: str):
    """Return the published article, or answer 404."""
    found = current_app.extensions["library"].get(slug)
    if found is None:
        abort(404, description="There is no article at this address, so there is nothing to give feedback on.")
    return found


def idempotency_key() -> str | None:
    """Return the request's idempotency key, or answer 400 when it is malformed."""
    try:
        return key_from_request()
    except BadIdempotencyKey as exc:
        abort(400, description=str(exc))


def answer(article, state: WidgetState, ok: bool = True):
    """Answer with the widget in `state`: JSON for fetch(), else a redirect or the page itself."""
    if wants_json():
        html = render_template("feedback/_widget.html", article=article, feedback=state)
        response = jsonify(ok=ok, html=html)
        response.status_code = 200 if ok else 400
    elif ok:
        token = "sent" if state.step == "sent" else f"{state.vote}.{state.vote_id}"
        return redirect(url_for("articles.article", slug=article.slug, feedback=token, _anchor="feedback"), 303)
    else:  # the form with its errors, and the reader's text, on the article page
        html = render_template(
            "articles/article.html",
            article=article,
            structured_data=article_structured_data(article),
            canonical_url=external_url("articles.article", slug=article.slug),
            feedback=state,
        )
        response = current_app.make_response((html, 400))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/articles/<slug>/feedback")
@limiter.limit(vote_rate_limit, error_message=RATE_LIMITED)
@csrf.exempt
def vote(slug: str):
    """Record a reader's Yes or No (or change it), then offer the comment form."""
    article = find_article(slug)
    key = idempotency_key()
    form = VoteForm()
    if not form.validate():
        abort(400, description=" ".join(form.vote.errors + form.vote_id.errors))
    vote_id = form.vote_id.data or new_vote_id()
    if form.is_spam:
        current_app.logger.info("feedback: honeypot filled on %s, vote ignored", article.slug)
    else:
        record_vote(article.slug, form.vote.data, vote_id, key)
        db.session.commit()
    return answer(article, WidgetState("comment", vote=form.vote.data, vote_id=vote_id))


@bp.post("/articles/<slug>/feedback/comment")
@limiter.limit(comment_rate_limit, error_message=RATE_LIMITED)
@csrf.exempt
def comment(slug: str):
    """Attach a reader's comment to their vote, or show the form again with its error."""
    article = find_article(slug)
    key = idempotency_key()
    form = CommentForm()
    valid = form.validate()
    if form.hidden_fields_errors():
        abort(400, description=" ".join(form.hidden_fields_errors()))
    state = WidgetState("comment", vote=form.vote.data, vote_id=form.vote_id.data, form=form)
    if not valid:
        return answer(article, state, ok=False)
    if form.is_spam:
        current_app.logger.info("feedback: honeypot filled on %s, comment ignored", article.slug)
    else:
        add_comment(article.slug, form.vote_id.data, form.vote.data, form.comment.data, key)
        db.session.commit()
    return answer(article, WidgetState("sent", vote=form.vote.data, vote_id=form.vote_id.data))
