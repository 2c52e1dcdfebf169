"""The customer base's health: how many live contacts each channel can reach for marketing,
and how complete their records are (the share holding each piece of data campaigns use).

One statement with conditional counts; reachability is the segment engine's own clause, so
"reachable by e-mail" here and in a segment's counts are the same number.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from retentio.contacts.models import Contact
from retentio.kit.text import N_
from retentio.segments.compiler import CHANNELS, live_clause, reachable_clause

# What a complete record holds, in the order the page lists it.
COMPLETENESS_FIELDS: dict[str, str] = {
    "email": N_("E-mail"),
    "phone": N_("Phone"),
    "name": N_("Name"),
    "birthday": N_("Birthday"),
    "city": N_("City"),
    "gender": N_("Gender"),
}


@dataclass(frozen=True, slots=True)
class BaseHealth:
    contacts: int  # live, identified contacts (not deleted, merged away or anonymous)
    reachable: dict[str, int]  # channel → contacts reachable for marketing
    filled: dict[str, int]  # field of COMPLETENESS_FIELDS → contacts holding it

    def share(self, count: int) -> float | None:
        return count / self.contacts if self.contacts else None

    @property
    def completeness(self) -> float | None:
        """Mean share of the fields filled, over every contact: 1.0 when all hold everything."""
        if not self.contacts:
            return None
        return sum(self.filled.values()) / (self.contacts * len(self.filled))


def base_health(session: Session) -> BaseHealth:
    shape = "exists" if session.get_bind().dialect.name == "postgresql" else "in"
    reach = [_count(reachable_clause(name, shape)).label(f"r_{name}") for name in CHANNELS]
    filled = [_count(_holds(name)).label(f"f_{name}") for name in COMPLETENESS_FIELDS]
    row = session.execute(
        select(func.count().label("contacts"), *reach, *filled)
        .select_from(Contact)
        .where(live_clause())
    ).one()
    return BaseHealth(
        contacts=row.contacts,
        reachable={name: int(row._mapping[f"r_{name}"]) for name in CHANNELS},
        filled={name: int(row._mapping[f"f_{name}"]) for name in COMPLETENESS_FIELDS},
    )


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


def _present(column: InstrumentedAttribute[str | None]) -> ColumnElement[bool]:
    return and_(column.is_not(None), column != "")


def _holds(name: str) -> ColumnElement[bool]:
    held: dict[str, ColumnElement[bool]] = {
        "email": _present(Contact.email),
        "phone": _present(Contact.phone),
        "name": _present(Contact.first_name),
        "birthday": Contact.birthday.is_not(None),
        "city": _present(Contact.city),
        "gender": _present(Contact.gender),
    }
    return held[name]
