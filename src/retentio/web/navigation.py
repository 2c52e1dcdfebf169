"""The areas of the product, in the order the navigation shows them."""

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


AREAS: tuple[Area, ...] = (
    Area("dashboard", N_("Dashboard"), "/", Permission.VIEW),
    Area("contacts", N_("Contacts"), "/contacts", Permission.VIEW),
    Area("companies", N_("Companies"), "/companies", Permission.VIEW),
    Area("orders", N_("Orders"), "/orders", Permission.VIEW),
    Area("products", N_("Products"), "/products", Permission.VIEW),
    Area("deals", N_("Deals"), "/deals", Permission.VIEW),
    Area("leads", N_("Leads"), "/leads", Permission.VIEW),
    Area("tasks", N_("My tasks"), "/tasks/my", Permission.VIEW),
    Area("segments", N_("Segments"), "/segments", Permission.VIEW),
    Area("campaigns", N_("Campaigns"), "/campaigns", Permission.VIEW),
    Area("journeys", N_("Journeys"), "/journeys", Permission.VIEW),
    Area("loyalty", N_("Loyalty"), "/loyalty", Permission.VIEW),
    Area("feedback", N_("Feedback"), "/feedback", Permission.VIEW),
    Area("tickets", N_("Tickets"), "/tickets", Permission.VIEW),
    Area("analytics", N_("Analytics"), "/analytics", Permission.VIEW),
    Area("imports", N_("Imports"), "/imports", Permission.IMPORT),
    Area("settings", N_("Settings"), "/settings", Permission.MANAGE_SETTINGS),
)


def navigation_for(role: Role | None) -> list[Area]:
    if role is None:
        return []
    return [area for area in AREAS if role_allows(role, area.permission)]
