"""The areas of the product, in the order the navigation shows them.

An area that is not built yet still has a page that says so, rather than a 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from retentio.auth.models import Role
from retentio.auth.permissions import Permission, role_allows
from retentio.kit.text import N_


@dataclass(frozen=True)
class Area:
    key: str
    label: str
    path: str
    permission: Permission
    built: bool


AREAS: tuple[Area, ...] = (
    Area("dashboard", N_("Dashboard"), "/", Permission.VIEW, True),
    Area("contacts", N_("Contacts"), "/contacts", Permission.VIEW, True),
    Area("companies", N_("Companies"), "/companies", Permission.VIEW, True),
    Area("orders", N_("Orders"), "/orders", Permission.VIEW, True),
    Area("products", N_("Products"), "/products", Permission.VIEW, True),
    Area("deals", N_("Deals"), "/deals", Permission.VIEW, False),
    Area("segments", N_("Segments"), "/segments", Permission.VIEW, True),
    Area("campaigns", N_("Campaigns"), "/campaigns", Permission.VIEW, True),
    Area("journeys", N_("Journeys"), "/journeys", Permission.VIEW, True),
    Area("loyalty", N_("Loyalty"), "/loyalty", Permission.VIEW, True),
    Area("feedback", N_("Feedback"), "/feedback", Permission.VIEW, True),
    Area("tickets", N_("Tickets"), "/tickets", Permission.VIEW, True),
    Area("analytics", N_("Analytics"), "/analytics", Permission.VIEW, True),
    Area("imports", N_("Imports"), "/imports", Permission.IMPORT, True),
    Area("settings", N_("Settings"), "/settings", Permission.MANAGE_SETTINGS, True),
)


def navigation_for(role: Role | None) -> list[Area]:
    if role is None:
        return []
    return [area for area in AREAS if role_allows(role, area.permission)]


def area_by_key(key: str) -> Area | None:
    return next((area for area in AREAS if area.key == key), None)
