"""The command line as a user meets it."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import build_parser, main
from sim.metrics import TABLES

from .conftest import EXAMPLE, ROOT


def small_config(tmp_path):
    text = (
        EXAMPLE.read_text()
        .replace("length_days: 365", "length_days: 120")
        .replace("warmup_days: 60", "warmup_days: 20")
    )
    path = tmp_path / "small.yaml"
    path.write_text(text)
    return path


def test_run_writes_every_table_as_parquet_and_csv(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(small_config(tmp_path)), "--seed", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "handovers per discharge" in printed and str(out) in printed
    for name in TABLES:
        pq = pd.read_parquet(out / f"{name}.parquet")
        csv = pd.read_csv(out / f"{name}.csv")
        assert len(pq) == len(csv), name
    summary = pd.read_parquet(out / "summary.parquet")
    assert summary["seed"].iloc[0] == 3
    assert summary["overloaded"].iloc[0] == "" and "overloaded" not in printed
    s = summary.iloc[0]
    assert f"interfaces                   {s['interfaces']} ({s['interface_hours_per_week']:.1f} staff hours" in printed


def test_run_says_which_staff_could_not_keep_up(tmp_path, capsys):
    text = (
        small_config(tmp_path)
        .read_text()
        .replace("social_worker: {count: 5, hours_per_week: 37.5}", "social_worker: {count: 2, hours_per_week: 37.5}")
    )
    (tmp_path / "short.yaml").write_text(text)
    assert main(["run", str(tmp_path / "short.yaml"), "--out", str(tmp_path / "out")]) == 0
    assert "  overloaded                   north_council:social_worker (a queue that never" in capsys.readouterr().out


def test_run_says_when_its_warm_up_looks_short(tmp_path, capsys):
    """A year of the example measured from day 0: the weeks its services take to fill
    are counted, and the run says so (MSER-5 on its daily count awaiting discharge);
    with the example's 60 days of warm-up it says nothing."""
    cold = tmp_path / "cold.yaml"
    cold.write_text(EXAMPLE.read_text().replace("warmup_days: 60", "warmup_days: 0"))
    assert main(["run", str(cold), "--out", str(tmp_path / "cold")]) == 0
    printed = capsys.readouterr().out
    said = re.search(r"  warm-up short +settled about day (\d+), warm-up 0 days: ([\d.]+)% fewer awaiting", printed)
    assert said and 10 <= int(said[1]) <= 90 and float(said[2]) > 1, printed
    assert main(["run", str(EXAMPLE), "--out", str(tmp_path / "warm")]) == 0
    assert "warm-up short" not in capsys.readouterr().out


def test_run_never_overwrites_results_silently(tmp_path, capsys):
    out = tmp_path / "out"
    cfg = str(small_config(tmp_path))
    assert main(["run", cfg, "--out", str(out)]) == 0
    before = (out / "summary.csv").read_bytes()
    assert main(["run", cfg, "--seed", "9", "--out", str(out)]) == 2
    assert "already holds results" in capsys.readouterr().err
    assert (out / "summary.csv").read_bytes() == before
    assert main(["run", cfg, "--seed", "9", "--out", str(out), "--force"]) == 0
    assert (out / "summary.csv").read_bytes() != before


