"""Care homes' own assessments, and the trusted assessors who make them unnecessary
(a step's ``provider_assessment_days``, the configuration's ``trusted_assessors``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.config import load_config
from sim.errors import ConfigError
from sim.geography import Geography
from sim.metrics import delay_parts

from .conftest import EXAMPLE, ROOT, build, example_data, short

LSC = ROOT / "configs" / "lancashire-south-cumbria.yaml"
SAME = ["admitted", "zone", "trust", "pathway", "ready"]


def _example(cover: str, min_flow: float = 2.0, days: float = 400, beds: object = None, **split: list[str]):
    data = short(example_data(), days=days, warmup=50)
    data["trusted_assessors"] = {"cover": cover, "min_flow_per_week": min_flow}
    if beds is not None:
        for org in data["organisations"].values():
            if "care_home_beds" in org.get("capacity", {}):
                org["capacity"]["care_home_beds"] = beds
    return build(data)


def _placement(data: dict) -> dict:
    [step] = [s for s in data["pathways"]["P3"]["steps"] if s["name"] == "placement"]
    return step


def test_by_default_every_patient_is_covered_and_nothing_changes():
    """A trusted assessor everywhere: the care homes' own assessment never happens, and a
    run is the same, table for table, as one whose pathways have no such assessment."""
    data = short(example_data(), days=300, warmup=50)
    assert build(data).trusted_assessors.cover == "everywhere"
    with_it = sim.simulate(build(data), seed=4)
    del _placement(data)["provider_assessment_days"]
    without = sim.simulate(build(data), seed=4)
    assert (with_it.patients["provider_assessment_days"] == 0).all()
    for name, table in without.tables.items():
        pd.testing.assert_frame_equal(with_it.tables[name][table.columns], table, obj=name)


def test_without_a_trusted_assessor_each_care_home_patient_waits_for_the_home_s_own_visit():
    """With places in care homes always free, a patient whom no trusted assessor covers
    leaves hospital exactly their own assessment's days later, and nobody else moves:
    the assessment comes after everything the patient shares with others."""
    covered = sim.simulate(_example("everywhere", beds="unlimited"), seed=6).patients
    alone = sim.simulate(_example("nowhere", beds="unlimited"), seed=6).patients
    for column in SAME:
        assert covered[column].equals(alone[column])
    p3 = (alone["pathway"] == "P3").to_numpy()
    both = p3 & covered["discharged"].notna().to_numpy() & alone["discharged"].notna().to_numpy()
    assert both.sum() > 200
    days = alone.loc[both, "provider_assessment_days"].to_numpy()
    assert (days > 0).all()
    later = (alone["discharged"] - covered["discharged"]).to_numpy()[both]
    assert np.allclose(later, days)
    assert abs(days.mean() - 2.0) < 0.15  # lognormal, mean 2 days (sd 1: the mean of ~300 within 0.15)
    # no one else's journey changes
    others = ~p3
    for column in ("discharged", "journey_end", "delayed_days", "gap_days", "inter_handovers", "failed_handovers"):
        pd.testing.assert_series_equal(covered.loc[others, column], alone.loc[others, column])
    assert (alone.loc[others, "provider_assessment_days"] == 0).all()


def test_the_assessment_is_the_patient_s_own_draw_in_every_configuration():
    """Common random numbers: the same patient's home visit takes as long under other
    boundaries, and drawing it moves none of the patient's other draws."""
    a = sim.simulate(_example("nowhere"), seed=2).patients
    data = short(example_data(), days=400, warmup=50)
    data["trusted_assessors"] = {"cover": "nowhere"}
    data["footprints"]["local_authority"] = dict.fromkeys(data["footprints"]["local_authority"], "north_council")
    b = sim.simulate(build(data), seed=2).patients
    for column in SAME:
        assert a[column].equals(b[column])
    both = (a["provider_assessment_days"] > 0) & (b["provider_assessment_days"] > 0)
    assert both.sum() > 200
    assert a.loc[both, "provider_assessment_days"].equals(b.loc[both, "provider_assessment_days"])


@pytest.mark.parametrize("min_flow", [0.5, 3.0, 6.0, 40.0])
def test_regular_covers_the_patients_of_a_hospital_and_council_with_regular_flow(min_flow):
    """Under ``regular``, a care-home patient waits for the home's visit exactly when the
    expected flow between their hospital and council is under the threshold."""
    cfg = _example("regular", min_flow=min_flow)
    geo = Geography(cfg)
    p = sim.simulate(cfg, seed=8).patients
    done = p[(p["pathway"] == "P3") & p["discharged"].notna()]
    council = done["zone"].map(lambda z: geo.resolve("local_authority", z, None))
    flow = [geo.pair_flow(t, c) for t, c in zip(done["trust"], council, strict=True)]
    assessed = done["provider_assessment_days"] > 0
    assert (assessed == (np.array(flow) < min_flow)).all()


