"""Signed tracking tokens and rewriting a body's links: a token verifies only unchanged and for
its own kind; links keep their UTM parameters; the unsubscribe link stays direct."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from retentio.messaging.tracking import BadToken, Links, Signer, Token, track_html, with_utm

SIGNER = Signer("k" * 48)
LINKS = Links(SIGNER, "https://crm.example/")


def test_a_token_round_trips_and_is_url_safe() -> None:
    token = SIGNER.sign(Token("c", 42, "https://shop.example/a?utm_source=x&q=чай"))
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)
    assert SIGNER.verify(token, "c") == Token("c", 42, "https://shop.example/a?utm_source=x&q=чай")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # MAC changed
        lambda t: ("A" if t[0] != "A" else "B") + t[1:],  # payload changed
        lambda t: t.split(".")[0],  # MAC dropped
        lambda _t: "",
        lambda _t: "!!!.???",
    ],
)
def test_a_tampered_token_is_refused(mangle: object) -> None:
    token = SIGNER.sign(Token("c", 42, "https://shop.example/"))
    with pytest.raises(BadToken):
        SIGNER.verify(mangle(token), "c")  # type: ignore[operator]


def test_a_token_of_another_kind_or_key_is_refused() -> None:
    token = SIGNER.sign(Token("o", 42))
    with pytest.raises(BadToken):
        SIGNER.verify(token, "u")
    with pytest.raises(BadToken):
        Signer("another-key" * 5).verify(token, "o")


def test_utm_parameters_are_added_without_overriding_the_links_own() -> None:
    url = with_utm(
        "https://shop.example/tea?utm_source=crm&x=1",
        {"utm_source": "mail", "utm_campaign": "spring"},
    )
    assert url == "https://shop.example/tea?utm_source=crm&x=1&utm_campaign=spring"
    assert with_utm("https://shop.example/", {}) == "https://shop.example/"


def test_links_go_through_the_redirect_and_a_pixel_is_added() -> None:
    body = (
        '<html><body><a href="https://shop.example/a?b=1&amp;c=2">A</a>'
        "<a href='mailto:hi@shop.example'>M</a>"
        '<a href="https://crm.example/u/TOKEN">unsubscribe</a></body></html>'
    )
    tracked = track_html(body, LINKS, 7, {"utm_medium": "email"})
    hrefs = re.findall(r"href=[\"']([^\"']+)", tracked)
    assert hrefs[1:] == ["mailto:hi@shop.example", "https://crm.example/u/TOKEN"]
    click = urlsplit(hrefs[0].replace("&amp;", "&"))
    assert (click.scheme, click.netloc) == ("https", "crm.example")
    token = SIGNER.verify(click.path.removeprefix("/c/"), "c")
    assert token == Token("c", 7, "https://shop.example/a?b=1&c=2&utm_medium=email")
    assert parse_qs(urlsplit(token.url).query) == {"b": ["1"], "c": ["2"], "utm_medium": ["email"]}
    pixel = re.search(r'<img src="https://crm.example/o/([^"]+)\.gif"', tracked)
    assert pixel is not None
    assert SIGNER.verify(pixel.group(1), "o") == Token("o", 7)
    assert tracked.endswith("</body></html>")


def test_unsubscribe_and_preferences_links_point_at_their_pages() -> None:
    links = LINKS.for_message(9)
    token = links["unsubscribe"].removeprefix("https://crm.example/u/")
    assert SIGNER.verify(token, "u") == Token("u", 9)
    preferences = links["preferences"].removeprefix("https://crm.example/p/")
    assert SIGNER.verify(preferences, "p") == Token("p", 9)
