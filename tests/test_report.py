"""The HTML report, built from a small sweep."""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import sim.report as report_module
from sim.cli import main
from sim.metrics import DELAY_PARTS, GAP_PARTS, HEADLINE, whole_journeys
from sim.model import RESULTS_VERSION
from sim.report import HATCHES, HEADLINE_TABLE, Report, _axis, _noun, _route, _style
from sim.sweep import compare_lines, fmt_estimate, fmt_pct, run_sweep, start_up, start_ups
from sim.yamlio import load_yaml

from .conftest import EXAMPLE, ROOT

EXPERIMENT = f"""\
name: small-report
description: A small sweep for the report tests
base: {EXAMPLE}
seed: 3
run: {{length_days: 90, warmup_days: 20}}
replications: 3
scenarios:
  today: {{baseline: true, description: places cut across the councils}}
  aligned:
    description: one place per council
    transforms: [{{align: {{type: place, to: local_authority}}}}]
  split:
    description: South Council split in two
    transforms: [{{split: {{organisation: south_council, into: {{sv: [southvale], ef: [eastfield]}}}}}}]
sweep:
  method: grid
  factors: {{handovers.failure.base: [0.02, 0.2]}}
"""


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.rows: dict[str, str] = {}
        self.estimates: list[tuple[str, float]] = []
        self._row: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "tr" and "data-scenario" in a:
            self._row = a["data-scenario"]
            self.rows[self._row] = ""
        if tag == "span" and a.get("class") == "est":
            self.estimates.append((f"{self._row}:{a['data-metric']}", float(a["data-mean"])))


def swept_and_reported(tmp: Path, experiment: str) -> Path:
    """An experiment's results folder, swept in this process and reported."""
    exp = tmp / "exp.yaml"
    exp.write_text(experiment)
    result = run_sweep(exp, tmp / "results", workers=1, progress=False)
    assert main(["report", str(result.out_dir)]) == 0
    return result.out_dir


def against_today(tmp: Path, days: int, scenario: str, overrides: str) -> Report:
    """The report of the example today and with ``overrides`` (YAML) as ``scenario``:
    two replications of ``days``, a quarter of them warm-up."""
    experiment = f"""\
name: {scenario.replace("_", "-")}
base: {EXAMPLE}
seed: 4
run: {{length_days: {days}, warmup_days: {days // 4}}}
replications: 2
scenarios:
  today: {{baseline: true}}
  {scenario}:
    overrides: {overrides}
"""
    return Report(swept_and_reported(tmp, experiment))


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    return swept_and_reported(tmp_path_factory.mktemp("report"), EXPERIMENT)


def test_a_scenario_that_shares_the_baseline_s_runs_is_reported(tmp_path):
    """A scenario giving the same configuration as another (places aligned where they
    are) shares its runs, as validate says; the report failed on the delays table, each
    shared run being in the runs table once for each scenario."""
    report = against_today(tmp_path, 40, "same", "{demand.per_1000_per_year: 21.0}")
    assert (report.out / "index.html").is_file()
    by_run = report.delays_by_run.set_index(["scenario", "replication"])
    assert by_run.loc["same"].equals(by_run.loc["today"])
    assert len(by_run) == 4


def test_a_configuration_whose_patients_cross_no_boundary_is_reported(tmp_path):
    """Only simple discharges (pathway 0, the zero-handover baseline): no interface, and
    the interfaces table had no columns, so the networks figure failed."""
    shares = "{pathways.P0.share: 1.0, pathways.P1.share: 0.0, pathways.P2.share: 0.0, pathways.P3.share: 0.0}"
    report = against_today(tmp_path, 40, "simple", shares)
    assert (report.out / "index.html").is_file() and (report.out / "networks.png").is_file()
    interfaces = report.run_table(report.first_run("simple"), "interfaces")
    assert interfaces.empty and {"org_a", "org_b", "expected_flow_per_week", "handovers"} <= set(interfaces)


def test_one_replication_is_said_to_give_no_interval_wherever_results_are_read(tmp_path, capsys):
    """replications: 1 showed every change grey, as if none were clear, and nothing said
    that no interval could be given: validate, sweep, compare and the report say so."""
    text = f"name: once\nbase: {EXAMPLE}\nseed: 4\nrun: {{length_days: 40, warmup_days: 10}}\nreplications: 1\n"
    text += "scenarios:\n  today: {baseline: true}\n  more: {overrides: {demand.per_1000_per_year: 25}}\n"
    exp = tmp_path / "exp.yaml"
    exp.write_text(text)
    said = "there is no confidence interval, so no change from the baseline can be told from chance"
    assert main(["validate", str(exp)]) == 0
    out = capsys.readouterr().out
    assert "1 replication each to start" in out and f"note: replications: 1: {said}" in out
    args = ["sweep", str(exp), "--results", str(tmp_path / "results"), "--workers", "1", "--no-progress"]
    assert main(args) == 0
    assert f"one replication of every configuration: {said}" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "results" / "once")]) == 0
    lines = compare_lines(tmp_path / "results" / "once")
    assert f"one replication of every configuration: {said}" in " ".join(line.strip() for line in lines)
    assert f"<strong>Precision:</strong> One replication of every configuration: {said}" in (
        Report(tmp_path / "results" / "once").precision_html()
    )
    # two or more: nothing to say
    (tmp_path / "two").mkdir()
    assert "one replication" not in " ".join(compare_lines(against_today(tmp_path / "two", 40, "x", "{}").root))


def test_a_type_of_the_configurations_own_is_named_by_its_label(tmp_path):
    """A researcher's voluntary-sector type ('Voluntary sector', split in two): not
    'voluntarys' and a column headed 'voluntary'."""
    base = EXAMPLE.read_text()
    base = base.replace(
        "  place:            {label: Place-based partnership}\n",
        "  place:            {label: Place-based partnership}\n  voluntary: {label: Voluntary sector}\n",
    ).replace("organisations:\n", "organisations:\n  charity: {type: voluntary, name: The Charity}\n", 1)
    base = base.replace(
        "\npatients:\n",
        "  voluntary: {harbourside: charity, northmoor: charity, southvale: charity, eastfield: charity}\n\npatients:\n",
    )
    (tmp_path / "base.yaml").write_text(base)
    experiment = (
        "name: voluntary\nbase: base.yaml\nseed: 1\nrun: {length_days: 40, warmup_days: 10}\nreplications: 2\n"
        "scenarios:\n  today: {baseline: true}\n  two:\n    transforms: [{split: {organisation: charity, "
        "into: {north: [harbourside, northmoor], south: [southvale, eastfield]}}}]\n"
    )
    report = Report(swept_and_reported(tmp_path, experiment))
    assert "2 councils, 2 places, 1 ICB, 1 voluntary sector." in report.scenarios_html()
    assert "2 councils, 2 places, 1 ICB, 2 voluntary sectors." in report.scenarios_html()
    assert report.column_label("voluntary") == "Voluntary sector" and report.column_label("icb") == "ICBs"
    assert [_noun("voluntary", 2), _noun("care_home", 2, "Care home"), _noun("hub", 2, "Hub")] == [
        "voluntaries",
        "care homes",
        "hubs",
    ]


@pytest.mark.parametrize(
    "factor, said",
    [
        ("trusted_assessors.cover: [everywhere, regular, nowhere]", "trusted_assessors.cover = regular"),
        (
            "patients.length_of_stay_days: [{dist: lognormal, mean: 9, sd: 8}, {dist: lognormal, mean: 12, sd: 8}]",
            "patients.length_of_stay_days = {dist: lognormal, mean: 12, sd: 8}",
        ),
    ],
)
def test_a_sweep_over_values_that_are_not_numbers_is_drawn(tmp_path, factor, said):
    """trusted_assessors.cover over everywhere, regular and nowhere, or stays from two
    distributions: the figures against factors put them on an axis of numbers, and the
    report failed; a mapping is said as the experiment file gives it."""
    experiment = (
        f"name: words\nbase: {EXAMPLE}\nseed: 1\nrun: {{length_days: 40, warmup_days: 10}}\nreplications: 2\n"
        "scenarios:\n  today: {baseline: true}\n  split:\n    transforms: [{split: {organisation: south_council, "
        f"into: {{sv: [southvale], ef: [eastfield]}}}}}}]\nsweep: {{method: grid, factors: {{{factor}}}}}\n"
    )
    out = swept_and_reported(tmp_path, experiment)
    assert (out / "report" / "sweep_changes.png").is_file() and (out / "report" / "sweep.png").is_file()
    assert f"sweep point {said}" in compare_lines(out)
    at, names = _axis(pd.Series(["everywhere", "nowhere", "everywhere"]))
    assert names == ["everywhere", "nowhere"] and at.tolist() == [0.0, 1.0, 0.0]
    assert _axis(pd.Series([0.1, 0.3]))[1] == []


