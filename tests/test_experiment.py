"""Experiment files: expansion, run ids, errors, execution, resume, failures."""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import sim
import sim.runner
from sim.analysis import mean_ci, mser_truncation, paired_p_value, prcc
from sim.cli import main
from sim.errors import ConfigError
from sim.experiment import ExperimentSpec, Scenario, load_experiment
from sim.runner import WORKER_DEATHS, Executor
from sim.sweep import compare_lines, dry_run, run_sweep, worker_deaths_note
from sim.yamlio import load_yaml

from .conftest import EXAMPLE, ROOT

SMALL_RUN = "run: {length_days: 60, warmup_days: 10}\n"


def experiment(
    tmp_path: Path, body: str, name: str = "exp.yaml", exp_name: str = "small", run: str = SMALL_RUN
) -> Path:
    text = f"name: {exp_name}\nbase: {EXAMPLE}\nseed: 5\n{run}{body}"
    path = tmp_path / name
    path.write_text(text)
    return path


TWO_SCENARIOS = """\
replications: 2
scenarios:
  today: {baseline: true}
  split:
    transforms:
      - split: {organisation: south_council, into: {sv: [southvale], ef: [eastfield]}}
"""


def consolidated(root: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for name in ("runs", "scenario_summary", "differences"):
        df = pd.read_parquet(root / f"{name}.parquet")
        out[name] = df.drop(columns=[c for c in df.columns if c == "wall_seconds"])
    return out


def assert_same_results(a: Path, b: Path) -> None:
    ta, tb = consolidated(a), consolidated(b)
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], check_exact=True, obj=name)


# -- expansion ---------------------------------------------------------------------


def test_grid_expands_to_every_combination(tmp_path):
    path = experiment(
        tmp_path,
        """\
replications: 1
sweep:
  method: grid
  factors:
    handovers.failure.base: [0.01, 0.1]
    organisations.north_council.staff.social_worker.count: [4, 5, 6]
""",
    )
    exp = load_experiment(path)
    assert len(exp.points) == 6
    assert exp.points[0] == {"handovers.failure.base": 0.01, "organisations.north_council.staff.social_worker.count": 4}
    assert exp.points[-1]["organisations.north_council.staff.social_worker.count"] == 6
    assert exp.cells[1].config.organisations["north_council"].staff["social_worker"].count == 5
    assert len(exp.plan(1)) == 6


def test_zip_pairs_lists(tmp_path):
    path = experiment(
        tmp_path,
        """\
sweep:
  method: zip
  factors:
    handovers.failure.base: [0.01, 0.1, 0.2]
    handovers.failure.intra: [0.0, 0.01, 0.02]
""",
    )
    exp = load_experiment(path)
    assert [p["handovers.failure.intra"] for p in exp.points] == [0.0, 0.01, 0.02]
    assert exp.cells[2].config.handovers.failure.base == 0.2


def test_latin_hypercube_is_stratified_and_in_range(tmp_path):
    path = experiment(
        tmp_path,
        """\
sweep:
  method: latin_hypercube
  points: 20
  factors:
    handovers.failure.base: {low: 0.0, high: 0.4}
    organisations.north_council.staff.social_worker.count: {low: 3, high: 8, integer: true}
""",
    )
    exp = load_experiment(path)
    x = np.array([p["handovers.failure.base"] for p in exp.points])
    assert len(x) == 20 and (x >= 0).all() and (x <= 0.4).all()
    # one point in each of the 20 equal strata
    assert sorted(np.floor(x / 0.4 * 20).astype(int).tolist()) == list(range(20))
    counts = [p["organisations.north_council.staff.social_worker.count"] for p in exp.points]
    assert all(isinstance(c, int) and 3 <= c <= 8 for c in counts)
    assert load_experiment(path).points == exp.points  # same seed, same design


def test_run_ids_are_stable_and_follow_content(tmp_path):
    path = experiment(tmp_path, TWO_SCENARIOS)
    a = [s.run_id for s in load_experiment(path).plan(2)]
    b = [s.run_id for s in load_experiment(path).plan(2)]
    assert a == b and len(set(a)) == 4
    # adding a scenario keeps the others' ids; changing the seed changes them all
    more = experiment(
        tmp_path,
        TWO_SCENARIOS + "  aligned:\n    transforms: [{align: {type: place, to: local_authority}}]\n",
        name="more.yaml",
    )
    c = [s.run_id for s in load_experiment(more).plan(2)]
    assert set(a) <= set(c) and len(c) == 6
    reseeded = experiment(tmp_path, TWO_SCENARIOS.replace("replications: 2", "replications: 2\nseed: 6"), "s.yaml")
    with pytest.raises(ConfigError):  # seed given twice is a duplicate key
        load_experiment(reseeded)


def test_overrides_by_dotted_key(tmp_path):
    path = experiment(
        tmp_path,
        """\
scenarios:
  base: {baseline: true}
  more_staff:
    overrides:
      organisations.north_council.staff.social_worker.count: 12
      handovers.failure.base: 0.2
""",
    )
    exp = load_experiment(path)
    cfg = next(c.config for c in exp.cells if c.scenario == "more_staff")
    assert cfg.organisations["north_council"].staff["social_worker"].count == 12
    assert cfg.handovers.failure.base == 0.2
    assert cfg.run.length_days == 60


def test_a_scenarios_own_run_length_wins_over_the_experiments(tmp_path):
    """The experiment's `run` is every run's; a scenario that overrides run.* (a longer
    warm-up, to check the default is long enough) gets what it asked for, not the same
    runs as the baseline under another name."""
    path = experiment(
        tmp_path,
        """scenarios:
  base: {baseline: true}
  long_warmup: {overrides: {run.warmup_days: 30}}
""",
    )
    exp = load_experiment(path)
    run = {c.scenario: c.config.run for c in exp.cells}
    assert (run["base"].length_days, run["base"].warmup_days) == (60, 10)
    assert (run["long_warmup"].length_days, run["long_warmup"].warmup_days) == (60, 30)
    assert len({c.config_hash for c in exp.cells}) == 2


def test_a_scenario_that_changes_nothing_is_named(tmp_path, capsys):
    """Overriding a value with the one it has (or aligning places already aligned) gives
    the baseline's configuration: the same runs, so no change to see; say so before a
    planner reads the zeros as an effect."""
    path = experiment(
        tmp_path,
        """\
replications: 2
scenarios:
  base: {baseline: true}
  same_staff: {overrides: {organisations.north_council.staff.social_worker.count: 5}}
  more_staff: {overrides: {organisations.north_council.staff.social_worker.count: 8}}
sweep: {method: grid, factors: {handovers.failure.base: [0.02, 0.05]}}
""",
    )
    note = "note: scenario same_staff gives the same configuration as base: the same runs, so the same results"
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [note]
    assert dry_run(path, tmp_path / "results")[-1] == note
    report = run_sweep(path, tmp_path / "results", workers=1, progress=False)
    assert note in report.lines() and report.planned == 2 * 2 * 2  # two configurations at two points
    assert load_experiment(experiment(tmp_path, TWO_SCENARIOS, "two.yaml")).same_configurations() == []


# -- bad experiment files ---------------------------------------------------------


@pytest.mark.parametrize(
    "given, problem",
    [
        ("{metrics: [delayed_days_per_discharge], half_width_pct: 5, min: 8, max: 4}", "max must be at least min"),
        ("{metrics: [delayed_days], half_width_pct: 5}", "unknown metric 'delayed_days'; headline metrics: handovers_"),
        (
            "ten",
            "Input should be a valid integer or a mapping (keys: half_width_pct, max, metrics, min, step), not 'ten'",
        ),
    ],
)
def test_replications_that_are_wrong_say_only_what_is(tmp_path, given, problem):
    """A mapping for automatic replications is not also told it should be a whole number."""
    path = experiment(tmp_path, f"replications: {given}\nscenarios: {{base: {{baseline: true}}}}\n")
    (found,) = lines_of(path)
    assert found.startswith(f"{path}:") and f": replications: {problem}" in found


@pytest.mark.parametrize("factor", ["abc", "3", "true"])
def test_a_factor_that_is_neither_values_nor_a_range_says_what_it_should_be(tmp_path, factor):
    body = f"scenarios: {{base: {{baseline: true}}}}\nsweep: {{method: grid, factors: {{handovers.failure.base: {factor}}}}}\n"
    (found,) = lines_of(experiment(tmp_path, body))
    assert found.endswith(
        ": sweep.factors.handovers.failure.base: should be a list of values (grid, zip) or a range {low, high} "
        "(latin_hypercube)"
    )


def test_an_override_the_sweep_always_replaces_is_an_error(tmp_path):
    """The sweep sets its factors after a scenario's overrides: an override of a factor
    (or of a key inside one) would silently change nothing."""
    path = experiment(
        tmp_path,
        """\
scenarios:
  base: {baseline: true}
  x:
    overrides:
      handovers.failure.base: 0.2
      handovers.failure.intra: 0.03
      organisations.north_council.staff.social_worker.count: 8
sweep:
  method: grid
  factors:
    handovers.failure.base: [0.02, 0.05]
    organisations.north_council.staff.social_worker: [{count: 6, hours_per_week: 37.5}]
""",
    )
    text = path.read_text().splitlines()

    def line_of(needle: str) -> int:
        return next(i for i, line in enumerate(text, 1) if needle in line)

    problems = lines_of(path)
    assert problems == [
        f"{path}:{line_of('handovers.failure.base: 0.2')}: scenarios.x.overrides.handovers.failure.base: "
        "the sweep sets 'handovers.failure.base' in every scenario at every point (sweep.factors), after the "
        "overrides, so this override changes nothing: drop it, or leave the factor out of the sweep",
        f"{path}:{line_of('social_worker.count: 8')}: scenarios.x.overrides.organisations.north_council.staff"
        ".social_worker.count: the sweep sets 'organisations.north_council.staff.social_worker' in every scenario "
        "at every point (sweep.factors), after the overrides, so this override changes nothing: drop it, or leave "
        "the factor out of the sweep",
    ]  # handovers.failure.intra, beside the factor rather than in it, is the scenario's own


