"""The state of a list page kept in its query string: filters, sort and page number.

Every list page (contacts, companies, orders, products) reads its parameters through `Listing`
and builds its links with it, so sorting, paging and filtering behave the same everywhere and a
filtered, sorted page can be bookmarked or shared.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Literal
from urllib.parse import urlencode

from fastapi import Request

from retentio.kit.paging import Pager, page_number

PER_PAGE = 50
CONTROL = frozenset({"sort", "page"})


class Listing:
    def __init__(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        sorts: Collection[str],
        default_sort: str,
        per_page: int = PER_PAGE,
    ) -> None:
        self.path = path
        self.params = {k: v.strip() for k, v in params.items() if v and v.strip()}
        self.default_sort = default_sort
        sort = self.params.get("sort", default_sort)
        self.sort = sort if sort.lstrip("-") in sorts else default_sort
        self.page = page_number(self.params.get("page"))
        self.per_page = per_page

    @classmethod
    def of(cls, request: Request, *, sorts: Collection[str], default_sort: str) -> Listing:
        return cls(
            request.url.path, dict(request.query_params), sorts=sorts, default_sort=default_sort
        )

    def get(self, name: str) -> str | None:
        return self.params.get(name)

    def get_int(self, name: str) -> int | None:
        value = self.params.get(name, "")
        return int(value) if value.isdigit() else None

    def get_date(self, name: str) -> date | None:
        try:
            return date.fromisoformat(self.params.get(name, ""))
        except ValueError:
            return None

    def flag(self, name: str) -> bool:
        return self.params.get(name, "").lower() in ("1", "true", "on", "yes")

    @property
    def filtered(self) -> bool:
        """Whether any filter is set (sort and page are not filters)."""
        return any(k not in CONTROL for k in self.params)

    def url(self, **changes: str | int | None) -> str:
        """This page's URL with some parameters changed; `None` removes one."""
        params = dict(self.params)
        for name, value in changes.items():
            if value is None or value == "":
                params.pop(name, None)
            else:
                params[name] = str(value)
        return self.path + (f"?{urlencode(params)}" if params else "")

    def page_url(self, number: int) -> str:
        return self.url(page=number if number > 1 else None)

    def sort_url(self, key: str) -> str:
        """Sort by `key` ascending, or descending when it already is ascending; back to page 1."""
        wanted = f"-{key}" if self.sort == key else key
        return self.url(sort=None if wanted == self.default_sort else wanted, page=None)

    def sort_state(self, key: str) -> Literal["ascending", "descending"] | None:
        if self.sort == key:
            return "ascending"
        if self.sort == f"-{key}":
            return "descending"
        return None

    def pager(self, total: int) -> Pager:
        return Pager(page=self.page, per_page=self.per_page, total=total)
