"""The service worker's precache list: what an offline reader needs, each with a content hash.

Entries are the content-hashed static files (CSS, JS, icons), the home page, the offline
page and every article page. A page's revision is the SHA-256 of the exact bytes a reader
gets (the same value as its ETag), so editing an article changes its revision, the cache
version and therefore the bytes of /sw.js: the browser installs the new worker.
"""

import hashlib

from flask import current_app, request, url_for


def page_paths() -> list[str]:
    """Return the public pages that are saved for offline reading when the worker installs."""
    library = current_app.extensions["library"]
    paths = [url_for("articles.index"), url_for("pwa.offline")]
    paths += [url_for("articles.article", slug=article.slug) for article in library.articles]
    return paths


def render_page(path: str) -> bytes:
    """Return the bytes a reader gets for a public page, produced by the app itself.

    The page goes through the whole stack (and the page cache), on the host the worker
    was requested from, because absolute links in a page depend on it when SITE_URL is unset.
    """
    response = current_app.test_client().get(
        path, base_url=request.host_url, headers={"Accept-Encoding": "identity", "Accept": "text/html"}
    )
    if response.status_code != 200:
        raise RuntimeError(f"precache: {path} answered {response.status_code}, not 200")
    return response.get_data()


def page_revision(body: bytes) -> str:
    """Return a page's revision: the same SHA-256 prefix as its ETag."""
    return hashlib.sha256(body).hexdigest()[:32]


def precache_manifest() -> tuple[str, list[dict]]:
    """Return the cache version and the list of `{url, revision, kind}` to precache."""
    assets = current_app.extensions["assets"]
    entries = [
        {
            "url": url_for("static", filename=assets.hashed[name]),
            "revision": assets.digests[name][:32],
            "kind": "static",
        }
        for name in sorted(assets.hashed)
    ]
    entries += [{"url": path, "revision": page_revision(render_page(path)), "kind": "page"} for path in page_paths()]
    worker_source, _, _ = current_app.jinja_env.loader.get_source(current_app.jinja_env, "pwa/sw.js")
    version = hashlib.sha256()
    version.update(worker_source.encode("utf-8"))
    for entry in entries:
        version.update(f"{entry['url']} {entry['revision']}\n".encode())
    return version.hexdigest()[:16], entries