def test_a_scenario_without_a_description_is_said_by_what_it_does(report_dir, tmp_path):
    """Not 'the base configuration' for a scenario that splits a council: what the
    experiment file does to it, as the file says it."""
    bare = tmp_path / "bare"
    shutil.copytree(report_dir, bare)
    manifest = json.loads((bare / "manifest.json").read_text())
    for scenario in manifest["resolved"]["scenarios"].values():
        scenario.pop("description", None)
    (bare / "manifest.json").write_text(json.dumps(manifest))
    html = Report(bare).scenarios_html()
    assert "<strong>today</strong> <em>(baseline)</em>: the base configuration. " in html
    said = "the base configuration with split: {organisation: south_council, into: {sv: [southvale], ef: [eastfield]}}"
    assert f"<strong>split</strong>: {said}. " in html


def test_report_is_one_self_contained_page(report_dir):
    page = (report_dir / "report" / "index.html").read_text()
    parser = Page()
    parser.feed(page)
    assert parser.images, "the report has figures"
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"""(src|href)=["']https?://""", page), "no network needed"
    for name in ("networks", "distributions", "workload", "awaiting", "sweep"):
        assert (report_dir / "report" / f"{name}.png").is_file()
        assert (report_dir / "report" / f"{name}.svg").is_file()


def test_the_report_and_the_comparison_are_headed_by_the_experiments_title(report_dir, tmp_path):
    """A planner reads the title ('Devon: today against two or three unitaries'), not
    the results folder's name; a manifest without one (or written before titles) gives
    the name."""
    page = (report_dir / "report" / "index.html").read_text()
    assert "<h1>small-report</h1>" in page
    assert "<title>small-report: boundary comparison</title>" in page
    assert compare_lines(report_dir)[0].startswith("small-report: 3 scenario(s)")
    titled = tmp_path / "titled"
    shutil.copytree(report_dir, titled)
    manifest = json.loads((titled / "manifest.json").read_text())
    manifest["resolved"]["title"] = "Southvale & Eastfield: a split"
    (titled / "manifest.json").write_text(json.dumps(manifest))
    assert main(["report", str(titled)]) == 0
    page = (titled / "report" / "index.html").read_text()
    assert "<h1>Southvale &amp; Eastfield: a split</h1>" in page
    assert "<title>Southvale &amp; Eastfield: a split: boundary comparison</title>" in page
    assert compare_lines(titled)[:2] == [
        "Southvale & Eastfield: a split",
        compare_lines(report_dir)[0].replace("small-report", "titled"),
    ]


def test_tables_scroll_sideways_in_their_own_box_and_long_scenario_names_may_break(report_dir, tmp_path):
    """Seven or eight scenarios made the workload table wider than the page (a county
    study's 'three_unitaries_joint_commissioning'): each table sits in a box that
    scrolls, and a scenario's name may break after an underscore."""
    page = (report_dir / "report" / "index.html").read_text()
    tables = re.findall(r"(.{0,40})<table ", page)
    assert tables and all(before.endswith('<div class="wide">') for before in tables)
    assert page.count("<table ") == page.count("</table></div>")
    assert "div.wide { overflow-x: auto;" in page
    long = against_today(tmp_path, 20, "three_unitaries_joint_commissioning", "{handovers.referral_effort_hours: 1.0}")
    breakable = "<th>three_<wbr>unitaries_<wbr>joint_<wbr>commissioning</th>"
    # the workload table's columns, and the rows of the headline and delays tables
    assert breakable in long.organisation_workload_html()
    assert breakable in long.headline_html() and breakable in long.delays_html()


def test_every_scenario_is_in_the_headline_table_with_the_summary_numbers(report_dir):
    """Each scenario's row gives what the mission measures, the staff hours the interfaces
    cost among them (the table left them out, which compare and the findings give)."""
    parser = Page()
    parser.feed((report_dir / "report" / "index.html").read_text())
    assert set(parser.rows) == {"today", "aligned", "split"}
    summary = pd.read_parquet(report_dir / "scenario_summary.parquet")
    summary = summary[summary["point"] == 0].set_index(["scenario", "metric"])
    assert parser.estimates
    for key, mean in parser.estimates:
        scenario, metric = key.split(":")
        assert mean == summary.loc[(scenario, metric), "mean"]
    shown = {key.split(":")[1] for key, _ in parser.estimates}
    assert {"handovers_per_discharge", "delayed_days_per_discharge", "interface_hours_per_week"} <= shown


def test_displayed_precision_follows_the_interval():
    """A relative change too, where one decimal reads 0.0: the governance study's change
    of -0.15 [-0.30, -0.00] hours a week in 455 read (-0.0%), as if none."""

    def change(mean: float, lo: float, hi: float, before: float) -> dict[str, float]:
        return {"mean": mean, "ci_low": lo, "ci_high": hi, "relative_change_pct": 100 * mean / before}

    assert fmt_pct(change(-0.15, -0.30, -0.00, 455.0)) == "-0.03%"  # half-width 0.03%
    assert fmt_pct(change(-0.0431, -0.0459, -0.0404, 2.1228)) == "-2.0%"
    assert fmt_pct(change(0.021, 0.009, 0.033, 2.993)) == "+0.7%"
    assert fmt_pct(change(-0.798, -0.812, -0.783, 66.91)) == "-1.2%"  # one decimal, however narrow the interval
    assert fmt_pct(change(0.0016, -0.0076, 0.0108, 66.91)) == "+0.00%"  # half-width 0.014%: no clear change
    assert fmt_pct(change(0.00001, -0.0014, 0.0014, 0.6476)) == "+0.0%"  # half-width 0.2%
    assert fmt_pct(change(0.00002, 0.00001, 0.00003, 455.0)) == "+0.0000%"  # four decimals at most
    assert fmt_pct(change(0.5, math.nan, math.nan, 20.0)) == "+2.5%"  # one replication: no interval
    assert fmt_estimate(1.23456, 1.2, 1.27) == "1.235 [1.200, 1.270]"
    assert fmt_estimate(15664.2, 14629, 16699) == "15,664 [14,629, 16,699]"
    assert fmt_estimate(0.02, -0.01, 0.05, signed=True) == "+0.020 [-0.010, +0.050]"


def test_model_card_names_run_length_replications_seed_and_versions(report_dir):
    page = (report_dir / "report" / "index.html").read_text()
    card = page[page.index("Model card") :]
    for needle in (
        "90 days",
        "20 days of",
        "3 of each configuration at each of its 2 sweep points",
        "base seed 3",
        "simpy",
        f"the model's results version {RESULTS_VERSION}",
        "Configuration hashes",
        "The voluntary sector; readmissions;",
    ):
        assert needle in card, needle
    assert "<h2>8. Model card</h2>" in page and "<h2>6. Sweep" in page  # numbered without a gap


def test_what_the_model_card_leaves_out_is_explained_where_it_points():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n## What the model leaves out\n") :].split("\n## ")[1]
    for left_out in (
        "voluntary sector",
        "Readmissions",
        "equipment, transport",
        "Self-funders",
        "police",
        "transition",
    ):
        assert left_out in section, left_out


