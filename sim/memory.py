"""The memory a run needs, against what this machine has.

A run keeps every patient's row and timestamps until its tables are written, so its
memory grows with the patients it models.  Peak resident memory of one run, Python 3.11
on Linux, the interpreter and its libraries 118 MB of it: 158 MB for the example's
10,700 patients, 179 MB for a year of Lancashire and South Cumbria (17,800), 1,466 MB
for a year of all England (585,000; the benchmark's, its tables written) and 2.73 GB for
100 days of the example with 400 times its residents (1,150,000; ``handover run``).
That is about 2.3 to 2.4 KB a patient and 20 MB for the model beside them.  A
configuration whose run would need more than the machine has (a population given in
people where thousands were meant, a run of centuries) is refused before it starts,
rather than left for the system to kill part-way with no word of why.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sim.config import Config
from sim.errors import ConfigError, Problem

if TYPE_CHECKING:
    from sim.experiment import Cell

BYTES_PER_PATIENT = 2_300
BYTES_BESIDE = 140 * 2**20  # the interpreter, numpy, pandas and pyarrow, and the model
CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


class RunTooLarge(ValueError):
    """A run that needs more memory than this machine has."""


def run_memory(config: Config) -> float:
    """About the peak memory in bytes of a run of ``config``, its tables written."""
    return BYTES_BESIDE + BYTES_PER_PATIENT * config.expected_patients


def machine_memory() -> int | None:
    """The memory this process may use in bytes: the machine's, or its container's limit
    where that is less; None where neither can be read."""
    try:
        found = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows), or not this name
        found = None
    for limit in CGROUP_LIMITS:
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and (found is None or int(text) < found):
            found = int(text)
    return found


def size(n_bytes: float) -> str:
    """'1.5 GB', '140 MB', '23 TB': three significant figures at most."""
    unit, scale = next(((u, x) for u, x in (("TB", 2**40), ("GB", 2**30)) if n_bytes >= x), ("MB", 2**20))
    value = n_bytes / scale
    return f"{value:.3g} {unit}" if value < 1000 else f"{value:,.0f} {unit}"


def needs(config: Config) -> str:
    """'about 585,000 patients and 1.4 GB of memory': what a run of ``config`` holds at once."""
    patients = float(f"{config.expected_patients:.3g}")  # 585,000, not 585,163: it is a mean
    return f"about {patients:,.0f} patients and {size(run_memory(config))} of memory"


def too_large(config: Config, available: int | None = None) -> str | None:
    """Why a run of ``config`` cannot fit in this machine's memory (or ``available``
    bytes); None where it can, or where the machine's memory is not known."""
    available = machine_memory() if available is None else available
    if available is None or run_memory(config) <= available:
        return None
    residents = sum(z.population for z in config.zones)
    return (
        f"a run would hold {needs(config)} ({residents:,} residents at {config.demand.per_1000_per_year:g} "
        f"discharges a 1,000 a year for {config.run.length_days:g} days), and this machine has {size(available)}; "
        "check the zones' populations, demand.per_1000_per_year and run.length_days"
    )


def check_fits(config: Config) -> None:
    """Raise :class:`RunTooLarge` where a run of ``config`` cannot fit in this machine's memory."""
    why = too_large(config)
    if why:
        raise RunTooLarge(f"{config.source}: {why}")


def check_cells(path: str | Path, cells: list[Cell]) -> None:
    """Raise :class:`ConfigError` naming each scenario of the experiment file ``path``
    whose run (of its ``cells``, one a sweep point) cannot fit in this machine's memory."""
    problems: dict[str, Problem] = {}
    for cell in cells:
        why = too_large(cell.config)
        if why and cell.scenario not in problems:
            at = f" at sweep point {cell.point}" if cell.point else ""
            problems[cell.scenario] = Problem(str(path), None, ("scenarios", cell.scenario), f"{why}{at}")
    if problems:
        raise ConfigError(list(problems.values()))


def workers_in_memory(path: str | Path, cells: list[Cell], workers: int, asked: bool) -> tuple[int, str | None]:
    """How many local processes to run the runs of an experiment (its file ``path``, its
    ``cells``) on, of ``workers``, and a note where memory limits them: each holds a run,
    and a fifth of the machine's memory is left for the sweep and the system.  Fewer,
    where the number was not ``asked`` for (--workers), so that the system does not stop
    workers part-way for want of memory; as asked, with a warning, where it was.  Raises
    ConfigError where one run cannot fit at all (:func:`check_cells`)."""
    check_cells(path, cells)
    available = machine_memory()
    if available is None or not cells:
        return workers, None
    largest = max(cells, key=lambda cell: run_memory(cell.config))
    fit = max(1, min(workers, math.floor(0.8 * available / run_memory(largest.config))))
    if fit >= workers:
        return workers, None
    why = f"a run of {largest.scenario} holds {needs(largest.config)}, and this machine has {size(available)}"
    if asked:
        return workers, (
            f"--workers {workers}: {why}, so that many at once may run out of memory; "
            f"if the system stops them, run with --workers {fit}"
        )
    return fit, f"{fit} local process{'es' * (fit != 1)} at once, not {workers}: {why}"
