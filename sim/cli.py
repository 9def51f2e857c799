"""The ``handover`` command line: validate, run and inspect configurations."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import re
import signal
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from sim import __version__
from sim.config import load_config
from sim.errors import ConfigError
from sim.geography import Geography, structure_tables
from sim.memory import RunTooLarge, check_cells, check_fits, needs
from sim.runner import DamagedRun

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
KEPT = "the runs that finished are kept; the same command again does the rest"  # a sweep stopped


def _whole(text: str) -> int:
    """A whole number, 0 or more (a seed, a replication), for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give 0 or more")
    return value


def _population(text: str) -> float:
    """A number of residents, more than none."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of residents") from None
    if not 0 < value < float("inf"):  # also NaN
        raise argparse.ArgumentTypeError(f"{text}: give a number of residents more than 0, e.g. 500000")
    return value


def _align_step(text: str) -> dict[str, object]:
    """``--align TYPE:TO`` as the transform it stands for."""
    kind, colon, to = text.partition(":")
    if not (kind and colon and to):
        raise argparse.ArgumentTypeError(f"{text!r}: give TYPE:TO, e.g. place:local_authority")
    return {"align": {"type": kind, "to": to}}


def _merge_step(text: str) -> dict[str, object]:
    """``--merge A,B:INTO`` as the transform it stands for."""
    orgs, colon, into = text.partition(":")
    if not (colon and into and all(orgs.split(","))):
        raise argparse.ArgumentTypeError(f"{text!r}: give A,B:INTO, e.g. icb_a,icb_b:icb_ab")
    return {"merge": {"organisations": orgs.split(","), "into": into}}


def _apply_step(text: str) -> dict[str, object]:
    """``--apply YAML``: one transform, ``{name: {arguments}}``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from sim.errors import no_space_after_colon

    # '{split:{...}}' is one key, 'split:{...}', to YAML: a colon needs a space after it
    spaces = (
        "; YAML needs a space after each colon, e.g. '{align: {type: place}}'" if re.search(r"\w:[^\s/]", text) else ""
    )
    try:
        step = YAML(typ="safe").load(text)
    except YAMLError as exc:
        detail = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise argparse.ArgumentTypeError(f"{text!r} is not valid YAML: {detail}{spaces}") from None
    if isinstance(step, dict) and step and (run_in := no_space_after_colon(str(next(iter(step))))):
        raise argparse.ArgumentTypeError(f"{text!r}: no transform is named {next(iter(step))!r}{run_in}")
    if not (isinstance(step, dict) and len(step) == 1):
        raise argparse.ArgumentTypeError(f"{text!r}: give one transform and its arguments, e.g. '{{split: {{...}}}}'")
    return step