def test_model_card_says_when_the_code_had_changes_not_committed(report_dir):
    report = Report(report_dir)
    assert "git_uncommitted_changes" in report.manifest  # True, False, or None outside a repository
    report.manifest["git_uncommitted_changes"] = False
    assert "not committed" not in report.model_card_html()
    report.manifest["git_uncommitted_changes"] = True
    assert "with changes not committed to it" in report.model_card_html()


def test_model_card_gives_each_scenarios_replications_when_they_differ(report_dir):
    report = Report(report_dir)
    runs = report.runs
    # as automatic replications leave them: 'aligned' with 2 or 3 a point, 'split' with 1
    drop = ((runs["scenario"] == "aligned") & (runs["point"] == 1) & (runs["replication"] == 2)) | (
        (runs["scenario"] == "split") & (runs["replication"] > 0)
    )
    report.runs = runs[~drop]
    assert "today: 3, aligned: 2 to 3, split: 1; confidence" in report.model_card_html()


def test_a_scenario_with_its_own_warm_up_is_shown_with_it(tmp_path):
    report = against_today(tmp_path, 40, "long_warmup", "{run.warmup_days: 25}")
    assert report.run_lengths() == {"today": (40, 10), "long_warmup": (40, 25)}
    assert (
        "40 days from empty (no one in hospital, every bed and place free), of which 10 days of warm-up are not measured"
        in report.model_card_html()
    )
    assert "; long_warmup: 40 days, 25 of warm-up." in report.model_card_html()
    assert "handovers and gaps in care are counted in the measured period when they end" in report.model_card_html()
    fig, _ = drawn(report, "awaiting")
    (ax,) = fig.axes
    ends = {line.get_xdata()[0]: text.get_text() for line, text in zip(ax.get_lines()[2:], ax.texts, strict=True)}
    assert ends == {10: " end of warm-up (today)", 25: " end of warm-up (long_warmup)"}
    plt.close(fig)
    lines = compare_lines(report.root)
    assert (
        "run length differs between scenarios: today: 40 days, 10 of warm-up; long_warmup: 40 days, 25 of warm-up"
        in lines
    )
    assert any("not the totals (bed days lost)" in line for line in lines)


def test_report_of_a_folder_without_results_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def test_results_of_an_earlier_results_version_are_said_to_be_so_and_their_report_kept(report_dir, tmp_path, capsys):
    """A folder swept before the model's results version last rose lacks columns the report
    reads: it failed with a KeyError, halfway through rewriting the figures. It now says
    which version made the runs and the command that runs them again, touching nothing;
    compare, which reads only the headline figures, still shows them, with the same note."""
    old = tmp_path / "old"
    shutil.copytree(report_dir, old)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["results_version"] = RESULTS_VERSION - 1
    (old / "manifest.json").write_text(json.dumps(manifest))
    before = {p: p.read_bytes() for p in (old / "report").iterdir()}
    assert main(["report", str(old)]) == 2
    err = capsys.readouterr().err
    assert f"runs made by results version {RESULTS_VERSION - 1} of the model, which is now at {RESULTS_VERSION}" in err
    assert f"'handover sweep {manifest['experiment_file']}' runs them again" in err
    assert {p: p.read_bytes() for p in (old / "report").iterdir()} == before
    said = " ".join(" ".join(compare_lines(old)).split())  # its lines wrapped at 100
    assert f"note: {old} holds runs made by results version {RESULTS_VERSION - 1}" in said
    assert "Delayed days per discharge" in said
    del manifest["results_version"]  # made before the manifest recorded it
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert main(["report", str(old)]) == 2
    assert "a results version from before they were recorded" in capsys.readouterr().err
    assert not any("holds runs made by" in line for line in compare_lines(report_dir))


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_renders_in_headless_chromium_with_every_image(report_dir):
    browser = chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing on CI: .ci/run installs it")
        pytest.skip("chromium not installed (Debian package 'chromium'); .ci/run installs it")
    page = report_dir / "report" / "index.html"
    shot = report_dir / "report" / "screenshot.png"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={report_dir / 'chromium-profile'}",
        "--virtual-time-budget=10000",
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    images = re.search(r'data-images="(\d+)"', dom)
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    assert images and loaded, "the page's load handler ran"
    assert int(images.group(1)) >= 5 and loaded.group(1) == images.group(1)
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = Path(os.environ.get("REPORT_SCREENSHOT_DIR", report_dir))
    if saved != report_dir:
        saved.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, saved / "report-screenshot.png")


def test_workload_of_each_organisation_is_in_the_report(report_dir):
    page = (report_dir / "report" / "index.html").read_text()
    table = page[page.index('class="headline org-workload"') :]
    table = table[: table.index("</table>")]
    for name in ("General Hospital", "North Council", "The ICB", "sv", "ef"):
        assert name in table, name


def test_what_the_interfaces_cost_is_in_the_report_by_pair_of_types(report_dir):
    """Each pair of types' staff hours a week (referrals, rework, meetings: they add up)
    over the interfaces where patients cross, each scenario's mean over replications:
    South Council split in two gives the hospital three councils to hand patients to."""
    report = Report(report_dir)
    costs = pd.read_csv(report_dir / "report" / "interface_costs.csv")
    crossing = costs[costs["expected_flow_per_week"] > 0]
    types = crossing["type_a"] + " " + crossing["type_b"]  # a pair's ids in order, and so its types in either
    hospital_council = crossing[types.isin(["acute_trust local_authority", "local_authority acute_trust"])]
    assert hospital_council.groupby("scenario").size().to_dict() == {"today": 2, "aligned": 2, "split": 3}
    for scenario in report.scenarios:
        runs = report.point_zero_runs(scenario)
        per_run = []
        for run_id in runs:
            f = report.run_table(run_id, "interfaces")
            per_run.append(f.loc[f["expected_flow_per_week"] > 0, "staff_hours_per_week"].sum())
        mine = crossing[crossing["scenario"] == scenario]
        assert mine["staff_hours_per_week"].sum() == pytest.approx(np.mean(per_run))
        parts = mine[["referral_hours_per_week", "rework_hours_per_week", "meeting_hours_per_week"]].sum().sum()
        assert parts == pytest.approx(mine["staff_hours_per_week"].sum())
    page = (report_dir / "report" / "index.html").read_text()
    table = page[page.index('class="headline interface-costs"') :]
    table = table[: table.index("</table>")]
    row = table[table.index("<th>acute trust \u2013 council</th>") :]
    row = row[: row.index("</tr>")]
    cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
    for scenario, cell in zip(report.scenarios, cells, strict=True):
        mine = hospital_council[hospital_council["scenario"] == scenario]
        n = len(mine)
        assert cell.startswith(f"{mine['staff_hours_per_week'].sum():,.1f} ({n} interfaces)"), cell
        assert f"meetings {mine['meeting_hours_per_week'].sum():,.1f}" in cell
    assert "<th>all interfaces</th>" in table


def drawn(report: Report, figure: str) -> tuple[plt.Figure, Any]:
    """One of the report's figures, drawn but not saved, and its renderer."""
    figures: dict[str, plt.Figure] = {}
    report.save = lambda fig, name, title, caption: figures.__setitem__(name, fig)  # type: ignore[method-assign]
    getattr(report, f"figure_{figure}")()
    fig = figures[figure]
    fig.canvas.draw()
    return fig, fig.canvas.get_renderer()


