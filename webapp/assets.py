"""Static files under content-hashed URLs, served as immutable."""

import hashlib
import mimetypes
from pathlib import Path

from flask import Flask, Response, abort, request, send_from_directory

from .pagecache import Page, answer, build_page

IMMUTABLE = "public, max-age=31536000, immutable"
MIMETYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


class Assets:
    """Map `css/site.css` to `css/site.<hash>.css` and back, for every file under static/."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self.hashed: dict[str, str] = {}  # logical name -> hashed name
        self.logical: dict[str, str] = {}  # hashed name -> logical name
        self.digests: dict[str, str] = {}  # logical name -> sha256 hex
        self.pages: dict[str, Page] = {}  # hashed name -> the file, compressed once, immutable
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file()):
            name = path.relative_to(self.folder).as_posix()
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            stem, dot, ext = name.rpartition(".")
            hashed = f"{stem}.{digest[:12]}.{ext}" if dot else f"{name}.{digest[:12]}"
            self.hashed[name] = hashed
            self.logical[hashed] = name
            self.digests[name] = digest
            mimetype = MIMETYPES.get(path.suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
            self.pages[hashed] = build_page(data, mimetype, IMMUTABLE)

    def url_name(self, name: str) -> str:
        """Return the hashed file name for a logical static file name."""
        try:
            return self.hashed[name]
        except KeyError:
            raise LookupError(f"no static file {name!r} under {self.folder}") from None


def init_app(app: Flask) -> None:
    """Serve static files by hashed name and expose `asset_url()` to templates."""
    assets = Assets(app.static_folder)
    app.extensions["assets"] = assets
    # PageCacheMiddleware answers these by path before Flask sees the request.
    prefix = app.static_url_path.rstrip("/") + "/"
    app.extensions.setdefault("static_pages", {}).update({prefix + k: v for k, v in assets.pages.items()})

    def serve_static(filename: str):
        page = assets.pages.get(filename)
        if page is not None:  # reached only with a query string or a method the middleware skips
            status, headers, body = answer(page, request.environ)
            return Response(body, status=status, headers=headers)
        if filename in assets.hashed:  # the plain name still works, but must be revalidated
            response = send_from_directory(app.static_folder, filename, max_age=0, etag=True)
            response.headers["Cache-Control"] = "no-cache"
            return response
        abort(404)

    app.view_functions["static"] = serve_static

    def asset_url(name: str, _external: bool = False) -> str:
        from flask import url_for

        return url_for("static", filename=assets.url_name(name), _external=_external)

    app.jinja_env.globals["asset_url"] = asset_url
