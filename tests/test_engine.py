"""The engine's parts against SimPy's own: the pool against a PriorityResource, the
bucketed environment against a plain one, and journeys run without a Process."""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.calendar import Environment
from sim.pool import Pool

from .conftest import build, example_data


def _workload(seed: int, n: int) -> list[tuple[float, int, float]]:
    """Arrival time, priority and holding time of ``n`` requests (continuous times)."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(0.4, n))
    return [
        (float(a), int(p), float(h))
        for a, p, h in zip(arrivals, rng.integers(0, 2, n), rng.exponential(1.0, n), strict=True)
    ]


def _simpy_grants(work: list[tuple[float, int, float]], capacity: int) -> list[float]:
    env = simpy.Environment()
    res = simpy.PriorityResource(env, capacity=capacity)
    granted = [math.nan] * len(work)

    def customer(i: int, at: float, priority: int, hold: float) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(at)
        with res.request(priority=priority) as req:
            yield req
            granted[i] = env.now
            yield env.timeout(hold)

    for i, w in enumerate(work):
        env.process(customer(i, *w))
    env.run()
    return granted


def _pool_grants(work: list[tuple[float, int, float]], capacity: int, env: simpy.Environment) -> list[float]:
    pool = Pool(env, capacity)
    granted = [math.nan] * len(work)

    def customer(i: int, at: float, priority: int, hold: float) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(at)
        event = pool.request(hold, priority=priority)
        granted[i] = env.now if event is None else (yield event)

    for i, w in enumerate(work):
        env.process(customer(i, *w))
    env.run()
    return granted


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 200), capacity=st.integers(1, 4))
def test_pool_grants_as_a_simpy_priority_resource_does(seed: int, n: int, capacity: int) -> None:
    """Same requests, same grant times: first come first served within priority, the
    holder's time given in advance instead of a release event."""
    work = _workload(seed, n)
    assert _pool_grants(work, capacity, simpy.Environment()) == pytest.approx(_simpy_grants(work, capacity), abs=1e-9)


def test_pool_priority_and_order() -> None:
    env = simpy.Environment()
    pool = Pool(env, 1)
    assert pool.request(5.0) is None  # free: granted at once, back at day 5
    late = pool.request(1.0, priority=1)
    early = pool.request(1.0, priority=1)
    urgent = pool.request(1.0, priority=0)
    assert pool.waiting == 3
    env.run()
    assert (urgent.value, late.value, early.value) == (5.0, 6.0, 7.0)


def test_pool_release_at_a_later_time_and_zero_and_unlimited() -> None:
    env = simpy.Environment()
    beds = Pool(env, 1)
    assert beds.request(None) is None
    beds.release(at=3.0)  # the holder knows now when it will give the bed back
    waiting = beds.request(None)
    env.run()
    assert waiting is not None and waiting.value == 3.0
    none = Pool(env, 0)
    never = none.request(1.0)
    env.run(until=100)
    assert never is not None and not never.triggered
    plenty = Pool(env, math.inf)
    assert all(plenty.request(1.0) is None for _ in range(1000))


def _event_order(env: simpy.Environment, seed: int, drive: str = "run") -> list[tuple[float, int]]:
    """Processes that wait random delays (many ties: whole and half days, zero, slot
    boundaries) and start others; the order in which everything happened, driven to
    day 30 by one ``run``, by a run stopped and resumed, or one ``step`` at a time."""
    rng = np.random.default_rng(seed)
    delays = rng.choice([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 7.0, 0.1, 0.3], size=(40, 6))
    log: list[tuple[float, int]] = []

    def walker(k: int) -> Generator[simpy.Event, Any, None]:
        for d in delays[k]:
            yield env.timeout(float(d))
            log.append((env.now, k))
            if k < 20 and d == 0.5:
                env.process(walker(k + 20))

    def urgent() -> Generator[simpy.Event, Any, None]:
        for _ in range(10):
            yield env.timeout(1.0)
            ev = env.event()
            ev.succeed()
            yield ev
            log.append((env.now, -1))

    for k in range(20):
        env.process(walker(k))
    env.process(urgent())
    if drive == "run":
        env.run(until=30)
    elif drive == "resume":
        env.run(until=7.25)
        env.run(until=env.timeout(8.0))  # until an event, at a slot boundary
        env.run(until=30)
    else:
        while env.peek() < 30:
            env.step()
    return log


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), slot=st.sampled_from([0.125, 0.25, 0.5, 1.0, 4.0]))
def test_bucketed_environment_keeps_simpys_order_exactly(seed: int, slot: float) -> None:
    expected = _event_order(simpy.Environment(), seed)
    for drive in ("run", "resume", "step"):
        assert _event_order(Environment(slot_days=slot), seed, drive) == expected, drive


