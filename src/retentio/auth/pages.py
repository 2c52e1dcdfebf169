"""HTML pages of the auth domain: login, logout, language switch, own API tokens, users."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from retentio.audit import service as audit
from retentio.auth import queries, service
from retentio.auth.deps import CurrentUser, OptionalUser, log_in, log_out, require
from retentio.auth.models import Role, User
from retentio.auth.permissions import Permission
from retentio.db import utcnow
from retentio.errors import RetentioError, TooManyAttempts
from retentio.settings import SUPPORTED_LOCALES
from retentio.web.deps import SessionDep, SettingsDep, client_ip
from retentio.web.flash import flash
from retentio.web.i18n import gettext as _
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]


def safe_next(target: str | None) -> str:
    """Only same-site paths: `//evil.example` and absolute URLs would be open redirects."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, user: OptionalUser, next: str = "/") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": safe_next(next), "email": ""})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    policy = service.ThrottlePolicy(
        max_failures=settings.login_max_failures,
        ip_max_failures=settings.login_ip_max_failures,
        lockout=timedelta(seconds=settings.login_lockout_seconds),
    )
    context = {"next": safe_next(next), "email": email}
    try:
        user = service.authenticate(
            session,
            email=email,
            password=password,
            client_ip=client_ip(request),
            policy=policy,
            now=utcnow(),
        )
    except TooManyAttempts:
        context["error"] = _("Too many failed attempts. Try again in a few minutes.")
        response = render(request, "auth/login.html", context, status_code=429)
        response.headers["Retry-After"] = str(settings.login_lockout_seconds)
        return response
    if user is None:
        context["error"] = _("Invalid e-mail or password.")
        return render(request, "auth/login.html", context, status_code=401)
    log_in(request, user)
    if user.locale:
        request.session["locale"] = user.locale
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    log_out(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/locale")
def switch_locale(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    locale: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    if locale in SUPPORTED_LOCALES:
        request.session["locale"] = locale
        if user is not None:
            service.set_locale(session, user, locale)
    return RedirectResponse(safe_next(next), status_code=303)


@router.get("/account/tokens", response_class=HTMLResponse)
def token_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return render(request, "auth/tokens.html", {"tokens": queries.tokens_of(session, user.id)})


@router.post("/account/tokens", response_class=HTMLResponse)
def token_create(
    request: Request, session: SessionDep, user: CurrentUser, name: Annotated[str, Form()]
) -> Response:
    if not name.strip():
        flash(request, _("Give the token a name."), "error")
        return RedirectResponse("/account/tokens", status_code=303)
    token, secret = service.create_token(session, user, name=name)
    audit.record(session, entity="api_token", entity_id=token.id, action="create", actor_id=user.id)
    context = {"tokens": queries.tokens_of(session, user.id), "new_secret": secret}
    return render(request, "auth/tokens.html", context, status_code=201)


@router.post("/account/tokens/{token_id}/revoke")
def token_revoke(
    request: Request, session: SessionDep, user: CurrentUser, token_id: int
) -> Response:
    service.revoke_token(session, user, token_id, now=utcnow())
    audit.record(session, entity="api_token", entity_id=token_id, action="revoke", actor_id=user.id)
    flash(request, _("The token was revoked."))
    return RedirectResponse("/account/tokens", status_code=303)


@router.get("/settings/users", response_class=HTMLResponse)
def user_list(request: Request, session: SessionDep, _admin: Admin) -> Response:
    return render(request, "auth/users.html", {"users": queries.list_users(session)})


@router.get("/settings/users/new", response_class=HTMLResponse)
def user_new(request: Request, _admin: Admin) -> Response:
    return render(request, "auth/user_form.html", {"edited": None, "roles": list(Role), "form": {}})


@router.post("/settings/users/new", response_class=HTMLResponse)
def user_create(
    request: Request,
    session: SessionDep,
    _admin: Admin,
    email: Annotated[str, Form()],
    name: Annotated[str, Form()],
    role: Annotated[Role, Form()],
    password: Annotated[str, Form()],
) -> Response:
    form = {"email": email, "name": name, "role": role}
    try:
        user = service.create_user(session, email=email, name=name, role=role, password=password)
        audit.record(session, entity="user", entity_id=user.id, action="create", actor_id=_admin.id)
    except RetentioError as error:
        context = {"edited": None, "roles": list(Role), "form": form, "error": error.message}
        return render(request, "auth/user_form.html", context, status_code=error.status)
    flash(request, _("User {email} created.").format(email=user.email))
    return RedirectResponse("/settings/users", status_code=303)


@router.get("/settings/users/{user_id}", response_class=HTMLResponse)
def user_edit(request: Request, session: SessionDep, _admin: Admin, user_id: int) -> Response:
    edited = service.get_user(session, user_id)
    context = {"edited": edited, "roles": list(Role), "form": {}}
    return render(request, "auth/user_form.html", context)


@router.post("/settings/users/{user_id}", response_class=HTMLResponse)
def user_update(
    request: Request,
    session: SessionDep,
    _admin: Admin,
    user_id: int,
    name: Annotated[str, Form()],
    role: Annotated[Role, Form()],
    is_active: Annotated[bool, Form()] = False,
    password: Annotated[str, Form()] = "",
) -> Response:
    edited = service.get_user(session, user_id)
    try:
        service.update_user(session, edited, name=name, role=role, is_active=is_active)
        audit.record(session, entity="user", entity_id=user_id, action="update", actor_id=_admin.id)
        if password:
            service.set_password(session, edited, password)
    except RetentioError as error:
        session.rollback()
        context = {"edited": edited, "roles": list(Role), "form": {}, "error": error.message}
        return render(request, "auth/user_form.html", context, status_code=error.status)
    flash(request, _("User {email} saved.").format(email=edited.email))
    return RedirectResponse("/settings/users", status_code=303)