def test_the_sweep_shows_each_scenarios_paired_change_with_its_interval(report_dir):
    report = Report(report_dir)
    fig, _ = drawn(report, "sweep_changes")
    diffs = pd.read_parquet(report_dir / "differences.parquet")
    assert len(fig.axes) == len(HEADLINE_TABLE)  # one factor: a column of panels, a metric each
    for ax, metric in zip(fig.axes, HEADLINE_TABLE, strict=True):
        drawn_for = {c.get_label(): c for c in ax.containers}
        assert sorted(drawn_for) == ["aligned", "split"]  # not the baseline against itself
        for scenario, bars in drawn_for.items():
            want = diffs[(diffs["scenario"] == scenario) & (diffs["metric"] == metric)].sort_values("point")
            marks, _, (ranges,) = bars.lines
            # (matplotlib keeps an error bar's data, given as Series, as objects: numpy 1.26 cannot compare them)
            x, y = (np.asarray(xy, dtype=float) for xy in marks.get_data())
            # beside each other at each factor value, not on it: both scenarios can be seen
            assert np.allclose(x, want["handovers.failure.base"], atol=0.01)
            assert not np.allclose(x, want["handovers.failure.base"])
            assert np.allclose(y, want["mean"])
            ends = np.array([[seg[0][1], seg[1][1]] for seg in ranges.get_segments()])
            assert np.allclose(ends, want[["ci_low", "ci_high"]].to_numpy())
    page = (report_dir / "report" / "index.html").read_text()
    assert page.index('id="fig-sweep"') < page.index('id="fig-sweep_changes"') < page.index("<h2>7.")


def test_workload_bars_have_room_above_them_and_the_legend_hides_none(report_dir):
    fig, renderer = drawn(Report(report_dir), "workload")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert panels
    for ax in panels:
        tops = [bar.get_y() + bar.get_height() for bar in ax.patches]
        assert max(tops) > 0
        assert ax.get_ylim()[1] >= 1.05 * max(tops), ax.get_title()
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["casework", "rework", "meetings"]
    box = legend.get_window_extent(renderer)
    assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in panels)
    plt.close(fig)


@pytest.fixture(scope="module")
def flagship_dir(tmp_path_factory):
    """The flagship experiment's scenarios, one short replication each: real names."""
    tmp = tmp_path_factory.mktemp("flagship")
    spec, _ = load_yaml(ROOT / "experiments" / "lancashire-south-cumbria.yaml")
    spec.update(base=str(ROOT / "configs" / "lancashire-south-cumbria.yaml"), replications=1)
    spec["run"] = {"length_days": 20, "warmup_days": 5}
    (tmp / "exp.yaml").write_text(json.dumps(spec))  # JSON is YAML
    return run_sweep(tmp / "exp.yaml", tmp / "results", workers=1, progress=False).out_dir


@pytest.mark.parametrize("results, scenarios", [("flagship_dir", 5), ("report_dir", 3)])
def test_network_names_are_whole_inside_their_panel_and_clear_of_other_names_and_dots(request, results, scenarios):
    """Every organisation is named, the flagship's 18 trusts too, in its name's order."""
    report = Report(request.getfixturevalue(results))
    fig, renderer = drawn(report, "networks")
    assert "police" not in fig.get_suptitle()  # none in these configurations: the title names only what is drawn
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == len(report.scenarios) == scenarios
    for ax, scenario in zip(panels, report.scenarios, strict=True):
        labels = [t for t in ax.texts if t.get_text()]
        orgs = report.run_config(report.first_run(scenario))["organisations"]
        names = [t.get_text().replace("\n", " ") for t in labels]
        assert sorted(names) == sorted(o.get("name") or oid.replace("_", " ") for oid, o in orgs.items())
        trusts = [(-t.xy[1], t.get_text().replace("\n", " ")) for t in labels if t.xy[0] == 0]
        assert [n for _, n in sorted(trusts)] == sorted((n for _, n in trusts), key=str.casefold)
        boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in labels]
        panel = ax.get_window_extent(renderer)
        dots = [ax.transData.transform(c.get_offsets()[0]) for c in ax.collections]
        radius = 0.5 * math.sqrt(40) * fig.dpi / 72  # a dot of 40 square points
        for i, (label, box) in enumerate(zip(labels, boxes, strict=True)):
            assert panel.x0 <= box.x0 and box.x1 <= panel.x1, label.get_text()
            assert not any(box.overlaps(other) for other in boxes[i + 1 :]), label.get_text()
            own = ax.transData.transform(label.xy)
            for x, y in dots:
                if (x, y) != tuple(own):
                    near = box.x0 - radius < x < box.x1 + radius and box.y0 - radius < y < box.y1 + radius
                    assert not near, f"{label.get_text()!r} covers a dot of its panel {ax.get_title()!r}"
    plt.close(fig)


def _distance(point: np.ndarray, path: np.ndarray) -> float:
    """The shortest distance from a point to a polyline (both in pixels)."""
    a, b = path[:-1], path[1:]
    ab = b - a
    t = np.clip(((point - a) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-12), 0, 1)
    return float(np.min(np.hypot(*(a + t[:, None] * ab - point).T)))


@pytest.mark.parametrize("results", ["flagship_dir", "report_dir"])
def test_network_lines_pass_over_no_dot_but_the_two_they_join(request, results):
    """A line that crossed a dot would seem to join it: a council's line to its ICB
    ending, to the eye, at a district between them."""
    report = Report(request.getfixturevalue(results))
    fig, _ = drawn(report, "networks")
    radius = 0.5 * math.sqrt(40) * fig.dpi / 72  # a dot of 40 square points
    checked = 0
    for ax in [ax for ax in fig.axes if ax.get_visible()]:
        dots = np.array([ax.transData.transform(c.get_offsets()[0]) for c in ax.collections])
        for line in ax.get_lines():
            path = ax.transData.transform(line.get_xydata())
            ends = [path[0], path[-1]]
            clear = radius + 0.5 * line.get_linewidth() * fig.dpi / 72  # the line's edge, not its middle
            for dot in dots:
                if min(np.hypot(*(dot - end)) for end in ends) > 1:  # not one it joins
                    assert _distance(dot, path) > clear, f"{ax.get_title()!r}: a line touches a dot"
            checked += 1
    assert checked > 20
    plt.close(fig)
    # the flagship's trusts hand over to the community services of three of them: arcs,
    # which the caption explains; the example has none, and says nothing of them
    captions = []
    report.save = lambda fig, name, title, caption: (captions.append(caption), plt.close(fig))  # type: ignore[method-assign]
    report.figure_networks()
    assert ("an arc beside a column" in captions[0]) == (results == "flagship_dir")


@given(
    sizes=st.lists(st.integers(1, 60), min_size=2, max_size=7),
    ends=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6)),
)
def test_a_route_keeps_its_ends_and_clear_of_every_dot_between(sizes, ends):
    """Any columns of dots laid out as the networks figure lays them out, any two dots."""
    columns = {x: np.array([1 - (k + 1) / (n + 1) for k in range(n)]) for x, n in enumerate(sizes)}
    xa, xb = ends[0] % len(sizes), ends[1] % len(sizes)
    a = (xa, float(columns[xa][ends[2] % sizes[xa]]))
    b = (xb, float(columns[xb][ends[3] % sizes[xb]]))
    if a == b:
        return
    xs, ys = _route(a, b, columns)
    first, last = sorted([a, b])
    assert np.allclose([xs[0], ys[0], xs[-1], ys[-1]], [*first, *last], rtol=0, atol=1e-12)
    assert np.all(np.isfinite(ys)) and np.all((ys >= 0) & (ys <= 1))
    if xa == xb:  # an arc out to the left of the column, inside the panel's margin
        assert np.all(xs <= xa) and xs.min() >= xa - 0.3 and xs.min() < xa - 0.1
        return
    assert np.all(np.diff(xs) > 0)
    for c in range(min(xa, xb) + 1, max(xa, xb)):
        (at,) = np.flatnonzero(np.isclose(xs, c))
        clear = min(0.035, 0.45 / (sizes[c] + 1))
        assert np.min(np.abs(columns[c] - ys[at])) >= clear - 1e-9


