"""Experiment files: a base configuration, scenarios, a sweep of factors and replications,
expanded into a plan of runs.

A run is identified by what it computes: the hash of its resolved configuration, its
seed, its replication and the model's ``RESULTS_VERSION``.  So a run finished once is
never run again, whichever scenario or sweep point asks for it, adding replications or
scenarios to an experiment reuses every run that still matches, and a change to the
model that changes results (and so the version) runs them all again.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from sim.config import Config, Run, config_from_dict, problems_from_validation
from sim.errors import ConfigError, Problem, likely
from sim.metrics import HEADLINE
from sim.model import RESULTS_VERSION, patients_key
from sim.transforms import TransformError, apply, councils_in_pieces
from sim.yamlio import Lines, flow, line_of, load_yaml

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# said of an experiment without a sweep (a sweep's single runs are read across its points)
ONE_REPLICATION = (
    "there is no confidence interval, so no change from the baseline can be told from chance (the report "
    "shows every change grey): give replications 2 or more (10 is usual)"
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class AutoReplications(Strict):
    """Add replications until every named metric's 95% CI half-width is within
    ``half_width_pct`` percent of its mean, in every scenario and sweep point."""

    metrics: list[str] = Field(min_length=1)
    half_width_pct: float = Field(gt=0, le=100)
    min: int = Field(default=5, ge=2)
    max: int = Field(default=50, ge=2)
    step: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _check(self) -> AutoReplications:
        if self.max < self.min:
            raise ValueError("max must be at least min")
        unknown = [m for m in self.metrics if m not in HEADLINE]
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r}; headline metrics: {', '.join(HEADLINE)}")
        return self


class Scenario(Strict):
    baseline: bool = False
    description: str = ""
    config: str | None = Field(default=None, description="a configuration file, relative to the experiment file")
    transforms: list[dict[str, Any]] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted key -> value")

    def summary(self) -> str:
        """Its description, or else what it does, as the experiment file says it:
        'the base configuration with split: {organisation: south_council, ...}'."""
        if self.description:
            return self.description
        changes = [flow(t) for t in self.transforms] + [f"{k}: {flow(v)}" for k, v in self.overrides.items()]
        changes = [c if len(c) <= 160 else f"{c[:157]}..." for c in changes]  # ICBs redrawn council by council
        start = self.config or "the base configuration"
        return f"{start} with {'; '.join(changes)}" if changes else start


class Range(Strict):
    low: float
    high: float
    integer: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.high <= self.low:
            raise ValueError("high must be greater than low")
        if self.integer and not (self.low.is_integer() and self.high.is_integer()):
            # each whole number from low to high is drawn: 1.5 to 4 would draw 1
            raise ValueError(
                f"an integer range needs whole numbers for low and high, not {self.low:g} to {self.high:g}"
            )
        return self


def _factor_kind(value: Any) -> str | None:
    if isinstance(value, dict | Range):
        return "range"
    return "values" if isinstance(value, list | tuple) else None


# a factor is a list of values, or a range {low, high}: told apart by their shape, so
# that a mistake in one is reported as that, not also as not being the other
Factor = Annotated[
    Annotated[list[Any], Tag("values")] | Annotated[Range, Tag("range")],
    Discriminator(
        _factor_kind,
        custom_error_type="factor_kind",
        custom_error_message="should be a list of values (grid, zip) or a range {low, high} (latin_hypercube)",
    ),
]


def points_to_rank(factors: int) -> int:
    """Points a Latin hypercube needs for its sensitivity ranking: each factor's partial rank
    correlation, the others held, has points - factors - 1 degrees of freedom, and its test
    needs two at least."""
    return factors + 3


class Sweep(Strict):
    method: Literal["grid", "zip", "latin_hypercube"]
    factors: dict[str, Factor] = Field(min_length=1)
    points: int | None = Field(default=None, ge=2, description="latin_hypercube: how many points")

    @model_validator(mode="after")
    def _shape(self) -> Sweep:
        lists = {k: v for k, v in self.factors.items() if isinstance(v, list)}
        ranges = {k: v for k, v in self.factors.items() if isinstance(v, Range)}
        if self.method == "latin_hypercube":
            if lists:
                raise ValueError(f"latin_hypercube factors are ranges {{low, high}}, not lists: {', '.join(lists)}")
            if self.points is None:
                raise ValueError("latin_hypercube needs points")
        else:
            if ranges:
                raise ValueError(f"{self.method} factors are lists of values, not ranges: {', '.join(ranges)}")
            if any(len(v) == 0 for v in lists.values()):
                raise ValueError("every factor needs at least one value")
            if self.method == "zip" and len({len(v) for v in lists.values()}) > 1:
                raise ValueError("zip needs lists of the same length")
            if self.points is not None:
                raise ValueError("points goes with latin_hypercube only")
        return self

    def expand(self, seed: int) -> list[dict[str, Any]]:
        """The factor values of every point, in a fixed order."""
        keys = list(self.factors)
        if self.method == "grid":
            values = [self.factors[k] for k in keys]
            return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]
        if self.method == "zip":
            values = [self.factors[k] for k in keys]
            return [dict(zip(keys, combo, strict=True)) for combo in zip(*values, strict=True)]
        assert self.points is not None
        from scipy.stats import qmc  # here: scipy.stats takes 0.4 s to import, in every worker

        sampler = qmc.LatinHypercube(d=len(keys), rng=np.random.default_rng(seed))
        unit = sampler.random(self.points)
        points = []
        for row in unit:
            point: dict[str, Any] = {}
            for k, u in zip(keys, row, strict=True):
                r = self.factors[k]
                assert isinstance(r, Range)
                if r.integer:  # each whole number from low to high equally likely
                    point[k] = int(min(np.floor(r.low + float(u) * (r.high - r.low + 1)), r.high))
                else:
                    point[k] = r.low + float(u) * (r.high - r.low)
            points.append(point)
        return points


class ExperimentSpec(Strict):
    name: str
    title: str = Field(default="", description="the report's heading, for its readers (the name when not given)")
    description: str = ""
    base: str = Field(description="the base configuration, relative to the experiment file")
    seed: int = Field(default=1, ge=0)
    run: Run | None = Field(default=None, description="run length and warm-up for every run")
    replications: int | AutoReplications = 10
    scenarios: dict[str, Scenario] = Field(default_factory=lambda: {"baseline": Scenario(baseline=True)})
    sweep: Sweep | None = None

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        if not NAME_PATTERN.match(name):
            raise ValueError("name must be letters, digits, '.', '_' or '-' (it names the results folder)")
        return name

    @field_validator("replications")
    @classmethod
    def _positive(cls, r: int | AutoReplications) -> int | AutoReplications:
        if isinstance(r, int) and r < 1:
            raise ValueError("replications must be at least 1")
        return r

    @field_validator("scenarios")
    @classmethod
    def _one_baseline(cls, scenarios: dict[str, Scenario]) -> dict[str, Scenario]:
        if not scenarios:
            raise ValueError("give at least one scenario")
        baselines = [k for k, s in scenarios.items() if s.baseline]
        if len(scenarios) > 1 and len(baselines) != 1:
            raise ValueError(f"mark exactly one scenario baseline: true (found {len(baselines)})")
        return scenarios

    @property
    def baseline(self) -> str:
        return next((k for k, s in self.scenarios.items() if s.baseline), next(iter(self.scenarios)))


@dataclass(frozen=True)
class RunSpec:
    """One run of the plan: which scenario and sweep point it serves, and what it computes."""

    run_id: str
    scenario: str
    point: int
    factors: dict[str, Any]
    replication: int
    seed: int
    config_hash: str
    config_data: dict[str, Any] = field(repr=False, compare=False)
    results_version: int  # the model's where the plan was made: a worker's must be the same


@dataclass
class Cell:
    """A scenario at a sweep point: a resolved configuration, replicated."""

    scenario: str
    point: int
    factors: dict[str, Any]
    config: Config
    config_data: dict[str, Any]
    config_hash: str
    patients: str = ""  # patients_key: who its runs' patients are, for a seed

    def run(self, replication: int, seed: int) -> RunSpec:
        what = f"{self.config_hash}:{seed}:{replication}:results-version-{RESULTS_VERSION}"
        digest = hashlib.sha256(what.encode()).hexdigest()[:20]
        return RunSpec(
            digest,
            self.scenario,
            self.point,
            self.factors,
            replication,
            seed,
            self.config_hash,
            self.config_data,
            RESULTS_VERSION,
        )


@dataclass
class Experiment:
    spec: ExperimentSpec
    path: Path
    text: str
    cells: list[Cell]
    points: list[dict[str, Any]]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def initial_replications(self) -> int:
        r = self.spec.replications
        return r if isinstance(r, int) else r.min

    def same_configurations(self) -> list[str]:
        """A line for each scenario that gives the configuration an earlier one gives (a
        no-op override, places aligned where they already are): its runs are that one's
        runs, and its results the same."""
        first: dict[tuple[int, str], str] = {}
        points: dict[tuple[str, str], int] = {}
        for cell in self.cells:
            earlier = first.setdefault((cell.point, cell.config_hash), cell.scenario)
            if earlier != cell.scenario:
                points[(cell.scenario, earlier)] = points.get((cell.scenario, earlier), 0) + 1
        n = len(self.points)
        return [
            f"scenario {later} gives the same configuration as {earlier}"
            + ("" if k == n else f" at {k} of the {n} sweep points")
            + ": the same runs, so the same results"
            for (later, earlier), k in points.items()
        ]

    def notes(self) -> list[str]:
        """What a user should know before running it, though it is valid: scenarios that
        share their runs, scenarios whose patients are not the baseline's, and a Latin
        hypercube too small to rank its factors."""
        lines = self.same_configurations() + self.councils_in_pieces()
        others = other_patients([(c.scenario, c.point, c.patients) for c in self.cells], self.spec.baseline)
        if others:
            lines.append(other_patients_note(others, self.spec.baseline))
        if self.spec.replications == 1 and self.spec.sweep is None:
            lines.append(f"replications: 1: {ONE_REPLICATION}")
        sweep = self.spec.sweep
        if sweep is not None and sweep.method == "latin_hypercube":
            k, n = len(sweep.factors), len(self.points)
            if n < points_to_rank(k):
                lines.append(
                    f"a Latin hypercube of {n} points cannot rank {k} factors: a partial rank correlation "
                    f"needs at least {points_to_rank(k)} points ({k} factors + 3), so sensitivity.csv will be "
                    "empty and the report will have no ranking; give sweep.points more "
                    "(ten a factor is a common choice)"
                )
        return lines

    def councils_in_pieces(self) -> list[str]:
        """A line for each council a scenario makes in pieces that do not touch (England's
        districts: `councils_in_pieces`), at the first sweep point where it does."""
        seen: dict[tuple[str, str], str] = {}
        for cell in self.cells:
            for council, found in councils_in_pieces(cell.config_data):
                seen.setdefault(
                    (cell.scenario, council),
                    f"scenario {cell.scenario}: {council} is in {len(found)} pieces that do not touch ("
                    + "; ".join(", ".join(piece) for piece in found)
                    + "), so its staff would cover areas with another council between them; check the "
                    "districts given to it",
                )
        return list(seen.values())

    def plan(self, replications: dict[tuple[str, int], int] | int) -> list[RunSpec]:
        runs = []
        for cell in self.cells:
            n = replications if isinstance(replications, int) else replications[(cell.scenario, cell.point)]
            runs += [cell.run(rep, self.spec.seed) for rep in range(n)]
        return runs


def other_patients(cells: Iterable[tuple[str, int, str]], baseline: str) -> list[str]:
    """The scenarios whose patients (``patients_key``, with each cell's scenario and sweep
    point) differ from the baseline's at some point: their changes from it are not of
    the same patients.  None where a key is not known (results written before it)."""
    cells = list(cells)
    base = {point: key for scenario, point, key in cells if scenario == baseline}
    return list(
        dict.fromkeys(
            scenario
            for scenario, point, key in cells
            if scenario != baseline and key and base.get(point) and key != base[point]
        )
    )


def other_patients_note(scenarios: list[str], baseline: str) -> str:
    names = ", ".join(scenarios)
    return (
        f"scenario{'s' if len(scenarios) > 1 else ''} {names} {'model' if len(scenarios) > 1 else 'models'} other "
        f"patients than {baseline}, the baseline (their zones, demand, case mix, stays or longest pathway differ): "
        f"a change from {baseline} is then between different patients, not the same ones under other boundaries"
    )


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``a.b.c`` in nested mappings (and lists, by index); the parent must exist."""
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            where = ".".join(parts[: i + 1])
            known = [str(k) for k in node] if isinstance(node, dict) else []
            meant = likely(part, known)
            hint = f"; did you mean {' or '.join(repr('.'.join([*parts[:i], k])) for k in meant)}?" if meant else ""
            raise KeyError(f"the configuration has no {where!r}{hint}")
    last = parts[-1]
    if isinstance(node, list):
        if not (last.isdigit() and int(last) < len(node)):
            raise KeyError(f"the configuration has no {key!r}")
        node[int(last)] = copy.deepcopy(value)
    elif isinstance(node, dict):
        node[last] = copy.deepcopy(value)
    else:
        raise KeyError(f"{'.'.join(parts[:-1])!r} holds a value, not keys")


