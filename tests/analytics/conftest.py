"""The levers shop, shared by the page and API tests.

For the period 2026-01-01 … 2026-03-31 (90 days) against 2025-10-03 … 2025-12-31 (90 days):

    previous: leads L1 … L4 (created in the period, city Omsk), buyers L1 L2, orders 100 + 100
              → 4 × 0.5 × 100 × 1 = 200
    current:  leads M1 … M5 (no city), buyers M1 (150 twice) and L1 (150 once)
              → 5 × 0.4 × 150 × 1.5 = 450
    changes:  leads +25 %, conversion −20 % (the weakest), check +50 %, purchases +50 %
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.analytics.helpers import contact, day, order


@pytest.fixture
def levers_shop(db: Session) -> None:
    leads = [
        contact(db, f"L{n}", created_at=day(f"2025-11-0{n}"), city="Omsk") for n in range(1, 5)
    ]
    order(db, leads[0], "2025-11-10", "100.00")
    order(db, leads[1], "2025-12-10", "100.00")
    order(db, leads[0], "2026-02-10", "150.00")
    fresh = [contact(db, f"M{n}", created_at=day(f"2026-01-0{n}")) for n in range(1, 6)]
    order(db, fresh[0], "2026-01-20", "150.00")
    order(db, fresh[0], "2026-03-20", "150.00")
