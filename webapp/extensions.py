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


def skip_on_reads(hooks: list, hook, passthrough: bool = False) -> None:
    """Replace `hook` in a Flask hook list by one that does nothing for GET, HEAD and OPTIONS."""

    def on_writes(*args):
        if request.method in READ_METHODS:
            return args[0] if passthrough else None
        return hook(*args)

    hooks[hooks.index(hook)] = functools.wraps(hook)(on_writes)


def init_write_guards(app) -> None:
    """Bind the limiter and CSRF protection so that they only run for requests that write.

    Both check every request, even where nothing applies, and that costs more than serving a
    cached page. Every rate limit and every CSRF token here guards a POST.
    """
    csrf.init_app(app)
    limiter.init_app(app)
    before, after, teardown = (
        app.before_request_funcs[None],
        app.after_request_funcs[None],
        app.teardown_request_funcs[None],
    )
    skip_on_reads(before, next(f for f in before if f.__name__ == "csrf_protect"))
    skip_on_reads(before, limiter._check_request_limit)
    skip_on_reads(after, next(f for f in after if getattr(f, "args", (None,))[0] is limiter), passthrough=True)
    skip_on_reads(teardown, next(f for f in teardown if getattr(f, "__self__", None) is limiter))
