"""Views of the owner's area: login, dashboard, exports, erasure."""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_user

from ..extensions import db, limiter
from ..feedback.service import article_totals, feedback_csv_lines, latest_comments
from ..idempotency import utcnow
from ..newsletter.addresses import email_key
from ..newsletter.models import Subscriber
from ..newsletter.service import erase_subscriber
from . import auth
from .accounts import authenticate
from .dashboard import signup_chart, status_counts
from .exports import ExportError, ExportFilter, subscriber_csv_lines
from .forms import ConfirmEraseForm, EraseForm, LoginForm, LogoutForm

bp = Blueprint("owner", __name__, url_prefix="/owner")
bp.before_request(auth.require_owner)

COMMENTS_PER_PAGE = 20
LOGIN_ERROR = "Email or password is wrong."


@bp.after_request
def never_cache(response):
    """Keep owner pages and exports out of every cache, the browser's included."""
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


def render(template: str, **context):
    """Render an owner page; Flask-Login's context processor is off, so pass the owner in."""
    return render_template(template, current_user=current_user, logout_form=LogoutForm(), **context)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(auth.ip_limit, methods=["POST"], deduct_when=auth.login_failed, on_breach=auth.log_breach)
@limiter.limit(
    auth.account_limit,
    key_func=auth.login_email_key,
    methods=["POST"],
    deduct_when=auth.login_failed,
    on_breach=auth.log_breach,
    scope="owner-login-account",
)
def login():
    """Log the owner in with their email and password."""
    target = auth.safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        owner = authenticate(form.email.data, form.password.data)
        if owner is not None:
            session.clear()  # a new session: nothing from before login survives it
            login_user(owner)
            auth.start_session()
            owner.last_login_at = utcnow()
            db.session.commit()
            current_app.logger.info("owner %s logged in from %s", owner.id, request.remote_addr)
            return redirect(target)
        g.owner_login_failed = True
        current_app.logger.warning("failed owner login from %s", request.remote_addr)
        error = LOGIN_ERROR
    return render("owner/login.html", form=form, error=error, next=request.values.get("next", ""))


@bp.post("/logout")
def logout():
    """End the session here and everywhere: every copy of the cookie stops working."""
    if LogoutForm().validate_on_submit():
        current_user.end_sessions()
        db.session.commit()
        auth.end_session()
        flash("You are logged out.")
    return redirect(url_for("owner.login"))


@bp.get("/")
def dashboard():
    """Show the subscribers, how the list grows, and what readers say about each article."""
    article = request.args.get("article") or None
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(400, description="page must be a whole number from 1 up.")
    return render(
        "owner/dashboard.html",
        counts=status_counts(),
        chart=signup_chart(),
        totals=article_totals(),
        comments=latest_comments(article=article, page=page, per_page=COMMENTS_PER_PAGE),
        article=article,
        titles={a.slug: a.title for a in current_app.extensions["library"].articles},
        erase_form=EraseForm(),
        messages=get_flashed_messages(),
    )


def csv_response(lines, filename: str) -> Response:
    """Stream CSV text (chunks of whole lines) as a download."""
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/subscribers.csv")
def subscribers_csv():
    """Download the subscribers, filtered by ?status=, ?since=, ?until=."""
    try:
        export = ExportFilter.parse(request.args.get("status"), request.args.get("since"), request.args.get("until"))
    except ExportError as exc:
        abort(400, description=str(exc))
    current_app.logger.info("owner %s exported subscribers (%s)", current_user.id, export)
    db.session.rollback()  # the login check's transaction ends here; each batch has its own
    return csv_response(subscriber_csv_lines(export), export.filename())


@bp.get("/feedback.csv")
def feedback_csv():
    """Download every vote and comment."""
    lines = feedback_csv_lines()
    db.session.rollback()
    return csv_response(lines, f"fitspot-feedback-{utcnow().date().isoformat()}.csv")


@bp.post("/erase")
def erase():
    """Step one of erasing a subscriber: show who it is and ask to confirm."""
    form = EraseForm()
    if not form.validate_on_submit():
        abort(400, description="Enter the email of the subscriber to erase.")
    email = form.email.data.strip()
    subscriber = db.session.execute(
        db.select(Subscriber).where(Subscriber.email_key == email_key(email))
    ).scalar_one_or_none()
    return render(
        "owner/erase.html",
        email=email,
        subscriber=subscriber,
        form=ConfirmEraseForm(formdata=None, email=email),
    )


@bp.post("/erase/confirm")
def erase_confirm():
    """Step two: erase the subscriber and their consent record for good."""
    form = ConfirmEraseForm()
    if not form.validate_on_submit():
        abort(400, description="The erasure was not confirmed; start again from the dashboard.")
    if erase_subscriber(form.email.data):
        db.session.commit()
        current_app.logger.info("owner %s erased a subscriber", current_user.id)
        flash("The subscriber and their consent record are erased.")
    else:
        flash("Nobody with that email is on the list; nothing was erased.")
    return redirect(url_for("owner.dashboard"))
