"""List state in the query string: filters kept across sort and page links."""

from __future__ import annotations

from retentio.web.listing import Listing


def _listing(**params: str) -> Listing:
    return Listing("/contacts", params, sorts=("name", "created"), default_sort="-created")


def test_sort_link_toggles_direction_and_returns_to_the_first_page() -> None:
    listing = _listing(q="анна", sort="name", page="3")
    assert listing.sort_state("name") == "ascending"
    assert listing.sort_url("name") == "/contacts?q=%D0%B0%D0%BD%D0%BD%D0%B0&sort=-name"
    assert _listing(sort="-name").sort_url("name") == "/contacts?sort=name"
    assert _listing().sort_url("created") == "/contacts?sort=created"
    assert _listing(sort="created").sort_url("created") == "/contacts"


def test_unknown_sort_and_bad_page_fall_back() -> None:
    listing = _listing(sort="password", page="many", city=" ")
    assert (listing.sort, listing.page, listing.filtered) == ("-created", 1, False)


def test_page_links_keep_the_filters() -> None:
    listing = _listing(city="Тула", tag="vip")
    assert listing.filtered
    assert listing.page_url(2) == "/contacts?city=%D0%A2%D1%83%D0%BB%D0%B0&tag=vip&page=2"
    assert listing.page_url(1) == "/contacts?city=%D0%A2%D1%83%D0%BB%D0%B0&tag=vip"
