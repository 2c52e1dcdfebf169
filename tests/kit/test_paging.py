"""Page arithmetic: rows shown, page count, and which page links to draw."""

from __future__ import annotations

import pytest

from retentio.kit.paging import Pager, page_number


@pytest.mark.parametrize(
    ("page", "total", "rows", "pages"),
    [(1, 0, (0, 0), 1), (1, 55, (1, 50), 2), (2, 55, (51, 55), 2), (2, 100, (51, 100), 2)],
)
def test_rows_and_pages(page: int, total: int, rows: tuple[int, int], pages: int) -> None:
    pager = Pager(page=page, per_page=50, total=total)
    assert (pager.first_row, pager.last_row) == rows
    assert pager.pages == pages


@pytest.mark.parametrize(
    ("page", "window"),
    [
        (1, [1, 2, 3, None, 20]),
        (6, [1, None, 4, 5, 6, 7, 8, None, 20]),
        (4, [1, 2, 3, 4, 5, 6, None, 20]),
        (20, [1, None, 18, 19, 20]),
    ],
)
def test_window_shows_ends_and_neighbours(page: int, window: list[int | None]) -> None:
    assert Pager(page=page, per_page=10, total=200).window() == window


@pytest.mark.parametrize(("raw", "number"), [(None, 1), ("3", 3), ("0", 1), ("-2", 1), ("x", 1)])
def test_page_number_from_a_query_string(raw: str | None, number: int) -> None:
    assert page_number(raw) == number
