"""Handover: what redrawing a boundary does to complex hospital discharges.

>>> import sim
>>> cfg = sim.load_config("configs/example.yaml")       # doctest: +SKIP
>>> result = sim.simulate(cfg, seed=1)                   # doctest: +SKIP
>>> result.summary[["handovers_per_discharge", "delayed_days_per_discharge"]]  # doctest: +SKIP
"""

from __future__ import annotations

import gc
import operator
import time
from pathlib import Path

from sim.config import Config, config_from_dict, load_config
from sim.errors import ConfigError
from sim.memory import RunTooLarge, check_fits
from sim.metrics import RunResult, build_tables
from sim.model import RESULTS_VERSION, Model

__version__ = "0.1.0"
__all__ = [
    "RESULTS_VERSION",
    "Config",
    "ConfigError",
    "RunResult",
    "RunTooLarge",
    "__version__",
    "config_from_dict",
    "load_config",
    "simulate",
]


def simulate(config: Config | str | Path, seed: int = 0, replication: int = 0) -> RunResult:
    """Run the model once and return its tables; a pure function of its arguments.
    ``config`` is a loaded configuration or the path of its file; ``seed`` and
    ``replication`` are whole numbers, 0 or more.  A configuration whose run would need
    more memory than this machine has raises :class:`RunTooLarge` before it starts.

    Python's cyclic garbage collector is paused while the model runs: a run makes
    hundreds of thousands of long-lived objects and almost no reference cycles, so the
    collector's repeated scans of a growing heap cost time (17% of half of England)
    and free nothing (the same peak memory).  It is restored afterwards."""
    if isinstance(config, str | Path):
        config = load_config(config)
    seed, replication = _whole("seed", seed), _whole("replication", replication)
    check_fits(config)
    started = time.perf_counter()
    collecting = gc.isenabled()
    gc.disable()
    try:
        rec = Model(config, seed=seed, replication=replication).run()
    finally:
        if collecting:
            gc.enable()
    tables = build_tables(rec)
    return RunResult(config.name, seed, replication, tables, time.perf_counter() - started, rec.events)


def _whole(name: str, value: object) -> int:
    try:
        whole = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        whole = -1
    if isinstance(value, bool) or whole < 0:
        raise ValueError(f"{name} must be a whole number, 0 or more, not {value!r}")
    return whole
