"""JSON shapes of the segments API. A rule travels as plain JSON and is parsed by
`rules.parse_rule`, so its errors name the node (`rule.all[2].field`), not pydantic's union
branches."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from retentio.segments.models import SegmentKind

RULE_EXAMPLE: dict[str, Any] = {
    "all": [
        {"field": "profile.rfm_segment", "op": "in", "value": ["at_risk", "cant_lose"]},
        {"event": "email_click", "within_days": 30, "negate": True},
        {"bought": {"category": "shoes"}, "within_days": 365},
        {"field": "contact.city", "op": "eq", "value": "Москва"},
        {"reachable": "email"},
    ]
}
RuleJson = dict[str, Any]


class SegmentIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    kind: SegmentKind = SegmentKind.DYNAMIC
    rule: RuleJson | None = Field(default=None, examples=[RULE_EXAMPLE])


class SegmentPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    rule: RuleJson | None = None


class SegmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str | None
    name: str
    description: str
    kind: SegmentKind
    rule: RuleJson | None
    size: int
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None


class PreviewIn(BaseModel):
    rule: RuleJson = Field(examples=[RULE_EXAMPLE])
    sample: int = Field(default=10, ge=0, le=100)


class SampleRead(BaseModel):
    id: int
    name: str
    email: str | None
    phone: str | None
    city: str | None


class PreviewRead(BaseModel):
    count: int
    reachable: dict[str, int] = Field(examples=[{"email": 1304, "sms": 1342, "telegram": 6}])
    sample: list[SampleRead]


class MemberRead(BaseModel):
    id: int
    name: str
    email: str | None
    phone: str | None
    city: str | None
    entered_at: datetime


class MembersPage(BaseModel):
    items: list[MemberRead]
    total: int
    page: int
    pages: int
    per_page: int


class ContactIdsIn(BaseModel):
    contact_ids: list[int] = Field(min_length=1, max_length=100_000)


class ListIn(BaseModel):
    """E-mails, phones or external ids, one contact per value."""

    values: list[str] = Field(min_length=1, max_length=100_000)


class ListResultRead(BaseModel):
    matched: int
    added: int
    unmatched: list[str]


class ChangedRead(BaseModel):
    changed: int


class RefreshRead(BaseModel):
    entered: int
    left: int
    size: int


class SizePoint(BaseModel):
    day: date
    size: int


class FieldRead(BaseModel):
    name: str
    type: str
    label: str
    choices: list[str]
    operators: list[str]
