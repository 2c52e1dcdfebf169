"""What each role may do. One table, read by every router through `require()`."""

from __future__ import annotations

import enum

from retentio.auth.models import Role
from retentio.kit.text import N_


class Permission(enum.StrEnum):
    VIEW = "view"
    EDIT_CUSTOMERS = "edit_customers"
    MARKETING = "marketing"
    SALES = "sales"
    IMPORT = "import"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_USERS = "manage_users"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MARKETER: frozenset(
        {Permission.VIEW, Permission.EDIT_CUSTOMERS, Permission.MARKETING, Permission.IMPORT}
    ),
    Role.SALES: frozenset({Permission.VIEW, Permission.EDIT_CUSTOMERS, Permission.SALES}),
    Role.ANALYST: frozenset({Permission.VIEW}),
}


def role_allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: N_("Admin"),
    Role.MARKETER: N_("Marketer"),
    Role.SALES: N_("Sales"),
    Role.ANALYST: N_("Analyst"),
}
