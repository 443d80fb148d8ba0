"""Reading users_to_onboard.csv: good rows kept, each bad row named by line and field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from stargate.cli.errors import ExitCode, InputError
from stargate.cli.onboard_csv import Row, RowError, parse_csv

EXAMPLE = Path(__file__).parents[3] / "examples" / "users_to_onboard.csv"


def test_the_seed_example_parses() -> None:
    rows, errors = parse_csv(EXAMPLE.read_text())
    assert errors == []
    assert rows == [
        Row(2, "user1@example.com", "drafting", "User One"),
        Row(3, "user2@example.com", "coding", "User Two"),
        Row(4, "user3@example.com", "architect", "User Three"),
    ]


def test_budget_and_rpm_are_read() -> None:
    rows, errors = parse_csv("email,tier,alias,budget,rpm\na@x.io,coding,A,$2.50,60\n")
    assert errors == []
    assert rows == [Row(2, "a@x.io", "coding", "A", Decimal("2.50"), 60)]


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("not-an-email,coding,,,", "email", "not an email address"),
        (",coding,,,", "email", "missing"),
        ("a@x.io,,,,", "tier", "missing"),
        ("a@x.io,coding,,ten,", "budget", "not an amount in USD"),
        ("a@x.io,coding,,-1,", "budget", "non-negative"),
        ("a@x.io,coding,,NaN,", "budget", "non-negative"),
        ("a@x.io,coding,,,1.5", "rpm", "whole number"),
        ("a@x.io,coding,,,-3", "rpm", "whole number"),
        ("a@x.io,coding,A,1,2,extra", None, "6 fields where the header has 5"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_field(
    line: str, field: str | None, message: str
) -> None:
    text = f"email,tier,alias,budget,rpm\nok@x.io,coding,,,\n{line}\nok2@x.io,drafting,,,\n"
    rows, errors = parse_csv(text)
    assert [r.email for r in rows] == ["ok@x.io", "ok2@x.io"]
    assert len(errors) == 1
    assert (errors[0].line, errors[0].field) == (3, field)
    assert message in errors[0].message


def test_a_repeated_email_is_an_error_on_its_second_line() -> None:
    rows, errors = parse_csv("email,tier\na@x.io,coding\nb@x.io,coding\nA@X.io,drafting\n")
    assert [r.email for r in rows] == ["a@x.io", "b@x.io"]
    assert errors == [RowError(4, "email", "A@X.io is already on line 2")]
    assert str(errors[0]) == "line 4, email: A@X.io is already on line 2"


def test_blank_and_comment_lines_keep_line_numbers_true() -> None:
    text = "\ufeffemail,tier\n\n# a comment\na@x.io,coding\n,\nbad,coding\n"
    rows, errors = parse_csv(text)
    assert rows == [Row(4, "a@x.io", "coding")]
    assert [(e.line, e.field) for e in errors] == [(6, "email")]


def test_header_in_any_order_and_case_with_synonyms_and_quotes() -> None:
    text = 'Tier,Name,User_Email,RPM_limit,Max_Budget,notes\ncoding,"Doe, Jane",j@x.io,5,1,hi\n'
    rows, errors = parse_csv(text)
    assert errors == []
    assert rows == [Row(2, "j@x.io", "coding", "Doe, Jane", Decimal(1), 5)]


def test_short_rows_read_missing_trailing_fields_as_empty() -> None:
    rows, errors = parse_csv("email,tier,alias,budget,rpm\na@x.io,coding\n")
    assert errors == []
    assert rows == [Row(2, "a@x.io", "coding")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("user,team_name\na@x.io,coding\n", "missing: email, tier"),
        ("email,tier,email\n", "appears twice"),
        ('email,tier\n"a@x.io,coding\n', "cannot be read"),
    ],
)
def test_a_bad_header_or_file_is_a_usage_error(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_csv(text)
    assert message in caught.value.message
    assert caught.value.code == ExitCode.USAGE
