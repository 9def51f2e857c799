"""Handover: what redrawing a boundary does to complex hospital discharges.

>>> import sim
>>> cfg = sim.load_config("configs/example.yaml")       # doctest: +SKIP
>>> result = sim.simulate(cfg, seed=1)                   # doctest: +SKIP
>>> result.summary[["handovers_per_discharge", "delayed_days_per_discharge"]]  # doctest: +SKIP
"""

from __future__ import annotations

import time

from sim.config import Config, config_from_dict, load_config
from sim.errors import ConfigError
from sim.metrics import RunResult, build_tables
from sim.model import Model

__version__ = "0.1.0"
__all__ = ["Config", "ConfigError", "RunResult", "__version__", "config_from_dict", "load_config", "simulate"]


def simulate(config: Config, seed: int = 0, replication: int = 0) -> RunResult:
    """Run the model once and return its tables; a pure function of its arguments."""
    started = time.perf_counter()
    rec = Model(config, seed=seed, replication=replication).run()
    tables = build_tables(rec)
    return RunResult(config.name, seed, replication, tables, time.perf_counter() - started)
