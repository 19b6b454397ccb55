"""Articles and authors: Markdown files with YAML front matter, loaded and checked once."""

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import markdown
import yaml
from markupsafe import Markup

WORDS_PER_MINUTE = 200
TEASER_CHARS = 310
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MARKDOWN_EXTENSIONS = ["md_in_html", "attr_list", "toc", "sane_lists"]


class ContentError(Exception):
    """A content file is unusable; the message names the file and the field."""


@dataclass(frozen=True)
class Author:
    key: str
    name: str
    short_bio: str
    bio_html: Markup
    teaser: str  # the start of the long bio, shown under the byline as the blog always has


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    description: str
    category: str
    author: Author
    published: dt.date
    updated: dt.date
    body_html: Markup
    reading_minutes: int
    what_to_know: list[str] = field(default_factory=list)
    faq: list[dict] = field(default_factory=list)
    source: str = ""


@dataclass(frozen=True)
class Library:
    articles: list[Article]  # newest first
    authors: dict[str, Author]

    def get(self, slug: str) -> Article | None:
        """Return the article with this slug, or None."""
        return next((a for a in self.articles if a.slug == slug), None)

    @property
    def last_updated(self) -> dt.date | None:
        return max((a.updated for a in self.articles), default=None)


def split_front_matter(path: Path) -> tuple[dict, str]:
    """Return the YAML mapping and the Markdown body of a content file."""
    text = path.read_text(encoding="utf-8")
    match = re.match(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", text, re.S)
    if not match:
        raise ContentError(f"{path}: no front matter (the file must start with a '---' block)")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ContentError(f"{path}: front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise ContentError(f"{path}: front matter must be a mapping of field: value")
    return meta, match.group(2)


def render_markdown(text: str) -> Markup:
    """Render trusted Markdown (the owner's own files) to HTML."""
    return Markup(markdown.markdown(text, extensions=MARKDOWN_EXTENSIONS, output_format="html"))  # noqa: S704


def _text(meta: dict, name: str, path: Path, required: bool = True) -> str:
    value = meta.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ContentError(f"{path}: missing required field '{name}'")
        return ""
    if not isinstance(value, str):
        raise ContentError(f"{path}: field '{name}' must be text")
    return value.strip()


def _date(meta: dict, name: str, path: Path, default: dt.date | None = None) -> dt.date:
    value = meta.get(name, default)
    if value is None:
        raise ContentError(f"{path}: missing required field '{name}'")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ContentError(f"{path}: field '{name}' must be a date like 2024-06-10") from None


def teaser(text: str, limit: int = TEASER_CHARS) -> str:
    """Return the whole words of `text` that fit in `limit` characters, with '...' if cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit + 1].rsplit(" ", 1)[0].rstrip(",;:") + "..."


def load_author(path: Path) -> Author:
    """Read one author file."""
    meta, body = split_front_matter(path)
    if not body.strip():
        raise ContentError(f"{path}: missing the long bio (the text after the front matter)")
    bio_html = render_markdown(body)
    return Author(
        key=path.stem,
        name=_text(meta, "name", path),
        short_bio=_text(meta, "short_bio", path),
        bio_html=bio_html,
        teaser=teaser(bio_html.striptags()),
    )


def load_article(path: Path, authors: dict[str, Author]) -> Article:
    """Read one article file, checking every field."""
    meta, body = split_front_matter(path)
    title = _text(meta, "title", path)
    slug = _text(meta, "slug", path)
    if not SLUG_RE.match(slug):
        raise ContentError(f"{path}: field 'slug' must be lower-case words joined by hyphens")
    author_key = _text(meta, "author", path)
    if author_key not in authors:
        known = ", ".join(sorted(authors)) or "none"
        raise ContentError(f"{path}: field 'author' names unknown author '{author_key}' (known: {known})")
    published = _date(meta, "published", path)
    updated = _date(meta, "updated", path, default=published)
    if updated < published:
        raise ContentError(f"{path}: field 'updated' is before 'published'")

    points = meta.get("what_to_know") or []
    if not isinstance(points, list) or not all(isinstance(p, str) for p in points):
        raise ContentError(f"{path}: field 'what_to_know' must be a list of sentences")
    faq = meta.get("faq") or []
    if not isinstance(faq, list) or not all(
        isinstance(item, dict) and isinstance(item.get("question"), str) and isinstance(item.get("answer"), str)
        for item in faq
    ):
        raise ContentError(f"{path}: field 'faq' must be a list of question/answer pairs")

    words = len(re.findall(r"\w+", body + " ".join(points) + " ".join(i["question"] + " " + i["answer"] for i in faq)))
    return Article(
        slug=slug,
        title=title,
        description=_text(meta, "description", path),
        category=_text(meta, "category", path),
        author=authors[author_key],
        published=published,
        updated=updated,
        body_html=render_markdown(body),
        reading_minutes=max(1, math.ceil(words / WORDS_PER_MINUTE)),
        what_to_know=[p.strip() for p in points],
        faq=[{"question": i["question"].strip(), "answer": i["answer"].strip()} for i in faq],
        source=str(path),
    )


def load_library(content_dir: str | Path) -> Library:
    """Load and validate every author and article under `content_dir`."""
    root = Path(content_dir)
    authors = {a.key: a for a in map(load_author, sorted((root / "authors").glob("*.md")))}
    articles: list[Article] = []
    seen: dict[str, str] = {}
    for path in sorted((root / "articles").glob("*.md")):
        article = load_article(path, authors)
        if article.slug in seen:
            raise ContentError(f"{path}: field 'slug' duplicates '{article.slug}' from {seen[article.slug]}")
        seen[article.slug] = str(path)
        articles.append(article)
    articles.sort(key=lambda a: (a.published, a.slug), reverse=True)
    return Library(articles=articles, authors=authors)
