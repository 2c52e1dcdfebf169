"""Page arithmetic for long lists: how many pages, which rows, which page links to show.

Pure numbers, no web or database code; `retentio.web.listing` turns it into links.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pager:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def first_row(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        return min(self.offset + self.per_page, self.total)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def window(self, *, radius: int = 2) -> list[int | None]:
        """Page numbers to link, `None` for a gap: 1 … 4 5 [6] 7 8 … 20."""
        shown = {1, self.pages, *range(self.page - radius, self.page + radius + 1)}
        numbers = sorted(n for n in shown if 1 <= n <= self.pages)
        links: list[int | None] = []
        previous = 0
        for number in numbers:
            if number - previous > 1:
                links.append(None)
            links.append(number)
            previous = number
        return links


def page_number(raw: str | None) -> int:
    """A page number from a query string; anything odd means the first page."""
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1