def test_networks_draw_police_forces_over_the_councils_they_cover(tmp_path):
    from sim.build import BuildSpec, build_config, build_header, dump

    data = build_config(BuildSpec(name="surrey", icbs="all", councils=["Surrey"], police=True))
    (tmp_path / "surrey.yaml").write_text(dump(data, build_header(data, "surrey.yaml")))
    split = {"reorganise": {"organisations": ["surrey_council"], "by": "housing", "into": {
        "east_council": ["elmbridge_district", "epsom_and_ewell_district", "mole_valley_district",
                         "reigate_and_banstead_district", "tandridge_district"],
        "west_council": ["guildford_district", "runnymede_district", "spelthorne_district",
                         "surrey_heath_district", "waverley_district", "woking_district"]}}}  # fmt: skip
    experiment = {
        "name": "police",
        "base": "surrey.yaml",
        "seed": 1,
        "run": {"length_days": 10, "warmup_days": 2},
        "replications": 1,
        "scenarios": {"today": {"baseline": True}, "two": {"transforms": [split]}},
    }
    (tmp_path / "exp.yaml").write_text(json.dumps(experiment))
    report = Report(run_sweep(tmp_path / "exp.yaml", tmp_path / "results", workers=1, progress=False).out_dir)
    fig, _ = drawn(report, "networks")
    assert "places' and police forces' footprints over councils (dashed)" in fig.get_suptitle()
    for ax, councils in zip([ax for ax in fig.axes if ax.get_visible()], (1, 2), strict=True):
        columns = [t.get_text() for t in ax.get_xticklabels()]
        assert columns[-1] == "Police forces"
        names = [t.get_text().replace("\n", " ") for t in ax.texts]
        assert "Surrey Police" in names
        dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        to_police = [line for line in dashed if len(columns) - 1 in line.get_xdata()]  # the last column's
        assert len(to_police) == councils  # a dashed line to each council the force covers
        assert {min(line.get_xdata()) for line in to_police} == {columns.index("Councils")}
    plt.close(fig)


def test_configurations_on_the_same_map_share_a_networks_panel(tmp_path, report_dir):
    saved: dict[str, tuple[plt.Figure, str]] = {}

    def panels(report: Report) -> tuple[list[str], str]:
        report.save = lambda fig, name, title, caption: saved.__setitem__(name, (fig, caption))  # type: ignore[method-assign]
        report.figure_networks()
        fig, caption = saved["networks"]
        titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
        plt.close(fig)
        return titles, caption

    # the same boundaries, staffed differently: one map
    titles, caption = panels(against_today(tmp_path, 20, "more_staff", "{handovers.referral_effort_hours: 1.0}"))
    assert len(titles) == 1 and titles[0].startswith("today, more_staff\n")
    assert titles[0].endswith(" interfaces in each")
    assert caption.endswith(" Configurations with the same organisations, interfaces and footprints share a panel.")
    # boundaries redrawn: a panel each
    titles, caption = panels(Report(report_dir))
    assert [t.split("\n")[0] for t in titles] == ["today", "aligned", "split"]
    assert "share a panel" not in caption and not any(t.endswith(" in each") for t in titles)


def test_networks_too_big_to_draw_are_counted_by_type_and_pair_of_types(report_dir, monkeypatch):
    monkeypatch.setattr(report_module, "NETWORK_MOST", 1)  # the example's two councils count as many
    report = Report(report_dir)
    fig, _ = drawn(report, "networks")
    orgs_ax, links_ax = fig.axes
    labels = [t.get_text() for t in orgs_ax.get_yticklabels()]
    for i, scenario in enumerate(report.scenarios):
        run_id = report.first_run(scenario)
        kinds = [o["type"] for o in report.run_config(run_id)["organisations"].values()]
        shown = dict(zip(labels, (bar.get_width() for bar in orgs_ax.containers[i]), strict=True))
        assert shown == {report_module._noun(t, 2): kinds.count(t) for t in set(kinds)}
        interfaces = report.run_table(run_id, "interfaces")
        assert (
            sum(bar.get_width() for bar in links_ax.containers[i]) == (interfaces["expected_flow_per_week"] > 0).sum()
        )
    # splitting South Council adds a council
    councils, split = labels.index("councils"), report.scenarios.index("split")
    assert orgs_ax.containers[split][councils].get_width() == orgs_ax.containers[0][councils].get_width() + 1
    plt.close(fig)


def test_a_long_workload_table_shows_the_biggest_changes_and_keeps_every_organisation_beside(report_dir, monkeypatch):
    monkeypatch.setattr(report_module, "ORG_ROWS", 2)
    report = Report(report_dir)
    page = report.organisation_workload_html()
    csv = pd.read_csv(report.out / "organisation_workload.csv")
    every = {o for s in report.scenarios for o in report.run_config(report.first_run(s))["organisations"]}
    assert set(csv["organisation"]) == every  # today's places, the aligned ones, sv and ef ...
    body = page[page.index("<tbody>") :]
    assert body.count("<tr>") == 2 and f"The 2 organisations, of {len(every)}," in page
    # the most changed: South Council, gone in 'split', and the hospital, whose hours move most
    hours = csv.set_index("name")
    change = (
        hours[[f"{s}: hours a week" for s in report.scenarios]]
        .fillna(0)
        .sub(hours["today: hours a week"].fillna(0), axis=0)
        .abs()
        .max(axis=1)
    )
    assert [html.unescape(n.replace("<wbr>", "")) for n in re.findall(r"<tr><th>(.*?)</th>", body)] == list(
        change.nlargest(2).index
    )
    assert "South Council" in change.nlargest(2).index


def test_handovers_per_discharge_are_counted_in_whole_numbers(report_dir):
    fig, _ = drawn(Report(report_dir), "distributions")
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks and all(re.fullmatch(r"[0-4]|5\+", t) for t in ticks), ticks
    assert ticks == [str(k) if k < 5 else "5+" for k in range(int(ticks[0]), int(ticks[0]) + len(ticks))]
    plt.close(fig)


@pytest.mark.parametrize("kinds", [3, 1])
def test_the_handovers_legend_hides_no_bar(flagship_dir, kinds):
    report = Report(flagship_dir)
    real = report.run_table

    def even(run_id, table, columns=None):  # one, two and three handovers, a third each (bars
        df = real(run_id, table, columns)  # of one height, no corner left free), or two for all
        if "inter_handovers" in df:
            df = df.assign(inter_handovers=2 + np.arange(len(df)) % kinds - (kinds > 1))
        return df

    report.run_table = even
    fig, renderer = drawn(report, "distributions")
    bars = fig.axes[0]
    (legend,) = fig.legends  # one, under the panels, for the bars and the curves
    box = legend.get_window_extent(renderer)
    assert len(legend.get_texts()) == 5
    drawn_in = [a for ax in fig.axes for a in [*ax.patches, *ax.lines] if a.get_window_extent(renderer).height > 0]
    hidden = [a for a in drawn_in if box.overlaps(a.get_window_extent(renderer))]
    assert not hidden
    ticks = list(bars.get_yticks())
    assert max(ticks) <= 100  # the room above the bars is not a share of discharges
    assert kinds > 1 or max(ticks) == 100
    plt.close(fig)


def test_no_two_of_a_county_study_s_scenarios_are_drawn_alike():
    """Thirteen scenarios (today, and two to five unitaries three ways each): the ninth
    was drawn as the first, in black, solid and unhatched."""
    drawn_as = {(s["color"], str(s["linestyle"]), HATCHES[i % len(HATCHES)]) for i in range(40) for s in [_style(i)]}
    assert len(drawn_as) == 40


def test_delayed_days_are_shown_in_parts_that_add_up_to_the_headlines(report_dir):
    report = Report(report_dir)
    by_run = report.delays_by_run.set_index(["scenario", "replication"])
    headline = report.runs[report.runs["point"] == 0].set_index(["scenario", "replication"])
    assert len(by_run) == len(headline)
    assert np.allclose(by_run["all"], headline.loc[by_run.index, "delayed_days_per_discharge"])
    assert np.allclose(by_run[list(DELAY_PARTS)].sum(axis=1), by_run["all"])
    assert (by_run[list(DELAY_PARTS)] >= 0).all().all()
    # by pathway, for the pathways with steps: the example's simple discharges have none
    assert [c for c in by_run.columns if c.startswith("pathway:")] == ["pathway:P1", "pathway:P2", "pathway:P3"]
    page = report.delays_html()
    assert page.count("<tr><th>") == 2 * (1 + len(report.scenarios))  # a head and a row each
    assert "Home with support" in page and "Funding decisions" in page
    assert "own assessment" not in page and "in four parts" in page  # trusted assessors everywhere


