"""The model against queueing theory."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

import sim
from sim.queues import erlang_c_wait, mmc_data

from .conftest import build, example_data


def test_erlang_c_reference_value():
    assert math.isclose(erlang_c_wait(3, 2.4, 1.0), 1.0787, abs_tol=5e-5)


def test_mmc_mean_wait_matches_erlang_c():
    """Staff of one role as an M/M/3 queue: lambda 2.4 a day, mu 1 a day.

    At rho = 0.8 the waits are strongly autocorrelated, so each replication's mean is
    noisy: 40 replications of 2,000 measured days give a half-width near 7%."""
    cfg = build(mmc_data(servers=3, arrival_rate=2.4, mean_service_days=1.0, days=2200, warmup=200))
    means = []
    for rep in range(40):
        p = sim.simulate(cfg, seed=11, replication=rep).patients
        p = p[(p["ready"] >= cfg.run.warmup_days) & p["service_started"].notna()]
        means.append(float((p["service_started"] - p["service_accepted"]).mean()))
    mean = float(np.mean(means))
    half = stats.t.ppf(0.975, len(means) - 1) * np.std(means, ddof=1) / math.sqrt(len(means))
    expected = erlang_c_wait(3, 2.4, 1.0)
    assert abs(mean - expected) <= half, (mean, half, expected)
    assert half / expected < 0.1  # and the interval is tight enough to mean something


def test_mmc_service_time_and_throughput():
    cfg = build(mmc_data(days=1000, warmup=100))
    r = sim.simulate(cfg, seed=2)
    p = r.patients
    done = p[p["service_ended"].notna()]
    service = done["service_ended"] - done["service_started"]
    assert abs(service.mean() - 1.0) < 0.08
    # utilisation of the three servers is rho = 2.4 / 3
    w = r.workload.iloc[0]
    assert abs(w["utilisation"] - 0.8) < 0.04


def test_overloaded_staff_are_those_past_their_capacity():
    """An M/M/3 queue is stable below rho = 1 and grows without bound above it.  The
    check (somebody waiting without a break through the second half of the measured
    window) never fires at rho 0.8 or 0.9 and always at 1.1 or 1.2, over 12 seeds."""
    for rho, expected in [(0.8, 0), (0.9, 0), (1.1, 12), (1.2, 12)]:
        cfg = build(mmc_data(arrival_rate=3 * rho, days=1000, warmup=100))
        said = [sim.simulate(cfg, seed=seed).summary["overloaded"].iloc[0] for seed in range(12)]
        assert sum(s == "trust:server" for s in said) == expected, (rho, said)
        assert set(said) <= {"", "trust:server"}


def test_overloaded_places_are_named_with_everyone_sharing_them():
    """North Council's care-home beds cut from 40 to 20 are overloaded; commissioned
    together with South Council's 58, they are not; with South's cut to 5, the pool is."""
    data = example_data()
    data["organisations"]["north_council"]["capacity"]["care_home_beds"] = 20
    assert sim.simulate(build(data), seed=1).summary["overloaded"].iloc[0] == "north_council:care_home_beds"
    data["shared_capacity"] = [{"capacity": "care_home_beds", "organisations": ["north_council", "south_council"]}]
    assert sim.simulate(build(data), seed=1).summary["overloaded"].iloc[0] == ""
    data["organisations"]["south_council"]["capacity"]["care_home_beds"] = 5
    shared = sim.simulate(build(data), seed=1).summary["overloaded"].iloc[0]
    assert shared == "north_council+south_council:care_home_beds"


def test_littles_law_for_patients_awaiting_discharge():
    """L = lambda W: mean number awaiting = rate becoming ready x mean delayed days."""
    data = example_data()
    data["run"] = {"length_days": 1500, "warmup_days": 100}
    cfg = build(data)
    r = sim.simulate(cfg, seed=9)
    p, s = r.patients, r.summary.iloc[0]
    lo, hi = cfg.run.warmup_days, cfg.run.length_days
    # exact accounting: the integral is the sum of each wait's overlap with the window
    start = p["ready"].clip(lower=lo)
    stop = p["discharged"].fillna(hi).clip(upper=hi)
    overlap = (stop - start).clip(lower=0).where(p["ready"].notna(), 0)
    assert math.isclose(overlap.sum(), s["bed_days_lost"], rel_tol=1e-9)
    # Little's law, up to the edges of the window
    ready = p[(p["ready"] >= lo) & (p["ready"] < hi)]
    lam = len(ready) / (hi - lo)
    w = ready["delayed_days"].mean()
    assert math.isclose(s["mean_awaiting_discharge"], lam * w, rel_tol=0.02)
