"""Pools of identical units (staff of one role in one organisation, beds, slots).

A :class:`Pool` does what ``simpy.PriorityResource`` does for this model, with fewer
events.  Units are granted first come, first served within priority.  Two things
make it cheaper:

* a request that finds a unit free is granted there and then, without an event, and
  the caller carries straight on;
* a holder that already knows when it will be done gives the unit back at that time
  in advance (``hold`` or ``release(at=...)``), so nobody needs an event to release
  it.  Only when somebody is waiting does the pool schedule one wake-up, at the time
  the next unit comes back, and hand it to the first in the queue.

So a patient who finds staff free costs no events at all in the pool, and a patient
who waits costs one (the wake-up, which resumes them), where a SimPy resource costs
three or four (request, release, and the timeout the holder sleeps through).  The
order of grants is the same as SimPy's: by priority, then by time of request.  (A
waiter woken this way goes on at once, where SimPy would first finish the other
events due at that very instant; that differs only for events at the same time.)
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import simpy
from simpy.events import NORMAL

from sim.calendar import SelfEvent


class Pool:
    """``capacity`` units (``math.inf``: unlimited, nobody ever waits; 0: nobody is
    ever served)."""

    def __init__(self, env: simpy.Environment, capacity: float):
        self.env = env
        self.capacity = capacity
        self.unlimited = math.isinf(capacity)
        self.free = capacity
        self._returns: list[float] = []  # heap: times at which units held now come back
        self._queue: list[tuple[int, int, float | None, Any, simpy.Event | None]] = []
        self._requests = 0
        self._wakes: set[float] = set()  # times of wake-ups already scheduled
        self.queued_since = math.nan  # when the queue there is now began (it was empty before)

    # -- what callers use ---------------------------------------------------------------

    def request(
        self, hold: float | None, note: Any = None, priority: int = 1, notify: bool = True
    ) -> simpy.Event | None:
        """Ask for a unit now.

        ``hold``: how long the unit is held, when known now (it then comes back by
        itself); None when the holder will call :meth:`release`.  ``note`` is passed
        to :meth:`started` when the unit is granted.  Returns None when the unit is
        granted at once; otherwise an event that succeeds, with the time of the grant
        as its value, when it is granted (or None when ``notify`` is False: the
        request is served in its turn and nobody is told)."""
        now = self.env.now
        if self.unlimited:
            self.started(now, hold, note)
            return None
        returns = self._returns
        while returns and returns[0] <= now:  # units back by now are free
            heapq.heappop(returns)
            self.free += 1
        if self.free > 0 and not self._queue:  # the common case, written out
            self.free -= 1
            if hold is not None:
                heapq.heappush(returns, now + hold)
            self.started(now, hold, note)
            return None
        event = self.env.event() if notify else None
        self._requests += 1
        if not self._queue:
            self.queued_since = now
        heapq.heappush(self._queue, (priority, self._requests, hold, note, event))
        self._grant()
        return event

    def release(self, at: float | None = None) -> None:
        """Give a unit back now, or at the later time ``at``."""
        if self.unlimited:
            return
        now = self.env.now
        if at is None or at <= now:
            self.free += 1
            self._grant()
        else:
            heapq.heappush(self._returns, at)
            if self._queue:
                self._schedule_wake()

    def started(self, start: float, hold: float | None, note: Any) -> None:
        """Called when a unit is granted; subclasses keep their accounts here."""

    @property
    def waiting(self) -> int:
        return len(self._queue)

    # -- inside ----------------------------------------------------------------------------

    def _take(self, now: float, hold: float | None, note: Any) -> None:
        self.free -= 1
        if hold is not None:
            heapq.heappush(self._returns, now + hold)
        self.started(now, hold, note)

    def _collect(self, until: float) -> None:
        """Count as free the units that have come back by ``until``."""
        returns = self._returns
        while returns and returns[0] <= until:
            heapq.heappop(returns)
            self.free += 1

    def _grant(self, granted: list[simpy.Event] | None = None) -> None:
        """Serve the queue in order while units are free; then, if anybody is still
        waiting, make sure a wake-up is due when the next unit comes back.  A waiter
        is told through their event, or, when ``granted`` is given, their event is
        added to it for the caller to fire."""
        queue = self._queue
        now = self.env.now
        while queue and self.free > 0:
            _, _, hold, note, event = heapq.heappop(queue)
            self._take(now, hold, note)
            if event is None:
                continue
            if granted is None:
                event.succeed(now)
            else:
                granted.append(event)
        if queue:
            self._schedule_wake()

    def _schedule_wake(self) -> None:
        if not self._returns:
            return  # units come back only through release(); that serves the queue
        at = self._returns[0]
        if self._wakes and min(self._wakes) <= at:
            return
        self._wakes.add(at)
        self.env.schedule(_Wake(self, at), NORMAL, max(at - self.env.now, 0.0))  # type: ignore[arg-type]

    def _woken(self, at: float) -> None:
        # the clock reaches ``at`` up to rounding (it adds the delay to its own time)
        self._wakes.discard(at)
        self._collect(max(at, self.env.now))
        granted: list[simpy.Event] = []
        self._grant(granted)
        # The wake-up is itself an event being processed, so the waiters it serves go
        # on from here, as they would from their own event, without scheduling one:
        # their events are fired the way the environment fires an event it takes from
        # its queue (value set, then each callback called once).  This comes after the
        # queue is served, so a waiter asking this pool again finds it in order.
        now = self.env.now
        for event in granted:
            event._ok = True
            event._value = now
            callbacks = event.callbacks
            event.callbacks = None  # type: ignore[assignment]
            for callback in callbacks:
                callback(event)


class _Wake(SelfEvent):
    """A pool's wake-up at time ``at``."""

    __slots__ = ("at", "pool")

    def __init__(self, pool: Pool, at: float):
        self.pool = pool
        self.at = at
        self.callbacks = [self]

    def __call__(self, _event: SelfEvent) -> None:
        self.pool._woken(self.at)
