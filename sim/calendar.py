"""A SimPy environment that keeps its event queue short.

SimPy keeps every scheduled event in one binary heap.  A year of all England has
about 40,000 patients part-way through a journey at any time, each waiting on one
event days or weeks ahead, so the heap holds some 40,000 entries and taking the next
event from it was 15% of the run (profiled): every comparison on the way down the
heap reaches for a tuple somewhere else in memory.

:class:`Environment` puts an event due beyond the current time slot into a bucket for
its slot instead, and moves a slot's bucket into the queue when the clock reaches the
slot.  The queue then holds only the events of the current slot: about a hundred,
whatever the model's size, because the model sizes its slots to its event rate (a
128th of a day for all England, 16 days for a small queue).  The queue is a list kept
sorted rather than a heap: a bucket is sorted when it comes in (Python's sort
compares such entries quickly, by their times), the next event is taken from the
front without a comparison, and the few events scheduled inside the current slot
are inserted in order.  (Counted in machine instructions on a sixteenth of England,
this costs 3% less a run than a heap of the same events.)

The order of events is exactly SimPy's: by time, then priority, then the order in
which they were scheduled.  Each event gets its place in that order (SimPy's event
id) when it is scheduled, bucket or not; the buckets only delay when the queue sees
it.  An event leaves its bucket when its slot begins, before anything in the slot has
happened, so the queue always holds every event due in the current slot.
"""

from __future__ import annotations

import itertools
import math
import operator
from bisect import insort
from typing import Any

import simpy
from simpy.core import BoundClass, EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT

SLOT_DAYS = 0.25
"""Width of a time slot when none is given, a power of two so that slots' bounds are
exact.  The queue holds about a slot's worth of events; narrower is cheaper down to
the point where most slots are empty (see :func:`slot_for`)."""

EVENTS_PER_SLOT = 100  # few enough for a short queue, enough that moving a bucket is rare
NARROWEST, WIDEST = 2.0**-10, 64.0


def slot_for(events_per_day: float) -> float:
    """A slot width (a power of two, from 1/1024 to 64 days) holding about
    EVENTS_PER_SLOT events at ``events_per_day``: a quarter of a day would hold only
    two events of a small queue, but 3,000 of all England's.  (Counted in machine
    instructions on a sixteenth of England, a hundred events a slot costs less than
    25, 400 or 1,000.)"""
    if not events_per_day > EVENTS_PER_SLOT / WIDEST:  # a trickle (or none): the widest slot
        return WIDEST
    if events_per_day >= EVENTS_PER_SLOT / NARROWEST:
        return NARROWEST
    return float(2.0 ** round(math.log2(EVENTS_PER_SLOT / events_per_day)))


class SelfEvent:
    """Something that goes into the event queue as its own event and is its own
    callback: all the environment reads of an event is ``callbacks``, ``_ok`` and
    ``_value``, so a wake-up needs no ``Timeout`` (a Python ``__init__``) nor a
    callback object beside it.  To be woken after ``delay``, a subclass sets
    ``self.callbacks = [self]`` and calls ``env.schedule(self, NORMAL, delay)``;
    it is then called with itself."""

    __slots__ = ("callbacks",)
    _ok = True  # it never fails
    _value = None  # it carries no value

    def __call__(self, event: SelfEvent) -> None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


_BEFORE_URGENT = -1  # a slot's bucket is moved before anything else at that time


class Environment(simpy.Environment):
    """``simpy.Environment`` with events beyond the current slot kept in buckets."""

    # SimPy's ``now`` is a property written in Python, so each read of the clock is a
    # Python call: a patient reads it some 27 times.  The same property with a getter
    # written in C reads it without one (1.7% fewer instructions a run).
    now = property(operator.attrgetter("_now"), doc="The current simulation time.")

    def __init__(self, initial_time: float = 0, slot_days: float | None = None):
        super().__init__(initial_time)
        # SimPy binds env.timeout, env.event ... to the instance only for its own class
        for name, obj in vars(simpy.Environment).items():
            if type(obj) is BoundClass:
                setattr(self, name, getattr(self, name))
        slot_days = SLOT_DAYS if slot_days is None else slot_days
        if slot_days <= 0 or math.frexp(slot_days)[0] != 0.5:
            raise ValueError(f"slot_days must be a power of two (1/4, 1/2, 1, 2 ...), not {slot_days}")
        self.slot_days = slot_days  # a power of two, so time / slot_days is exact
        self._slot = math.floor(initial_time / slot_days)  # the slot the queue holds
        self._horizon = (self._slot + 1) * slot_days  # events from here on wait in buckets
        self._buckets: dict[int, list[tuple[float, Any, int, simpy.Event]]] = {}
        self._mover_due = False

    def schedule(self, event: simpy.Event, priority: Any = NORMAL, delay: float = 0) -> None:
        at = self._now + delay
        entry = (at, priority, next(self._eid), event)  # exactly SimPy's entry
        if at < self._horizon or at == math.inf:
            insort(self._queue, entry)
            return
        slot = math.floor(at / self.slot_days)
        bucket = self._buckets.get(slot)
        if bucket is None:
            self._buckets[slot] = [entry]
            if not self._mover_due:
                self._schedule_mover()
        else:
            bucket.append(entry)

    def run(self, until: Any = None) -> Any:
        """As ``simpy.Environment.run``, with the loop of ``step`` written out (one
        Python call less an event: see :meth:`_process`)."""
        if until is not None:
            if not isinstance(until, simpy.Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self._now:
                    raise ValueError(f"until ({at}) must be greater than the current simulation time")
                until = simpy.Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self._now)
            elif until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        try:
            self._process(until_empty=True)
        except StopSimulation as exc:
            return exc.args[0]
        if until is not None:
            assert not until.triggered
            raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}')
        return None

    def step(self) -> None:
        """Process the next event (``simpy.Environment.step`` for a sorted queue)."""
        if not self._queue:
            raise EmptySchedule()
        self._process(until_empty=False)

    def _process(self, until_empty: bool) -> None:
        """Process the events in the queue in order: all of them (``run`` loops here
        rather than calling ``step`` an event), or only the next."""
        queue = self._queue
        while queue:
            self._now, _, _, event = queue.pop(0)
            callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
            try:
                for callback in callbacks:
                    callback(event)
            except StopSimulation:  # the run stops: the event's other callbacks run when it resumes
                event.callbacks = callbacks[callbacks.index(callback) + 1 :]
                self.schedule(event, URGENT - 1)
                raise
            if not event._ok and not hasattr(event, "_defused"):  # a failure nobody defused
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
            if not until_empty:
                return

    @property
    def scheduled(self) -> int:
        """How many events have been scheduled so far (SimPy numbers them in turn)."""
        count = next(self._eid)
        self._eid = itertools.count(count)  # put the number back
        return count

    def _schedule_mover(self) -> None:
        """Move the next slot's bucket into the queue when the clock reaches the slot."""
        mover = simpy.Event(self)
        mover._ok = True
        mover._value = None
        mover.callbacks.append(self._move)
        entry: Any = (self._horizon, _BEFORE_URGENT, next(self._eid), mover)
        insort(self._queue, entry)
        self._mover_due = True

    def _move(self, _event: simpy.Event) -> None:
        self._slot += 1
        self._horizon = (self._slot + 1) * self.slot_days
        bucket = self._buckets.pop(self._slot, None)
        if bucket:
            self._queue.extend(bucket)
            self._queue.sort()
        self._mover_due = False
        if self._buckets:
            self._schedule_mover()
