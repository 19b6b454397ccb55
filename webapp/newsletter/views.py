"""Views of the newsletter: the signup form, confirm and unsubscribe links, the privacy note."""

from email.utils import parseaddr

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for

from ..errors import wants_json
from ..extensions import csrf, db, limiter
from ..idempotency import BadIdempotencyKey, key_from_request
from ..pagecache import cached_page
from . import links, service
from .addresses import email_key
from .forms import SignupForm

bp = Blueprint("newsletter", __name__)
# Public forms carry no per-reader token: webapp/security.py refuses cross-site POSTs instead,
# and RFC 8058 one-click unsubscribes come from mail providers, with no cookie and no token.
csrf.exempt(bp)

NOTICES = {"check-inbox", "confirmed", "unsubscribed"}
TOO_MANY = "That's a lot of signups in a short while. Please wait a few minutes and try again."
LINK_ENDPOINTS = {"newsletter.confirm", "newsletter.unsubscribe"}


def per_ip_limit() -> str:
    return current_app.config["NEWSLETTER_RATE_LIMIT_PER_IP"]


def per_address_limit() -> str:
    return current_app.config["NEWSLETTER_RATE_LIMIT_PER_ADDRESS"]


def address_rate_key() -> str:
    """Count signups per address, however it is capitalised."""
    return "newsletter-address:" + email_key(request.form.get("email", ""))[:254]


@bp.app_template_global()
def newsletter_form(source: str) -> SignupForm:
    """Return an empty signup form that remembers the page it is on."""
    return SignupForm(formdata=None, data={"source": source})


def known_source(path: str | None) -> str | None:
    """Return the page a signup came from when it is one of ours (an article, /newsletter)."""
    if path == url_for("newsletter.signup"):
        return path
    slug = (path or "").removeprefix("/articles/")
    article = current_app.extensions["library"].get(slug) if path and path.startswith("/articles/") else None
    if article is not None and url_for("articles.article", slug=article.slug) == path:
        return path
    return None


@bp.after_request
def keep_links_private(response):
    """Pages reached through a tokened link are never stored, indexed or sent on as a Referer."""
    if request.endpoint in LINK_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.errorhandler(links.BadLink)
def bad_link(exc: links.BadLink):
    """Explain an expired, cut-short or replaced link; nothing was changed."""
    if wants_json():
        response = jsonify(ok=False, error="This link can't be used", message=str(exc))
    else:
        response = current_app.make_response(render_template("newsletter/link_problem.html", message=str(exc)))
    response.status_code = 400
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/newsletter")
@cached_page()
def signup():
    """Show the signup page; `?newsletter=check-inbox|confirmed|unsubscribed` adds its notice."""
    notice = request.args.get("newsletter")
    return render_template(
        "newsletter/signup.html",
        form=newsletter_form(url_for("newsletter.signup")),
        notice=notice if notice in NOTICES else None,
    )


@bp.post("/newsletter")
@limiter.limit(per_ip_limit, error_message=TOO_MANY)
@limiter.limit(per_address_limit, key_func=address_rate_key, error_message=TOO_MANY)
def subscribe():
    """Sign up; every address gets the same answer, "Check your inbox to confirm"."""
    try:
        idempotency_key = key_from_request()
    except BadIdempotencyKey as exc:
        abort(400, description=str(exc))
    form = SignupForm()
    source = known_source(form.clean_source())
    if form.is_robot():
        current_app.logger.info("newsletter: honeypot filled in; nothing stored")
        return signed_up(source)
    if not form.validate():
        return form_errors(form)
    outcome = service.signup(form.email.data, form.first_name.data, source, request.remote_addr, idempotency_key)
    db.session.commit()  # the signup is safe before any mail leaves
    service.deliver(outcome)
    db.session.commit()
    return signed_up(source)


def signed_up(source: str | None):
    """Answer a signup: the widget's "check your inbox" state, or a redirect to it."""
    if wants_json():
        html = render_template("newsletter/_widget.html", form=None, notice="check-inbox")
        response = jsonify(ok=True, html=html)
    else:
        if source and source != url_for("newsletter.signup"):
            target = f"{source}?newsletter=check-inbox#newsletter"
        else:
            target = url_for("newsletter.signup", newsletter="check-inbox", _anchor="newsletter")
        response = redirect(target, 303)
    response.headers["Cache-Control"] = "no-store"
    return response


def form_errors(form: SignupForm):
    """Show the form again with its errors and what the reader typed."""
    if wants_json():
        response = jsonify(ok=False, html=render_template("newsletter/_widget.html", form=form, notice=None))
    else:
        response = current_app.make_response(render_template("newsletter/signup.html", form=form, notice=None))
    response.status_code = 400
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/newsletter/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """GET shows a button (link scanners must not confirm anyone); POST confirms."""
    if request.method == "GET":
        subscriber = links.subscriber_for_confirm_token(token)
        return render_template("newsletter/confirm.html", token=token, already=subscriber.status == "subscribed")
    service.confirm(token, request.remote_addr)
    db.session.commit()
    return redirect(url_for("newsletter.signup", newsletter="confirmed"), 303)


@bp.route("/newsletter/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """GET shows one button; POST unsubscribes, also as RFC 8058 one-click (answered 200, no redirect)."""
    if request.method == "GET":
        subscriber = links.subscriber_for_unsubscribe_token(token)
        return render_template("newsletter/unsubscribe.html", token=token, already=subscriber.status == "unsubscribed")
    service.unsubscribe(token)
    db.session.commit()
    if request.form.get("List-Unsubscribe") == "One-Click":
        return render_template("newsletter/unsubscribed.html")
    return redirect(url_for("newsletter.signup", newsletter="unsubscribed"), 303)


@bp.get("/privacy")
@cached_page()
def privacy():
    """Say what the site stores about readers, why, for how long, and how to have it erased."""
    contact = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1] or "the sender of our emails"
    return render_template("newsletter/privacy.html", contact=contact)
