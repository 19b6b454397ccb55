"""The web app manifest, the service worker, the offline page and the favicon."""

import json

from flask import Blueprint, current_app, render_template, send_from_directory

from ..pagecache import cached_page
from .precache import precache_manifest

bp = Blueprint("pwa", __name__)

ICONS = [  # static file, sizes, purpose
    ("img/icon-192.png", "192x192", "any"),
    ("img/icon-512.png", "512x512", "any"),
    ("img/icon-maskable-512.png", "512x512", "maskable"),
    ("img/icon.svg", "any", "any"),
]


def static_url(name: str) -> str:
    """Return the content-hashed URL of a static file."""
    from flask import url_for

    return url_for("static", filename=current_app.extensions["assets"].url_name(name))


def manifest_data() -> dict:
    """Return the web app manifest: what an installed Fitspot is called and looks like."""
    config = current_app.config
    return {
        "id": "/",
        "name": config["SITE_NAME"],
        "short_name": config["PWA_SHORT_NAME"],
        "description": config["SITE_TAGLINE"],
        "lang": "en",
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": config["PWA_THEME_COLOR"],
        "background_color": config["PWA_BACKGROUND_COLOR"],
        "categories": ["health", "fitness", "lifestyle"],
        "icons": [
            {
                "src": static_url(name),
                "sizes": sizes,
                "type": "image/svg+xml" if name.endswith(".svg") else "image/png",
                "purpose": purpose,
            }
            for name, sizes, purpose in ICONS
        ],
    }


@bp.get("/manifest.webmanifest")
@cached_page(mimetype="application/manifest+json")
def manifest():
    """Serve the web app manifest."""
    return json.dumps(manifest_data(), indent=2)


@bp.get("/sw.js")
@cached_page(mimetype="text/javascript")
def service_worker():
    """Serve the service worker with its precache list, revalidated on every update check."""
    version, entries = precache_manifest()
    return render_template(
        "pwa/sw.js",
        version=version,
        entries=entries,
        network_timeout_ms=int(current_app.config["PWA_NETWORK_TIMEOUT_MS"]),
    )


@bp.get("/offline")
@cached_page()
def offline():
    """Show what a reader can still read when a page is not saved and there is no network."""
    return render_template("pwa/offline.html")


@bp.get("/favicon.ico")
def favicon():
    """Serve the favicon where browsers look for it without being told."""
    response = send_from_directory(current_app.static_folder, "img/favicon.ico", max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
