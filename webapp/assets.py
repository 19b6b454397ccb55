"""Static files under content-hashed URLs, served as immutable."""

import hashlib
from pathlib import Path

from flask import Flask, abort, send_from_directory

IMMUTABLE = "public, max-age=31536000, immutable"


class Assets:
    """Map `css/site.css` to `css/site.<hash>.css` and back, for every file under static/."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self.hashed: dict[str, str] = {}  # logical name -> hashed name
        self.logical: dict[str, str] = {}  # hashed name -> logical name
        self.digests: dict[str, str] = {}  # logical name -> sha256 hex
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file()):
            name = path.relative_to(self.folder).as_posix()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            stem, dot, ext = name.rpartition(".")
            hashed = f"{stem}.{digest[:12]}.{ext}" if dot else f"{name}.{digest[:12]}"
            self.hashed[name] = hashed
            self.logical[hashed] = name
            self.digests[name] = digest

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

    def serve_static(filename: str):
        logical = assets.logical.get(filename)
        if logical is not None:
            response = send_from_directory(app.static_folder, logical, max_age=31536000, etag=True)
            response.headers["Cache-Control"] = IMMUTABLE
            return response
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
