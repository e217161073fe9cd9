"""The intake priority of a start: a tenant's burst queues behind itself, another tenant's start does not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.policy import INTAKE_BURST, START_LEVELS, START_PRIORITY, start_priority


def test_a_tenant_with_nothing_waiting_starts_at_the_first_priority() -> None:
    assert start_priority(0) == START_PRIORITY == 0


def test_a_burst_moves_one_level_back_every_intake_burst_starts_and_stops_at_the_last() -> None:
    burst = [start_priority(n) for n in range(10 * INTAKE_BURST)]

    assert burst[:INTAKE_BURST] == [0] * INTAKE_BURST
    assert burst[INTAKE_BURST] == 3
    assert burst[-1] == START_LEVELS[-1] == 9  # the last of kombu's default steps, served after every step
    assert [burst.count(p) for p in START_LEVELS[:-1]] == [INTAKE_BURST] * (len(START_LEVELS) - 1)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_a_tenants_later_start_never_goes_before_its_earlier_one(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert START_PRIORITY <= start_priority(low) <= start_priority(high) <= START_LEVELS[-1]


def test_a_negative_count_is_refused_with_its_value() -> None:
    with pytest.raises(ValueError, match="waiting must be >= 0, got -1"):
        start_priority(-1)