def config_hash(cfg: Config) -> str:
    canonical = json.dumps(cfg.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_experiment(path: str | Path) -> Experiment:
    """Read an experiment file and resolve every scenario and sweep point into a configuration."""
    path = Path(path)
    data, lines = load_yaml(path, "experiment file")
    source = str(path)
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, source, lines, ExperimentSpec)) from None
    problems: list[Problem] = []
    at_points: dict[Problem, dict[int, Any]] = {}  # a sweep factor's problem: the points, and its value at each
    lacking: dict[Problem, set[str]] = {}  # a sweep factor no configuration of these scenarios has
    swept: list[str] = []  # the scenarios whose configurations the sweep's factors were set in
    points = spec.sweep.expand(spec.seed) if spec.sweep else [{}]
    cells: list[Cell] = []
    for name, scenario in spec.scenarios.items():
        where: tuple[str | int, ...] = ("scenarios", name)
        for key in scenario.overrides:  # the sweep sets its factors after the overrides, at every point
            masked = next((f for f in points[0] if key == f or key.startswith(f"{f}.")), None)
            if masked is not None:
                okey = (*where, "overrides", key)
                problems.append(
                    Problem(
                        source,
                        line_of(lines, okey),
                        okey,
                        f"the sweep sets {masked!r} in every scenario at every point (sweep.factors), after the "
                        "overrides, so this override changes nothing: drop it, or leave the factor out of the sweep",
                    )
                )
        base_rel = scenario.config or spec.base
        base_key: tuple[str | int, ...] = (*where, "config") if scenario.config else ("base",)
        base_path = (path.parent / base_rel).resolve()
        try:
            base_data, _ = load_yaml(base_path, "model configuration")
        except ConfigError as exc:
            problems += [
                Problem(source, line_of(lines, base_key), base_key, f"{base_rel}: {p.message}") for p in exc.problems
            ]
            continue
        resolved = _resolve(base_data, scenario, spec, where, source, lines, problems)
        if resolved is None:
            continue
        swept.append(name)
        for i, point in enumerate(points):
            cell_data = copy.deepcopy(resolved)
            for key, value in point.items():
                try:
                    set_dotted(cell_data, key, value)
                except KeyError as exc:  # said (once: problems are kept once), the other factors still checked
                    fkey = ("sweep", "factors", key)
                    problem = Problem(source, line_of(lines, fkey), fkey, str(exc.args[0]))
                    problems.append(problem)
                    lacking.setdefault(problem, set()).add(name)
            try:
                cfg = config_from_dict(cell_data, f"{base_rel} (scenario {name})")
            except ConfigError as exc:
                for p in exc.problems:
                    blamed, factor = _blame(p, scenario, where, point, source, lines)
                    if factor is not None:
                        drawn = spec.sweep.factors[factor] if spec.sweep else None
                        if isinstance(drawn, Range) and not drawn.integer and "integer" in p.message:
                            blamed = replace(
                                blamed, message=f"{blamed.message}; to draw whole numbers, add integer: true"
                            )
                        at_points.setdefault(blamed, {})[i] = point[factor]
                    problems.append(blamed)
                continue
            cells.append(Cell(name, i, point, cfg, cell_data, config_hash(cfg), patients_key(cfg)))
    if problems:
        for p, names in lacking.items():  # where other scenarios have it (a successor's staff, say), say which lack it
            if len(names) < len(swept):
                lacks = [n for n in swept if n in names]
                problems = [
                    replace(
                        q,
                        message=f"{q.message} (in scenario{'s' if len(lacks) > 1 else ''} {', '.join(lacks)}: "
                        "a sweep sets its factors in every scenario)",
                    )
                    if q == p
                    else q
                    for q in problems
                ]
        unique = [_at(p, at_points[p], len(points)) if p in at_points else p for p in dict.fromkeys(problems)]
        raise ConfigError(sorted(_once_for_shared_lines(unique), key=lambda p: p.line or 0))  # in the file's order
    return Experiment(spec, path, path.read_text(encoding="utf-8"), cells, points)


