"""The owner's exports (subscribers, feedback) on the web and the CLI, and `subscribers import`."""

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from tests.test_owner import logged_in
from webapp.extensions import db
from webapp.feedback.models import Vote
from webapp.idempotency import utcnow
from webapp.newsletter.models import Subscriber
from webapp.newsletter.service import unsubscribe_url
from webapp.owner import imports
from webapp.owner.exports import HEADER

DATA = Path(__file__).parent / "data"
EXPECTED_HEADER = (
    "Email Address,First Name,Status,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,UNSUB_TIME,"
    "SOURCE_PAGE,CONSENT_VERSION,UNSUBSCRIBE_URL\r\n"
)
T0 = dt.datetime(2026, 3, 1, 9, 30, 15, 999_999)  # written to the whole second, never rounded up


def add(app, email: str, status: str = "subscribed", **values) -> None:
    with app.app_context():
        confirmed = status != "pending"
        defaults = {
            "email_key": email.lower(),
            "optin_time": T0,
            "optin_ip": "198.51.100.0",
            "confirm_time": T0 + dt.timedelta(minutes=5) if confirmed else None,
            "confirm_ip": "198.51.100.0" if confirmed else None,
            "unsub_time": T0 + dt.timedelta(days=3) if status == "unsubscribed" else None,
            "source": "/articles/back-pain-relief-walking",
            "consent_version": "2026-01",
        }
        db.session.add(Subscriber(email=email, status=status, **(defaults | values)))
        db.session.commit()
        db.session.remove()


def parse(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def web_export(client, query: str = "") -> bytes:
    with client.get("/owner/subscribers.csv" + query) as response:
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_data()


def cli_export(runner, *args: str) -> bytes:
    result = runner.invoke(args=["subscribers", "export", *args])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def emails(data: bytes) -> list[str]:
    return [row["Email Address"] for row in parse(data.decode("utf-8"))]


@pytest.fixture
def owner(app, client):
    return logged_in(app, client)


# --- subscriber export ---------------------------------------------------------------------


def test_export_header_and_one_full_row(app, owner):
    add(app, "ann@example.com", first_name="Ann")
    data = web_export(owner)
    text = data.decode("utf-8")
    assert text.startswith(EXPECTED_HEADER)
    assert HEADER[:3] == ["Email Address", "First Name", "Status"]
    [row] = parse(text)
    with app.app_context():
        subscriber = db.session.execute(db.select(Subscriber)).scalar_one()
        link = unsubscribe_url(subscriber)
    assert row == {
        "Email Address": "ann@example.com",
        "First Name": "Ann",
        "Status": "subscribed",
        "OPTIN_TIME": "2026-03-01T09:30:15Z",
        "OPTIN_IP": "198.51.100.0",
        "CONFIRM_TIME": "2026-03-01T09:35:15Z",
        "CONFIRM_IP": "198.51.100.0",
        "UNSUB_TIME": "",
        "SOURCE_PAGE": "/articles/back-pain-relief-walking",
        "CONSENT_VERSION": "2026-01",
        "UNSUBSCRIBE_URL": link,
    }
    assert link.startswith("http://localhost/")


def test_download_is_a_streamed_utf8_csv_attachment_named_with_the_date(app, owner):
    add(app, "ann@example.com")
    with owner.get("/owner/subscribers.csv?status=unsubscribed") as response:
        assert response.is_streamed
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        today = utcnow().date().isoformat()
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="fitspot-subscribers-unsubscribed-{today}.csv"'
        )
        assert response.headers["Cache-Control"] == "no-store"
        assert response.get_data(as_text=True) == EXPECTED_HEADER


@pytest.mark.parametrize(
    "query,expected",
    [
        ("", ["sub@example.com"]),
        ("?status=subscribed", ["sub@example.com"]),
        ("?status=pending", ["pend@example.com"]),
        ("?status=unsubscribed", ["gone@example.com"]),
        ("?status=all", ["sub@example.com", "pend@example.com", "gone@example.com"]),
        ("?status=ALL", ["sub@example.com", "pend@example.com", "gone@example.com"]),
    ],
)
def test_status_filter(app, owner, runner, query, expected):
    add(app, "sub@example.com")
    add(app, "pend@example.com", "pending")
    add(app, "gone@example.com", "unsubscribed")
    assert emails(web_export(owner, query)) == expected
    args = ["--status", query.split("=")[1]] if query else []
    assert emails(cli_export(runner, *args)) == expected