def test_regular_at_no_flow_is_everywhere_and_above_every_flow_is_nowhere():
    runs = {
        name: sim.simulate(cfg, seed=9).patients
        for name, cfg in {
            "everywhere": _example("everywhere"),
            "regular_0": _example("regular", min_flow=0),
            "nowhere": _example("nowhere"),
            "regular_above_all": _example("regular", min_flow=1e9),  # a week's flow above any
        }.items()
    }
    pd.testing.assert_frame_equal(runs["everywhere"], runs["regular_0"])
    pd.testing.assert_frame_equal(runs["nowhere"], runs["regular_above_all"])
    assert not runs["everywhere"].equals(runs["nowhere"])


def test_the_home_s_visit_is_a_part_of_the_delayed_days_of_its_own():
    result = sim.simulate(_example("nowhere"), seed=5)
    p = result.patients
    cfg = _example("nowhere")
    parts = delay_parts(p, cfg.pathways)
    done = p["discharged"].notna()
    assert np.allclose(parts[done].sum(axis=1), p.loc[done, "delayed_days"])
    assert np.allclose(parts.loc[done, "provider"], p.loc[done, "provider_assessment_days"])
    assert (parts[done] >= -1e-9).all().all()
    # tables written before the assessment was modelled have no such column: none of it
    old = p.drop(columns="provider_assessment_days")
    assert (delay_parts(old, cfg.pathways).loc[done, "provider"] == 0).all()


def test_trusted_assessors_cut_care_home_waits_by_one_to_three_days_in_lancashire():
    """DESIGN.md's reference figure: trusted-assessor schemes cut care-home waits by 1 to
    3 days.  In Lancashire and South Cumbria, care homes' own visits (2 days on average,
    the place held meanwhile, so the beds are busier) lengthen the care-home patients'
    delayed days by that much."""
    data = load_config(LSC).model_dump(mode="json", by_alias=True)
    means = {}
    for cover in ("everywhere", "nowhere"):
        data["trusted_assessors"] = {"cover": cover}
        p = sim.simulate(build(data), seed=1).patients
        p3 = p[(p["pathway"] == "P3") & (p["discharged"] >= 90)]
        means[cover] = p3["delayed_days"].mean()
    assert 1.0 <= means["nowhere"] - means["everywhere"] <= 3.0, means


def _problems(tmp_path, old: str, new: str) -> list[str]:
    text = EXAMPLE.read_text()
    assert old in text
    path = tmp_path / "cfg.yaml"
    path.write_text(text.replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_a_provider_s_assessment_only_at_the_step_that_discharges_into_a_place(tmp_path):
    old = "      - {name: chc_check"
    found = _problems(tmp_path, old, "      - {provider_assessment_days: {dist: exponential, mean: 1}, name: chc_check")
    assert any("pathways.P3" in m and "provider_assessment_days goes with the step that discharges" in m for m in found)


def test_an_unknown_cover_is_named_with_the_choices(tmp_path):
    found = _problems(tmp_path, "{cover: everywhere,", "{cover: sometimes,")
    assert any(
        m.startswith(f"{tmp_path / 'cfg.yaml'}:") and "trusted_assessors.cover" in m and "'regular'" in m for m in found
    ), found


def test_the_home_holds_the_place_while_its_assessor_comes():
    """One care-home bed, each stay exactly 30 days: a patient takes up the place when the
    one before has left it, and it is theirs from then, through the home's visit, to
    30 days after they arrive, so the next can have it no sooner."""
    data = short(example_data(), days=700, warmup=50)
    data["trusted_assessors"] = {"cover": "nowhere"}
    _placement(data)["hold_days"] = 30.0
    for org in data["organisations"].values():
        if "care_home_beds" in org.get("capacity", {}):
            org["capacity"]["care_home_beds"] = 1
    p = sim.simulate(build(data), seed=3).patients
    for _, g in p[(p["pathway"] == "P3") & p["discharged"].notna()].groupby("local_authority"):
        g = g.sort_values("discharged")
        placed = (g["discharged"] - g["provider_assessment_days"]).to_numpy()  # the place is theirs
        left = g["discharged"].to_numpy() + 30.0
        assert len(g) > 5 and (g["provider_assessment_days"] > 0).all()
        assert (placed[1:] >= left[:-1] - 1e-9).all()
