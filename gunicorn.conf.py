"""Gunicorn settings for `make run` and production."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 0
# Load the app once in the master: content is parsed and checked before any worker forks,
# and a bad content file stops start-up with its message instead of a crash loop.
preload_app = True
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
control_socket_disable = True  # several servers may run on one host (tests, two ports)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    """Give each worker its own database connections, never the master's."""
    from webapp.extensions import db

    app = server.app.wsgi()
    if "sqlalchemy" in getattr(app, "extensions", {}):
        with app.app_context():
            db.engine.dispose(close=False)