def _blame(
    problem: Problem,
    scenario: Scenario,
    where: tuple[str | int, ...],
    point: dict[str, Any],
    source: str,
    lines: Lines,
) -> tuple[Problem, str | None]:
    """A problem of a scenario's configuration, placed on the line of the experiment file
    that set the value: an override, a sweep factor (also returned, for `_at`), or else
    the scenario (or the sweep).  The key may be the value's, a mapping around it, or a
    value inside what is wrong ('pathways.P1.share: 0.9': the shares then sum to 1.6)."""
    dotted = ".".join(str(part) for part in problem.path)

    def setter(keys: Any) -> tuple[str, str] | None:  # the key, and what the problem is of as seen from it
        for k in keys:
            if dotted == k or dotted.startswith(f"{k}."):
                return k, dotted[len(k) + 1 :]
        return next(((k, dotted) for k in keys if dotted and k.startswith(f"{dotted}.")), None)

    found = setter(scenario.overrides)
    if found is not None:
        key, of = found
        place: tuple[str | int, ...] = (*where, "overrides", key)
        return Problem(
            source, line_of(lines, place), place, f"{of}: {problem.message}" if of else problem.message
        ), None
    found = setter(point)
    if found is not None:
        key, of = found
        place = ("sweep", "factors", key)
        # the value is said once for all the points it fails at, by `_at`
        message = problem.message.removesuffix(f", not {point[key]!r}") if dotted == key else problem.message
        return Problem(source, line_of(lines, place), place, f"{of}: {message}" if of else message), key
    place = ("sweep", "factors") if point else where
    at = f" at sweep point {point}" if point else ""
    return Problem(source, line_of(lines, place), place, f"gives an invalid configuration: {problem}{at}"), None


