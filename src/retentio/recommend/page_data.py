"""What the contact card's "Recommendations" block shows: next best offers and the categories
the contact is due to buy again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from retentio.recommend import queries

CARD_OFFERS = 5


@dataclass(frozen=True, slots=True)
class ContactBlock:
    offers: list[queries.Offer]
    replenishments: list[queries.Replenishment]


def contact_block(session: Session, contact_id: int) -> ContactBlock:
    return ContactBlock(
        queries.next_best_offers(session, contact_id, CARD_OFFERS),
        queries.replenishment_due(session, contact_id),
    )
