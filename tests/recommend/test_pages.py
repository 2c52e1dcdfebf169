"""The contact card's "Recommendations" block, and when the nightly rebuild runs."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi.testclient import TestClient

from retentio.recommend.tasks import nightly_due
from tests.recommend.conftest import Baskets


def test_the_contact_card_shows_next_best_offers(
    admin_client: TestClient, baskets: Baskets
) -> None:
    # given
    baskets.products("A", "B")
    for contact_id in baskets.contacts(3):
        baskets.order(contact_id, "A", "B")
    baskets.recompute()
    (contact_id,) = baskets.contacts(1)
    baskets.order(contact_id, "A", day=1)
    # when
    page = admin_client.get(f"/contacts/{contact_id}")
    # then
    assert page.status_code == 200
    offers = re.search(r'data-testid="contact-offers">(.*?)</ul>', page.text, re.S)
    assert offers is not None
    assert re.findall(r"<strong>([^<]+)</strong> <code>", offers.group(1)) == ["Product B"]


def test_the_rebuild_runs_half_an_hour_after_the_profiles() -> None:
    # when / then: the settings name no time zone, so UTC
    assert nightly_due(datetime(2026, 1, 5, 3, 30)) is True
    assert nightly_due(datetime(2026, 1, 5, 3, 0)) is False
