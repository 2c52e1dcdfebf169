"""JSON API of profiles: a filtered, paged list and one contact's profile.

A sales user sees the profiles of the contacts they may see (`contacts.access`); a contact they
may not see is reported as missing, exactly as the contacts API does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from retentio.analytics import profile_queries
from retentio.analytics.profile_queries import ProfileFilter
from retentio.auth.deps import CurrentUser
from retentio.contacts import access
from retentio.errors import NotFound
from retentio.predict.rfm import Segment
from retentio.profiles.lifecycle import ChurnBand, LifecycleStage
from retentio.profiles.schemas import ProfilePage, ProfileRead
from retentio.web.deps import SessionDep

router = APIRouter(tags=["profiles"])


@router.get("/profiles", response_model=ProfilePage)
def list_profiles(
    session: SessionDep,
    user: CurrentUser,
    rfm_segment: Segment | None = None,
    churn_band: ChurnBand | None = None,
    lifecycle_stage: LifecycleStage | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ProfilePage:
    flt = ProfileFilter(
        rfm_segment=None if rfm_segment is None else rfm_segment.value,
        churn_band=None if churn_band is None else churn_band.value,
        lifecycle_stage=None if lifecycle_stage is None else lifecycle_stage.value,
    )
    rows, total = profile_queries.profiles_page(
        session, user, flt, page_number=page, per_page=per_page
    )
    return ProfilePage(
        items=[ProfileRead.model_validate(row) for row in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


@router.get("/contacts/{contact_id}/profile", response_model=ProfileRead)
def contact_profile(contact_id: int, session: SessionDep, user: CurrentUser) -> ProfileRead:
    contact = access.visible_contact(session, user, contact_id)
    profile = profile_queries.profile_of(session, contact.id)
    if profile is None:
        raise NotFound(f"Contact {contact_id} has no profile yet: run `retentio recompute`.")
    return ProfileRead.model_validate(profile)
