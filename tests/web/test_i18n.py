"""The Russian catalogue is complete and the language follows the user's choice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from retentio.web import i18n
from tests.conftest import UserFactory, log_in

ROOT = Path(__file__).resolve().parents[2]


def _extract(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-k",
            "_",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        return {str(m.id) for m in read_po(handle) if m.id}


def test_every_extracted_string_has_a_russian_translation(tmp_path: Path) -> None:
    # given: every string marked in code and templates
    extracted = _extract(tmp_path)
    po = i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="ru")
    # then
    untranslated = sorted(
        m
        for m in extracted
        if not (catalog.get(m) and catalog.get(m).string)  # type: ignore[union-attr]
    )
    fuzzy = sorted(str(m.id) for m in catalog if m.id and m.fuzzy)
    assert len(extracted) > 50
    assert untranslated == []
    assert fuzzy == []


def test_accept_language_picks_russian_for_visitors(client: TestClient) -> None:
    response = client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"})
    assert '<html lang="ru">' in response.text
    assert "Вход в Retentio" in response.text


def test_switch_is_stored_on_the_user(client: TestClient, make_user: UserFactory) -> None:
    # given
    user = make_user(Role.SALES)
    token = log_in(client, user.email)
    # when
    client.post("/locale", data={"locale": "ru", "next": "/", "csrf_token": token})
    client.cookies.clear()
    log_in(client, user.email)
    # then
    assert "Дашборд" in client.get("/").text
    assert client.get("/api/v1/me").json()["locale"] == "ru"


def test_unknown_locale_is_ignored(client: TestClient, make_user: UserFactory) -> None:
    token = log_in(client, make_user().email)
    client.post("/locale", data={"locale": "xx", "next": "/", "csrf_token": token})
    assert '<html lang="en">' in client.get("/").text


def test_negotiate_falls_back_to_default() -> None:
    assert i18n.negotiate("de-DE,fr;q=0.5", "en") == "en"
    assert i18n.negotiate("fr, ru;q=0.3", "en") == "ru"
    assert i18n.negotiate(None, "ru") == "ru"
