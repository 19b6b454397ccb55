"""Views for the home page, article pages, feeds, robots.txt and the health check."""

from flask import Blueprint, abort, current_app, jsonify, render_template
from sqlalchemy import text

from ..extensions import db
from ..pagecache import cached_page
from ..urls import base_url, external_url
from .structured import article_structured_data

bp = Blueprint("articles", __name__)

# Pages beyond the articles that belong in the sitemap, when their blueprint is installed.
SITEMAP_ENDPOINTS = ["newsletter.signup", "newsletter.privacy"]


def library():
    """Return the content loaded at start-up."""
    return current_app.extensions["library"]


@bp.get("/")
@cached_page()
def index():
    """List the articles, newest first."""
    return render_template("articles/index.html", articles=library().articles)


@bp.get("/articles/<slug>")
@cached_page()
def article(slug: str):
    """Show one article."""
    found = library().get(slug)
    if found is None:
        abort(404, description="There is no article at this address. It may have moved.")
    return render_template("articles/article.html", article=found, structured_data=article_structured_data(found))


@bp.get("/feed.xml")
@cached_page(mimetype="application/atom+xml")
def feed():
    """Serve the Atom feed of every article."""
    lib = library()
    return render_template("articles/feed.xml", articles=lib.articles, updated=lib.last_updated)


@bp.get("/sitemap.xml")
@cached_page(mimetype="application/xml")
def sitemap():
    """List every public page with its last modification date."""
    lib = library()
    pages = [(external_url("articles.index"), lib.last_updated)]
    pages += [(external_url("articles.article", slug=a.slug), a.updated) for a in lib.articles]
    pages += [
        (external_url(endpoint), lib.last_updated)
        for endpoint in SITEMAP_ENDPOINTS
        if endpoint in current_app.view_functions
    ]
    return render_template("articles/sitemap.xml", pages=pages)


@bp.get("/robots.txt")
@cached_page(mimetype="text/plain")
def robots():
    """Allow crawlers on public pages and point them at the sitemap."""
    return f"User-agent: *\nDisallow: /owner/\nSitemap: {base_url()}/sitemap.xml\n"


@bp.get("/healthz")
def healthz():
    """Answer 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception:  # any failure to reach the database means "not healthy"
        current_app.logger.exception("health check: database did not answer")
        db.session.rollback()
        response = jsonify(status="unavailable", database="down")
        response.status_code = 503
    else:
        response = jsonify(status="ok")
    response.headers["Cache-Control"] = "no-store"
    return response