def lines_of(path):
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    "body, expected",
    [
        ("replicatons: 3\n", r"replicatons: unknown key 'replicatons'; did you mean 'replications'"),
        ("scenarios:\n  a: {baseline: true}\n  b: {baseline: true}\n", r"scenarios: mark exactly one scenario"),
        (
            "scenarios:\n  a: {baseline: true}\n  b:\n    overrides: {organisations.nowhere.staff: 1}\n",
            r":\d+: scenarios\.b\.overrides\.organisations\.nowhere\.staff: the configuration has no 'organisations\.nowhere'",
        ),
        (
            "scenarios:\n  a: {baseline: true}\n  b:\n    overrides: {organisations.north_council.staff.social_workr.count: 8}\n",
            r"staff\.social_workr\.count: the configuration has no 'organisations\.north_council\.staff\.social_workr'; "
            r"did you mean 'organisations\.north_council\.staff\.social_worker'\?$",
        ),
        (  # an organisation by the start of its id: spelling alone said 'north_council' was not there
            "scenarios:\n  a: {baseline: true}\n  b:\n    overrides: {organisations.north.staff.social_worker.count: 8}\n",
            r"the configuration has no 'organisations\.north'; did you mean 'organisations\.north_council'\?$",
        ),
        (
            "scenarios:\n  a: {baseline: true}\n  b:\n    transforms: [{split: {organisation: south_council, into: {x: [southvale]}}}]\n",
            r"scenarios\.b\.transforms\[0\]: split: the successors must take exactly the zones of 'south_council'; not given: eastfield",
        ),
        (
            "scenarios:\n  a: {baseline: true}\n  b:\n    overrides: {handovers.failure.base: 7}\n",
            r":\d+: scenarios\.b\.overrides\.handovers\.failure\.base: Input should be less than or equal to 1$",
        ),
        (
            "scenarios:\n  a: {baseline: true}\n  b:\n    overrides: {handovers.failure: {base: 7}}\n",
            r":\d+: scenarios\.b\.overrides\.handovers\.failure: base: Input should be less than or equal to 1$",
        ),
        (
            "sweep: {method: grid, factors: {handovers.failure.base: [0.1, 1.5]}}\n",
            r":\d+: sweep\.factors\.handovers\.failure\.base: Input should be less than or equal to 1 \(at 1\.5\)$",
        ),
        (
            "sweep: {method: latin_hypercube, points: 5, factors: {handovers.failure.base: [0.1, 0.2]}}\n",
            r"sweep: latin_hypercube factors are ranges",
        ),
        (
            "sweep: {method: zip, factors: {handovers.failure.base: [0.1, 0.2], handovers.failure.intra: [0.1]}}\n",
            r"sweep: zip needs lists of the same length",
        ),
        (
            "sweep: {method: grid, factors: {handovers.nothing.here: [1, 2]}}\n",
            r"sweep\.factors\.handovers\.nothing\.here: the configuration has no 'handovers\.nothing'$",
        ),
        (  # a successor's staff: the split scenario has them, the baseline not
            "scenarios:\n  a: {baseline: true}\n  b:\n    transforms: [{split: {organisation: south_council, "
            "into: {sv: [southvale], ef: [eastfield]}}}]\n"
            "sweep: {method: grid, factors: {organisations.sv.staff.social_worker.count: [2, 3]}}\n",
            r":\d+: sweep\.factors\.organisations\.sv\.staff\.social_worker\.count: the configuration has no "
            r"'organisations\.sv'(; did you mean '[^']+'\?)? \(in scenario a: a sweep sets its factors in every "
            r"scenario\)$",
        ),
        ("replications: {metrics: [happiness], half_width_pct: 5}\n", r"unknown metric 'happiness'"),
        (  # an override inside what is wrong: on its own line, not the scenario's
            "scenarios:\n  a: {baseline: true}\n  b:\n    overrides:\n      pathways.P1.share: 0.9\n",
            r":9: scenarios\.b\.overrides\.pathways\.P1\.share: pathways: pathway shares must sum to 1, they sum "
            r"to 1\.6$",
        ),
        (
            "sweep: {method: grid, factors: {pathways.P1.share: [0.3, 0.5]}}\n",
            r":\d+: sweep\.factors\.pathways\.P1\.share: pathways: pathway shares must sum to 1, they sum to 1\.2 "
            r"\(at 0\.5\)$",
        ),
        (  # 1.5 to 4 in whole numbers would draw 1
            "sweep: {method: latin_hypercube, points: 5, factors: "
            "{organisations.north_council.staff.social_worker.count: {low: 1.5, high: 4, integer: true}}}\n",
            r":\d+: sweep\.factors\.organisations\.north_council\.staff\.social_worker\.count: "
            r"an integer range needs whole numbers for low and high, not 1\.5 to 4$",
        ),
        (  # a count drawn as fractions: one line, with the fix, not one a point
            "sweep: {method: latin_hypercube, points: 5, factors: "
            "{organisations.north_council.staff.social_worker.count: {low: 2, high: 6}}}\n",
            r":\d+: sweep\.factors\.organisations\.north_council\.staff\.social_worker\.count: "
            r"Input should be a valid integer or 'unlimited'; to draw whole numbers, add integer: true "
            r"\(at all 5 points, [\d.]+ to [\d.]+\)$",
        ),
    ],
)
def test_bad_experiment_files_name_file_line_and_key(tmp_path, body, expected):
    import re

    path = experiment(tmp_path, body)
    msgs = lines_of(path)
    assert any(re.search(expected, m) for m in msgs), msgs
    assert all(m.startswith(f"{path}:") for m in msgs)


@pytest.mark.parametrize(
    "body, marker, problem",
    [
        (  # said once for the sweep's three points
            "scenarios:\n  a: {baseline: true}\n  b:\n    overrides:\n"
            "      organisations.north_council.staff.social_worker.count: eight\n"
            "sweep: {method: grid, factors: {handovers.failure.base: [0.1, 0.2, 0.3]}}\n",
            "eight",
            "scenarios.b.overrides.organisations.north_council.staff.social_worker.count: "
            "Input should be a valid integer or 'unlimited', not 'eight'",
        ),
        (  # `handover county` writes a unitaries transform once, under a YAML anchor, for three scenarios
            "scenarios:\n  a: {baseline: true}\n  b:\n    transforms:\n    - &councils\n      reorganise:\n"
            "        organisations: [coast_place, inland_place]\n        by: local_authority\n        into:\n"
            "          north_place: [north_council]\n          south_place: [south_councl]\n"
            "  c:\n    transforms: [*councils]\n  d:\n    transforms: [*councils, {merge: {organisations: [the_icb], "
            "into: x}}]\n",
            "south_councl",
            "scenarios.b.transforms[0]: reorganise: into.south_place: no organisation of type 'local_authority' "
            "called 'south_councl'; did you mean 'south_council'? (also scenarios c and d, which use the same lines)",
        ),
    ],
)
def test_a_problem_said_for_many_is_one_problem_on_its_own_line(tmp_path, body, marker, problem):
    path = experiment(tmp_path, body)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if marker in text)
    assert lines_of(path) == [f"{path}:{line}: {problem}"]


def test_every_bad_override_of_a_scenario_is_reported_at_once(tmp_path):
    """A misspelt key and a bad value in one scenario's overrides: both, each on its own
    line, so that a user fixes them in one go rather than one run of the command each."""
    body = (
        "scenarios:\n  a: {baseline: true}\n  b:\n    overrides:\n"
        "      handovers.failure.base: 7\n"
        "      handovers.nothing.here: 1\n"
        "      organisations.north_council.staff.social_workr.count: 8\n"
    )
    path = experiment(tmp_path, body)
    text = path.read_text().splitlines()
    line = {needle: next(i for i, t in enumerate(text, 1) if needle in t) for needle in ["base: 7", "nothing", "workr"]}
    assert lines_of(path) == [
        f"{path}:{line['base: 7']}: scenarios.b.overrides.handovers.failure.base: Input should be less than or "
        "equal to 1",
        f"{path}:{line['nothing']}: scenarios.b.overrides.handovers.nothing.here: the configuration has no "
        "'handovers.nothing'",
        f"{path}:{line['workr']}: scenarios.b.overrides.organisations.north_council.staff.social_workr.count: the "
        "configuration has no 'organisations.north_council.staff.social_workr'; did you mean "
        "'organisations.north_council.staff.social_worker'?",
    ]


def test_every_bad_sweep_factor_is_reported_at_once(tmp_path):
    body = (
        "scenarios:\n  a: {baseline: true}\n"
        "sweep:\n  method: grid\n  factors:\n"
        "    handovers.nothing.here: [1, 2]\n"
        "    handovers.failure.base: [0.1, 1.5]\n"
    )
    path = experiment(tmp_path, body)
    text = path.read_text().splitlines()
    line = {needle: next(i for i, t in enumerate(text, 1) if needle in t) for needle in ["nothing", "1.5"]}
    assert lines_of(path) == [
        f"{path}:{line['nothing']}: sweep.factors.handovers.nothing.here: the configuration has no 'handovers.nothing'",
        f"{path}:{line['1.5']}: sweep.factors.handovers.failure.base: Input should be less than or equal to 1 (at 1.5)",
    ]