def test_bucketed_environment_stops_on_a_failure_and_at_the_end_as_simpy_does() -> None:
    for env in (simpy.Environment(), Environment(slot_days=0.25)):

        def failing(env: simpy.Environment = env) -> Generator[simpy.Event, Any, None]:
            yield env.timeout(3.5)
            raise KeyError("late")

        env.process(failing())
        with pytest.raises(KeyError, match="late"):
            env.run()
        assert env.now == 3.5
        env.timeout(2.0)
        env.run()  # runs out of events
        assert env.now == 5.5
        with pytest.raises(simpy.core.EmptySchedule):
            env.step()
        with pytest.raises(RuntimeError, match="until"):
            env.run(until=env.event())
        with pytest.raises(AttributeError):  # the clock is read-only, as in SimPy
            env.now = 1.0  # type: ignore[misc]
        assert env.now == 5.5


def test_model_tables_do_not_depend_on_the_slot_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """The buckets are bookkeeping: a run gives the same tables whatever their width."""
    from sim import model

    cfg = build(example_data())
    a = sim.simulate(cfg, seed=4)
    for width in (1 / 16, 4.0):
        monkeypatch.setattr(model, "slot_for", lambda _rate, width=width: width)
        b = sim.simulate(cfg, seed=4)
        for name, table in a.tables.items():
            assert table.equals(b.tables[name]), (name, width)


def test_slot_width_follows_the_event_rate() -> None:
    from sim.calendar import slot_for

    assert slot_for(400) == 0.25  # about a hundred events a slot
    assert slot_for(11_000) == 1 / 128  # all of England
    assert slot_for(7) == 16.0  # an M/M/3 queue
    assert slot_for(1) == 64.0 and slot_for(0) == 64.0  # a trickle: the widest slot
    assert slot_for(1e9) == 1 / 1024
    assert slot_for(5e-309) == 64.0 and slot_for(math.inf) == 1 / 1024  # no overflow at the extremes


def test_slot_width_must_be_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        Environment(slot_days=0.3)


def test_an_error_in_a_journey_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Journeys run without a SimPy Process; an exception still ends the run loudly."""
    from sim import model

    def broken(self: Any, *args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(model.Model, "decide", broken)
    with pytest.raises(RuntimeError, match="boom"):
        sim.simulate(build(example_data()), seed=1)


def test_model_tables_do_not_depend_on_the_log_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The logs' chunks are bookkeeping: chunks of a few rows give the same tables."""
    from sim import model

    cfg = build(example_data())
    a = sim.simulate(cfg, seed=4)
    assert len(a.handovers) > 3 * 7  # the run fills several chunks of seven
    monkeypatch.setattr(model, "LOG_CHUNK", 7)
    b = sim.simulate(cfg, seed=4)
    for name, table in a.tables.items():
        assert table.equals(b.tables[name]), name


@settings(max_examples=40, deadline=None)
@given(
    chunk=st.integers(1, 5),
    rows=st.lists(
        st.tuples(st.integers(0, 2**40), st.floats(allow_nan=False), st.floats(allow_nan=False)), max_size=23
    ),
)
def test_a_log_gives_back_its_rows_in_order_across_chunks(chunk: int, rows: list[tuple[int, float, float]]) -> None:
    from sim import model

    saved = model.LOG_CHUNK
    model.LOG_CHUNK = chunk
    try:
        log = model.GapLog()
        for row in rows:
            log.add(*row)
    finally:
        model.LOG_CHUNK = saved
    patient, start, days = (log.column(name) for name in ("patient", "start", "days"))
    assert patient.dtype == np.int64 and start.dtype == days.dtype == np.float64
    assert list(zip(patient.tolist(), start.tolist(), days.tolist(), strict=True)) == rows


def test_text_columns_are_the_same_looked_up_in_arrow_or_in_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names are looked up in Arrow when pandas keeps text there, else in numpy (pandas
    before 3): the tables are the same either way."""
    from sim import metrics

    cfg = build(example_data())
    a = sim.simulate(cfg, seed=4)
    monkeypatch.setattr(metrics, "TEXT", np.dtype(object))
    b = sim.simulate(cfg, seed=4)
    for name, table in a.tables.items():
        pd.testing.assert_frame_equal(table, b.tables[name], check_exact=True, obj=name)
    assert (a.patients["status"] != "").all() and set(a.handovers["kind"]) == {"inter", "intra"}
