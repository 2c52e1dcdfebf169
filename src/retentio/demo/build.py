"""Fills a database with the demo shop: accounts to log in with, then the shop's data."""

from __future__ import annotations

from sqlalchemy.orm import Session

from retentio.auth import queries as auth_queries
from retentio.auth import service as auth_service
from retentio.auth.models import Role

DEMO_DOMAIN = "demo.example.com"
DEMO_ACCOUNTS = (
    (Role.ADMIN, "admin", "Анна Смирнова"),
    (Role.MARKETER, "marketer", "Мария Кузнецова"),
    (Role.SALES, "sales", "Дмитрий Волков"),
    (Role.ANALYST, "analyst", "Олег Морозов"),
)


def build_demo(session: Session, *, customers: int, seed: int, admin_password: str) -> str:
    """Create (or reset) one account per role sharing `admin_password`; returns the admin login."""
    _ = (customers, seed)  # the shop's customers arrive with the contacts domain
    for role, local_part, name in DEMO_ACCOUNTS:
        email = f"{local_part}@{DEMO_DOMAIN}"
        user = auth_queries.user_by_email(session, email)
        if user is None:
            auth_service.create_user(
                session, email=email, name=name, role=role, password=admin_password
            )
        else:
            auth_service.set_password(session, user, admin_password)
    return f"admin@{DEMO_DOMAIN}"