def test_a_bad_sweep_factor_is_one_line_however_many_points_give_it(tmp_path):
    body = (
        "scenarios:\n  a: {baseline: true}\n  b: {overrides: {handovers.failure.base: 0.1}}\n"
        "sweep:\n  method: latin_hypercube\n  points: 40\n  factors:\n"
        "    handovers.failure.bse: {low: 0.01, high: 0.2}\n"
        "    handovers.failure.intra: {low: 0.5, high: 2}\n"
    )
    path = experiment(tmp_path, body)
    spec = ExperimentSpec.model_validate(load_yaml(path)[0])
    points = spec.sweep.expand(spec.seed)
    bse = [p["handovers.failure.bse"] for p in points]
    above_one = [p["handovers.failure.intra"] for p in points if p["handovers.failure.intra"] > 1]
    assert 0 < len(above_one) < 40
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "bse" in text)
    assert lines_of(path) == [  # two scenarios at 40 points: each problem once, in the file's order
        f"{path}:{line}: sweep.factors.handovers.failure.bse: unknown key 'bse'; did you mean 'base'? "
        "(allowed: base, familiar_flow_per_week, intra, maximum, misaligned, unfamiliar) "
        f"(at all 40 points, {min(bse):.4g} to {max(bse):.4g})",
        f"{path}:{line + 1}: sweep.factors.handovers.failure.intra: Input should be less than or equal to 1 "
        f"(at {len(above_one)} of the 40 points, {min(above_one):.4g} to {max(above_one):.4g})",
    ]


