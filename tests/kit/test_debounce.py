"""Debounce: the first trigger of each window schedules; the rest of the window does not."""

from __future__ import annotations

import time

from retentio.kit.debounce import Debounce


def test_only_the_first_trigger_of_a_window_schedules_and_a_new_window_schedules_again() -> None:
    # given
    debounce = Debounce(0.05)
    # when: a burst, then a trigger once the window has passed
    burst = [debounce.first() for _ in range(5)]
    time.sleep(0.06)
    after = debounce.first()
    # then
    assert burst == [True, False, False, False, False]
    assert after is True