def test_run_takes_a_seed_and_replication_of_zero_or_more(tmp_path, capsys):
    for flag, value, message in [
        ("--seed", "-1", "argument --seed: -1 is negative; give 0 or more"),
        ("--replication", "two", "argument --replication: 'two' is not a whole number"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(["run", str(EXAMPLE), flag, value, "--out", str(tmp_path / "out")])
        assert exc.value.code == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_structure_prints_partners_and_coterminosity(capsys):
    assert main(["structure", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "Partners per organisation" in out and "Coterminosity" in out


def test_structure_json_is_machine_readable(capsys):
    assert main(["structure", str(EXAMPLE), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    partners = pd.DataFrame(data["partners"])
    row = partners[(partners["per"] == "icb") & (partners["partner_type"] == "local_authority")].iloc[0]
    assert row["mean"] == 2  # the ICB works with both councils
    cot = pd.DataFrame(data["coterminosity"])
    row = cot[(cot["layer_a"] == "local_authority") & (cot["layer_b"] == "place")].iloc[0]
    assert row["coterminous_share"] == 0  # the example's places cut across the councils


def test_console_script_and_module_agree():
    proc = subprocess.run([sys.executable, "-m", "sim", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.startswith("handover ")


def test_the_python_api_takes_a_path_checks_its_seed_and_keeps_results(tmp_path):
    import numpy as np

    import sim

    cfg = sim.load_config(small_config(tmp_path))
    by_path = sim.simulate(small_config(tmp_path), seed=np.int64(4))
    assert by_path.seed == 4 and by_path.summary.equals(sim.simulate(cfg, seed=4).summary)
    for seed in (1.5, -1, True, "3"):
        with pytest.raises(ValueError, match=f"seed must be a whole number, 0 or more, not {seed!r}"):
            sim.simulate(cfg, seed=seed)
    with pytest.raises(ValueError, match="replication must be"):
        sim.simulate(cfg, replication=-2)
    out = tmp_path / "out"
    by_path.write(out)
    before = (out / "summary.csv").read_bytes()
    other = sim.simulate(cfg, seed=5)
    with pytest.raises(FileExistsError, match="already holds results"):
        other.write(out)
    assert (out / "summary.csv").read_bytes() == before
    other.write(out, force=True)
    assert (out / "summary.csv").read_bytes() != before


def test_csv_escapes_cells_a_spreadsheet_would_run(tmp_path):
    from sim.metrics import RunResult

    r = RunResult("x", 1, 0, {"summary": pd.DataFrame({"config": ["=cmd|' /C calc'!A0", "plain"], "n": [-1, 2]})})
    r.write(tmp_path)
    text = (tmp_path / "summary.csv").read_text()
    assert "'=cmd" in text  # the formula is shown as text
    assert ",-1" in text  # numbers are numbers, not escaped
    assert pd.read_parquet(tmp_path / "summary.parquet")["config"].iloc[0] == "=cmd|' /C calc'!A0"


KINDS = {  # a file of each kind, what it is called, and the command that takes it
    "configuration": (ROOT / "configs" / "example.yaml", "a model configuration", "handover run"),
    "experiment": (ROOT / "experiments" / "example.yaml", "an experiment file", "handover sweep"),
    "spec": (ROOT / "configs" / "build" / "surrey.yaml", "a build specification", "handover build"),
}


@pytest.mark.parametrize(
    ("command", "expects", "given"),
    [
        pytest.param(["run"], "configuration", "experiment", id="run-experiment"),
        pytest.param(["run"], "configuration", "spec", id="run-spec"),
        pytest.param(["structure"], "configuration", "experiment", id="structure-experiment"),
        pytest.param(
            ["transform", "--split-counties", "500000", "--out", "{tmp}/new.yaml"],
            "configuration",
            "experiment",
            id="transform-experiment",
        ),
        pytest.param(["sweep", "--dry-run"], "experiment", "configuration", id="sweep-configuration"),
        pytest.param(["sweep", "--results", "{tmp}"], "experiment", "spec", id="sweep-spec"),
        pytest.param(["build", "--out", "{tmp}/built.yaml"], "spec", "configuration", id="build-configuration"),
        pytest.param(["build", "--out", "{tmp}/built.yaml"], "spec", "experiment", id="build-experiment"),
    ],
)
def test_a_file_of_another_kind_is_one_line_naming_the_command_that_takes_it(tmp_path, capsys, command, expects, given):
    path, called, takes = KINDS[given]
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    assert main([args[0], str(path), *args[1:]]) == 2
    first, *rest = capsys.readouterr().err.splitlines()
    assert first.startswith(f"{path}: (top level): {called}, not {KINDS[expects][1]}: '{takes} {path}")
    assert rest == ["1 problem found"]
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_validate_takes_each_kind_of_file_and_says_which_it_is(capsys):
    for path, called, _ in KINDS.values():
        assert main(["validate", str(path)]) == 0
        valid = "a valid " + called.removeprefix("a ").removeprefix("an ").removesuffix(" file")
        assert capsys.readouterr().out.startswith(f"{path}: {valid} (")


def test_an_experiments_base_that_is_an_experiment_is_said_to_be_one(tmp_path, capsys):
    path = tmp_path / "exp.yaml"
    other = ROOT / "experiments" / "example.yaml"
    path.write_text(f"name: wrong-base\nbase: {other}\nscenarios:\n  today: {{baseline: true}}\n")
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:2: base: {other}: an experiment file, not a model configuration: 'handover sweep {other}' runs it",
        "1 problem found",
    ]


def test_transform_says_what_is_wrong_with_the_configuration_it_is_given(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text(EXAMPLE.read_text().replace("footprints:", "footprint:"))
    code = main(["transform", str(broken), "--split-counties", "500000", "--out", str(tmp_path / "new.yaml")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{broken}:1: footprints: required key is missing" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "command",
    [
        ["run", str(EXAMPLE), "--out", "{file}"],
        ["run", str(EXAMPLE), "--out", "{file}/run"],
        ["build", str(KINDS["spec"][0]), "--out", "{file}/built.yaml"],
        ["transform", str(EXAMPLE), "--split-counties", "100000", "--out", "{file}/new.yaml"],
        # the file named, not the experiment's folder beneath it
        ["sweep", str(ROOT / "experiments" / "example.yaml"), "--no-progress", "--results", "{file}"],
    ],
    ids=lambda c: f"{c[0]}-{c[-1].removeprefix('{file}').strip('/') or 'file'}",
)
def test_an_output_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path, capsys, command):
    file = tmp_path / "a-file"
    file.write_text("kept\n")
    assert main([a.replace("{file}", str(file)) for a in command]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{file}: a file is where a folder is needed") and len(err.splitlines()) == 1
    assert file.read_text() == "kept\n" and sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_disk_that_fills_while_a_run_is_written_is_one_line_and_leaves_no_file_cut_short(
    tmp_path, capsys, monkeypatch
):
    """Arrow's error when the disk fills names no file ('Error writing bytes to file.
    Detail: [errno 28] No space left on device'): the folder being written is named,
    and the file cut short goes rather than take the room left."""
    import errno

    real = pd.DataFrame.to_parquet

    def disk_full(df, path, *args, **kwargs):
        if Path(path).name.startswith("handovers"):
            Path(path).write_bytes(b"PAR1 cut short")
            raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")
        return real(df, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    out = tmp_path / "run"
    assert main(["run", str(EXAMPLE), "--out", str(out)]) == 1
    assert capsys.readouterr().err == f"{out}: No space left on device\n"
    assert not list(out.glob("handovers*")) and not list(out.glob("*.tmp"))


def _readme_commands() -> tuple[list[str], set[str]]:
    """The README's `handover` commands (each line of a code block, and each in
    backticks with arguments), and every option it names in backticks."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands, inside = [], False
    for line in readme.splitlines():
        if line.startswith("```"):
            inside = not inside
        elif inside and line.startswith(".venv/bin/handover "):
            commands.append(re.split(r"\s{2,}#", line)[0].removeprefix(".venv/bin/handover ").strip())
    commands += [c for c in re.findall(r"`handover ([^`]+)`", readme) if " " in c]
    spans = [s for s in re.findall(r"`([^`\n]+)`", readme) if "sim.bench" not in s]
    options = {word for span in spans for word in span.split() if re.fullmatch(r"--[a-z][a-z-]*", word)}
    return commands, options


def test_every_command_and_option_the_readme_shows_is_one_the_tool_takes():
    commands, options = _readme_commands()
    assert len(commands) > 20 and {"--force", "--retry-failed", "--split-counties", "--with"} <= options
    parser = build_parser()
    for command in commands:
        try:
            parser.parse_args(shlex.split(command))
        except SystemExit:
            pytest.fail(f"the README's 'handover {command}' is not a command the tool takes")
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    taken = {o for sub in subparsers.choices.values() for a in sub._actions for o in a.option_strings}
    assert options <= taken, f"the README names options no command takes: {sorted(options - taken)}"


def test_an_option_a_command_does_not_take_is_said_with_that_commands_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["county", "Kent", "--out", "somewhere"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "usage: handover county" in err  # the options it does take, not the list of commands
    assert "handover county: error: unrecognized arguments: --out somewhere" in err
