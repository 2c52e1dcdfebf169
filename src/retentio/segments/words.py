"""A stored rule told in words for the segment card: a tree of lines, translated, with field
names, operators and choices as the builder shows them.

It reads the stored JSON (already canonical) rather than the parsed nodes, so a rule written by
a newer engine than these words still reads, its unknown parts shown as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from retentio.segments.catalog import Catalog
from retentio.segments.page_data import (
    CHANNEL_LABELS,
    CHOICE_LABELS,
    COMPARISON_LABELS,
    CONSENT_STATUS_LABELS,
    PERIOD_LABELS,
    VALUE_SUFFIXES,
    field_label,
    operator_label,
)
from retentio.web.i18n import gettext as _


@dataclass
class Line:
    text: str
    children: list[Line] = field(default_factory=list)


def describe(rule: Any, catalog: Catalog, segment_names: dict[int, str]) -> Line:
    return _Describer(catalog, segment_names).node(rule)


@dataclass
class _Describer:
    catalog: Catalog
    segment_names: dict[int, str]

    def node(self, raw: Any) -> Line:
        if not isinstance(raw, dict):
            return Line(json.dumps(raw, ensure_ascii=False))
        if isinstance(raw.get("all"), list):
            return self._group(_("All of these:"), _("Everyone"), raw["all"])
        if isinstance(raw.get("any"), list):
            return self._group(_("Any of these:"), _("Nobody"), raw["any"])
        if "not" in raw:
            inner = raw["not"]
            items = inner["any"] if isinstance(inner, dict) and "any" in inner else [inner]
            return self._group(_("None of these:"), _("Everyone"), items)
        text = self._leaf(raw)
        if raw.get("negate") and "field" in raw:
            text = _("not: %(condition)s") % {"condition": text}
        return Line(text)

    def _group(self, title: str, empty: str, items: list[Any]) -> Line:
        if not items:
            return Line(empty)
        return Line(title, [self.node(item) for item in items])

    def _leaf(self, raw: dict[str, Any]) -> str:
        negated = bool(raw.get("negate"))
        if "field" in raw:
            return self._field(raw)
        if "tags" in raw:
            positive = (
                _("has all of the tags %(tags)s")
                if raw.get("match") == "all"
                else _("has any of the tags %(tags)s")
            )
            template = _("has none of the tags %(tags)s") if negated else positive
            return template % {"tags": ", ".join(raw["tags"])}
        if "event" in raw:
            template = (
                _("did not do “%(event)s” %(count)s") if negated else _("did “%(event)s” %(count)s")
            )
            return template % {"event": raw["event"], "count": self._count(raw, _("times"))}
        if "bought" in raw:
            template = (
                _("did not buy %(what)s %(count)s") if negated else _("bought %(what)s %(count)s")
            )
            what = self._bought(raw["bought"])
            return template % {"what": what, "count": self._count(raw, _("orders"))}
        if "segment" in raw:
            name = self.segment_names.get(raw["segment"], f"#{raw['segment']}")
            template = (
                _("is not in segment “%(name)s”") if negated else _("is in segment “%(name)s”")
            )
            return template % {"name": name}
        if "reachable" in raw:
            channel = _(CHANNEL_LABELS.get(raw["reachable"], raw["reachable"]))
            template = (
                _("is not reachable by %(channel)s")
                if negated
                else _("is reachable by %(channel)s")
            )
            return template % {"channel": channel}
        if "consent" in raw:
            status = raw.get("status", "granted")
            text = _("consent for %(channel)s: %(status)s") % {
                "channel": _(CHANNEL_LABELS.get(raw["consent"], raw["consent"])),
                "status": _(CONSENT_STATUS_LABELS.get(status, status)),
            }
            return _("not: %(condition)s") % {"condition": text} if negated else text
        return json.dumps(raw, ensure_ascii=False)

    def _field(self, raw: dict[str, Any]) -> str:
        name, op, value = raw["field"], raw.get("op", ""), raw.get("value")
        spec = self.catalog.get(name)
        words = [field_label(spec) if spec else name, operator_label(op)]
        if value is not None:
            words.append(self._value(name, op, value))
        if op in VALUE_SUFFIXES:
            words.append(_(VALUE_SUFFIXES[op]))
        return " ".join(w for w in words if w)

    def _value(self, name: str, op: str, value: Any) -> str:
        labels = CHOICE_LABELS.get(name, {})

        def one(v: Any) -> str:
            if isinstance(v, bool):
                return _("Yes") if v else _("No")
            if isinstance(v, str) and v in labels:
                return _(labels[v])
            return str(v)

        if op == "between" and isinstance(value, list) and len(value) == 2:
            return _("%(low)s and %(high)s") % {"low": one(value[0]), "high": one(value[1])}
        if op == "in_current" and isinstance(value, str):
            return _(PERIOD_LABELS.get(value, value))
        if isinstance(value, list):
            return ", ".join(one(v) for v in value)
        return one(value)

    def _count(self, raw: dict[str, Any], unit: str) -> str:
        count = raw.get("count") or {"op": "ge", "value": 1}
        op = COMPARISON_LABELS.get(count.get("op", "ge"), count.get("op", ""))
        number = count.get("value", 1)
        number = int(number) if isinstance(number, float) and number.is_integer() else number
        text = f"{_(op)} {number} {unit}"
        if raw.get("within_days"):
            text += " " + _("in the last %(days)s days") % {"days": raw["within_days"]}
        elif isinstance(raw.get("between"), list):
            low, high = raw["between"]
            text += " " + _("from %(low)s to %(high)s") % {"low": low, "high": high}
        return text

    def _bought(self, bought: dict[str, Any]) -> str:
        parts = []
        if bought.get("category"):
            parts.append(_("in category “%(category)s”") % {"category": bought["category"]})
        if bought.get("product"):
            parts.append(_("product %(sku)s") % {"sku": bought["product"]})
        return ", ".join(parts) if parts else _("anything")