def _transform_line(lines: Lines, tkey: tuple[str | int, ...], message: str) -> int | None:
    """The line of what a transform's error names ('reorganise: into.north: ...' is on the
    line of ``into: north:``) where the file has it, else of the transform."""
    kind, _, rest = message.partition(": ")
    inner, _, said = rest.partition(": ")
    if said and re.fullmatch(r"[\w.]+", inner):
        path = (*tkey, kind, *(int(k) if k.isdigit() else k for k in inner.split(".")))
        if path in lines:
            return lines[path]
    return line_of(lines, tkey)


def _once_for_shared_lines(problems: list[Problem]) -> list[Problem]:
    """A problem of lines that several scenarios share (a YAML anchor and its aliases, as
    ``handover county`` writes) said once, naming the other scenarios that use them."""

    def scenarios(p: Problem) -> bool:
        return bool(p.line) and len(p.path) > 1 and p.path[0] == "scenarios"

    first: dict[tuple[int | None, str], Problem] = {}
    also: dict[tuple[int | None, str], list[str]] = {}
    for p in filter(scenarios, problems):
        key = (p.line, p.message)
        if key in first:
            also[key].append(str(p.path[1]))
        else:
            first[key], also[key] = p, []
    out = []
    for p in problems:
        key = (p.line, p.message)
        if not scenarios(p):
            out.append(p)
        elif first[key] is p:
            others = also[key]
            if others:
                names = " and ".join([", ".join(others[:-1]), others[-1]] if len(others) > 1 else others)
                p = replace(
                    p,
                    message=f"{p.message} (also scenario{'s' if len(others) > 1 else ''} {names}, "
                    "which use the same lines)",
                )
            out.append(p)
    return out


