"""A run's results for a given configuration and seed change only on purpose.

Each shipped configuration of one area is run with seed 1, and each of its tables is
fingerprinted (SHA-256 of the table as CSV, numbers to six decimals).  The fingerprints
are recorded under the model's ``RESULTS_VERSION`` (``sim/model.py``): a change to the
model that changes any of them fails here until the version is raised and the new
fingerprints recorded under it, so that sweeps run again rather than reuse runs made
before the change (their run ids hold the version).
"""

import hashlib
import json

import pytest

import sim
import sim.experiment
import sim.runner
from sim.experiment import load_experiment
from sim.sweep import run_sweep

from .conftest import ROOT
from .test_experiment import TWO_SCENARIOS, experiment

CONFIGS = ["example.yaml", "lancashire-south-cumbria.yaml", "kent-and-medway.yaml", "surrey.yaml"]

# RESULTS_VERSION: {configuration: {table: fingerprint}}; keep the old versions' as a record
FINGERPRINTS: dict[int, dict[str, dict[str, str]]] = {
    1: {
        "example.yaml": {
            "patients": "9487506138a6de82",
            "handovers": "666b031a26feef07",
            "workload": "d60c63fca3f2f186",
            "interfaces": "812cd2ee821adc73",
            "meetings": "d10107d6c01d4d80",
            "awaiting": "ab72f92d91fc4c85",
            "summary": "9d71c8e2b5fc43bd",
        },
        "lancashire-south-cumbria.yaml": {
            "patients": "c60e435bdc1eb22b",
            "handovers": "80af10f61e9a3aa2",
            "workload": "74ee8c5e46b706b6",
            "interfaces": "6a040a00f5f1c58b",
            "meetings": "50d979e16baac926",
            "awaiting": "cfbee7e4c29167f8",
            "summary": "4d4d87b0e16239c7",
        },
        "kent-and-medway.yaml": {
            "patients": "fcba80ef2db0fa3a",
            "handovers": "b0294ac25c77e9f8",
            "workload": "b7d7f1d0acc0a0e2",
            "interfaces": "4985e717c194ebb3",
            "meetings": "d36a7efd0157cd68",
            "awaiting": "239c864de3d7fbe5",
            "summary": "a496d6c5a63e0563",
        },
        "surrey.yaml": {
            "patients": "daaebff8cecc5a9a",
            "handovers": "27db6af8758c07ad",
            "workload": "a7d34dc31ebcd07f",
            "interfaces": "ff1f58447fb9167b",
            "meetings": "aaec6f219e9e614d",
            "awaiting": "2d5111521a4ae55c",
            "summary": "e6f3437efeb344af",
        },
    },
    2: {
        "example.yaml": {
            "patients": "a6ba7608fa30b8f0",
            "handovers": "a222165dd49a6f8e",
            "workload": "f72386b9817c2e3c",
            "interfaces": "02bb65dcbff33ca4",
            "meetings": "d10107d6c01d4d80",
            "awaiting": "6ed366fd115f3bde",
            "summary": "f487a89145e5df9f",
        },
        "lancashire-south-cumbria.yaml": {
            "patients": "b1c0e9956f572c2e",
            "handovers": "eff89a1dbe2a5c32",
            "workload": "15c19fa27754f480",
            "interfaces": "b42d96722d266074",
            "meetings": "50d979e16baac926",
            "awaiting": "b7cffe55ec1cf756",
            "summary": "c7da4e19ee0ca5bb",
        },
        "kent-and-medway.yaml": {
            "patients": "6db8420b381df2b8",
            "handovers": "6fabd84d63f422ac",
            "workload": "1bfa9ec0b4be617c",
            "interfaces": "db99e5f9b6a099b0",
            "meetings": "d36a7efd0157cd68",
            "awaiting": "55a12775aeb3e3b1",
            "summary": "8bfde7f16ed3e252",
        },
        "surrey.yaml": {
            "patients": "03fb868c37afa25d",
            "handovers": "1acffb3c990b30e1",
            "workload": "0fea0e40f1807f29",
            "interfaces": "30b693e357695589",
            "meetings": "aaec6f219e9e614d",
            "awaiting": "527baddc776d7912",
            "summary": "99bf5aa56f2bc234",
        },
    },
    3: {
        "example.yaml": {
            "patients": "a6ba7608fa30b8f0",
            "handovers": "a222165dd49a6f8e",
            "workload": "f72386b9817c2e3c",
            "interfaces": "b00ec9f00bfd7d3e",
            "meetings": "d10107d6c01d4d80",
            "awaiting": "6ed366fd115f3bde",
            "summary": "ab8f3e82f31d217f",
        },
        "lancashire-south-cumbria.yaml": {
            "patients": "b1c0e9956f572c2e",
            "handovers": "eff89a1dbe2a5c32",
            "workload": "15c19fa27754f480",
            "interfaces": "e7e414cd0918662a",
            "meetings": "50d979e16baac926",
            "awaiting": "b7cffe55ec1cf756",
            "summary": "0351355815da11d8",
        },
        "kent-and-medway.yaml": {
            "patients": "6db8420b381df2b8",
            "handovers": "6fabd84d63f422ac",
            "workload": "1bfa9ec0b4be617c",
            "interfaces": "e3410a336893a8a3",
            "meetings": "d36a7efd0157cd68",
            "awaiting": "55a12775aeb3e3b1",
            "summary": "ab8ad606d6c6062d",
        },
        "surrey.yaml": {
            "patients": "03fb868c37afa25d",
            "handovers": "1acffb3c990b30e1",
            "workload": "0fea0e40f1807f29",
            "interfaces": "65dafbc3c0d991b5",
            "meetings": "aaec6f219e9e614d",
            "awaiting": "527baddc776d7912",
            "summary": "eeb714be2b524014",
        },
    },
    4: {
        "example.yaml": {
            "patients": "a6ba7608fa30b8f0",
            "handovers": "80062ebb21762423",
            "workload": "f72386b9817c2e3c",
            "interfaces": "fa8192f2f1dc7c3b",
            "meetings": "d10107d6c01d4d80",
            "awaiting": "6ed366fd115f3bde",
            "summary": "13e6f61aad822cb3",
        },
        "lancashire-south-cumbria.yaml": {
            "patients": "b1c0e9956f572c2e",
            "handovers": "8b04913182feebfc",
            "workload": "15c19fa27754f480",
            "interfaces": "2e846725ec3fea98",
            "meetings": "50d979e16baac926",
            "awaiting": "b7cffe55ec1cf756",
            "summary": "d8745f9fb4f19a10",
        },
        "kent-and-medway.yaml": {
            "patients": "6db8420b381df2b8",
            "handovers": "b2a241d47903cf39",
            "workload": "1bfa9ec0b4be617c",
            "interfaces": "bb7fdf4647fe94fa",
            "meetings": "d36a7efd0157cd68",
            "awaiting": "55a12775aeb3e3b1",
            "summary": "7d366441a8580957",
        },
        "surrey.yaml": {
            "patients": "03fb868c37afa25d",
            "handovers": "b70a591a246db8ac",
            "workload": "0fea0e40f1807f29",
            "interfaces": "27455498665f433f",
            "meetings": "aaec6f219e9e614d",
            "awaiting": "527baddc776d7912",
            "summary": "7c474be88cfc9ccb",
        },
    },
}