def _print_table(title: str, df: pd.DataFrame) -> None:
    print(f"\n{title}")
    if df.empty:
        print("  (none)")
        return
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_rows", 200):
        print(df.to_string(index=False, float_format=lambda x: f"{x:.3g}"))


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.yamlio import kind_of, load_yaml

    data, _ = load_yaml(args.config)
    kind = kind_of(data)
    if kind == "build specification":
        from sim.build import build_from_file

        built = build_from_file(args.config)
        print(
            f"{args.config}: a valid build specification ({len(built['zones'])} zones, "
            f"{len(built['organisations'])} organisations); make its configuration with "
            f"'handover build {args.config} --out configs/{built['name']}.yaml'"
        )
        return EXIT_OK
    if kind == "experiment file":
        from sim.experiment import load_experiment

        exp = load_experiment(args.config)
        check_cells(exp.path, exp.cells)
        n = len(exp.spec.scenarios)
        shape = f"{n} scenario{'s' * (n != 1)}" + (f" x {len(exp.points)} sweep points" if exp.spec.sweep else "")
        r = exp.initial_replications
        print(
            f"{args.config}: a valid experiment ({shape}, {r} replication{'s' * (r != 1)} each to start; "
            f"every configuration valid); its plan and time: handover sweep --dry-run {args.config}"
        )
        for line in exp.notes():
            print(f"note: {line}")
        return EXIT_OK
    cfg = load_config(args.config)
    check_fits(cfg)
    orgs = len(cfg.organisations)
    print(
        f"{args.config}: a valid model configuration ({len(cfg.zones)} zones, {orgs} organisations, "
        f"{len(cfg.pathways)} pathways; a run holds {needs(cfg)})"
    )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    import sim
    from sim.sweep import start_up

    cfg = load_config(args.config)
    out = Path(args.out) if args.out else Path("results") / "runs" / f"{cfg.name}-seed{args.seed}"
    if out.exists() and any(out.iterdir()) and not args.force:
        print(f"{out}: already holds results; choose another --out or add --force to replace them", file=sys.stderr)
        return EXIT_INVALID
    result = sim.simulate(cfg, seed=args.seed, replication=args.replication)
    written = result.write(out, force=args.force)
    s = result.summary.iloc[0]
    print(
        f"{cfg.name}: seed {args.seed}, {cfg.run.length_days:g} days ({cfg.run.warmup_days:g} warm-up), "
        f"{result.wall_seconds:.1f} s"
    )
    print(f"  discharges a week            {s['discharges_per_week']:.1f}")
    print(f"  handovers per discharge      {s['handovers_per_discharge']:.2f}")
    print(f"  failed handovers per 100     {s['failed_handovers_per_100']:.1f}")
    print(f"  gap days per discharge       {s['gap_days_per_discharge']:.2f}")
    print(f"  delayed days per discharge   {s['delayed_days_per_discharge']:.2f}")
    print(
        f"  meetings a week              {s['meetings_per_week']:.1f} ({s['meeting_hours_per_week']:.1f} staff hours)"
    )
    print(
        f"  interfaces                   {s['interfaces']} ({s['interface_hours_per_week']:.1f} staff hours a week: "
        "referrals, rework, the pairs' meetings)"
    )
    print(f"  coordination FTE             {s['coordination_fte']:.1f}")
    if s["overloaded"]:
        print(f"  overloaded                   {s['overloaded']} (a queue that never cleared in the second half)")
    counts = result.tables["awaiting"]["awaiting_discharge"].to_numpy()
    if (settled := start_up(cfg.name, "", [counts], cfg.run.warmup_days)) and settled.short:
        print(f"  warm-up short                {settled.said()} (by MSER-5: README, 'Warm-up and the end of the run')")
    print(f"tables ({', '.join(written)}) written to {out}/ as Parquet and CSV")
    return EXIT_OK


