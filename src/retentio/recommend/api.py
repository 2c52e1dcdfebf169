"""JSON API of recommendations under `/api/v1`: a contact's next best offers and the products
bought together with a product. Every role may read; a contact the user may not see is a 404,
as in the contacts API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.contacts import access
from retentio.recommend import queries
from retentio.recommend.schemas import OfferRead, RelatedProductRead
from retentio.web.deps import SessionDep

router = APIRouter(tags=["recommendations"])
Reader = Annotated[User, Depends(require(Permission.VIEW))]
Count = Annotated[int, Query(ge=1, le=50)]


@router.get("/contacts/{contact_id}/recommendations", response_model=list[OfferRead])
def recommendations(
    contact_id: int, session: SessionDep, user: Reader, n: Count = 5
) -> list[OfferRead]:
    contact = access.visible_contact(session, user, contact_id)
    return [OfferRead.model_validate(o) for o in queries.next_best_offers(session, contact.id, n)]


@router.get("/products/{product_id}/bought-together", response_model=list[RelatedProductRead])
def bought_together(
    product_id: int, session: SessionDep, _user: Reader, n: Count = 10
) -> list[RelatedProductRead]:
    queries.existing_product(session, product_id)
    return [
        RelatedProductRead.model_validate(r)
        for r in queries.bought_together(session, product_id, n)
    ]