def _at(problem: Problem, values: dict[int, Any], n_points: int) -> Problem:
    """One line for a problem a sweep factor gives at several points, however many:
    '(at 1.5)', '(at 1.5, 2)', or '(at 27 of the 40 points, 1.02 to 1.98)'; a factor in
    several scenarios counts each point once."""
    distinct = list(dict.fromkeys(values.values()))
    if len(distinct) <= 3:
        at = ", ".join(repr(v) for v in distinct)
    else:
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in distinct)
        span = f"{min(distinct):.4g} to {max(distinct):.4g}" if numbers else f"{distinct[0]!r}, {distinct[1]!r}, ..."
        how_many = "all" if len(values) == n_points else f"{len(values)} of the"
        at = f"{how_many} {n_points} points, {span}"
    return replace(problem, message=f"{problem.message} (at {at})")


def _resolve(
    base: dict[str, Any],
    scenario: Scenario,
    spec: ExperimentSpec,
    where: tuple[str | int, ...],
    source: str,
    lines: Lines,
    problems: list[Problem],
) -> dict[str, Any] | None:
    data = copy.deepcopy(base)
    if spec.run is not None:  # every run's, before the scenario's: its own override of run.* wins
        data["run"] = spec.run.model_dump()
    for i, transform in enumerate(scenario.transforms):
        try:
            data = apply(data, transform)
        except (TransformError, KeyError) as exc:
            tkey = (*where, "transforms", i)
            problems.append(Problem(source, _transform_line(lines, tkey, str(exc)), tkey, str(exc)))
            return None
    for key, value in scenario.overrides.items():
        try:
            set_dotted(data, key, value)
        except KeyError as exc:  # said, and the others still set, so that their values are checked too
            okey = (*where, "overrides", key)
            problems.append(Problem(source, line_of(lines, okey), okey, str(exc.args[0])))
    return data