def test_bad_name_and_missing_base(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text(f"name: ../escape\nbase: {EXAMPLE}\n")
    assert any("name must be letters" in m for m in lines_of(path))
    path.write_text("name: ok\nbase: nowhere.yaml\n")
    [msg] = lines_of(path)
    assert msg.startswith(f"{path}:2: base: nowhere.yaml:") and "no such file" in msg


def test_validate_checks_an_experiment_and_every_configuration_it_makes(tmp_path, capsys):
    path = experiment(tmp_path, TWO_SCENARIOS)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "a valid experiment (2 scenarios, 2 replications each to start; every configuration valid)" in out
    bad = experiment(tmp_path, TWO_SCENARIOS.replace("sv: [southvale]", "sv: [southvail]"), name="bad.yaml")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "southvail" in err and "Traceback" not in err
    typo = experiment(tmp_path, TWO_SCENARIOS.replace("scenarios:", "scenarois:"), name="typo.yaml")
    assert main(["validate", str(typo)]) == 2
    assert "unknown key 'scenarois'; did you mean 'scenarios'?" in capsys.readouterr().err


def test_sweep_command_reports_bad_file_with_exit_2(tmp_path, capsys):
    path = experiment(tmp_path, "replicatons: 3\n")
    assert main(["sweep", str(path), "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'replicatons'" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


# -- running -------------------------------------------------------------------------


def test_a_copied_experiment_not_renamed_does_not_replace_the_originals_results(tmp_path, capsys):
    """Two files, one name: the second sweep would replace the first's tables and report."""
    first = experiment(tmp_path, TWO_SCENARIOS, name="first.yaml")
    copy = experiment(tmp_path, TWO_SCENARIOS.replace("replications: 2", "replications: 3"), name="copy.yaml")
    results = tmp_path / "r"
    assert main(["sweep", str(first), "--results", str(results), "--no-progress"]) == 0
    assert main(["report", str(results / "small")]) == 0
    manifest = (results / "small" / "manifest.json").read_text()
    capsys.readouterr()
    assert main(["sweep", str(copy), "--results", str(results), "--no-progress"]) == 2
    said = (
        f"{results / 'small'}: holds the results of {first}, another experiment named 'small'; sweeping {copy} "
        "there would replace its tables and report (its finished runs are kept). Give this experiment a name of "
        "its own, or --results another folder, or --force to replace them"
    )
    assert capsys.readouterr().err.strip() == said
    assert (results / "small" / "manifest.json").read_text() == manifest  # nothing written
    assert f"note: {said}" in dry_run(copy, results)
    # the same file edited is the same experiment; with --force, the copy's, saying the report is now old
    first.write_text(first.read_text().replace("replications: 2", "replications: 3"))
    assert not any(line.startswith("note:") for line in dry_run(first, results))
    assert main(["sweep", str(copy), "--results", str(results), "--no-progress", "--force"]) == 0
    out = capsys.readouterr().out
    assert f"the report in {results / 'small'}/report/ was written before this sweep: 'handover report " in out
    assert json.loads((results / "small" / "manifest.json").read_text())["experiment_file"] == str(copy)


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    path = experiment(tmp_path, TWO_SCENARIOS)
    assert main(["sweep", str(path), "--dry-run", "--results", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    # a scenario without a description is said by what it does, as the file says it
    assert "  today (baseline): the base configuration\n" in out
    assert (
        "  split: the base configuration with split: {organisation: south_council, into: {sv: [southvale], "
        "ef: [eastfield]}}\n" in out
    )
    assert "runs: 2 configurations x 2 replications = 4" in out
    assert "estimated time" in out
    assert not (tmp_path / "r").exists()


def test_a_scenario_without_a_description_is_said_in_lines_a_reader_can_take_in():
    """ICBs redrawn council by council: each change cut at 160 characters."""
    scenario = Scenario(
        transforms=[{"reorganise": {"organisations": [f"icb_{i}" for i in range(40)], "into": {"x": ["a"]}}}],
        overrides={"run.length_days": 30},
    )
    said = scenario.summary()
    head, _, tail = said.removeprefix("the base configuration with ").partition("; ")
    assert head.startswith("reorganise: {organisations: [icb_0, icb_1,") and head.endswith("...")
    assert len(head) == 160 and tail == "run.length_days: 30"


def test_the_readmes_experiment_is_a_valid_one(tmp_path):
    """The README shows an experiment file: every key of it is one the schema takes,
    and every scenario makes a valid configuration."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    path = tmp_path / "experiments" / "readme.yaml"
    path.parent.mkdir()
    path.write_text(block.replace("../configs/example.yaml", str(EXAMPLE)))
    experiment = load_experiment(path)
    assert experiment.spec.title and set(experiment.spec.scenarios) >= {"today", "places_aligned", "south_split"}
    assert len(experiment.cells) == 4 * 3  # four scenarios at three sweep points


def test_dry_run_opens_with_the_title_then_the_description(tmp_path):
    untitled = dry_run(experiment(tmp_path, "description: A split\n" + TWO_SCENARIOS), tmp_path / "r")
    assert untitled[0] == "experiment small: A split"
    titled = experiment(tmp_path, "title: Southvale and Eastfield\ndescription: A split\n" + TWO_SCENARIOS)
    assert dry_run(titled, tmp_path / "r")[:3] == [
        "experiment small: Southvale and Eastfield",
        "A split",
        f"base configuration: {EXAMPLE}",
    ]


def test_serial_processes_and_dask_give_identical_results(tmp_path):
    from distributed import LocalCluster

    path = experiment(tmp_path, TWO_SCENARIOS)
    serial = run_sweep(path, tmp_path / "serial", workers=1, progress=False)
    procs = run_sweep(path, tmp_path / "procs", workers=2, progress=False)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        dask = run_sweep(path, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)
    assert serial.ran == procs.ran == dask.ran == 4
    assert_same_results(serial.out_dir, procs.out_dir)
    assert_same_results(serial.out_dir, dask.out_dir)
    manifest = (dask.out_dir / "manifest.json").read_text()
    assert "Dask cluster" in manifest
    # workers as Dask starts them: the report says how to start them for sweeps
    assert not serial.notes and not procs.notes
    (note,) = dask.notes
    assert "distributed.worker.profile.enabled" in note and "DASK_CONFIG=" in note
    assert f"note: {note}" in dask.lines()


def test_a_local_worker_that_cannot_hand_its_runs_over_stops_the_sweep(tmp_path):
    """Local workers hand their outcomes over in files in the results folder: where one
    cannot be written (the disk full), the sweep stops, saying so, as it does when this
    process cannot write a run, rather than fail run after run the same way."""
    import sim.runner as runner

    class HerePool:  # runs each task at once, in this process
        def submit(self, fn, *args):
            future = cf.Future()
            try:
                future.set_result(fn(*args))
            except Exception as exc:
                future.set_exception(exc)
            return future

    specs = load_experiment(experiment(tmp_path, TWO_SCENARIOS)).plan(2)
    tasks = [specs[:2], specs[2:]]
    handed = [o for task in runner._as_completed(HerePool(), tasks, handoff=str(tmp_path)) for o in task]
    assert sorted(o.run_id for o in handed) == sorted(s.run_id for s in specs) and not list(tmp_path.glob("*.pickle"))
    with pytest.raises(FileNotFoundError) as raised:
        next(iter(runner._as_completed(HerePool(), tasks, handoff=str(tmp_path / "gone"))))
    assert raised.value.filename.startswith(str(tmp_path / "gone"))


def test_a_finished_tasks_tables_are_let_go_once_handed_on():
    # a sweep's memory must not grow with its runs: once a task's outcomes are handed
    # on (and written), nothing in the executor keeps its future or their tables
    import concurrent.futures as cf
    import gc
    import weakref

    import sim.runner as runner

    class Tables(dict):  # a dict that can be watched by a weak reference
        pass

    made = []

    class DonePool:
        def submit(self, fn, task):
            future = cf.Future()
            tables = Tables(patients=b"x" * 1000)
            made.append((weakref.ref(future), weakref.ref(tables)))
            future.set_result([runner.Outcome(task[0], tables, 1.0)])
            return future

    tasks = [[f"run{i}"] for i in range(4)]
    outcomes = runner._as_completed(DonePool(), tasks)
    first = next(outcomes)
    del first
    second = next(outcomes)
    gc.collect()
    gone = [future() is None and tables() is None for future, tables in made]
    assert sum(gone) == 1  # the first task's, and only it: the others are still to hand on
    assert second[0].run_id in {t[0] for t in tasks}
    outcomes.close()


def test_a_dask_cluster_started_with_the_projects_settings_gets_no_note(tmp_path):
    import dask
    from distributed import LocalCluster

    from sim.runner import dask_settings

    path = experiment(tmp_path, TWO_SCENARIOS)
    with dask.config.set(dask_settings()):
        cluster = LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
    with cluster:
        report = run_sweep(path, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)
    assert report.ran == 4 and report.notes == []


def test_each_run_file_holds_tables_config_seed_and_time(tmp_path):
    path = experiment(tmp_path, TWO_SCENARIOS)
    report = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    run_dirs = list((report.out_dir / "runs").iterdir())
    assert len(run_dirs) == 4
    meta = (run_dirs[0] / "run.json").read_text()
    assert '"seed": 5' in meta and '"config"' in meta and '"wall_seconds"' in meta
    assert (run_dirs[0] / "patients.parquet").is_file()
    runs = pd.read_parquet(report.out_dir / "runs.parquet")
    assert list(runs["scenario"]) == ["today", "today", "split", "split"]
    diffs = pd.read_parquet(report.out_dir / "differences.parquet")
    assert set(diffs["scenario"]) == {"split"} and (diffs["n"] == 2).all()


def test_adding_replications_reuses_finished_runs(tmp_path):
    path = experiment(tmp_path, TWO_SCENARIOS)
    first = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert first.ran == 4 and first.reused == 0
    path.write_text(path.read_text().replace("replications: 2", "replications: 3"))
    second = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert second.reused == 4 and second.ran == 2 and second.planned == 6
    again = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert again.ran == 0 and again.reused == 6


def test_resume_after_sigkill_gives_the_same_results(tmp_path, capsys):
    body = TWO_SCENARIOS.replace("replications: 2", "replications: 4")
    path = experiment(tmp_path, body)
    clean = run_sweep(path, tmp_path / "clean", workers=1, progress=False)
    killed_root = tmp_path / "killed"
    runs_dir = killed_root / "small" / "runs"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "sweep",
            str(path),
            "--workers",
            "1",
            "--no-progress",
            "--results",
            str(killed_root),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = [p for p in runs_dir.glob("*") if not p.name.startswith(".")] if runs_dir.exists() else []
        if len(done) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = len([p for p in runs_dir.glob("*") if not p.name.startswith(".")])
    assert 3 <= finished_before < 8, "the sweep should have been killed part-way"
    # as if killed while writing the next run, after its run.json and before renaming its
    # folder (the sweep fsyncs its files in between): not a finished run, and removed
    unfinished = next(d for d in (clean.out_dir / "runs").iterdir() if not (runs_dir / d.name).exists())
    shutil.copytree(unfinished, runs_dir / f".tmp-{unfinished.name}-deadbeef")
    for command in ("compare", "report"):  # what to do is said, not 'run handover sweep first'
        assert main([command, str(killed_root / "small")]) == 2
        assert f"its sweep stopped before it finished ({finished_before} runs done, no " in capsys.readouterr().err
    resumed = run_sweep(path, killed_root, workers=1, progress=False)
    assert resumed.reused == finished_before and resumed.ran == 8 - finished_before
    assert not list(runs_dir.glob(".tmp-*"))
    assert_same_results(clean.out_dir, resumed.out_dir)


def _parent(pid: int) -> int | None:
    """The parent of process ``pid`` (from /proc); None if it has ended."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _descendants(pid: int) -> set[int]:
    """The processes started, directly or not, by process ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        ppid = _parent(int(stat.parent.name))
        if ppid is not None:  # None: ended while being read
            children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _running(pids: set[int]) -> set[int]:
    def state(pid: int) -> str:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return "gone"

    return {pid for pid in pids if state(pid) not in ("gone", "Z")}  # a zombie has ended


def _sweep_on_two_workers(path: Path, results: Path, stdout: int) -> subprocess.Popen[str]:
    """``handover sweep`` of experiment ``path`` on two local workers, in a process of its
    own, once its first run is written to ``results``."""
    args = ["sweep", str(path), "--workers", "2", "--no-progress", "--results", str(results)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *args], cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE, text=True
    )
    runs_dir = results / "small" / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (runs_dir.is_dir() and any(runs_dir.glob("[!.]*"))):
        time.sleep(0.02)
    return proc


def _workers(proc: subprocess.Popen[str]) -> set[int]:
    """The worker processes of the sweep ``proc``: forked from the fork server it started."""
    workers = {p for p in _running(_descendants(proc.pid)) if _parent(p) != proc.pid}
    assert proc.poll() is None and workers, "the sweep should be running its workers"
    return workers


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the processes from /proc (Linux)")
def test_the_runs_of_a_worker_that_dies_are_started_again(tmp_path):
    """A local worker that died (killed by hand or by the out-of-memory killer) broke
    the pool, and every run not finished failed with BrokenProcessPool: 46 of 60 in a
    sweep of Lancashire, though most had not begun.  They are now started again in new
    workers (as Dask does), with the same results, and the sweep says a worker died."""
    path = experiment(tmp_path, "replications: 16\n", run="run: {length_days: 365, warmup_days: 60}\n")
    clean = run_sweep(path, tmp_path / "clean", workers=1, progress=False)
    runs_dir = tmp_path / "r" / "small" / "runs"
    proc = _sweep_on_two_workers(path, tmp_path / "r", subprocess.PIPE)
    workers = _workers(proc)
    os.kill(min(workers), signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert ", 0 failed" in out and "note: a worker process died (once: killed, or out of memory)" in out
    assert len([p for p in runs_dir.iterdir() if not p.name.startswith(".")]) == 16
    assert not list(runs_dir.glob(".tmp-*")), "the workers' outcomes are handed over in files, which should go"
    assert_same_results(clean.out_dir, tmp_path / "r" / "small")


@pytest.mark.skipif(not Path("/proc/self/wchan").is_file(), reason="reads what processes wait on from /proc (Linux)")
def test_a_worker_killed_while_sending_its_runs_back_does_not_hang_the_sweep(tmp_path):
    """A worker killed while sending its runs' tables through the pool's pipe (many
    writes) left a message cut short, which the pool waited for the rest of for ever:
    the sweep hung (as the test above did, now and then).  Here the sweep is paused until a
    worker is caught writing to its pipe, then that worker is killed.  A local worker
    now leaves its outcomes in a file and sends back only its name, in one write,
    delivered whole or not at all, so none is caught, and the sweep finishes."""

    def waits_on(pid: int) -> str:
        try:
            return Path(f"/proc/{pid}/wchan").read_text()
        except OSError:
            return "gone"

    path = experiment(tmp_path, "replications: 16\n", run="run: {length_days: 365, warmup_days: 60}\n")
    proc = _sweep_on_two_workers(path, tmp_path / "r", subprocess.PIPE)
    workers = _workers(proc)
    os.kill(proc.pid, signal.SIGSTOP)  # reads nothing from the pipe: a worker sending a lot waits, writing
    try:
        deadline, writing = time.monotonic() + 3, []
        while time.monotonic() < deadline and not writing:
            writing = [p for p in workers if waits_on(p).endswith("pipe_write")]
            time.sleep(0.005)
        os.kill(min(writing or workers), signal.SIGKILL)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the sweep hung after its worker was killed" + (" while writing" if writing else ""))
    assert proc.returncode == 0 and ", 0 failed" in out, out + err
    assert not writing, "a worker was caught sending its runs back, which took more than one write"
    assert len(list((tmp_path / "r" / "small" / "runs").glob("[!.]*"))) == 16


def test_runs_a_dying_worker_stops_again_and_again_are_left_as_failed(monkeypatch, tmp_path):
    """A run that kills its worker each time (out of memory) does not start new pools
    for ever: after ``WORKER_DEATHS`` new ones, the runs still to do fail, saying why,
    and the sweep's note counts the deaths."""
    pools = []

    class DyingPool:  # every worker dies at once
        def __init__(self, **kwargs):
            self._broken = False
            pools.append(self)

        def submit(self, fn, *args):
            self._broken = True
            future = cf.Future()
            future.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
            return future

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    monkeypatch.setattr(sim.runner.cf, "ProcessPoolExecutor", DyingPool)
    specs = load_experiment(experiment(tmp_path, TWO_SCENARIOS)).plan(2)
    executor = Executor(workers=2)
    outcomes = [o for task in executor.map([specs[:2], specs[2:]]) for o in task]
    assert len(pools) == WORKER_DEATHS + 1 and executor.worker_deaths == WORKER_DEATHS + 1
    assert sorted(o.run_id for o in outcomes) == sorted(s.run_id for s in specs)
    assert all(
        o.tables is None and o.error.startswith("its worker process died (killed, or out of memory) 4 times")
        for o in outcomes
    )
    assert worker_deaths_note(4).startswith("a worker process died (4 times: killed, or out of memory)")
    assert worker_deaths_note(1) == (
        "a worker process died (once: killed, or out of memory); the runs under way or waiting then were started "
        "again in new workers, up to 3 times in a row"
    )


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the processes from /proc (Linux)")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill -9", "kill"])
def test_killing_a_parallel_sweep_ends_its_workers(tmp_path, how):
    """A sweep killed without cleaning up (kill -9, the out-of-memory killer) leaves no
    worker behind, running or blocked for ever holding its memory.  A plain kill (a
    batch system's time limit) ends it at once too, and says that what finished is kept."""
    path = experiment(tmp_path, TWO_SCENARIOS.replace("replications: 2", "replications: 40"))
    proc = _sweep_on_two_workers(path, tmp_path / "r", subprocess.DEVNULL)
    started = _descendants(proc.pid)  # the two workers, the fork server they come from, its resource tracker
    assert proc.poll() is None and len(_running(started)) >= 3, "the sweep should be running its workers"
    os.kill(proc.pid, how)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -how
    deadline = time.monotonic() + 60
    while _running(started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(started), "processes left running after the sweep was killed"
    said = "stopped (SIGTERM): the runs that finished are kept; the same command again does the rest\n"
    assert (said in err) == (how == signal.SIGTERM)
    kept = {d.name for d in (tmp_path / "r" / "small" / "runs").glob("[!.]*")}
    resumed = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert resumed.reused == len(kept) > 0 and resumed.ran == 80 - len(kept)
    assert not list((tmp_path / "r" / "small" / "runs").glob(".*")), "what the killed sweep left half-done goes"


def test_a_second_sweep_into_the_same_folder_at_once_is_refused(tmp_path, capsys):
    from sim.runner import Store

    path = experiment(tmp_path, TWO_SCENARIOS)
    args = ["sweep", str(path), "--workers", "1", "--no-progress", "--results", str(tmp_path / "r")]
    first = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    tables = {p: p.read_bytes() for p in first.out_dir.glob("[!.]*.*")}
    with Store(first.out_dir).held():  # as a sweep running there now
        assert main(args) == 1
        assert capsys.readouterr().err == (
            f"{first.out_dir}: another sweep is writing here now (process {os.getpid()}); "
            "wait for it to finish, or stop it, then run this again\n"
        )
    assert {p: p.read_bytes() for p in first.out_dir.glob("[!.]*.*")} == tables  # nothing touched
    assert main(args) == 0  # once it has finished
    assert "4 runs planned, 4 reused" in capsys.readouterr().out


def test_a_results_folder_that_cannot_be_written_is_an_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    import errno

    from sim.runner import Store

    path = experiment(tmp_path, TWO_SCENARIOS)
    (tmp_path / "a-file").write_text("")
    args = ["sweep", str(path), "--workers", "1", "--no-progress", "--results"]
    assert main([*args, str(tmp_path / "a-file")]) == 1
    assert capsys.readouterr().err.startswith(f"{tmp_path / 'a-file'}: a file is where a folder is needed; ")

    # a disk that fills during a write: Python's error names no file, so the folder is named
    real, written = Store._write_run_files, []

    def disk_full_after_two(tmp, spec, outcome):
        if len(written) == 2:
            (tmp / "patients.parquet").write_bytes(b"PAR1 cut short")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(tmp, spec, outcome)
        written.append(spec.run_id)

    monkeypatch.setattr(Store, "_write_run_files", staticmethod(disk_full_after_two))
    assert main([*args, str(tmp_path / "r")]) == 1
    assert capsys.readouterr().err == (
        f"{tmp_path / 'r'}: No space left on device; any runs that finished are kept, and once this is put right "
        "the same command again does the rest\n"
    )
    runs = tmp_path / "r" / "small" / "runs"
    assert sorted(p.name for p in runs.iterdir()) == sorted(written)  # the run cut short is gone, room and all
    monkeypatch.setattr(Store, "_write_run_files", staticmethod(real))
    assert main([*args, str(tmp_path / "r")]) == 0
    assert "4 runs planned, 2 reused, 2 run now" in capsys.readouterr().out


def test_an_interrupted_sweep_says_its_finished_runs_are_kept(tmp_path, monkeypatch, capsys):
    import sim.sweep

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.sweep, "run_sweep", interrupted)
    assert main(["sweep", str(experiment(tmp_path, TWO_SCENARIOS)), "--no-progress"]) == 130
    assert "the runs that finished are kept; the same command again does the rest" in capsys.readouterr().err


def test_ctrl_c_ends_the_progress_bars_line_before_saying_what_is_kept(tmp_path, monkeypatch, capsys):
    import sim.sweep

    real = sim.sweep.execute

    def interrupted_after_one(todo, store, executor, on_run):
        def once(spec, outcome):
            on_run(spec, outcome)
            raise KeyboardInterrupt

        return real(todo, store, executor, on_run=once)

    monkeypatch.setattr(sim.sweep, "execute", interrupted_after_one)
    path = experiment(tmp_path, TWO_SCENARIOS)
    assert main(["sweep", str(path), "--results", str(tmp_path / "r"), "--workers", "1"]) == 130
    err = capsys.readouterr().err
    bar, said = err.rsplit("\n", 2)[:2]  # the bar's last state on a line of its own, then what is kept
    assert "1/4" in bar.split("\r")[-1]
    assert said == "interrupted: the runs that finished are kept; the same command again does the rest"


def test_a_scheduler_that_is_not_there_is_an_error_not_a_traceback(tmp_path, capsys):
    path = experiment(tmp_path, TWO_SCENARIOS)
    args = ["sweep", str(path), "--scheduler", "nowhere://x", "--results", str(tmp_path / "r"), "--no-progress"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("nowhere://x: no Dask scheduler answered (unknown address scheme 'nowhere'")
    assert "Traceback" not in err


def test_failing_run_is_recorded_and_the_rest_complete(tmp_path, monkeypatch, capsys):
    path = experiment(tmp_path, TWO_SCENARIOS)
    real = sim.simulate

    def flaky(config, seed=0, replication=0):
        if "sv" in config.organisations and replication == 1:
            raise RuntimeError("a deliberately broken run")
        return real(config, seed=seed, replication=replication)

    monkeypatch.setattr(sim, "simulate", flaky)
    code = main(["sweep", str(path), "--workers", "1", "--no-progress", "--results", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 1
    assert "1 failed" in out and "a deliberately broken run" in out and "--retry-failed" in out
    root = tmp_path / "r" / "small"
    failures = pd.read_parquet(root / "failures.parquet")
    assert len(failures) == 1 and "RuntimeError" in failures["traceback"].iloc[0]
    assert len(pd.read_parquet(root / "runs.parquet")) == 3
    # a plain re-run does not retry it; --retry-failed runs only it
    assert main(["sweep", str(path), "--workers", "1", "--no-progress", "--results", str(tmp_path / "r")]) == 1
    monkeypatch.setattr(sim, "simulate", real)
    report = run_sweep(path, tmp_path / "r", workers=1, retry_failed=True, progress=False)
    assert report.ran == 1 and not report.failed
    assert len(pd.read_parquet(root / "runs.parquet")) == 4
    assert pd.read_parquet(root / "failures.parquet").empty


def test_failed_runs_are_named_in_compare_and_the_report_and_a_baseline_without_runs_is_said(
    tmp_path, monkeypatch, capsys
):
    """Every run of one scenario failed: `compare` said nothing of it (the scenario was
    simply not there), and, where it was the baseline, the report failed with an
    IndexError.  Both now say which runs failed and what to do."""
    path = experiment(tmp_path, TWO_SCENARIOS)
    real = sim.simulate

    def broken(split: bool):
        def simulate(config, seed=0, replication=0):
            if ("sv" in config.organisations) == split:
                raise RuntimeError("a deliberately broken run")
            return real(config, seed=seed, replication=replication)

        return simulate

    for split, missing in ((True, "split"), (False, "today")):
        results = tmp_path / missing
        monkeypatch.setattr(sim, "simulate", broken(split))
        assert run_sweep(path, results, workers=1, progress=False).failed
        root = results / "small"
        lines = compare_lines(root)
        assert lines[2].startswith("2 runs failed and are left out of what follows; failures.csv has the errors")
        assert f"  {missing}: 2 of 2 failed, so it has no results" in lines
        assert main(["report", str(root)]) == (0 if split else 2)
        said = capsys.readouterr()
        if split:
            card = (root / "report" / "index.html").read_text()
            assert "2 runs failed and are left out (split: 2 of 2); failures.csv has the errors" in card
        else:
            assert "baseline: today has no finished run, so no change from it can be given" in lines
            assert "the baseline, today, has no finished run" in said.err and "--retry-failed" in said.err


def test_a_sweep_whose_every_run_failed_says_so_in_sweep_compare_and_report(tmp_path, monkeypatch, capsys):
    """Every run failed (as when every worker of a cluster is at another version of the
    model): the sweep ended in a KeyError, with no tables written.  Now it writes them,
    and `compare` and `report` say every run failed and what to do."""
    path = experiment(tmp_path, TWO_SCENARIOS)

    def broken(config, seed=0, replication=0):
        raise RuntimeError("a deliberately broken run")

    monkeypatch.setattr(sim, "simulate", broken)
    args = ["sweep", str(path), "--workers", "1", "--no-progress", "--results", str(tmp_path / "r")]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "4 failed" in out and "--retry-failed" in out
    root = tmp_path / "r" / "small"
    assert pd.read_parquet(root / "runs.parquet").empty
    assert len(pd.read_parquet(root / "failures.parquet")) == 4
    said = f"{root}: every run failed (4 of 4: RuntimeError: a deliberately broken run); failures.csv has the errors"
    assert compare_lines(root)[0].startswith(said)
    assert main(["report", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(said) and "--retry-failed" in err and "Traceback" not in err
    # the runs, once they work, are all run again and reported
    monkeypatch.undo()
    assert main([*args, "--retry-failed"]) == 0
    assert len(pd.read_parquet(root / "runs.parquet")) == 4
    assert main(["report", str(root)]) == 0


def test_a_failed_run_two_scenarios_share_is_a_failed_run_of_each(tmp_path, monkeypatch):
    """Two scenarios with the same configuration share their runs.  Where one of those
    failed, it was put down to the last scenario only: `compare` said the baseline had
    every run, while it had one fewer."""
    path = experiment(
        tmp_path,
        "replications: 3\nscenarios:\n  today: {baseline: true}\n  same: {overrides: {run.warmup_days: 10}}\n",
    )
    real = sim.simulate

    def flaky(config, seed=0, replication=0):
        if replication == 1:
            raise RuntimeError("a deliberately broken run")
        return real(config, seed=seed, replication=replication)

    monkeypatch.setattr(sim, "simulate", flaky)
    report = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    lines = report.lines()
    assert lines[0].startswith("small: 3 runs planned, 0 reused, 3 run now, 1 failed")
    assert "  failed: today and same point 0 replication 1: RuntimeError: a deliberately broken run" in lines
    failures = pd.read_parquet(report.out_dir / "failures.parquet")
    assert sorted(failures["scenario"]) == ["same", "today"] and set(failures["replication"]) == {1}
    compared = compare_lines(report.out_dir)
    assert compared[2].startswith("1 run failed and is left out of what follows")
    assert "  today: 1 of 3 failed" in compared and "  same: 1 of 3 failed" in compared
    from sim.report import write_report

    page = Path(write_report(report.out_dir)).read_text()
    assert "1 run failed and is left out (today: 1 of 3, same: 1 of 3)" in page


def test_a_council_a_scenario_leaves_in_pieces_is_named_with_its_pieces(tmp_path, capsys):
    """A unitary of Lancaster with West Lancashire, Preston between them, is in two pieces
    on England's map: validate and the sweep say so, naming them; councils as they are,
    and the flagship's unitaries, are each one piece."""
    path = tmp_path / "pieces.yaml"
    path.write_text(
        f"name: pieces\nbase: {ROOT / 'configs' / 'lancashire-south-cumbria.yaml'}\nreplications: 2\n"
        "scenarios:\n  today: {baseline: true}\n  apart:\n    transforms:\n      - reorganise:\n"
        "          organisations: [lancashire_council]\n          by: housing\n          into:\n"
        "            north: [lancaster_district, west_lancashire_district]\n"
        "            rest: [preston_district, south_ribble_district, chorley_district, wyre_district, fylde_district,"
        " burnley_district, hyndburn_district, pendle_district, ribble_valley_district, rossendale_district]\n"
        "          names: {north: North Lancashire}\n"
    )
    said = (
        "scenario apart: North Lancashire is in 2 pieces that do not touch (Lancaster; West Lancashire), so its "
        "staff would cover areas with another council between them; check the districts given to it"
    )
    assert load_experiment(path).notes() == [said]
    assert main(["validate", str(path)]) == 0
    assert f"note: {said}" in capsys.readouterr().out
    assert f"note: {said}" in dry_run(path, tmp_path / "r")
    assert load_experiment(ROOT / "experiments" / "lancashire-south-cumbria.yaml").notes() == []


def test_a_scenario_with_other_patients_is_told_apart_wherever_changes_are_read(tmp_path):
    """More demand is not a boundary change: its 'change' compares different patients."""
    path = experiment(
        tmp_path,
        "replications: 2\nscenarios:\n  today: {baseline: true}\n  busier:\n"
        "    overrides: {demand.per_1000_per_year: 25}\n"
        "  split:\n    transforms: [{split: {organisation: south_council, into: {sv: [southvale], ef: [eastfield]}}}]\n",
    )
    said = (
        "scenario busier models other patients than today, the baseline (their zones, demand, case mix, stays or "
        "longest pathway differ): a change from today is then between different patients, not the same ones under "
        "other boundaries"
    )
    assert load_experiment(path).notes() == [said]
    report = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert f"note: {said}" in report.lines()
    compared = compare_lines(report.out_dir)
    assert "baseline: today; 'change' is the paired difference from it (same patients, but for busier: see below)" in (
        compared
    )
    assert said in " ".join(" ".join(compared).split())
    from sim.report import write_report

    page = Path(write_report(report.out_dir)).read_text()
    assert f"<strong>But:</strong> S{said[1:]}." in page


def test_automatic_replications_stop_when_precise_enough(tmp_path):
    loose = experiment(
        tmp_path,
        """\
replications: {metrics: [handovers_per_discharge], half_width_pct: 50, min: 3, max: 9, step: 2}
""",
        name="loose.yaml",
        exp_name="loose",
    )
    report = run_sweep(loose, tmp_path / "r", workers=1, progress=False)
    assert report.planned == 3  # already within 50% after the minimum
    assert not any("wider than asked" in line for line in report.lines() + compare_lines(report.out_dir))
    strict = experiment(
        tmp_path,
        """\
replications: {metrics: [delayed_days_per_discharge], half_width_pct: 0.01, min: 3, max: 7, step: 2}
""",
        name="strict.yaml",
        exp_name="strict",
    )
    report = run_sweep(strict, tmp_path / "r", workers=1, progress=False)
    assert report.planned == 7  # never precise enough: stops at the cap
    summary = pd.read_parquet(report.out_dir / "scenario_summary.parquet")
    assert (summary["n"] == 7).all()
    # and says so, with how far short, wherever the intervals are read
    runs = pd.read_parquet(report.out_dir / "runs.parquet")
    reached = (
        100
        * summary.set_index("metric").loc["delayed_days_per_discharge", "half_width"]
        / abs(summary.set_index("metric").loc["delayed_days_per_discharge", "mean"])
    )
    said = (
        "automatic replications stopped at their max of 7 with the 95% CI half-width above 0.01% of the mean: "
        f"delayed_days_per_discharge in baseline ({reached:.1f}%). Those intervals are wider than asked"
    )
    assert len(runs) == 7 and reached > 0.01
    assert any(line.startswith(f"note: {said}") for line in report.lines())
    assert said in " ".join(" ".join(compare_lines(report.out_dir)).split())
    from sim.report import write_report

    page = Path(write_report(report.out_dir)).read_text()
    assert f"Precision:</strong> A{said[1:]}" in page and f"The {said}" in page  # headline and model card


def test_a_sweep_point_short_of_the_precision_asked_is_named_by_its_factors():
    from sim.sweep import precision_shortfall

    runs = pd.DataFrame(
        {
            "scenario": ["a"] * 8,
            "point": [0] * 4 + [1] * 4,
            "handovers.failure.base": [0.1] * 4 + [0.2] * 4,
            "replication": [0, 1, 2, 3] * 2,
            "delayed_days_per_discharge": [1, 2, 3, 4, 1, 1, 1, 1.01],  # 82% and 0.8% half-widths
        }
    )
    asked = {"metrics": ["delayed_days_per_discharge"], "half_width_pct": 5, "min": 2, "max": 4, "step": 1}
    assert precision_shortfall(runs, asked) == (
        "automatic replications stopped at their max of 4 with the 95% CI half-width above 5% of the mean: "
        "delayed_days_per_discharge in a at handovers.failure.base = 0.1 (82.2%). Those intervals are wider than "
        "asked: raise max to narrow them"
    )
    assert precision_shortfall(runs, {**asked, "max": 5}) is None  # not at max: still to run
    assert precision_shortfall(runs, 10) is None  # a fixed number of replications


def test_a_configuration_that_stopped_at_max_with_a_failed_run_is_still_short_of_the_precision_asked():
    """A failed run is not run again: its configuration stops at max with one finished run fewer."""
    from sim.sweep import precision_shortfall

    runs = pd.DataFrame(
        {"scenario": ["a"] * 3, "point": [0] * 3, "replication": [0, 1, 3], "delayed_days_per_discharge": [1, 2, 3]}
    )
    failures = pd.DataFrame({"run_id": ["r2"], "scenario": ["a"], "point": [0], "replication": [2]})
    asked = {"metrics": ["delayed_days_per_discharge"], "half_width_pct": 5, "min": 2, "max": 4, "step": 1}
    said = precision_shortfall(runs, asked, failures)
    assert said is not None and said.startswith("automatic replications stopped at their max of 4")
    assert "delayed_days_per_discharge in a (124.2%)" in said
    assert precision_shortfall(runs, asked, failures[:0]) is None  # three finished of four: still to run
    elsewhere = failures.assign(scenario="b")
    assert precision_shortfall(runs, asked, elsewhere) is None


def test_automatic_replications_on_processes_keep_one_pool_and_match_serial(tmp_path, monkeypatch):
    import concurrent.futures as cf

    import sim.runner

    pools = []

    class Counted(cf.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(kwargs.get("mp_context"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(sim.runner.cf, "ProcessPoolExecutor", Counted)
    strict = experiment(
        tmp_path,
        """\
replications: {metrics: [delayed_days_per_discharge], half_width_pct: 0.01, min: 2, max: 4, step: 1}
""",
        name="strict.yaml",
        exp_name="strict",
    )
    serial = run_sweep(strict, tmp_path / "serial", workers=1, progress=False)
    procs = run_sweep(strict, tmp_path / "procs", workers=2, progress=False)
    assert serial.planned == procs.planned == 4  # three rounds: 2, 3, then 4 replications
    assert len(pools) == 1  # one pool of workers for all three rounds
    if "forkserver" in __import__("multiprocessing").get_all_start_methods():
        assert pools[0].get_start_method() == "forkserver"
    assert_same_results(serial.out_dir, procs.out_dir)


def test_a_pool_broken_by_a_dead_worker_is_replaced_for_the_next_round(tmp_path):
    import concurrent.futures as cf

    from sim.runner import Executor, batches

    plan = load_experiment(experiment(tmp_path, TWO_SCENARIOS)).plan(1)
    with Executor(workers=2) as executor:
        dead = executor._pool.submit(os._exit, 1)  # a worker killed mid-sweep
        with pytest.raises(cf.process.BrokenProcessPool):
            dead.result()
        outcomes = [o for batch in executor.map(batches(plan, 2)) for o in batch]
    assert sorted(o.run_id for o in outcomes) == sorted(s.run_id for s in plan)
    assert all(o.tables is not None for o in outcomes)


LATIN_HYPERCUBE = """\
replications: 1
sweep:
  method: latin_hypercube
  points: {points}
  factors:
    handovers.failure.base: {{low: 0.0, high: 0.5}}
    fte_hours_per_week: {{low: 30, high: 40}}
"""  # two factors: one drives failed handovers, the other coordination FTE


def test_latin_hypercube_sensitivity_ranks_the_driving_factor_first(tmp_path):
    path = experiment(tmp_path, LATIN_HYPERCUBE.format(points=12))
    report = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    sens = pd.read_parquet(report.out_dir / "sensitivity.parquet")
    row = sens[(sens["metric"] == "failed_handovers_per_100") & (sens["rank"] == 1)].iloc[0]
    assert row["factor"] == "handovers.failure.base" and row["prcc"] > 0.9
    fte = sens[(sens["metric"] == "coordination_fte") & (sens["rank"] == 1)].iloc[0]
    assert fte["factor"] == "fte_hours_per_week" and fte["prcc"] < -0.9
    assert "replications: 1 of each configuration at each of its 12 sweep points" in "\n".join(
        compare_lines(report.out_dir)
    )
    # neither factor touches how often partners meet
    assert sens[sens["metric"] == "meetings_per_week"]["prcc"].isna().all()
    assert "meetings_per_week: no variation over the sweep" in "\n".join(compare_lines(report.out_dir))


def test_a_latin_hypercube_too_small_to_rank_its_factors_says_so_before_and_after(tmp_path, capsys):
    from sim.report import write_report

    path = experiment(tmp_path, LATIN_HYPERCUBE.format(points=4))
    note = (
        "note: a Latin hypercube of 4 points cannot rank 2 factors: a partial rank correlation needs at least "
        "5 points (2 factors + 3)"
    )
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith(note)
    assert dry_run(path, tmp_path / "r")[-1].startswith(note)
    report = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert any(line.startswith(note) for line in report.lines())
    assert pd.read_parquet(report.out_dir / "sensitivity.parquet").empty
    page = write_report(report.out_dir).read_text()
    assert "No sensitivity ranking: a partial rank correlation of 2 factors needs at least 5 points" in page
    assert 'id="fig-sensitivity"' not in page

    # one point more: ranked, and no such note or paragraph
    path.write_text(path.read_text().replace("points: 4", "points: 5"))
    assert main(["validate", str(path)]) == 0
    assert "note:" not in capsys.readouterr().out
    report = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert not any("cannot rank" in line for line in report.lines())
    page = write_report(report.out_dir).read_text()
    assert 'id="fig-sensitivity"' in page and "No sensitivity ranking" not in page
    assert "over the 5 points of the Latin hypercube" in page


def test_a_factor_of_the_configurations_top_level_is_shown_as_every_other(tmp_path):
    from sim.report import write_report

    path = experiment(tmp_path, "replications: 1\nsweep: {method: grid, factors: {fte_hours_per_week: [30, 40]}}\n")
    report = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    lines = compare_lines(report.out_dir)
    assert "sweep point fte_hours_per_week = 30" in lines and "sweep point fte_hours_per_week = 40" in lines
    page = write_report(report.out_dir).read_text()
    assert "At the first point of the sweep (fte_hours_per_week = 30)" in page
    assert 'id="fig-sweep"' in page
    assert 'id="fig-sweep_changes"' not in page  # the baseline alone: no change to show


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(5, 40))
def test_prcc_of_one_factor_is_spearmans_rho_with_its_p_value(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1))
    y = x[:, 0] + rng.normal(0, 0.5, n)
    coef, p = prcc(x, y)
    rho, p_rho = stats.spearmanr(x[:, 0], y)
    assert coef[0] == pytest.approx(rho, abs=1e-9)
    assert p[0] == pytest.approx(p_rho, rel=1e-6, abs=1e-12)


def test_prcc_of_a_metric_that_follows_a_factor_exactly_is_one_and_certain():
    x = np.random.default_rng(5).random((12, 2))
    coef, p = prcc(x, np.exp(x[:, 0]))  # any increasing function of the first factor
    assert coef[0] == pytest.approx(1.0) and p[0] == 0.0
    assert abs(coef[1]) < 0.5 and p[1] > 0.05


def test_prcc_of_a_metric_that_does_not_vary_is_undefined_not_rounding():
    x = np.random.default_rng(6).random((12, 2))
    flat = 3.5 + np.random.default_rng(7).normal(0, 1e-15, 12)  # differs only in its last digits
    coef, p = prcc(x, flat)
    assert np.isnan(coef).all() and np.isnan(p).all()


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 30), shift=st.floats(-2, 2))
def test_paired_p_value_is_student_s_and_below_0_05_just_where_the_interval_misses_0(seed, n, shift):
    d = pd.Series(np.random.default_rng(seed).normal(shift, 1, n))
    ci = mean_ci(d)
    p = paired_p_value(ci["mean"], ci["sd"], n)
    assert p == pytest.approx(stats.ttest_1samp(d, 0).pvalue, rel=1e-9, abs=1e-300)
    if abs(p - 0.05) > 1e-9:  # the interval inverts the test
        assert (p < 0.05) == (ci["ci_low"] > 0 or ci["ci_high"] < 0)


def test_paired_p_value_of_differences_all_alike_or_too_few():
    assert paired_p_value(0.5, 0.0, 5) == 0.0 and paired_p_value(0.0, 0.0, 5) == 1.0
    assert math.isnan(paired_p_value(0.5, math.nan, 1))


@given(
    seed=st.integers(0, 2**32 - 1),
    days=st.integers(20, 400),
    ramp=st.integers(0, 200),
    level=st.floats(1, 20_000),
)
def test_mser_truncation_is_white_s_rule_over_the_first_half(seed, days, ramp, level):
    """MSER-5 as White (1997) defines it, written out: of the means of 5 days at a time,
    the number to leave out that minimises the squared deviations of the rest over the
    square of how many are left, looking no further than half of them; at any level
    (England awaits about 13,000 a day)."""
    rng = np.random.default_rng(seed)
    y = level * np.minimum(np.arange(days) / max(ramp, 1), 1) + rng.normal(0, level / 20, days)
    batches = y[: days // 5 * 5].reshape(-1, 5).mean(axis=1)
    n = len(batches)
    mser = [((batches[d:] - batches[d:].mean()) ** 2).sum() / (n - d) ** 2 for d in range(n // 2 + 1)]
    assert mser_truncation(y) == 5 * int(np.argmin(mser))


def test_mser_truncation_finds_where_a_start_from_empty_ends():
    rng = np.random.default_rng(11)
    days = np.arange(365)
    y = 100 * np.minimum(days / 60, 1) + rng.normal(0, 3, 365)  # filling for 60 days, then steady
    assert 55 <= mser_truncation(y) <= 75
    assert mser_truncation(100 + rng.normal(0, 3, 365)) <= 30  # steady from the start
    assert mser_truncation(y[:19]) is None and mser_truncation(y[:20]) is not None  # four batches at least


def test_compare_prints_a_table_a_planner_can_read(tmp_path, capsys):
    path = experiment(tmp_path, TWO_SCENARIOS)
    report = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert main(["compare", str(report.out_dir)]) == 0
    out = capsys.readouterr().out
    assert "today (baseline)" in out and "Delayed days per discharge" in out and "change" in out
    assert "replications: 2 of each configuration\n" in out
    assert "run length" not in out  # said only where scenarios differ in it
    assert main(["compare", str(tmp_path / "nothing")]) == 2
    assert "nothing: no such folder; 'handover sweep' writes each" in capsys.readouterr().err
    # the folder given to --results (or `results`) holds each sweep's in a folder of its own
    for command in ("compare", "report"):
        assert main([command, str(tmp_path / "r")]) == 2
        assert f"give that folder ({report.out_dir})" in capsys.readouterr().err
        assert main([command, str(path)]) == 2  # the experiment file, not its results
        assert f"{path}: a file, not a sweep's results folder" in capsys.readouterr().err


def test_small_runs_are_batched_and_large_ones_are_not(tmp_path):
    from sim.runner import batches

    tiny = load_experiment(experiment(tmp_path, "replications: 40\n")).plan(40)
    grouped = batches(tiny, workers=2)
    assert sum(len(b) for b in grouped) == 40
    assert len(grouped) < 40 and len(grouped) >= 4  # fewer tasks, still enough to share out
    big = experiment(tmp_path, "replications: 6\n", name="big.yaml", run="run: {length_days: 3650, warmup_days: 10}\n")
    assert all(len(b) == 1 for b in batches(load_experiment(big).plan(6), workers=2))


def test_manifest_records_provenance(tmp_path):
    import json

    path = experiment(tmp_path, TWO_SCENARIOS)
    report = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    m = json.loads((report.out_dir / "manifest.json").read_text())
    assert m["experiment_text"] == path.read_text()
    assert m["resolved"]["seed"] == 5 and m["baseline"] == "today"
    assert {c["scenario"] for c in m["cells"]} == {"today", "split"}
    assert all(len(c["config_hash"]) == 64 for c in m["cells"])
    assert m["versions"]["simpy"] and m["python"] and m["machine"]["cpus"]
    assert m["runs_finished"] == 4 and m["timings"]["run_seconds_total"] > 0


def test_runs_an_edited_experiment_no_longer_uses_are_kept_and_reported(tmp_path):
    path = experiment(tmp_path, TWO_SCENARIOS)
    run_sweep(path, tmp_path / "r", workers=1, progress=False)
    path.write_text(path.read_text().replace("replications: 2", "replications: 1"))
    report = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert report.unused == 2 and report.ran == 0
    said = [line for line in report.lines() if "no longer match this experiment" in line]
    assert len(said) == 1 and re.search(r"kept there \([0-9.]+ [KM]B; --remove-unused deletes them\)", said[0])
    assert len(list((report.out_dir / "runs").iterdir())) == 4  # nothing deleted
    assert len(pd.read_parquet(report.out_dir / "runs.parquet")) == 2


def test_runs_an_experiment_no_longer_asks_for_are_removed_only_when_asked(tmp_path, capsys):
    """A study rerun under a new version of the model, or edited, leaves its earlier
    runs in runs/ (all England's are 120 MB each): --remove-unused deletes those, and
    only those; the dry run says how many there are and their size."""
    path = experiment(tmp_path, TWO_SCENARIOS)
    results = tmp_path / "r"
    first = run_sweep(path, results, workers=1, progress=False)
    runs = first.out_dir / "runs"
    path.write_text(path.read_text().replace("replications: 2", "replications: 1"))
    kept = {s.run_id for s in load_experiment(path).plan(1)}
    assert main(["sweep", str(path), "--results", str(results), "--dry-run"]) == 0
    assert re.search(
        rf"earlier runs in {re.escape(str(runs))} that this experiment does not ask for: 2 \([0-9.]+ [KM]B\), "
        "kept unless you add --remove-unused",
        capsys.readouterr().out,
    )
    assert {d.name for d in runs.iterdir()} > kept  # a dry run removes nothing
    args = ["sweep", str(path), "--results", str(results), "--workers", "1", "--no-progress", "--remove-unused"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(
        r"2 earlier run\(s\) in runs/ that this experiment no longer asks for removed \([0-9.]+ [KM]B\)", out
    )
    assert {d.name for d in runs.iterdir()} == kept
    assert len(pd.read_parquet(first.out_dir / "runs.parquet")) == 2
    again = run_sweep(path, results, workers=1, progress=False, remove_unused=True)  # nothing more to remove
    assert (again.ran, again.unused, again.removed) == (0, 0, False)
    assert not any("earlier run" in line for line in again.lines())
    # a sweep killed while removing leaves a folder on its way out: the next clears it
    one = sorted(kept)[0]
    (runs / one).rename(runs / f".removing-{one}")
    assert run_sweep(path, results, workers=1, progress=False).ran == 1  # it was gone: run again
    assert {d.name for d in runs.iterdir()} == kept


def test_compare_names_run_lengths_only_where_scenarios_differ_in_them():
    from sim.sweep import run_length_lines

    def runs(*rows):
        return pd.DataFrame(rows, columns=["scenario", "point", "run_days", "warmup_days"])

    # a sweep over the warm-up varies it alike in every scenario: nothing to say, whatever the rows' order
    swept = runs(("b", 1, 120, 40), ("a", 0, 120, 20), ("a", 1, 120, 40), ("b", 0, 120, 20))
    assert run_length_lines(swept, ["a", "b"]) == []
    # the same measured period, later: the totals still compare
    shifted = runs(("a", 0, 120, 30), ("b", 0, 150, 60))
    assert run_length_lines(shifted, ["a", "b"]) == [
        "run length differs between scenarios: a: 120 days, 30 of warm-up; b: 150 days, 60 of warm-up"
    ]
    longer = runs(("a", 0, 120, 30), ("a", 1, 120, 40), ("b", 0, 150, 30), ("b", 1, 150, 40))
    first, totals = run_length_lines(longer, ["a", "b"])
    assert first.startswith("run length differs between scenarios (at the first sweep point): a: 120 days")
    assert "not the totals (bed days lost)" in totals


def test_a_latin_hypercube_s_correlations_are_read_together_as_well_as_one_by_one():
    """Ten metrics by three factors make 30 correlations, and at p < 0.05 each, one or
    two look clear by chance: the report's figure and `compare` say which of those at
    p < 0.05 stay clear with the false discovery rate over them all held at 5%."""
    from sim.report import sensitivity_together
    from sim.sweep import sensitivity_together_lines

    p = [1e-6, 0.001, 0.03, *[0.5] * 27]  # Benjamini-Hochberg: 1e-6 and 0.001 stay clear, 0.03 does not
    sens = pd.DataFrame(
        {
            "scenario": "today",
            "metric": [f"m{i // 3}" for i in range(30)],
            "factor": [f"f{i % 3}" for i in range(30)],
            "prcc": 0.1,
            "p_value": p,
        }
    )
    said = sensitivity_together(sens)
    assert said.startswith("Among 30 correlations some look clear by chance: holding the false discovery rate")
    assert said.endswith("2 of the 3 solid bars stay clear; the others, to read with more care: m0 ~ f2 (p = 0.030).")
    said_there = (
        "held to a 5% false discovery rate over each scenario's correlations (Benjamini-Hochberg), 2 of the 3 at "
        "p < 0.05 stay clear; these could be chance: today, m0 ~ f2 (p = 0.030)"
    )
    assert " ".join(line.strip() for line in sensitivity_together_lines(sens)) == said_there
    strong = sens.assign(p_value=[1e-6, 0.001, 0.004, *[0.5] * 27])
    one = sens.assign(p_value=[1e-6, 0.04, 0.04, *[0.5] * 27])
    assert sensitivity_together(one).endswith(
        "1 of the 3 solid bars stays clear; the others, to read with more care: "
        "m0 ~ f1 (p = 0.040); m0 ~ f2 (p = 0.040)."
    )
    assert sensitivity_together(strong).endswith("all 3 solid bars stay clear.")
    assert sensitivity_together_lines(strong) == [
        "  held to a 5% false discovery rate over each scenario's correlations (Benjamini-Hochberg), all 3 at "
        "p < 0.05 stay clear"
    ]
    none = sens.assign(p_value=0.5)
    assert sensitivity_together(none) == "" and sensitivity_together_lines(none) == []


def test_compare_reads_the_changes_it_shows_together():
    """Among many changes some look clear by chance: compare says how many of those
    clear at 95% each stay clear with the false discovery rate over all of them held
    at 5%, and names the others; a change the same in every pair is no test."""
    from sim.sweep import changes_together_lines

    def diff(scenario, metric, mean, sd, n=10, point=0):
        half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
        return {
            "scenario": scenario,
            "point": point,
            "metric": metric,
            "label": "Delayed days per discharge" if metric == "delayed" else "Meetings a week",
            "n": n,
            "mean": mean,
            "sd": sd,
            "ci_low": mean - half,
            "ci_high": mean + half,
            "relative_change_pct": 10 * mean,
        }

    # t of 10 and of about 2.4 (p about 0.04): alone, both clear; among 20, only the first
    rows = [diff("a", "delayed", 1.0, math.sqrt(10) / 10), diff("b", "delayed", 0.24, math.sqrt(10) / 10)]
    rows += [diff(f"c{i}", "meetings", 0.0, 1.0) for i in range(18)]
    rows += [diff("same", "meetings", 0.0, 0.0)]  # no test
    said = " ".join(line.strip() for line in changes_together_lines(pd.DataFrame(rows)))
    assert said == (
        "read together: 2 of the 20 changes above are clear, each at 95%; with the false discovery rate over them "
        "all held at 5% (Benjamini-Hochberg), 1 stays clear; these could be chance: b: delayed days per discharge "
        "(+2.4%)"
    )
    strong = pd.DataFrame([*rows[:1], diff("b", "delayed", 0.9, 0.1), *rows[2:]])
    assert changes_together_lines(strong)[-1].strip().endswith("(Benjamini-Hochberg), both stay clear")
    assert changes_together_lines(pd.DataFrame(rows[2:])) == []  # none clear


# -- damaged runs --------------------------------------------------------------------


def test_a_run_folder_without_its_record_is_run_again_and_what_it_held_kept_aside(tmp_path, capsys):
    """A copy cut short can leave a run's folder without its run.json: the sweep ran it
    again each time and dropped the result, the folder being there, so the tables had
    one run fewer for ever, and it said nothing."""
    path = experiment(tmp_path, TWO_SCENARIOS)
    run_sweep(path, tmp_path / "r", workers=1, progress=False)
    root = tmp_path / "r" / "small"
    whole = consolidated(root)
    cut = sorted((root / "runs").iterdir())[1]
    (cut / "run.json").unlink()
    report = run_sweep(path, tmp_path / "r", workers=1, progress=False)
    assert report.ran == 1 and (cut / "run.json").is_file()
    [aside] = [d for d in (root / "runs").iterdir() if d.name.startswith(f".damaged-{cut.name}-")]
    assert (aside / "summary.parquet").is_file()  # nothing the user had is lost
    note = next(n for n in report.notes if n.startswith("1 run folder in runs/ had no record of its run (run.json"))
    assert f"kept aside as runs/{aside.name}" in note
    for table, df in consolidated(root).items():  # every run in the tables again, as they were
        pd.testing.assert_frame_equal(df, whole[table], check_exact=True, obj=table)
    assert run_sweep(path, tmp_path / "r", workers=1, progress=False).ran == 0


@pytest.mark.parametrize("name", ["summary.parquet", "run.json"])
def test_a_damaged_run_file_is_named_with_what_to_do_and_not_a_traceback(tmp_path, capsys, name):
    path = experiment(tmp_path, TWO_SCENARIOS)
    run_sweep(path, tmp_path / "r", workers=1, progress=False)
    root = tmp_path / "r" / "small"
    before = consolidated(root)
    damaged = sorted((root / "runs").iterdir())[0]
    (damaged / name).write_bytes((damaged / name).read_bytes()[:40])  # a copy cut short
    assert main(["sweep", str(path), "--results", str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{damaged / name}: cannot be read (") and "Traceback" not in err
    assert err.rstrip().endswith(
        f"the run in {damaged} is damaged (a copy cut short?); delete that folder and run the same handover sweep "
        "again, which runs it again"
    )
    shutil.rmtree(damaged)  # as it says
    assert main(["sweep", str(path), "--results", str(tmp_path / "r"), "--no-progress"]) == 0
    for table, df in consolidated(root).items():
        pd.testing.assert_frame_equal(df, before[table], check_exact=True, obj=table)