def test_date_filters_on_the_optin_day_both_ends_included(app, owner, runner):
    for day in (1, 2, 3, 4):
        add(app, f"day{day}@example.com", optin_time=dt.datetime(2026, 5, day, 23, 59, 59))
    add(app, "early@example.com", optin_time=dt.datetime(2026, 5, 2, 0, 0, 0))
    query = "?status=all&since=2026-05-02&until=2026-05-03"
    expected = ["day2@example.com", "day3@example.com", "early@example.com"]
    assert emails(web_export(owner, query)) == expected
    assert emails(cli_export(runner, "--status", "all", "--since", "2026-05-02", "--until", "2026-05-03")) == expected
    assert emails(web_export(owner, "?since=2026-05-04")) == ["day4@example.com"]
    assert emails(web_export(owner, "?until=2026-05-01")) == ["day1@example.com"]


@pytest.mark.parametrize(
    "query,message",
    [
        ("?status=confirmed", "status must be one of subscribed, pending, unsubscribed, all"),
        ("?since=yesterday", "since must be a date written YYYY-MM-DD"),
        ("?until=2026-13-01", "until must be a date written YYYY-MM-DD"),
        ("?since=2026-05-02&until=2026-05-01", "is after until"),
    ],
)
def test_bad_filters_are_400_with_a_clear_message(app, owner, query, message):
    add(app, "ann@example.com")
    response = owner.get("/owner/subscribers.csv" + query)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert message in body.replace("&#39;", "'")
    assert "ann@example.com" not in body


