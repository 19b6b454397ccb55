"""Hypothesis throws arbitrary forms and bodies at the signup endpoint: never a 5xx, and
nothing is stored unless the address is one the validator accepts."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.extensions import db
from webapp.newsletter.addresses import InvalidAddress, has_forbidden_characters, normalise_email
from webapp.newsletter.models import Subscriber

FIELDS = ["email", "first_name", "source", "website", "idempotency_key"]
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def app_config():
    return {
        "NEWSLETTER_RATE_LIMIT_PER_IP": "100000 per minute",
        "NEWSLETTER_RATE_LIMIT_PER_ADDRESS": "100000 per minute",
    }


def tricky_text():
    """Text a person, a robot or an attacker might type: line breaks, controls, huge, Unicode."""
    pieces = st.sampled_from(["@", ".", "+", "\r\n", "\n", "\x00", "\u202e", " ", '"', "<", "=", "xn--", "ß", "İ"])
    return st.one_of(
        st.text(max_size=80),
        st.sampled_from(["ann@example.com", "Bo+walks@Example.COM", "jo@BÜCHER.de", " cy@example.org "]),
        st.emails(),
        st.builds(lambda a, b: a + b, st.emails(), st.lists(pieces, max_size=3).map("".join)),
        st.lists(st.one_of(pieces, st.text(max_size=5)), max_size=20).map("".join),
        st.integers(min_value=240, max_value=400).map(lambda n: "a" * n + "@example.com"),
    )


def stored(app) -> dict[str, dict]:
    """Every row, by its key, as plain values."""
    with app.app_context():
        found = db.session.execute(db.select(Subscriber)).scalars()
        return {s.email_key: {c.name: getattr(s, c.name) for c in Subscriber.__table__.columns} for s in found}


def accepted(address) -> str | None:
    """The key the validator files an address under, or None when it refuses it."""
    try:
        return normalise_email(address).key
    except InvalidAddress:
        return None


@FUZZ
@given(
    form=st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), tricky_text(), max_size=6),
    as_json=st.booleans(),
)
def test_arbitrary_forms_never_fail_and_store_only_valid_addresses(app, client, form, as_json):
    before = stored(app)
    headers = {"Accept": "application/json"} if as_json else {}
    answer = client.post("/newsletter", data=form, headers=headers)
    assert answer.status_code < 500, answer.text
    after = stored(app)
    key = accepted(form.get("email", ""))
    robot = bool((form.get("website") or "").strip())
    if answer.status_code >= 400 or robot or key is None:
        assert after == before  # nothing stored, nothing changed
    else:
        assert answer.status_code in (200, 303)
        assert key in after
    for subscriber in after.values():
        name = subscriber["first_name"]
        assert accepted(subscriber["email"]) == subscriber["email_key"]
        assert name is None or (len(name) <= 100 and not has_forbidden_characters(name, allow_format=True))


@FUZZ
@given(
    body=st.binary(max_size=2000),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data",
            "application/json",
            "text/plain",
        ]
    ),
)
def test_arbitrary_bodies_never_fail_and_store_nothing_unusable(app, client, body, content_type):
    before = set(stored(app))
    answer = client.post("/newsletter", data=body, content_type=content_type)
    assert answer.status_code < 500, answer.text
    for key, subscriber in stored(app).items():
        if key not in before:
            assert accepted(subscriber["email"]) == key
