"""CSV injection: cells a spreadsheet would run as formulas get a leading quote, nothing else."""

from __future__ import annotations

import pytest

from retentio.kit.csv_safety import is_risky, neutralise, restore


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("+7 (912) 345-67-89", "'+7 (912) 345-67-89"),
        ("-", "'-"),
    ],
)
def test_formula_triggers_get_a_quote(value: str, expected: str) -> None:
    assert neutralise(value) == expected
    assert is_risky(value) is True


@pytest.mark.parametrize(
    "value",
    [
        "Анна",
        "anna@example.ru",
        "a=b",
        "",
        "'=already quoted",
        "+79123456789",
        "-12.50",
        "-12,5",
        "+1e5",
        "1-5",
    ],
)
def test_ordinary_text_and_plain_numbers_are_unchanged(value: str) -> None:
    assert neutralise(value) == value


@pytest.mark.parametrize(
    "value", ["=1+1", "+cmd|' /C calc'!A0", "@x", "\t-x", "Анна", "+79123456789", "'plain"]
)
def test_restore_undoes_neutralise(value: str) -> None:
    assert restore(neutralise(value)) == value


def test_restore_keeps_a_quote_that_hides_nothing() -> None:
    assert restore("'plain") == "'plain"
    assert restore("'+79123456789") == "'+79123456789"
