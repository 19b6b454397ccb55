"""CSV cells are safe in a spreadsheet and survive a round trip."""

import csv
import datetime as dt
import io

import pytest

from webapp.csvutil import csv_lines, safe_cell


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\n"])
def test_formula_cells_get_a_leading_quote(start):
    assert safe_cell(start + "1+1") == "'" + start + "1+1"


def test_plain_values():
    assert safe_cell(None) == ""
    assert safe_cell("Ann") == "Ann"
    assert safe_cell(dt.datetime(2024, 6, 10, 8, 30, 15, 999)) == "2024-06-10T08:30:15Z"


def test_round_trip_of_awkward_text():
    awkward = 'He said "hi", then\nleft 💪, ok'
    text = "".join(csv_lines(["a", "b"], [[awkward, "=SUM(A1)"]]))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["a", "b"], [awkward, "'=SUM(A1)"]]
