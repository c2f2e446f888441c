"""CSV exports: no cell becomes a formula under any separator a spreadsheet may pick, and values round-trip."""

from __future__ import annotations

import csv
import io
import string

from hypothesis import given
from hypothesis import strategies as st

from app.admin.exports import cell, csv_response, read_cell

FORMULA = "=+-@\t\r"
SEPARATORS = ",;|\t"
# IAM user names: letters, digits and + = , . @ _ - (up to 64).
IAM_NAMES = st.text(alphabet=string.ascii_letters + string.digits + "+=,.@_-", min_size=1, max_size=64)
TRICKY = st.text(alphabet=st.sampled_from(list("=+-@\t\r\n;,|\"' aZ(")), max_size=24)


def pieces(line: str, separator: str) -> list[str]:
    """Split a CSV line the way a spreadsheet set to another separator would, quotes and spaces trimmed."""
    return [piece.lstrip(' "') for piece in line.split(separator)]


def exported(values: list[str]) -> str:
    """The body of a one-row export holding these values."""
    return csv_response("x.csv", ["h"] * len(values), [values]).get_data(as_text=True)


def test_a_user_agent_with_a_semicolon_formula_stays_text_under_every_separator():
    body = exported(["Mozilla;=HYPERLINK(\"http://example.invalid\",\"x\")", "ok"])
    for separator in SEPARATORS:
        for line in body.splitlines():
            assert not [p for p in pieces(line, separator) if p[:1] in set(FORMULA)], (separator, line)


@given(st.lists(TRICKY, min_size=1, max_size=4))
def test_no_piece_under_any_separator_starts_a_formula(values):
    for separator in SEPARATORS:
        for value in values:
            assert not [p for p in pieces(cell(value), separator) if p[:1] in set("=+-@")], (separator, value)


@given(TRICKY)
def test_every_value_round_trips_through_read_cell(value):
    assert read_cell(cell(value)) == value


@given(st.lists(IAM_NAMES, min_size=1, max_size=5))
def test_user_names_round_trip_through_a_csv_file(names):
    rows = list(csv.reader(io.StringIO(exported(names))))
    assert [read_cell(text) for text in rows[1]] == names


def test_plain_values_are_left_alone():
    assert [cell(v) for v in ("new.hire", "a=b", "arn:aws:iam::123456789012:user/x", "2-factor")] == [
        "new.hire", "a=b", "arn:aws:iam::123456789012:user/x", "2-factor"]
    assert cell("-x") == "'-x" and cell("it's") == "it's" and cell("'=x") == "''=x"
