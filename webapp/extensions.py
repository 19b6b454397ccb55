"""Extensions, created unbound; `create_app` binds them."""

import functools

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
login_manager = LoginManager()
mail = Mail()

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_write_guard(hook) -> bool:
    """Tell whether a request hook belongs to CSRFProtect or the limiter."""
    owner = getattr(hook, "__self__", None) or (getattr(hook, "args", None) or (None,))[0]
    return owner is limiter or getattr(hook, "__name__", "") == "csrf_protect"


def skip_on_reads(hook, passthrough: bool = False):
    """Return `hook` wrapped to do nothing for GET, HEAD and OPTIONS."""

    def on_writes(*args):
        if request.method in READ_METHODS:
            return args[0] if passthrough else None
        return hook(*args)

    return functools.wraps(hook)(on_writes)


def init_write_guards(app) -> None:
    """Bind CSRF protection and the limiter so that they only run for requests that write.

    Both check every request, even where nothing applies, and that costs more than serving a
    cached page. Every rate limit and every CSRF token here guards a POST.
    """
    csrf.init_app(app)
    limiter.init_app(app)  # registers no hooks at all when RATELIMIT_ENABLED is off
    for hooks, passthrough in (
        (app.before_request_funcs[None], False),
        (app.after_request_funcs[None], True),
        (app.teardown_request_funcs[None], False),
    ):
        hooks[:] = [skip_on_reads(h, passthrough) if is_write_guard(h) else h for h in hooks]