def test_gaps_in_care_are_shown_in_design_s_two_kinds_and_by_the_service_they_wait_for(report_dir):
    """In transit between teams, and waiting for the first visit: they add up to the gap
    days of the journeys the distributions take (discharged in the measured period, whole
    by the run's end), as do those before each service starts."""
    report = Report(report_dir)
    by_run = report.gaps_by_run.set_index(["scenario", "replication"])
    headline = report.runs[report.runs["point"] == 0].set_index(["scenario", "replication"])
    assert len(by_run) == len(headline)
    services = [c for c in by_run.columns if c.startswith("before:")]
    assert services == [
        "before:reablement",
        "before:follow_up",
        "before:intermediate_care",
        "before:onward_care",
        "before:placement",
    ]
    for columns in (list(GAP_PARTS), services):
        assert np.allclose(by_run[columns].sum(axis=1), by_run["all"])
    assert (by_run[list(GAP_PARTS)] > 0).all().all()
    for scenario, run_id in ((s, report.first_run(s)) for s in report.scenarios):
        p = report.run_table(run_id, "patients")
        cfg = report.run_config(run_id)
        whole, _ = whole_journeys(p, cfg["run"]["warmup_days"], cfg["run"]["length_days"])
        ended = whole[whole["journey_end"].notna()]  # an overloaded run's, cut short at half its period, not
        assert by_run.loc[(scenario, 0), "all"] == pytest.approx(ended["gap_days"].mean())
    page = report.gaps_html()
    assert page.count("<tr><th>") == 2 * (1 + len(report.scenarios))  # a head and a row each
    # the care home's place is taken as the patient leaves, and the intermediate-care bed: no gap before them
    assert "Before reablement starts" in page and "Before onward care starts" in page and "placement" not in page
    assert (by_run[["before:intermediate_care", "before:placement"]] == 0).all().all()
    assert (
        'data-gap="first_visit"' in page
        and "What the gaps in care are made of" in (report_dir / "report" / "index.html").read_text()
    )


def test_a_care_home_s_own_visit_is_a_fifth_part_where_no_trusted_assessor_covers(tmp_path):
    report = against_today(tmp_path, 120, "no_trusted_assessors", "{trusted_assessors.cover: nowhere}")
    by_run = report.delays_by_run.set_index("scenario")
    assert (by_run.loc["today", "provider"] == 0).all()
    assert (by_run.loc["no_trusted_assessors", "provider"] > 0.1).all()  # a tenth of the example's, 2 days each
    assert np.allclose(by_run[list(DELAY_PARTS)].sum(axis=1), by_run["all"])
    page = report.delays_html()
    assert "in five parts" in page and "A care home&#x27;s own assessment" in page


