"""Every statement's text parameters on their way to the database: escaped where the
database cannot take them (NUL, lone surrogates), passed on untouched otherwise."""
from __future__ import annotations

from sqlalchemy.sql.elements import quoted_name

from daemon.dbtext import escape_parameters


def escaped(parameters):
    return escape_parameters(None, None, "SELECT 1", parameters, None, False)[1]


def test_parameters_with_nothing_to_escape_are_passed_on_as_they_are():
    for parameters in [("cancel@agency.example", 7, None, b"\x00raw bytes stay bytes"),
                       {"email": "jane@acme.example", "n": 1},
                       [("a", 1), ("b", 2)],  # executemany
                       (quoted_name("accounts", None), {"nested": ["plain", ("text",)]}),
                       ()]:
        assert escaped(parameters) is parameters


def test_a_nul_or_a_lone_surrogate_is_escaped_wherever_it_sits():
    assert escaped(("a\x00b", 1)) == ("a\\x00b", 1)
    assert escaped({"summary": "Grüße\x00", "data": {"text": ["ok", "bad\udcff"]}}) == {
        "summary": "Grüße\\x00", "data": {"text": ["ok", "bad\\udcff"]}}
    assert escaped([("fine", 1), ("x\x00", 2)]) == [("fine", 1), ("x\\x00", 2)]


def test_text_beyond_ascii_that_the_database_takes_is_kept_as_it_is():
    parameters = ("Kündigung zum Vertragsende", {"name": "山田太郎"})
    assert escaped(parameters) == parameters