@pytest.mark.parametrize(
    "args,message",
    [
        (["--status", "confirmed"], "'confirmed' is not one of"),
        (["--since", "yesterday"], "since must be a date written YYYY-MM-DD"),
        (["--since", "2026-05-02", "--until", "2026-05-01"], "is after until"),
    ],
)
def test_bad_filters_on_the_command_line_are_clear_errors(app, runner, args, message):
    result = runner.invoke(args=["subscribers", "export", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_formula_cells_are_neutralised(app, owner):
    for i, name in enumerate(["=1+2", "+SUM(A1)", "-3", "@cmd", "\tTab", "\rCR", "Normal"]):
        add(app, f"p{i}@example.com", first_name=name, source='=HYPERLINK("http://evil.example")')
    rows = parse(web_export(owner).decode("utf-8"))
    assert [r["First Name"] for r in rows] == ["'=1+2", "'+SUM(A1)", "'-3", "'@cmd", "'\tTab", "'\rCR", "Normal"]
    assert {r["SOURCE_PAGE"] for r in rows} == {'\'=HYPERLINK("http://evil.example")'}


def test_a_hard_name_round_trips_through_the_csv_module(app, owner, runner):
    name = 'Zoë "Zo" O\'Neill, Jr.\nsecond line 🏃‍♀️🌧'
    add(app, "zoe@example.com", first_name=name)
    data = web_export(owner)
    [row] = parse(data.decode("utf-8"))
    assert row["First Name"] == name
    assert data == cli_export(runner)


def test_the_web_download_and_the_cli_are_the_same_bytes(app, owner, runner, tmp_path):
    for i in range(30):
        status = ("subscribed", "pending", "unsubscribed")[i % 3]
        add(app, f"Person.{i}@Example.com", status, first_name=f'Name {i}, "quoted"')
    for status in ("subscribed", "pending", "unsubscribed", "all"):
        web = web_export(owner, f"?status={status}")
        assert web == cli_export(runner, "--status", status)
        assert len(parse(web.decode("utf-8"))) == (30 if status == "all" else 10)
    target = tmp_path / "out.csv"
    result = runner.invoke(args=["subscribers", "export", "--status", "all", "--output", str(target)])
    assert result.exit_code == 0 and result.output == ""
    assert target.read_bytes() == web_export(owner, "?status=all")


def test_export_reads_in_batches_and_misses_nobody(app, owner, runner):
    app.config["OWNER_EXPORT_BATCH_SIZE"] = 3
    for i in range(10):
        add(app, f"p{i:02d}@example.com")
    with app.app_context():  # holes in the ids
        db.session.execute(db.delete(Subscriber).where(Subscriber.email.in_(["p02@example.com", "p03@example.com"])))
        db.session.commit()
    expected = [f"p{i:02d}@example.com" for i in range(10) if i not in (2, 3)]
    assert emails(web_export(owner)) == expected
    assert emails(cli_export(runner)) == expected


def test_export_does_not_hold_the_database_while_the_client_reads(app, owner):
    """Between batches no transaction is open: a signup can be written mid-download."""
    app.config["OWNER_EXPORT_BATCH_SIZE"] = 2
    for i in range(6):
        add(app, f"p{i}@example.com")
    with owner.get("/owner/subscribers.csv") as response:
        chunks = response.response  # the streamed body, read a piece at a time
        first = next(iter(chunks))
        assert first.startswith(b"Email Address")
        add(app, "written-meanwhile@example.com")  # would wait, then fail, on a held SQLite lock
        rest = b"".join(chunks)
    assert b"written-meanwhile@example.com" in first + rest


def test_feedback_download_equals_the_feedback_export_command(app, owner, runner):
    with app.app_context():
        db.session.add(Vote(article="back-pain-relief-walking", vote_id="a" * 20, vote="yes", comment='=2+2, "ok"'))
        db.session.add(Vote(article="back-pain-relief-walking", vote_id="b" * 20, vote="no", comment=None))
        db.session.commit()
    with owner.get("/owner/feedback.csv") as response:
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert re.fullmatch(
            r'attachment; filename="fitspot-feedback-\d{4}-\d\d-\d\d\.csv"', response.headers["Content-Disposition"]
        )
        web = response.get_data()
    result = runner.invoke(args=["feedback", "export"])
    assert result.exit_code == 0
    assert web == result.stdout_bytes
    rows = parse(web.decode("utf-8"))
    assert [(r["article"], r["vote"], r["comment"]) for r in rows] == [
        ("back-pain-relief-walking", "yes", '\'=2+2, "ok"'),
        ("back-pain-relief-walking", "no", ""),
    ]


# --- import ---------------------------------------------------------------------------------


def import_file(runner, path, *extra):
    return runner.invoke(args=["subscribers", "import", str(path), *extra])


def stored(app) -> dict[str, tuple]:
    with app.app_context():
        rows = db.session.execute(db.select(Subscriber).order_by(Subscriber.id)).scalars().all()
        return {
            s.email: (s.first_name, s.status, s.optin_time, s.optin_ip, s.confirm_time, s.unsub_time, s.mail_owed)
            for s in rows
        }


def test_mailchimp_import_then_export_round_trip(app, owner, runner):
    started = utcnow().replace(microsecond=0)
    result = import_file(runner, DATA / "owner_mailchimp.csv")
    assert result.exit_code == 0, result.output
    assert "4 added, 1 merged" in result.output and "2 skipped" in result.output
    assert "owner_mailchimp.csv: line 5: skipped: 'not an address'" in result.stderr
    assert "owner_mailchimp.csv: line 8: skipped: OPTIN_IP 'not-an-ip' is not an IP address" in result.stderr

    rows = {r["Email Address"]: r for r in parse(web_export(owner, "?status=all").decode("utf-8"))}
    assert list(rows) == [
        "marta.quill@example.com",
        "Joaquin.Ferreira@example.org",
        "ola.nordmann@example.net",
        "priya.raman@example.com",
    ]
    marta = rows["marta.quill@example.com"]  # two rows in the file, one person
    assert (marta["First Name"], marta["Status"]) == ("Marta", "subscribed")
    assert (marta["OPTIN_TIME"], marta["OPTIN_IP"]) == ("2024-02-28T12:00:00Z", "198.51.100.14")
    assert (marta["CONFIRM_TIME"], marta["CONFIRM_IP"]) == ("2024-03-01T09:20:41Z", "198.51.100.14")
    assert rows["Joaquin.Ferreira@example.org"]["First Name"] == "Joaquín"
    ola = rows["ola.nordmann@example.net"]  # no confirmation in the file: pending
    assert (ola["Status"], ola["CONFIRM_TIME"]) == ("pending", "")
    assert dt.datetime.fromisoformat(ola["OPTIN_TIME"].removesuffix("Z")) >= started
    assert ola["SOURCE_PAGE"] == "imported from owner_mailchimp.csv"
    priya = rows["priya.raman@example.com"]
    assert priya["First Name"] == '\'=HYPERLINK("http://evil.example")'
    assert priya["OPTIN_IP"] == "2001:db8::5"
    assert all(r["UNSUBSCRIBE_URL"].startswith("http://localhost/") for r in rows.values())
    assert not any(mail_owed for *_, mail_owed in stored(app).values())  # an import sends no mail

    # The unsubscribed export: one new suppressed address, and Priya leaves after confirming.
    result = import_file(runner, DATA / "owner_mailchimp_unsubscribed.csv")
    assert "1 added, 1 merged" in result.output and "0 skipped" in result.output
    unsubscribed = parse(web_export(owner, "?status=unsubscribed").decode("utf-8"))
    assert [(r["Email Address"], r["UNSUB_TIME"]) for r in unsubscribed] == [
        ("priya.raman@example.com", "2024-08-01T12:00:00Z"),
        ("tomasz.krol@example.com", "2024-01-09T08:00:00Z"),
    ]


def test_ghost_import_then_export_round_trip(app, owner, runner):
    result = import_file(runner, DATA / "owner_ghost.csv")
    assert result.exit_code == 0, result.output
    assert "3 added, 1 merged" in result.output and "2 skipped" in result.output
    assert "line 6: skipped" in result.stderr and "Enter your email address" in result.stderr
    assert "line 7: skipped: subscribed_to_emails 'yes-please' is neither true nor false" in result.stderr
    rows = parse(web_export(owner, "?status=all").decode("utf-8"))
    assert [(r["Email Address"], r["First Name"], r["Status"], r["OPTIN_TIME"]) for r in rows] == [
        ("amara.okafor@example.com", "Amara", "subscribed", "2024-01-01T09:00:00Z"),
        ("henrik.larsen@example.org", "Henrik", "subscribed", "2024-03-15T21:10:05Z"),
        ("sofia.romano@example.com", "Sofia", "unsubscribed", "2023-12-01T00:00:00Z"),
    ]
    assert emails(web_export(owner)) == ["amara.okafor@example.com", "henrik.larsen@example.org"]


def test_our_own_export_imports_back_unchanged(app, owner, runner, tmp_path):
    add(app, "ann@example.com", first_name='Ann "A", =1')
    add(app, "bo@example.com", "pending", first_name=None)
    add(app, "cy@example.com", "unsubscribed", first_name="Cy 🌧")
    before = web_export(owner, "?status=all")
    exported = tmp_path / "fitspot.csv"
    exported.write_bytes(before)
    result = import_file(runner, exported)
    assert "0 added, 3 merged" in result.output and "0 skipped" in result.output
    assert web_export(owner, "?status=all") == before


def test_export_imports_into_an_empty_list_with_every_field(app, owner, runner, tmp_path):
    whole = {"optin_time": dt.datetime(2026, 3, 1, 9, 30), "confirm_time": dt.datetime(2026, 3, 1, 9, 35)}
    add(app, "ann@example.com", first_name="Ann", **whole)
    add(app, "cy@example.com", "unsubscribed", first_name="Cy", unsub_time=dt.datetime(2026, 4, 1), **whole)
    exported = tmp_path / "fitspot.csv"
    exported.write_bytes(web_export(owner, "?status=all"))
    before = stored(app)
    with app.app_context():
        db.session.execute(db.delete(Subscriber))
        db.session.commit()
    assert "2 added" in import_file(runner, exported).output
    assert stored(app) == before


def test_kit_style_file_with_states_and_odd_header_case(app, runner, tmp_path):
    path = tmp_path / "kit.csv"
    path.write_text(
        "First_Name,EMAIL_ADDRESS,State,Created_At\n"
        "Dana,dana@example.com,active,2024-01-02 03:04:05 UTC\n"
        "Eli,eli@example.com,inactive,2024-01-03 03:04:05 UTC\n"
        "Fay,fay@example.com,cancelled,2024-01-04 03:04:05 UTC\n"
        "Gus,gus@example.com,bounced,2024-01-05 03:04:05 UTC\n"
        "Hal,hal@example.com,sleeping,2024-01-05 03:04:05 UTC\n",
        encoding="utf-8",
    )
    result = import_file(runner, path)
    assert "4 added, 0 merged" in result.output and "1 skipped" in result.output
    assert "line 6: skipped: status 'sleeping' is not one we know" in result.stderr
    assert {email: row[1] for email, row in stored(app).items()} == {
        "dana@example.com": "subscribed",
        "eli@example.com": "pending",
        "fay@example.com": "unsubscribed",
        "gus@example.com": "unsubscribed",
    }
    assert stored(app)["dana@example.com"][2] == dt.datetime(2024, 1, 2, 3, 4, 5)


def test_import_merges_with_rows_already_on_the_list(app, runner, tmp_path):
    add(app, "Ann@Example.com", "pending", first_name=None, optin_time=dt.datetime(2025, 1, 1))
    add(app, "bo@example.com", "unsubscribed", unsub_time=dt.datetime(2025, 6, 1))
    add(app, "cy@example.com", "unsubscribed", unsub_time=dt.datetime(2025, 6, 1))
    path = tmp_path / "merge.csv"
    path.write_text(
        "Email Address,First Name,Status,CONFIRM_TIME\n"
        "ANN@example.COM,Ann,subscribed,2025-02-01T00:00:00Z\n"
        "bo@example.com,Bo,subscribed,2025-01-01T00:00:00Z\n"  # confirmed before they left: still gone
        "cy@example.com,Cy,subscribed,2025-07-01T00:00:00Z\n",  # confirmed again after leaving
        encoding="utf-8",
    )
    result = import_file(runner, path)
    assert "0 added, 3 merged" in result.output
    rows = stored(app)
    assert rows["Ann@Example.com"][:3] == ("Ann", "subscribed", dt.datetime(2025, 1, 1))
    assert rows["bo@example.com"][1] == "unsubscribed"
    assert rows["cy@example.com"][1] == "subscribed" and rows["cy@example.com"][5] is None


def test_dry_run_stores_nothing(app, runner):
    result = import_file(runner, DATA / "owner_ghost.csv", "--dry-run")
    assert result.exit_code == 0
    assert "Dry run, nothing stored: 3 added" in result.output
    assert stored(app) == {}


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "the file is empty"),
        (b"name,phone\nAnn,123\n", "no email column"),
        (b"email,name\nann@example.com,Ann\nbo@example.com,\xff\xfe\n", "can't decode byte 0xff"),
    ],
)
def test_an_unreadable_file_stores_nothing_and_says_why(app, runner, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = import_file(runner, path)
    assert result.exit_code == 1
    assert message in result.output
    assert stored(app) == {}


def test_a_crash_half_way_leaves_nothing_imported(app, runner, tmp_path, monkeypatch):
    path = tmp_path / "many.csv"
    path.write_text("email\n" + "".join(f"p{i}@example.com\n" for i in range(10)), encoding="utf-8")
    monkeypatch.setattr(imports, "LOOKUP_CHUNK", 3)
    real_flush = db.session.flush
    calls = []

    def flush_then_die(*args, **kwargs):
        calls.append(1)
        real_flush(*args, **kwargs)
        if len(calls) == 2:
            raise MemoryError("the machine ran out of memory")

    monkeypatch.setattr(db.session, "flush", flush_then_die)
    result = import_file(runner, path)
    assert isinstance(result.exception, MemoryError)
    monkeypatch.undo()
    assert stored(app) == {}