def cmd_structure(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    tables = structure_tables(Geography(cfg))
    if args.json:
        print(json.dumps({k: v.to_dict(orient="records") for k, v in tables.items()}, indent=2))
        return EXIT_OK
    print(f"{cfg.name}: structure of the configuration (no simulation)")
    _print_table("Organisations by type", tables["organisations"])
    _print_table("Partners per organisation (serving at least 1% of its residents or patients)", tables["partners"])
    _print_table("Interfaces: organisation pairs that exchange patients", tables["interfaces"])
    _print_table("Coterminosity between footprint layers (share of residents)", tables["coterminosity"])
    _print_table("Recurring meetings, the deciding bodies' sittings included", tables["meetings"])
    return EXIT_OK


def _refuses_overwrite(out: Path, force: bool) -> bool:
    """True (after saying why) when ``out`` exists and --force was not given."""
    if out.exists() and not force:
        print(f"{out}: already exists; choose another --out or add --force to replace it", file=sys.stderr)
        return True
    return False


def _write_atomically(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OSError(exc.errno, exc.strerror, str(out)) from None  # named as the user gave it


def cmd_build(args: argparse.Namespace) -> int:
    from sim.build import build_from_file, build_header, dump

    out = Path(args.out)
    if _refuses_overwrite(out, args.force):
        return EXIT_INVALID
    data = build_from_file(args.spec)
    _write_atomically(out, dump(data, build_header(data, args.spec)))
    n_orgs = len(data["organisations"])
    print(f"{out}: {len(data['zones'])} zones, {n_orgs} organisations (validate, run or use it in an experiment)")
    return EXIT_OK


def cmd_transform(args: argparse.Namespace) -> int:
    from sim.build import dump, shown_path
    from sim.config import config_from_dict
    from sim.transforms import TransformError, apply
    from sim.yamlio import flow, load_yaml

    out = Path(args.out)
    if _refuses_overwrite(out, args.force):
        return EXIT_INVALID
    data, lines = load_yaml(args.config, "model configuration")
    config_from_dict(data, args.config, lines)  # what is wrong with it, said of its own lines
    steps: list[dict[str, object]] = [*(args.align or []), *(args.merge or [])]
    if args.split_counties is not None:
        steps.append({"split_counties": {"target_population": args.split_counties}})
    steps += args.apply or []
    if not steps:
        print("give at least one of --align, --merge, --split-counties, --apply", file=sys.stderr)
        return EXIT_INVALID
    for step in steps:
        try:
            data = apply(data, step)
        except TransformError as exc:
            print(f"{args.config}: {exc}", file=sys.stderr)
            return EXIT_INVALID
    # named as the file it is written to: 'kent-split-aligned', not 'kent-and-medway-transformed-transformed'
    data["name"] = args.name or out.stem
    described = "; ".join(flow(step) for step in steps)  # 'split_counties: {target_population: 500000}'
    # the description is what a report says of the configuration: not that of the one it came from
    data["description"] = " ".join(
        [str(data.get("description", "")).strip(), f"Boundaries changed by handover transform: {described}."]
    ).strip()
    cfg = config_from_dict(data, str(out))
    header = (
        f"# Made by `handover transform` from {shown_path(args.config)}, changing its boundaries:\n"
        + "".join(f"# {line}\n" for line in textwrap.wrap(f"{described}.", 100, break_on_hyphens=False))
        + "# Staff and capacity follow residents (sim/transforms.py).  Regenerate it rather than editing by hand.\n"
    )
    text = dump(data, header)
    _write_atomically(out, text)
    print(f"{out}: {len(cfg.organisations)} organisations after {len(steps)} transform(s)")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from sim.report import write_report

    try:
        path = write_report(args.results_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    print(f"report written to {path}")
    return EXIT_OK


def cmd_study(args: argparse.Namespace) -> int:
    from sim.studies import write_ccn_findings

    path = write_ccn_findings(Path(args.results) / "ccn-structure")
    print(path.read_text(encoding="utf-8"))
    print(f"written to {path.parent}/")
    return EXIT_OK


COUNTY_OPTIONS = ("with", "unitaries", "replications")  # county_study's errors that are about an option


def cmd_county(args: argparse.Namespace) -> int:
    from sim.county import county_study, guess_note, study_files, unitaries_in_words, with_councils

    try:
        study = county_study(
            args.county,
            unitaries=args.unitaries,
            replications=args.replications,
            neighbours=args.neighbours,
            police=args.police,
        )
    except ValueError as exc:  # "with: ..." names the option as the command line spells it, "--with: ..."
        key, colon, rest = str(exc).partition(": ")
        print(f"--{key}: {rest}" if colon and key in COUNTY_OPTIONS else exc, file=sys.stderr)
        return EXIT_INVALID
    files = study_files(study, args.root)
    there = [path for path in files if path.exists()]
    if there and not args.force:
        for path in there:
            print(f"{path}: already exists; add --force to replace it", file=sys.stderr)
        return EXIT_INVALID
    for path, text in files.items():
        _write_atomically(path, text)
        print(f"wrote {path}")
    options = unitaries_in_words(list(study.groups))
    print(f"\n{study.name}{with_councils(study.neighbours)}: today against {options} unitaries, councils grouped by")
    print("the hospitals their residents use (the model's guess; edit the experiment to study a real proposal):")
    for n, groups in study.groups.items():
        for k, group in enumerate(groups, 1):
            print(f"  {study.name} ({k} of {n}): {', '.join(group)}")
    print(textwrap.fill(guess_note(study), width=100))
    root = Path(args.root)
    experiment, results = root / "experiments" / f"{study.slug}.yaml", root / "results"
    # a sweep writes to ./results unless told: where --root is elsewhere, the results go beside the study
    elsewhere = root.resolve() != Path.cwd().resolve()
    print(f"\nnext:\n  handover sweep {experiment}" + (f" --results {results}" if elsewhere else ""))
    print(f"  handover report {results / study.slug}")
    return EXIT_OK


@contextlib.contextmanager
def say_so_on_kill() -> Iterator[None]:
    """While a sweep runs, a kill (SIGTERM: ``kill``, a batch system's time limit)
    says what Ctrl-C says, then ends the sweep at once, as it always has: its
    workers end with it, and the runs that finished are on disk.  (Stopping the
    workers' pool gracefully instead would wait for the runs under way.)"""
    if threading.current_thread() is not threading.main_thread():  # handlers are the main thread's
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)

    def stop(signum: int, _frame: object) -> None:
        # os.write, not print: the handler may run in the middle of a print (the progress bar's)
        with contextlib.suppress(OSError):  # nowhere to say it (stderr closed): end all the same
            os.write(2, f"\nstopped (SIGTERM): {KEPT}\n".encode())
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.runner import ClusterError, FolderInUse
    from sim.sweep import OtherExperiment, dry_run, run_sweep

    if args.workers is not None and args.workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return EXIT_INVALID
    if args.dry_run:
        for line in dry_run(args.experiment, args.results, args.workers):
            print(line)
        return EXIT_OK
    try:
        with say_so_on_kill():
            report = run_sweep(
                args.experiment,
                results_root=args.results,
                workers=args.workers,
                scheduler=args.scheduler,
                retry_failed=args.retry_failed,
                progress=not args.no_progress,
                force=args.force,
                remove_unused=args.remove_unused,
            )
    except KeyboardInterrupt:
        print(f"interrupted: {KEPT}", file=sys.stderr)
        return 130
    except (ClusterError, FolderInUse) as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    except OtherExperiment as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:
        said = None if isinstance(exc, BrokenPipeError) else _what_is_wrong(exc, args)
        if said is None:  # not a file's: unforeseen
            raise
        print(  # the results folder cannot be written: not a folder, no permission, disk full
            f"{said}; any runs that finished are kept, and once this is put right the same command again does the rest",
            file=sys.stderr,
        )
        return EXIT_FAILED
    for line in report.lines():
        print(line)
    return EXIT_FAILED if report.failed else EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.sweep import compare_lines

    try:
        lines = compare_lines(args.results_dir)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    for line in lines:
        print(line)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="handover",
        description="Simulate complex hospital discharges across organisational boundaries.",
    )
    parser.add_argument("--version", action="version", version=f"handover {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "validate", help="check a model configuration, experiment or build specification and report every problem"
    )
    p.add_argument("config", help="a model configuration, experiment or build specification (YAML)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("run", help="simulate a configuration once and write its tables")
    p.add_argument("config", help="a configuration YAML file")
    p.add_argument("--seed", type=_whole, default=1, help="random seed, 0 or more (default 1)")
    p.add_argument("--replication", type=_whole, default=0, help="replication number, 0 or more (default 0)")
    p.add_argument("--out", help="output folder (default results/runs/NAME-seedN)")
    p.add_argument("--force", action="store_true", help="replace results already in the output folder")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("structure", help="organisations, partners, interfaces and coterminosity, without simulating")
    p.add_argument("config", help="a configuration YAML file")
    p.add_argument("--json", action="store_true", help="print the tables as JSON")
    p.set_defaults(func=cmd_structure)

    p = sub.add_parser("build", help="build a configuration from England's real geography")
    p.add_argument("spec", help="a build spec YAML file (which ICBs, places, community providers)")
    p.add_argument("--out", required=True, help="the configuration file to write")
    p.add_argument("--force", action="store_true", help="replace the file if it exists")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("transform", help="write a new configuration with boundaries changed")
    p.add_argument("config", help="a configuration YAML file")
    p.add_argument("--out", required=True, help="the configuration file to write")
    p.add_argument(
        "--align",
        action="append",
        type=_align_step,
        metavar="TYPE:TO",
        help="e.g. place:local_authority (for within or min_population, use --apply)",
    )
    p.add_argument(
        "--merge", action="append", type=_merge_step, metavar="A,B:INTO", help="merge organisations of one type"
    )
    p.add_argument(
        "--split-counties",
        type=_population,
        metavar="POPULATION",
        help="split counties into unitaries of about this size",
    )
    p.add_argument(
        "--apply",
        action="append",
        type=_apply_step,
        metavar="YAML",
        help="any transform as YAML, e.g. '{split: {...}}'",
    )
    p.add_argument("--name", help="the new configuration's name (default: the name of the file written)")
    p.add_argument("--force", action="store_true", help="replace the file if it exists")
    p.set_defaults(func=cmd_transform)

    p = sub.add_parser("report", help="write an experiment's HTML report with its figures")
    p.add_argument("results_dir", help="an experiment's results folder, e.g. results/lancashire-south-cumbria")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("study", help="the County Councils Network figures: councils per ICB before and after")
    p.add_argument("name", choices=["ccn"], help="which study")
    p.add_argument("--results", default="results", help="results folder (default results/)")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("county", help="write a first study of a two-tier county: today against two to five unitaries")
    p.add_argument("county", help="a two-tier county of 2023, e.g. Norfolk")
    p.add_argument(
        "--unitaries",
        type=int,
        nargs="+",
        default=[2, 3],
        metavar="N",
        help="split into N unitaries, 2 to 5 (default 2 3)",
    )
    p.add_argument(
        "--with",
        dest="neighbours",
        nargs="+",
        default=[],
        metavar="UNITARY",
        help="unitary councils beside the county to regroup with it, e.g. Southend-on-Sea Thurrock with Essex",
    )
    p.add_argument(
        "--police",
        action="store_true",
        help="with the police forces, each on every council's Safeguarding Adults Board",
    )
    p.add_argument("--replications", type=int, default=10, help="replications of each scenario (default 10)")
    p.add_argument(
        "--root",
        default=".",
        help="the project folder to write configs/ and experiments/ in (and results/, in the commands it gives next)",
    )
    p.add_argument("--force", action="store_true", help="replace the study's files if they exist")
    p.set_defaults(func=cmd_county)

    p = sub.add_parser("sweep", help="run an experiment: scenarios, sweeps and replications (resumable)")
    p.add_argument("experiment", help="an experiment YAML file")
    p.add_argument("--dry-run", action="store_true", help="print the plan and an estimate of time; run nothing")
    p.add_argument("--workers", type=int, help="local processes (default: all cores; 1 runs in this process)")
    p.add_argument("--scheduler", help="address of a Dask scheduler to run on instead of local processes")
    p.add_argument("--retry-failed", action="store_true", help="re-run only the runs that failed before")
    p.add_argument(
        "--remove-unused",
        action="store_true",
        help="delete the finished runs in the results folder that this experiment no longer asks for (an edited "
        "experiment's, or another version of the model's); without it they are kept",
    )
    p.add_argument("--results", default="results", help="results folder (default results/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the tables and report of another experiment file of the same name (its runs are kept)",
    )
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("compare", help="print an experiment's scenario comparison")
    p.add_argument("results_dir", help="an experiment's results folder, e.g. results/example-boundaries")
    p.set_defaults(func=cmd_compare)
    for command in sub.choices.values():
        command.set_defaults(command_parser=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's own parser, with its usage (not the top level's)
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        n = len(exc.problems)
        print(f"{n} problem{'s' if n != 1 else ''} found", file=sys.stderr)
        return EXIT_INVALID
    except (RunTooLarge, DamagedRun) as exc:  # each names its file
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a command that stopped reading (head, less)
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:  # a file where a folder goes (--out), no permission, a full disk
        said = _what_is_wrong(exc, args)
        if said is None:  # not a file's: unforeseen
            raise
        print(said, file=sys.stderr)
        return EXIT_FAILED


def _what_is_wrong(exc: OSError, args: argparse.Namespace) -> str | None:
    """An error writing a file, in a user's words: 'PATH: what is wrong'. A file in the way
    of a folder is named itself, not the path beneath it that could not be made.  A disk
    that fills during a write names no file (Python's error, and Arrow's), so the folder
    the command writes to is named; None: not an error of writing files."""
    if exc.filename is None:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return None
        said = os.strerror(exc.errno)  # Arrow's words are longer: "Error writing bytes to file. Detail: ..."
        where = next(
            (getattr(args, a) for a in ("out", "results", "results_dir", "root") if getattr(args, a, None)), None
        )
        return f"{where}: {said}" if where else said
    path = Path(exc.filename)
    if isinstance(exc, (FileExistsError, NotADirectoryError)):  # making a folder, or writing in one
        in_the_way = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), path)
        return f"{in_the_way}: a file is where a folder is needed"
    return f"{path}: {exc.strerror}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
