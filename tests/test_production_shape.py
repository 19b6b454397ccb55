"""Production shape: two app servers (two "hosts") on one PostgreSQL and one Redis.

Needs TEST_DATABASE_URL and TEST_REDIS_URL (`.ci/run` sets both when the services answer).
"""

import csv
import email
import email.policy
import io
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.servers import PostgresDatabase, migrate

pytestmark = pytest.mark.slow
SLUG = "back-pain-relief-walking"


@pytest.fixture
def two_hosts(server_factory, tmp_path):
    """Two gunicorn servers sharing PostgreSQL, Redis and the secret key."""
    pg_url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if not (pg_url and redis_url):
        pytest.skip("TEST_DATABASE_URL and TEST_REDIS_URL are needed for the production shape")
    database = PostgresDatabase(pg_url)
    migrate(database.url, tmp_path)
    env = {
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"fitspot-test-{uuid.uuid4().hex}",
        "FEEDBACK_VOTE_RATE_LIMIT": "6 per minute",
        "NEWSLETTER_RATE_LIMIT_PER_IP": "100 per minute",
        "NEWSLETTER_RATE_LIMIT_PER_ADDRESS": "100 per minute",
    }
    hosts = [server_factory(database_url=database.url, workers=2, env=env) for _ in range(2)]
    yield hosts
    for host in hosts:
        host.stop()
    database.drop()


def post(url: str, data: dict, key: str | None = None) -> int:
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(data).encode(),
        headers={
            "Accept": "application/json",
            "Sec-Fetch-Site": "same-origin",
            "Idempotency-Key": key or uuid.uuid4().hex,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def export(host, *args: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(host.flask(*args))))


def outbox_links(host) -> list[str]:
    links = []
    for path in sorted((host.instance / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = message.get_body(("plain",)).get_content()
        links += re.findall(r"https?://\S+/newsletter/confirm/\S+", text)
    return links


def test_a_signup_on_one_host_is_confirmed_on_the_other(two_hosts):
    a, b = two_hosts
    assert post(a.url + "/newsletter", {"email": "Ann.Walker@Example.com", "source": f"/articles/{SLUG}"}) == 200
    [link] = outbox_links(a)
    path = urllib.parse.urlsplit(link).path
    with urllib.request.urlopen(b.url + path) as page:  # a link scanner's GET confirms nothing
        assert "Confirm subscription" in page.read().decode()
    assert export(b, "subscribers", "export", "--status", "pending")[1][0] == "Ann.Walker@example.com"
    assert post(b.url + path, {}) in (200, 303)
    rows = export(a, "subscribers", "export", "--status", "subscribed")
    assert [r[0] for r in rows[1:]] == ["Ann.Walker@example.com"]


def test_a_vote_changed_on_the_other_host_stays_one_vote(two_hosts):
    a, b = two_hosts
    vote_id = uuid.uuid4().hex
    assert post(f"{a.url}/articles/{SLUG}/feedback", {"vote": "yes", "vote_id": vote_id}) == 200
    assert post(f"{b.url}/articles/{SLUG}/feedback", {"vote": "no", "vote_id": vote_id}) == 200
    rows = export(a, "feedback", "export")
    assert [(r[0], r[1]) for r in rows[1:]] == [(SLUG, "no")]


def test_an_offline_replay_to_both_hosts_is_applied_once(two_hosts):
    a, b = two_hosts
    key = uuid.uuid4().hex
    for host in (a, b, a):
        assert post(host.url + "/newsletter", {"email": "replayed@example.com"}, key=key) == 200
    assert len(outbox_links(a)) + len(outbox_links(b)) == 1


def test_rate_limits_are_shared_across_hosts(two_hosts):
    a, b = two_hosts
    statuses = [
        post(f"{host.url}/articles/{SLUG}/feedback", {"vote": "yes", "vote_id": uuid.uuid4().hex})
        for host in (a, b, a, b, a, b, a, b)
    ]
    assert statuses[:6] == [200] * 6  # six a minute from one reader, wherever they land
    assert statuses[6:] == [429, 429]


def test_concurrent_signups_of_one_address_on_both_hosts_make_one_subscriber(two_hosts):
    a, b = two_hosts
    spellings = ["sam@example.com", "Sam@Example.com", "SAM@EXAMPLE.COM", "sam@EXAMPLE.com"]
    with ThreadPoolExecutor(20) as pool:
        statuses = list(
            pool.map(lambda n: post((a, b)[n % 2].url + "/newsletter", {"email": spellings[n % 4]}), range(20))
        )
    assert set(statuses) == {200}
    rows = export(a, "subscribers", "export", "--status", "all")
    assert len(rows) == 2 and rows[1][0].lower() == "sam@example.com"
