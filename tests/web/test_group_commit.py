"""Group commit: requests queued behind the SQLite write gate share one transaction, and each
still gets its own outcome (`retentio.web.group_commit`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import anyio
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from retentio.contacts.models import Tag
from retentio.db import get_engine, get_sessionmaker
from retentio.errors import InvalidInput
from retentio.settings import Settings
from retentio.web.group_commit import MAX_GROUP, CommitGroups
from tests.conftest import run_in_own_loop


@pytest.fixture
def commits(settings: Settings) -> Iterator[list[int]]:
    """Commits of the database's transactions while the test runs (savepoints are not)."""
    seen: list[int] = []
    engine = get_engine(settings.database_url)

    def on_commit(_connection: object) -> None:
        seen.append(1)

    event.listen(engine, "commit", on_commit)
    yield seen
    event.remove(engine, "commit", on_commit)


def tagging(name: str, *, fail: bool = False) -> Callable[[Session], str]:
    """Work that adds a tag (and then fails, if asked): something visible once committed."""

    def work(session: Session) -> str:
        session.add(Tag(name=name))
        session.flush()
        if fail:
            raise InvalidInput(f"{name}: refused.")
        return name

    return work


def run_queued(
    groups: CommitGroups,
    gate: anyio.Lock,
    sessions: sessionmaker[Session],
    works: list[Callable[[Session], str]],
) -> list[str | BaseException]:
    """Every work submitted while `gate` is held, then the gate let go: outcomes in order."""

    async def scenario() -> list[str | BaseException]:
        async with gate:
            tasks = [asyncio.ensure_future(groups.run(sessions, work)) for work in works]
            while groups.waiting < len(works):
                await asyncio.sleep(0.001)
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    return run_in_own_loop(scenario)


def tag_names(db: Session) -> list[str]:
    db.commit()
    return sorted(db.scalars(select(Tag.name)))


def test_requests_queued_behind_a_writer_commit_together_and_keep_their_own_outcomes(
    settings: Settings, db: Session, commits: list[int]
) -> None:
    # given: four requests queued while another writer holds the gate, the third of which fails
    gate = anyio.Lock()
    groups = CommitGroups(gate)
    sessions = get_sessionmaker(settings.database_url)
    works = [tagging("a"), tagging("b"), tagging("c", fail=True), tagging("d")]
    # when
    outcomes = run_queued(groups, gate, sessions, works)
    # then: one commit for all four; the failed one is undone alone and gets its own error
    assert len(commits) == 1
    assert outcomes[:2] + outcomes[3:] == ["a", "b", "d"]
    assert isinstance(outcomes[2], InvalidInput)
    assert str(outcomes[2]) == "c: refused."
    assert tag_names(db) == ["a", "b", "d"]
    assert groups.waiting == 0


def test_a_group_holds_at_most_max_group_requests(
    settings: Settings, db: Session, commits: list[int]
) -> None:
    # given: one request more than a group takes
    gate = anyio.Lock()
    groups = CommitGroups(gate)
    names = [f"t{i:02d}" for i in range(MAX_GROUP + 1)]
    # when
    outcomes = run_queued(
        groups, gate, get_sessionmaker(settings.database_url), [tagging(n) for n in names]
    )
    # then: two transactions, every request done
    assert outcomes == names
    assert len(commits) == 2
    assert tag_names(db) == names


def test_a_failed_commit_fails_every_request_of_the_group(settings: Settings, db: Session) -> None:
    # given: sessions whose commit fails
    sessions = get_sessionmaker(settings.database_url)

    def refuse(_session: Session) -> None:
        raise OSError("disk full")

    event.listen(sessions, "before_commit", refuse)
    gate = anyio.Lock()
    # when
    try:
        outcomes = run_queued(CommitGroups(gate), gate, sessions, [tagging("a"), tagging("b")])
    finally:
        event.remove(sessions, "before_commit", refuse)
    # then: both requests get the commit's error and nothing is stored
    assert [type(o) for o in outcomes] == [OSError, OSError]
    assert tag_names(db) == []


def test_a_request_cancelled_before_its_turn_never_runs(settings: Settings, db: Session) -> None:
    # given: a request queued behind a writer, whose client goes away
    gate = anyio.Lock()
    groups = CommitGroups(gate)
    sessions = get_sessionmaker(settings.database_url)

    async def scenario() -> str:
        async with gate:
            abandoned = asyncio.ensure_future(groups.run(sessions, tagging("gone")))
            while groups.waiting < 1:
                await asyncio.sleep(0.001)
            abandoned.cancel()
            with pytest.raises(asyncio.CancelledError):
                await abandoned
        # when: the next request is written
        return await groups.run(sessions, tagging("next"))

    assert run_in_own_loop(scenario) == "next"
    # then: the cancelled one was not
    assert groups.waiting == 0
    assert tag_names(db) == ["next"]
