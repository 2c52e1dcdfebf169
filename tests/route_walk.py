"""Every route of the app, as the authorization tests walk it: the routes themselves (API and
pages, every method), the permission each one's `require()` dependency asks for, and a call
with its path filled from real ids and a body that gets past validation — so that the answer
is about who asks, not about the shape of the request. Read from the app itself: a route added
later is walked without touching the tests."""

from __future__ import annotations

import datetime as dt
import enum
import inspect
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import BaseModel
from starlette.routing import BaseRoute

from retentio.auth.deps import current_user
from retentio.auth.permissions import Permission

PARAM = re.compile(r"{(\w+)(?::\w+)?}")
Key = tuple[str, str]  # (method, full path as declared, e.g. "/contacts/{contact_id:int}")


@dataclass(frozen=True)
class Endpoint:
    """One method of one route, with the path as the app declares it."""

    method: str
    path: str
    route: BaseRoute = field(compare=False)

    @property
    def key(self) -> Key:
        return (self.method, self.path)

    @property
    def params(self) -> list[str]:
        return PARAM.findall(self.path)

    @property
    def answers_json(self) -> bool:
        """Errors come back as JSON here (see `web.errors.wants_json`); pages render or redirect."""
        return self.path.startswith(("/api/", "/healthz", "/v1/"))

    def url(self, ids: Mapping[str, object]) -> str:
        return PARAM.sub(lambda m: str(ids.get(m.group(1), 1)), self.path)


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (method, path) the app answers, API and page routes alike (HEAD rides along GET)."""
    found = []
    for context in iter_route_contexts(app.routes):
        methods = (context.methods or {"GET"}) - {"HEAD"}
        found += [Endpoint(m, context.path or "", context.original_route) for m in sorted(methods)]
    return found


def naming(app: FastAPI, param: str) -> dict[Key, Endpoint]:
    """The API and page routes whose path names `param` (`{deal_id}` and `{deal_id:int}` alike)."""
    return {e.key: e for e in endpoints(app) if isinstance(e.route, APIRoute) and param in e.params}


def _dependencies(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependencies(sub)


def permission(endpoint: Endpoint) -> Permission | None:
    """The permission a `require(Permission.X)` dependency of the route asks for, if any."""
    if not isinstance(endpoint.route, APIRoute):
        return None
    for call in _dependencies(endpoint.route.dependant):
        if getattr(call, "__qualname__", "") == "require.<locals>.check":
            found = inspect.getclosurevars(call).nonlocals["permission"]
            assert isinstance(found, Permission)
            return found
    return None


def signed_in(endpoint: Endpoint) -> bool:
    """Whether the route asks for a signed-in user (directly or through `require()`)."""
    return isinstance(endpoint.route, APIRoute) and any(
        call is current_user for call in _dependencies(endpoint.route.dependant)
    )


# --- calling a route ---------------------------------------------------------------------------


def call(
    client: TestClient,
    endpoint: Endpoint,
    ids: Mapping[str, object],
    sample: Mapping[str, Any],
    *,
    json: Any = None,
) -> Response:
    """Call the route with its path filled from `ids` (1 for any other) and a body: `json` if
    given, else built from `sample` (by field name) and the request model (a plain value of
    each required field's type)."""
    kwargs: dict[str, Any] = {}
    route = endpoint.route
    body = route.dependant.body_params if isinstance(route, APIRoute) else []
    if json is not None:
        kwargs["json"] = json
    # Page routes read their form themselves (no declared body): they get it as form fields.
    elif endpoint.method != "GET":
        if not body or type(body[0].field_info).__name__ == "Form":
            fields = {
                f.alias: _value(f.field_info.annotation, {})
                for f in body
                if f.field_info.is_required()
            }
            fields.update({k: v for k, v in sample.items() if v is not None})
            kwargs["data"] = {k: str(v) for k, v in fields.items()}
        else:
            kwargs["json"] = _value(body[0].field_info.annotation, sample)
    return client.request(endpoint.method, endpoint.url(ids), follow_redirects=False, **kwargs)


def status(
    client: TestClient,
    endpoint: Endpoint,
    ids: Mapping[str, object],
    sample: Mapping[str, Any],
    *,
    json: Any = None,
) -> int:
    return call(client, endpoint, ids, sample, json=json).status_code


def _value(annotation: Any, sample: Mapping[str, Any]) -> Any:
    """A valid value of `annotation`: models take sample values by field name."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _value(args[0], sample)
    if origin in (typing.Union, types.UnionType):
        return _value(args[0], sample)
    if origin is typing.Literal:
        return args[0]
    if origin in (list, set, frozenset, tuple):
        return []
    if origin is dict or annotation is dict:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {
            name: sample[name] if name in sample else _value(field.annotation, sample)
            for name, field in annotation.model_fields.items()
            if (name in sample and sample[name] is not None) or field.is_required()
        }
    return _SCALARS.get(annotation, "x") if not _is_enum(annotation) else _first(annotation)


def _is_enum(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, enum.Enum)


def _first(annotation: type[enum.Enum]) -> Any:
    return next(iter(annotation)).value


_SCALARS: dict[Any, Any] = {
    str: "Попытка",
    int: 1,
    float: 1.0,
    bool: False,
    Decimal: "1",
    dt.date: "2026-01-01",
    dt.datetime: "2026-01-01T00:00:00+00:00",
}
