"""The cyclic collector paused around bulk steps: nested pauses, and a collector left off."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from retentio.kit.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()


def test_the_collector_is_paused_inside_and_running_after() -> None:
    # given
    gc.enable()
    # when / then
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_pauses_end_with_the_last_one() -> None:
    # given: two pauses that overlap, as two threads' imports would
    gc.enable()
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    # when the first ends
    first.__exit__(None, None, None)
    # then the collector stays paused for the second
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    # given
    gc.disable()
    # when
    with collector_paused():
        pass
    # then
    assert not gc.isenabled()


def test_an_error_inside_resumes_the_collector() -> None:
    # given
    gc.enable()
    # when
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    # then
    assert gc.isenabled()
