"""Same seed, same tables; common random numbers across boundary configurations."""

from __future__ import annotations

import pandas as pd
import pytest

import sim

from .conftest import build, example_data, short


@pytest.fixture(scope="module")
def base_cfg():
    return build(short(example_data(), days=200, warmup=30))


def test_same_seed_gives_identical_tables(base_cfg):
    a = sim.simulate(base_cfg, seed=42)
    b = sim.simulate(base_cfg, seed=42)
    assert set(a.tables) == set(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True, obj=name)


def test_different_seeds_and_replications_differ(base_cfg):
    a = sim.simulate(base_cfg, seed=42).patients
    b = sim.simulate(base_cfg, seed=43).patients
    c = sim.simulate(base_cfg, seed=42, replication=1).patients
    assert not a["admitted"].head(50).equals(b["admitted"].head(50))
    assert not a["admitted"].head(50).equals(c["admitted"].head(50))


def realigned(data):
    """Places realigned to the councils: a boundary change, same zones and demand."""
    data["footprints"]["place"] = {
        "harbourside": "coast_place",
        "northmoor": "coast_place",
        "southvale": "inland_place",
        "eastfield": "inland_place",
    }
    return data


def split_south(data):
    """South Council split in two: Eastfield becomes East Council."""
    data["organisations"]["east_council"] = {
        "type": "local_authority",
        "staff": {"social_worker": {"count": 4}, "reablement_worker": {"count": 2}},
        "capacity": {"reablement_slots": 80, "care_home_beds": 30},
    }
    data["footprints"]["local_authority"]["eastfield"] = "east_council"
    return data


@pytest.mark.parametrize("transform", [realigned, split_south])
def test_common_random_numbers_across_boundary_configurations(transform):
    base = build(short(example_data(), days=200, warmup=30))
    other = build(transform(short(example_data(), days=200, warmup=30)))
    a = sim.simulate(base, seed=7).patients.set_index("patient_id")
    b = sim.simulate(other, seed=7).patients.set_index("patient_id")
    # the same patients arrive from the same zones, with the same trust, pathway and length of stay
    for col in ["zone", "trust", "pathway", "admitted", "ready"]:
        pd.testing.assert_series_equal(a[col], b[col], check_exact=True)


def _set(key, value):
    def change(data):
        node = data
        *path, last = key.split(".")
        for part in path:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
        return data

    change.__name__ = f"{key}={value}"
    return change


def _no_assessors(data):
    data["trusted_assessors"] = {"cover": "nowhere"}
    return data


def _second_hospital(data):  # half of Eastfield's patients to another hospital: the hospital is a boundary
    data["organisations"]["second_hospital"] = {
        "type": "acute_trust",
        "staff": {"discharge_coordinator": {"count": 2, "hours_per_week": 37.5}},
    }
    data["footprints"]["acute_trust"]["eastfield"] = {"general_hospital": 0.5, "second_hospital": 0.5}
    return data


def _longer_pathway(data):  # a step more on the longest pathway: wider rows of draws
    data["pathways"]["P1"]["steps"].append(
        {"name": "check_in", "by": "community_health", "staff": "community_nurse", "effort_hours": 0.5}
    )
    return data


@pytest.mark.parametrize(
    "change, same",
    [
        (realigned, True),
        (split_south, True),
        (_no_assessors, True),
        (_set("organisations.north_council.staff.social_worker.count", 9), True),
        (_set("handovers.failure.base", 0.2), True),
        (_second_hospital, True),
        (_set("demand.per_1000_per_year", 25.0), False),
        (_set("zones.0.population", 90000), False),
        (_set("patients.length_of_stay_days.mean", 11), False),
        (_set("pathways.P0.share", 0.4), False),
        (_longer_pathway, False),
    ],
    ids=lambda x: getattr(x, "__name__", str(x)),
)
def test_configurations_with_one_patients_key_have_the_same_patients(change, same):
    """What ``patients_key`` says (and so what the tool tells a user of a scenario's
    patients) is what the runs do."""
    from sim.model import patients_key

    data = short(example_data(), days=200, warmup=30)
    if change.__name__ == "pathways.P0.share=0.4":
        data["pathways"]["P1"]["share"] = 0.4  # the shares still sum to 1
    base, other = build(short(example_data(), days=200, warmup=30)), build(change(data))
    a = sim.simulate(base, seed=7).patients.set_index("patient_id")
    b = sim.simulate(other, seed=7).patients.set_index("patient_id")
    columns = ["zone", "pathway", "admitted", "ready"]
    alike = len(a) == len(b) and all(a[c].equals(b[c]) for c in columns)
    assert (patients_key(base) == patients_key(other)) == same == alike


def test_boundary_change_changes_outcomes_but_not_demand():
    base = build(short(example_data(), days=200, warmup=30))
    other = build(split_south(short(example_data(), days=200, warmup=30)))
    a = sim.simulate(base, seed=7)
    b = sim.simulate(other, seed=7)
    assert a.summary["admitted"].iloc[0] == b.summary["admitted"].iloc[0]
    # the hospital, the community trust and the ICB each with two councils and the
    # community trust with the hospital, against each with three: pairs, whichever way
    # patients cross them
    assert (a.summary["interfaces"].iloc[0], b.summary["interfaces"].iloc[0]) == (7, 10)
    assert b.summary["meetings_per_week"].iloc[0] > a.summary["meetings_per_week"].iloc[0]


def test_more_staff_does_not_lengthen_delays_under_common_random_numbers():
    data = short(example_data(), days=300, warmup=60)
    for org in ("north_council", "south_council"):
        data["organisations"][org]["staff"]["social_worker"]["count"] = 4
    lean = build(data)
    for org in ("north_council", "south_council"):
        data["organisations"][org]["staff"]["social_worker"]["count"] = 10
    rich = build(data)
    d_lean = sim.simulate(lean, seed=3).summary["delayed_days_per_discharge"].iloc[0]
    d_rich = sim.simulate(rich, seed=3).summary["delayed_days_per_discharge"].iloc[0]
    assert d_rich < d_lean


def rename_places(data):
    for old, new in (("coast_place", "seaside_place"), ("inland_place", "upland_place")):
        data["organisations"][new] = data["organisations"].pop(old)
        data["footprints"]["place"] = {z: (new if o == old else o) for z, o in data["footprints"]["place"].items()}
    return data


def test_renaming_organisations_has_no_systematic_effect():
    """Sitting days are drawn per replication, not fixed by a name: renaming the places
    (no boundary change) must not shift outcomes the way a real change would."""
    import numpy as np

    base = build(example_data())
    renamed = build(rename_places(example_data()))
    d = [
        sim.simulate(renamed, seed=1, replication=r).summary["delayed_days_per_discharge"].iloc[0]
        - sim.simulate(base, seed=1, replication=r).summary["delayed_days_per_discharge"].iloc[0]
        for r in range(10)
    ]
    assert abs(np.mean(d)) < 3 * np.std(d, ddof=1) / np.sqrt(len(d))


def test_simulate_leaves_the_garbage_collector_as_it_found_it(base_cfg):
    import gc

    assert gc.isenabled()
    sim.simulate(base_cfg, seed=1)
    assert gc.isenabled()
    gc.disable()
    try:
        sim.simulate(base_cfg, seed=1)
        assert not gc.isenabled()
    finally:
        gc.enable()