def test_runs_stored_before_care_homes_visits_were_modelled_still_show_their_parts(report_dir, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(report_dir, old)
    for run in (old / "runs").iterdir():
        path = run / "patients.parquet"
        pd.read_parquet(path).drop(columns="provider_assessment_days").to_parquet(path)
        meta = json.loads((run / "run.json").read_text())
        for pathway in meta["config"]["pathways"].values():
            for step in pathway["steps"]:
                step.pop("provider_assessment_days", None)
        (run / "run.json").write_text(json.dumps(meta))
    report = Report(old)
    assert (report.delays_by_run["provider"] == 0).all()
    assert report.delays_html() == Report(report_dir).delays_html()


def test_runs_stored_before_the_discharging_referral_was_recorded_get_no_breakdown(report_dir, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(report_dir, old)
    report = Report(old)
    run_id = report.first_run("aligned")
    path = old / "runs" / run_id / "patients.parquet"
    p = pd.read_parquet(path)
    unfinished = p["reablement_ended"].isna()  # as stored before: nothing of the step until it ended
    assert (unfinished & p["discharged"].notna()).any()
    p.loc[unfinished, ["reablement_sent", "reablement_accepted"]] = np.nan
    p.to_parquet(path)
    page = report.delays_html()
    assert "Not shown: 1 of these runs" in page and "<table" not in page
    assert "<table" in Report(report_dir).delays_html()


def test_a_pathway_a_scenario_does_not_use_shows_no_figure_there(tmp_path):
    report = against_today(tmp_path, 40, "no_rehab", "{pathways.P2.share: 0.0, pathways.P1.share: 0.4}")
    rows = re.findall(r"<tr><th>(.*?)</th>(.*?)</tr>", report.delays_html().replace("<wbr>", ""))
    by_pathway = dict(rows[-2:])  # the second table's rows
    cells = re.findall(r"<td>(.*?)</td>", by_pathway["no_rehab"])
    assert cells[1] == "n/a" and "change" in cells[0] and "change" in cells[2]


def test_the_workload_table_tells_namesakes_apart_and_shows_small_hours_to_a_tenth(report_dir):
    report = Report(report_dir)
    w = report.weekly_workload
    # a legacy place and a council of one name, as "Central Lancashire" in Lancashire
    renamed = w.assign(name=w["name"].mask(w["name"] == "Coast place", "North Council"))
    report.__dict__["weekly_workload"] = renamed
    body = report.organisation_workload_html()
    labels = [html.unescape(n.replace("<wbr>", "")) for n in re.findall(r"<tr><th>(.*?)</th>", body)]
    assert "North Council (council)" in labels and "North Council (place)" in labels
    assert "South Council" in labels and "Inland place" in labels  # a name used once stays as it is
    # two places of one name (one of today's, one realigned) by their ids as well
    twins = w.assign(name=w["name"].mask(w["name"] == "Coast place", "Inland place"))
    report.__dict__["weekly_workload"] = twins
    labels = [
        html.unescape(n.replace("<wbr>", ""))
        for n in re.findall(r"<tr><th>(.*?)</th>", report.organisation_workload_html())
    ]
    assert "Inland place (place coast_place)" in labels and "Inland place (place inland_place)" in labels
    cells = re.findall(r"<td>([\d,.]+) \(([\d,.]+) in meetings\)</td>", body)
    assert cells
    for total, meetings in cells:
        hours, of_them = float(total.replace(",", "")), float(meetings.replace(",", ""))
        assert hours >= of_them, (total, meetings)
        assert re.fullmatch(r"\d+\.\d" if hours < 100 else r"[\d,]+", total), total
    assert any(float(total.replace(",", "")) < 100 for total, _ in cells)  # some are shown to a tenth


@pytest.mark.parametrize(
    ("failed", "said"), [(0, "none: every run finished"), (1, "1 run failed"), (2, "2 runs failed")]
)
def test_the_model_card_says_how_many_runs_failed(report_dir, failed, said):
    report = Report(report_dir)
    assert report.failures.empty
    report.failures = pd.DataFrame({"run_id": [f"r{k}" for k in range(failed)], "scenario": "split"})
    card = report.model_card_html()
    assert f"<dt>Failures</dt><dd>{said}" in card
    assert ("failures.csv" in card) == (failed > 0)
    assert (f"(split: {failed} of {failed + 6})" in card) == (failed > 0)  # 3 replications at 2 points


AREAS = f"""\
name: areas-report
base: {EXAMPLE}
seed: 5
run: {{length_days: 60, warmup_days: 10}}
replications: 2
scenarios:
  two_icbs:
    baseline: true
    description: the ICB split where the councils meet
    transforms:
      - split:
          organisation: the_icb
          into: {{icb_north: [harbourside, northmoor], icb_south: [southvale, eastfield]}}
          names: {{icb_north: North ICB, icb_south: South ICB}}
  one_icb:
    description: the example's one ICB
  south_split:
    description: the ICB split, and South Council split in two
    transforms:
      - split:
          organisation: the_icb
          into: {{icb_north: [harbourside, northmoor], icb_south: [southvale, eastfield]}}
      - split: {{organisation: south_council, into: {{sv: [southvale], ef: [eastfield]}}}}
"""


@pytest.fixture(scope="module")
def areas_report(tmp_path_factory):
    return Report(swept_and_reported(tmp_path_factory.mktemp("areas"), AREAS))


def test_hours_by_icb_area_share_each_organisation_by_its_residents(areas_report):
    report = areas_report
    a = report.areas.set_index(["scenario", "icb"])
    assert set(a.index.get_level_values("icb")) == {"icb_north", "icb_south"}
    assert a["residents"].xs("icb_north", level="icb").tolist() == [200_000] * 3
    # the one ICB, which covers both areas, has its hours shared 200k to 300k, as have
    # the hospital and the community trust; the places cut across the councils
    hours = report.weekly_workload.groupby(["scenario", "run", "organisation"])["total_hours"].sum()
    one = hours.loc["one_icb"].groupby("organisation").mean()
    north = {
        "the_icb": 0.4,
        "general_hospital": 0.4,
        "community_trust": 0.4,
        "north_council": 1.0,
        "south_council": 0.0,
        "coast_place": 110 / 270,
        "inland_place": 90 / 230,
    }
    assert set(one.index) == set(north)
    assert a.at[("one_icb", "icb_north"), "total_hours"] == pytest.approx(sum(one[o] * s for o, s in north.items()))
    # every hour is counted once, and the meeting hours are the headline's
    for scenario in report.scenarios:
        mine = report.areas[report.areas["scenario"] == scenario]
        runs = report.runs[(report.runs["scenario"] == scenario) & (report.runs["point"] == 0)]
        assert mine["total_hours"].sum() == pytest.approx(hours.loc[scenario].groupby("run").sum().mean())
        assert mine["meeting_hours"].sum() == pytest.approx(runs["meeting_hours_per_week"].mean())
    # councils serving each area: South Council split in two doubles the south's
    assert a["councils"].to_dict() == {
        (s, i): 2 if (s, i) == ("south_split", "icb_south") else 1
        for s in report.scenarios
        for i in ("icb_north", "icb_south")
    }


def test_delayed_days_by_icb_area_are_those_of_the_areas_residents(areas_report):
    report = areas_report
    by_run = report.delays_by_run.set_index(["scenario", "replication"])
    area_of = {"harbourside": "icb_north", "northmoor": "icb_north", "southvale": "icb_south", "eastfield": "icb_south"}
    assert report.area_of == area_of
    for scenario in report.scenarios:
        for run_id in report.point_zero_runs(scenario):
            p = report.run_table(run_id, "patients")
            p = p[(p["discharged"] >= 10) & (p["discharged"] < 60)]
            mean = p.groupby(p["zone"].astype(str).map(area_of))["delayed_days"].mean()
            replication = int(report.runs.set_index("run_id").at[run_id, "replication"])
            row = by_run.loc[(scenario, replication)]
            assert row["area:icb_north"] == pytest.approx(mean["icb_north"])
            assert row["area:icb_south"] == pytest.approx(mean["icb_south"])
            # the areas' residents are all the patients: weighted by discharges, the headline
            n = p.groupby(p["zone"].astype(str).map(area_of)).size()
            assert (mean * n).sum() / n.sum() == pytest.approx(row["all"])
    a = report.areas.set_index(["scenario", "icb"])
    assert a.at[("one_icb", "icb_south"), "delayed_days"] == pytest.approx(
        by_run.loc["one_icb", "area:icb_south"].mean()
    )
    page = (report.out / "index.html").read_text()
    table = page[page.index('<table class="headline areas">') :]
    table = table[: table.index("</table>")]
    assert "delayed days per discharge" in table
    cells = re.findall(r'class="area-delay" data-area="(\w+)" data-mean="([^"]+)"', table)
    assert len(cells) == 3 * len(report.scenarios)  # two areas, and all of them
    assert [float(m) for area, m in cells if area == "all"] == pytest.approx(
        [by_run.loc[s, "all"].mean() for s in report.scenarios]
    )
    for scenario, (area, mean) in zip(report.scenarios, cells, strict=False):  # the first row's
        assert float(mean) == pytest.approx(a.at[(scenario, area), "delayed_days"])
    csv = pd.read_csv(report.out / "icb_workload.csv")
    assert "one_icb: delayed days per discharge" in csv.columns


def test_the_page_shows_hours_by_icb_area_only_with_two_icbs_or_more(areas_report, report_dir):
    page = (areas_report.out / "index.html").read_text()
    table = page[page.index('<table class="headline areas">') :]
    table = table[table.index("<tbody>") : table.index("</table>")]
    names = [html.unescape(n.replace("<wbr>", "")) for n in re.findall(r"<tr><th>(.*?)</th>", table)]
    # the largest change in meeting hours first, all areas last
    meet = areas_report.areas.pivot(index="name", columns="scenario", values="meeting_hours")
    change = meet.sub(meet["two_icbs"], axis=0).abs().max(axis=1)
    order = change.round(6).sort_values(ascending=False, kind="stable").index
    # named without the word every ICB's name ends with
    assert names == [*(n.removesuffix(" ICB") for n in order), "all areas"]
    assert sorted(names) == ["North", "South", "all areas"]
    csv = pd.read_csv(areas_report.out / "icb_workload.csv")
    assert len(csv) == 2 and "south_split: councils" in csv.columns
    # one ICB: no such section
    assert "By ICB area" not in (report_dir / "report" / "index.html").read_text()
    assert not (report_dir / "report" / "icb_workload.csv").exists()


@pytest.mark.parametrize(
    ("names", "short"),
    [
        (
            ["NHS Kent and Medway Integrated Care Board", "NHS Devon Integrated Care Board"],
            ["Kent and Medway", "Devon"],
        ),
        (["North ICB", "South ICB"], ["North", "South"]),
        (["ICB", "South ICB"], ["ICB", "South ICB"]),  # one would have no word left
        (["The ICB"], ["The ICB"]),
    ],
)
def test_area_names_drop_only_the_words_all_of_them_share(names, short):
    assert report_module._without_shared_words(names) == short


def test_the_baseline_is_set_beside_englands_figures(report_dir):
    report = Report(report_dir)
    rows = {measure: (model, england) for measure, model, england, _ in report.reference_rows()}
    cfg = report.run_config(report.first_run("today"))
    residents = sum(z["population"] for z in cfg["zones"])
    runs = report.runs[(report.runs["scenario"] == "today") & (report.runs["point"] == 0)]
    rates, waits = [], []
    for run_id in runs["run_id"]:
        p = pd.read_parquet(report_dir / "runs" / run_id / "patients.parquet")
        done = p[(p["discharged"] >= 20) & (p["discharged"] < 90)]
        complex_ = done[done["pathway"] != "P0"]  # the example's simple discharges
        rates.append(len(complex_) / (70 / 365) / residents * 1000)
        waits.append((complex_["delayed_days"].mean(), done["delayed_days"].mean()))
    model, england = rows["Complex discharges a year, per 1,000 residents"]
    assert model == f"{sum(rates) / len(rates):.1f}"
    assert england == "10.4 (585,000 a year)"
    model, _ = rows["Days from ready for discharge to discharge, per complex discharge (mean)"]
    complex_wait, every_wait = (sum(w[i] for w in waits) / len(waits) for i in (0, 1))
    assert model == f"{complex_wait:.2f}<br>over every discharge: {every_wait:.2f}"
    model, england = rows["Patients a day ready for discharge but still in hospital, per 100,000 residents"]
    assert model.startswith(f"{runs['mean_awaiting_discharge'].mean() / residents * 1e5:.1f} (")
    assert england.startswith("23 to 27 (13,000 to 15,000 a day;")
    page = (report_dir / "report" / "index.html").read_text()
    assert "<h2>7. The baseline beside England's figures</h2>" in page  # after the sweep's section


def test_overloaded_staff_are_named_in_the_sweep_the_comparison_and_the_report(tmp_path):
    """North Council with 2 social workers (of 5) cannot keep up: said after the sweep,
    in `handover compare` and in the report, by name, for that scenario alone."""
    rep = against_today(tmp_path, 120, "short_staffed", "{organisations.north_council.staff.social_worker.count: 2}")
    again = run_sweep(tmp_path / "exp.yaml", tmp_path / "results", workers=1, progress=False)  # all reused
    assert again.reused == 4 and "  short_staffed: north_council:social_worker (in 2 of 2 runs)" in again.lines()
    runs = pd.read_parquet(rep.root / "runs.parquet")
    assert set(runs.loc[runs["scenario"] == "today", "overloaded"]) == {""}
    assert set(runs.loc[runs["scenario"] == "short_staffed", "overloaded"]) == {"north_council:social_worker"}
    lines = compare_lines(rep.root)
    assert "  short_staffed: north_council:social_worker (in 2 of 2 runs)" in lines
    assert not any(line.startswith("  today:") for line in lines)
    page = (rep.root / "report" / "index.html").read_text()
    assert '<div class="overloaded">' in page
    assert "<li><strong>short_staffed</strong>: North Council&#x27;s social worker (in 2 of 2 runs)</li>" in page


def _change(mean: float, sd: float, n: int = 10) -> dict[str, float]:
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return {"mean": mean, "sd": sd, "n": n, "ci_low": mean - half, "ci_high": mean + half, "relative_change_pct": mean}


def test_the_headline_table_s_clear_changes_are_read_together(report_dir, monkeypatch):
    """Ten changes, one clear at 95% (p about 0.04) and nine not: with the false discovery
    rate over all ten held at 5% it is no longer clear, and the report names it; a
    change the same in every replication is no test; three clear by far all stay."""
    report = Report(report_dir)
    sd, n = 1.0, 10
    edge = 2.3 * sd / math.sqrt(n)  # t = 2.3 on 9 degrees of freedom: p = 0.047
    rows = [{"scenario": "split"}]
    for k, metric in enumerate(HEADLINE_TABLE):
        rows[0][metric] = {}
        rows[0][f"{metric}__diff"] = _change(edge if k == 0 else 0.1 * sd, sd) if k < 6 else _change(0.0, 0.0)
    rows.append({"scenario": "aligned", **{f"{m}__diff": _change(0.05 * sd, sd) for m in HEADLINE_TABLE[:4]}})
    rows[1].update({f"{m}__diff": None for m in HEADLINE_TABLE[4:]})
    monkeypatch.setattr(Report, "headline_rows", lambda self: rows)
    said = report.multiplicity_html()
    first = HEADLINE[HEADLINE_TABLE[0]]
    assert said.startswith("<p><strong>Many changes at once:</strong> 1 of the 10 changes in the table")
    assert f"0 stay clear; the other one, to read with more care: split: {first[0].lower()}{first[1:]} (+0.7%)" in said
    for k in range(3):  # three clear by far (t = 10)
        rows[0][f"{HEADLINE_TABLE[k]}__diff"] = _change(10 * sd / math.sqrt(n), sd)
    assert "3 of the 10 changes" in report.multiplicity_html() and "all 3 stay clear." in report.multiplicity_html()


def test_the_small_report_counts_the_clear_changes_it_colours(report_dir):
    page = (report_dir / "report" / "index.html").read_text()
    table = page[
        page.index('<table class="headline">') : page.index("</table>", page.index('<table class="headline">'))
    ]
    coloured = table.count('class="diff up"') + table.count('class="diff down"')
    said = re.search(r"<strong>Many changes at once:</strong> (\d+) of the (\d+) changes", page)
    assert coloured and said and int(said[1]) == coloured


def test_a_warm_up_too_short_is_said_in_the_sweep_the_comparison_and_the_report(tmp_path):
    """Measured from day 0, a run counts the weeks its services take to fill from empty:
    MSER-5 finds where that ends, and the sweep, `handover compare` and the report say
    that the warm-up is short and by how much (awaiting discharge a tenth lower)."""
    rep = against_today(tmp_path, 200, "no_warm_up", "{run.warmup_days: 0}")
    found = {s.scenario: s for s in start_ups(rep.root, rep.runs)}
    cold, warm = found["no_warm_up"], found["today"]  # today: 50 days of warm-up
    assert cold.short and cold.change < -0.03 and 10 <= cold.settled_day <= 90
    assert not warm.short and warm.warmup_days == 50
    line = cold.line()
    assert line.startswith(f"  no_warm_up: settled about day {cold.settled_day}, warm-up 0 days: ")
    assert "fewer awaiting discharge a day" in line
    again = run_sweep(tmp_path / "exp.yaml", tmp_path / "results", workers=1, progress=False)  # all reused
    assert line in again.lines() and not any(s.startswith("  today: settled") for s in again.lines())
    lines = compare_lines(rep.root)
    assert line in lines and lines[lines.index(line) - 1].endswith("run).")  # the note wrapped above it
    page = (rep.root / "report" / "index.html").read_text()
    assert '<div class="start-up">' in page and html.escape(line.strip()) in page


def test_a_busy_stretch_after_the_warm_up_is_not_called_a_start_up():
    """A run that starts empty has fewer waiting until it settles, never more: a stretch
    above the rest just after the warm-up is the days' noise, as single runs of the
    example showed (up to 4.3% more), not a warm-up too short."""
    counts = np.full(365, 100.0)
    counts[:30] = np.linspace(0, 100, 30)  # filling, within the warm-up
    counts[60:120] = 110.0  # busy for two months after it
    found = start_up("today", "", [counts], 60)
    assert found is not None and found.settled_day >= 60 and found.change > 0.01
    assert not found.short
    counts[60:120] = 90.0  # quiet instead: as a start from empty would look
    assert start_up("today", "", [counts], 60).short


def test_a_warm_up_long_enough_is_said_to_hold_none_of_the_start(report_dir):
    """The small sweep's 20 days of warm-up: checked, and said in the model card."""
    page = (report_dir / "report" / "index.html").read_text()
    assert "checked by MSER-5, section 5" in page
    found = start_ups(report_dir, pd.read_parquet(report_dir / "runs.parquet"))
    assert len(found) == 6  # three scenarios at two sweep points
    if not any(s.short for s in found):
        assert '<div class="start-up">' not in page
        assert re.search(r"<p>Where the runs' start from empty ends, by MSER-5 .* by day \d+ at the latest", page)


def test_no_warning_when_nothing_is_overloaded(report_dir):
    assert '<div class="overloaded">' not in (report_dir / "report" / "index.html").read_text()
    assert not [line for line in compare_lines(report_dir) if line.startswith("Overloaded")]


def test_runs_made_before_the_overload_check_are_said_to_be_unchecked():
    from sim.sweep import overload_lines

    runs = pd.DataFrame({"scenario": ["a", "a", "b"], "point": [0, 0, 0], "overloaded": ["", None, "x:social_worker"]})
    lines = overload_lines(runs)
    assert "  b: x:social_worker (in 1 of 1 runs)" in lines
    assert " ".join(lines).endswith(
        "1 of the 3 runs were made before the check for overloaded staff or places and are not checked; their "
        "results are kept as they are."
    )
    assert " ".join(overload_lines(runs.drop(columns="overloaded"))).startswith("3 of the 3 runs were made before")
    assert overload_lines(runs.fillna("").iloc[:2]) == []


def test_a_report_that_fails_part_way_leaves_the_one_there_as_it_was(tmp_path, capsys):
    """A damaged run's patients, read after the first figures were made: the report
    stopped with a traceback-free message, but had already replaced some figures beside
    the page with new ones."""
    out = swept_and_reported(tmp_path, EXPERIMENT)
    before = {f.name: f.read_bytes() for f in (out / "report").iterdir()}
    patients = next((out / "runs").iterdir()) / "patients.parquet"
    patients.write_bytes(patients.read_bytes()[:1000])
    (out / "report" / "networks.png").write_bytes(b"as the user left it")
    before["networks.png"] = b"as the user left it"
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{patients}: cannot be read (") and "delete that folder and run the same handover" in err
    assert {f.name: f.read_bytes() for f in (out / "report").iterdir()} == before
    assert sorted(p.name for p in out.iterdir() if "report" in p.name) == ["report"]  # no partial folder left
