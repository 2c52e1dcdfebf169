"""Lifecycle history: each stage move appended by a recompute or a refresh, and nothing else."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.profiles import service
from tests.profiles.factories import NOW, changes, contact, event, order


def _small_shop(db: Session) -> tuple[int, int, int]:
    loyal = contact(db, "A")
    order(db, loyal, 40, "50.00")
    order(db, loyal, 10, "100.00")
    browsing = contact(db, "B")
    event(db, browsing, "page_view", 5)
    return loyal, browsing, contact(db, "C")


def test_the_first_recompute_records_each_contacts_first_stage(db: Session) -> None:
    # given
    loyal, browsing, stranger = _small_shop(db)
    # when
    result = service.recompute(db, now=NOW)
    # then
    assert result.lifecycle_changes == 3
    assert changes(db) == [
        (loyal, None, "loyalty", NOW),
        (browsing, None, "interest", NOW),
        (stranger, None, "attraction", NOW),
    ]


def test_a_recompute_that_moves_nobody_appends_nothing(db: Session) -> None:
    # given: a recompute, then a day passes without new data (no stage moves in a day)
    _small_shop(db)
    service.recompute(db, now=NOW)
    # when
    again = service.recompute(db, now=NOW + timedelta(days=1))
    same = service.recompute(db, now=NOW + timedelta(days=1))
    # then
    assert (again.lifecycle_changes, same.lifecycle_changes) == (0, 0)
    assert len(changes(db)) == 3


def test_a_move_is_appended_with_the_previous_stage_and_the_recompute_time(db: Session) -> None:
    # given
    _loyal, browsing, _stranger = _small_shop(db)
    service.recompute(db, now=NOW)
    later = NOW + timedelta(days=2)
    event(db, browsing, "cart_add", 1)  # a cart within the last 30 days
    # when
    result = service.recompute(db, now=later)
    # then
    assert result.lifecycle_changes == 1
    assert changes(db)[3:] == [(browsing, "interest", "evaluation", later)]


def test_a_refresh_appends_the_move_it_causes_once(db: Session) -> None:
    # given
    _loyal, _browsing, stranger = _small_shop(db)
    service.recompute(db, now=NOW)
    order(db, stranger, 0.5, "300.00")
    later = NOW + timedelta(hours=1)
    # when
    first = service.refresh(db, [stranger], now=later)
    second = service.refresh(db, [stranger], now=later)
    # then
    assert (first.lifecycle_changes, second.lifecycle_changes) == (1, 0)
    assert changes(db)[3:] == [(stranger, "attraction", "purchase", later)]


def test_a_contact_that_disappears_gets_no_entry(db: Session) -> None:
    # given
    _loyal, browsing, _stranger = _small_shop(db)
    service.recompute(db, now=NOW)
    gone = db.get(Contact, browsing)
    assert gone is not None
    gone.deleted_at = NOW
    db.flush()
    # when
    result = service.recompute(db, now=NOW)
    # then
    assert result.lifecycle_changes == 0
    assert len(changes(db)) == 3
