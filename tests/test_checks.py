"""The start-up self-check refuses unsafe production settings, with a message saying what to set."""

import subprocess

import pytest

from tests.servers import BIN, ROOT
from webapp import create_app
from webapp.checks import ConfigError

GOOD_KEY = "k" * 64


def build(tmp_path, **config):
    return create_app({"INSTANCE_PATH": str(tmp_path), **config})


@pytest.mark.parametrize("key", ["", "dev", "short-key"])
def test_https_site_with_weak_secret_key_refuses_to_start(tmp_path, key, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {
        "SITE_URL": "https://fitspot.example",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "WEB_CONCURRENCY": 1,
        "MAIL_SERVER": "smtp.example",
    }
    if key:
        config["SECRET_KEY"] = key
        with pytest.raises(ConfigError, match="SECRET_KEY"):
            build(tmp_path, **config)
    else:  # no key at all: one is generated, long and random, so this passes
        assert len(build(tmp_path, **config).config["SECRET_KEY"]) >= 64


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"WEB_CONCURRENCY": 4}, "WEB_CONCURRENCY=4"),
        ({"WEB_CONCURRENCY": 1, "DATABASE_URL": "postgresql+psycopg://x@127.0.0.1/db"}, "several hosts"),
    ],
)
def test_https_site_with_per_process_rate_limits_refuses_to_start(tmp_path, extra, reason):
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI=redis://") as info:
        build(
            tmp_path,
            SITE_URL="https://fitspot.example",
            SECRET_KEY=GOOD_KEY,
            RATELIMIT_STORAGE_URI="memory://",
            **extra,
        )
    assert reason in str(info.value)


def test_https_site_without_a_mail_server_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="MAIL_SERVER is not set"):
        build(
            tmp_path,
            SITE_URL="https://fitspot.example",
            SECRET_KEY=GOOD_KEY,
            WEB_CONCURRENCY=1,
            RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
        )


def test_good_production_settings_start(tmp_path):
    app = build(
        tmp_path,
        MAIL_SERVER="smtp.example",
        SITE_URL="https://fitspot.example",
        SECRET_KEY=GOOD_KEY,
        WEB_CONCURRENCY=4,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
    )
    assert app.config["SITE_URL"] == "https://fitspot.example"


def test_development_defaults_only_warn(tmp_path, caplog):
    app = build(tmp_path, WEB_CONCURRENCY=2)  # what `make run` does
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert "fine for development, not for production" in caplog.text


def test_gunicorn_refuses_with_the_message(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "SITE_URL": "https://fitspot.example",
        "SECRET_KEY": "dev",
        "FITSPOT_INSTANCE_PATH": str(tmp_path),
        "WEB_CONCURRENCY": "1",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "PORT": "0",
    }
    result = subprocess.run(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Refusing to start" in result.stdout + result.stderr
    assert "SECRET_KEY" in result.stdout + result.stderr