def fingerprints(result: sim.RunResult) -> dict[str, str]:
    return {
        name: hashlib.sha256(table.to_csv(index=False, float_format="%.6f").encode()).hexdigest()[:16]
        for name, table in result.tables.items()
    }


@pytest.mark.parametrize("name", CONFIGS)
def test_results_change_only_with_the_results_version(name):
    got = fingerprints(sim.simulate(ROOT / "configs" / name, seed=1))
    recorded = FINGERPRINTS.get(sim.RESULTS_VERSION, {}).get(name)
    changed = sorted(t for t in got if recorded is None or recorded.get(t) != got[t])
    assert not changed, (
        f"configs/{name}, seed 1: the tables {', '.join(changed)} differ from those recorded for results version "
        f"{sim.RESULTS_VERSION}. If the change is meant, raise RESULTS_VERSION in sim/model.py, say why in the "
        f"commit, and record under the new version in {__name__}.FINGERPRINTS: {name!r}: {got!r}"
    )


def test_a_sweep_runs_again_what_was_run_under_another_results_version_and_keeps_it(tmp_path, monkeypatch):
    path = experiment(tmp_path, TWO_SCENARIOS)
    before = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    runs = before.out_dir / "runs"
    made_before = {p.name for p in runs.iterdir()}
    oldest = runs / sorted(made_before)[0] / "run.json"  # as if made before runs recorded the version
    oldest.write_text(json.dumps({k: v for k, v in json.loads(oldest.read_text()).items() if k != "results_version"}))
    newer = sim.RESULTS_VERSION + 1
    monkeypatch.setattr(sim.experiment, "RESULTS_VERSION", newer)  # as if the model had changed
    monkeypatch.setattr(sim.runner, "RESULTS_VERSION", newer)
    after = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert (after.planned, after.reused, after.ran, after.unused) == (4, 0, 4, 4)
    assert sorted(after.outdated, key=str) == [sim.RESULTS_VERSION] * 3 + [None]
    said = (
        f"4 of them are these configurations and seeds, run when the model's results version was "
        f"{sim.RESULTS_VERSION} or not yet recorded (now {newer};"
    )
    assert said in after.lines()[2]
    made_after = {p.name for p in runs.iterdir()} - made_before
    assert len(made_before) == len(made_after) == 4  # the old runs are kept, not replaced
    assert {json.loads((runs / r / "run.json").read_text())["results_version"] for r in made_after} == {newer}
    again = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert (again.reused, again.ran, len(again.outdated)) == (4, 0, 4)
    path.write_text(path.read_text().replace("replications: 2", "replications: 1"))
    fewer = run_sweep(path, tmp_path / "r", workers=1, progress=False)  # the second replications: not outdated
    assert (fewer.reused, fewer.unused, len(fewer.outdated)) == (2, 6, 2)


def test_a_worker_with_another_results_version_fails_its_runs_and_says_why(tmp_path, monkeypatch):
    plan = load_experiment(experiment(tmp_path, TWO_SCENARIOS)).plan(1)
    newer = sim.RESULTS_VERSION + 1
    monkeypatch.setattr(sim.runner, "RESULTS_VERSION", newer)  # a Dask worker started from newer code
    outcomes = sim.runner.execute_batch(plan)
    assert [o.tables for o in outcomes] == [None, None]
    said = f"model is at results version {newer}, the sweep's at {sim.RESULTS_VERSION}: start the workers"
    assert all(said in (o.error or "") for o in outcomes)
