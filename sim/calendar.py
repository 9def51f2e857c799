"""A SimPy environment that keeps its event queue short.

SimPy keeps every scheduled event in one binary heap.  A year of all England has
about 40,000 patients part-way through a journey at any time, each waiting on one
event days or weeks ahead, so the heap holds some 40,000 entries and taking the next
event from it was 15% of the run (profiled): every comparison on the way down the
heap reaches for a tuple somewhere else in memory.

:class:`Environment` puts an event due beyond the current time slot (a fraction of a
day) into a bucket for its slot instead, and moves a slot's bucket into the heap when
the clock reaches the slot.  The heap then holds only the events of the current slot.

The order of events is exactly SimPy's: by time, then priority, then the order in
which they were scheduled.  Events in a bucket are moved into the heap in the order
they were scheduled, and every event due in a slot that was scheduled before the slot
began is in its bucket, so they all come before the events scheduled during the slot.
"""

from __future__ import annotations

import math
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL

SLOT_DAYS = 0.25
"""Width of a time slot.  The heap holds about a slot's worth of events; moving a
bucket costs the same however wide the slot, so narrower is cheaper down to the
point where most slots are empty."""

_BEFORE_URGENT = -1  # a slot's bucket is moved before anything else at that time


class Environment(simpy.Environment):
    def __init__(self, initial_time: float = 0, slot_days: float | None = None):
        super().__init__(initial_time)
        self.slot_days = slot_days = SLOT_DAYS if slot_days is None else slot_days
        self._slot = math.floor(initial_time / slot_days)  # the slot the heap holds
        self._horizon = (self._slot + 1) * slot_days  # events from here on wait in buckets
        self._buckets: dict[int, list[tuple[float, Any, simpy.Event]]] = {}
        self._mover_due = False

    def schedule(self, event: simpy.Event, priority: Any = NORMAL, delay: float = 0) -> None:
        at = self._now + delay
        if at < self._horizon or at == math.inf:
            heappush(self._queue, (at, priority, next(self._eid), event))
            return
        slot = self._slot_of(at)
        bucket = self._buckets.get(slot)
        if bucket is None:
            bucket = self._buckets[slot] = []
        bucket.append((at, priority, event))
        if not self._mover_due:
            self._schedule_mover()

    def _slot_of(self, at: float) -> int:
        """The slot k with k * slot_days <= at < (k + 1) * slot_days, computed as the
        boundaries are (division can round across a boundary)."""
        w = self.slot_days
        slot = max(math.floor(at / w), self._slot + 1)
        while slot * w > at:
            slot -= 1
        while (slot + 1) * w <= at:
            slot += 1
        return slot

    def _schedule_mover(self) -> None:
        """Move the next slot's bucket into the heap when the clock reaches the slot."""
        mover = simpy.Event(self)
        mover._ok = True
        mover._value = None
        mover.callbacks.append(self._move)  # type: ignore[union-attr]
        heappush(self._queue, (self._horizon, _BEFORE_URGENT, next(self._eid), mover))
        self._mover_due = True

    def _move(self, _event: simpy.Event) -> None:
        self._slot += 1
        self._horizon = (self._slot + 1) * self.slot_days
        queue, eid = self._queue, self._eid
        for at, priority, event in self._buckets.pop(self._slot, ()):
            heappush(queue, (at, priority, next(eid), event))
        self._mover_due = False
        if self._buckets:
            self._schedule_mover()
