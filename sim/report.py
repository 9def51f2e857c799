"""``handover report RESULTS_DIR``: one self-contained HTML page a planner can read,
with every figure also written as PNG and SVG beside it.

Everything here is read from result files (the experiment's consolidated tables, its
manifest and each run's tables), never from a live model.  Figures use the Okabe-Ito
palette, which people with colour-vision deficiency can tell apart, and line styles as
well as colours, so they also read in black and white.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import shutil
import textwrap
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.legend_handler import HandlerTuple
from matplotlib.patches import Patch
from scipy.interpolate import PchipInterpolator

from sim.analysis import factor_columns, mean_ci, not_clear_together, paired_p_value
from sim.config import Pathway, config_from_dict
from sim.experiment import Scenario, other_patients, other_patients_note, points_to_rank
from sim.geography import PARTNER_MIN_SHARE, Geography
from sim.metrics import (
    DELAY_PARTS,
    GAP_PARTS,
    HEADLINE,
    INTERFACE_HOURS,
    delay_columns,
    delay_parts,
    exchanging,
    gap_columns,
    gap_parts,
    whole_journeys,
)
from sim.runner import RUN_META, read_run_file
from sim.sweep import (
    FAILED,
    OVERLOADED,
    START_UP,
    earlier_version,
    failed_by_scenario,
    fmt_estimate,
    fmt_factor,
    fmt_pct,
    fmt_point,
    manifest_cells,
    no_interval,
    no_results,
    none_finished,
    overloads,
    precision_shortfall,
    replications_text,
    start_ups,
    unchecked,
)
from sim.yamlio import load_yaml

# Okabe-Ito, with yellow last: it is hard to see on white
OKABE_ITO = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442"]
# nine of each against eight colours, so that no two of a county study's thirteen
# scenarios are drawn alike (the ninth had the first's colour, line and hatch)
HATCHES = ["", "//", "..", "xx", "\\\\", "oo", "++", "--", "**"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 1)), (0, (5, 5)), (0, (3, 1, 1, 1, 1, 1))]
TYPE_ORDER = ["acute_trust", "community_health", "local_authority", "housing", "place", "icb", "police"]
TYPE_LABEL = {
    "acute_trust": "Acute trusts",
    "community_health": "Community health",
    "local_authority": "Councils",
    "housing": "Housing (districts)",
    "place": "Places",
    "icb": "ICBs",
    "police": "Police forces",
}
HEADLINE_TABLE = [
    "handovers_per_discharge",
    "failed_handovers_per_100",
    "gap_events_per_discharge",
    "gap_days_per_discharge",
    "delayed_days_per_discharge",
    "meetings_per_week",
    "meeting_hours_per_week",
    "interface_hours_per_week",
    "coordination_fte",
]


SINGULAR = {
    "acute_trust": "acute trust",
    "community_health": "community health provider",
    "local_authority": "council",
    "housing": "housing authority",
    "place": "place",
    "icb": "ICB",
    "police": "police force",
}
PLURAL = {
    "acute_trust": "acute trusts",
    "community_health": "community health providers",
    "local_authority": "councils",
    "housing": "housing authorities",
    "place": "places",
    "icb": "ICBs",
    "police": "police forces",
}


ORG_ROWS = 40
"""The most organisations the page lists by name in the workload table; the rest are in
its CSV beside the page."""
AREA_TYPE = "icb"
"""The type whose footprints in the baseline are the areas the workload is also shown by."""
COUNCIL_TYPE = "local_authority"
NAME_LINES = 34
"""The lines of 7-point names a column of the networks figure has room for in a panel
5 inches high."""
NETWORK_MOST = 40
"""Above this many organisations of one type, the networks figure counts them rather than
drawing a dot for each."""
REFERENCE = Path(__file__).resolve().parent / "data" / "reference.yaml"
"""England's figures the report sets the baseline beside (DESIGN.md's, with their sources)."""


def _noun(org_type: str, n: int, label: str = "") -> str:
    """'council' or 'councils'; a type of the configuration's own by its label ('Voluntary
    sector' is 'voluntary sector' or 'voluntary sectors'), or else its id."""
    if org_type in SINGULAR:
        return SINGULAR[org_type] if n == 1 else PLURAL[org_type]
    noun = label[:1].lower() + label[1:] if label else org_type.replace("_", " ")
    if n == 1:
        return noun
    if noun.endswith("y") and noun[-2:-1] not in set("aeiou"):
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def _axis(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """A factor's values as places on an axis: the numbers themselves, or for values that
    are not all numbers, their order in the sweep (0, 1, ...) and their names."""
    numbers = pd.to_numeric(values, errors="coerce") if not values.map(_is_collection).any() else None
    if numbers is not None and numbers.notna().all():
        return numbers.astype(float), []
    said = values.map(fmt_factor)  # a distribution as the file gives it: {dist: lognormal, mean: 9}
    names = list(dict.fromkeys(said))
    return said.map({v: float(k) for k, v in enumerate(names)}), names


def _is_collection(value: Any) -> bool:
    return isinstance(value, (dict, list, tuple, np.ndarray))


def _hours(x: float) -> str:
    """Hours a week as the workload table shows them: to a tenth below 100 (so that an
    organisation's 0.5 hours, all of them in meetings, do not read as 0), whole above."""
    return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"


def _without_shared_words(names: list[str]) -> list[str]:
    """Names without the words all of them begin or end with ("NHS ... Integrated Care
    Board"), when each keeps a word of its own."""
    words = [n.split() for n in names]
    if len(words) < 2 or not all(words):
        return names
    head = 0
    while all(len(w) > head + 1 and w[head] == words[0][head] for w in words):
        head += 1
    tail = 0
    while all(len(w) > head + tail + 1 and w[-1 - tail] == words[0][-1 - tail] for w in words):
        tail += 1
    return [" ".join(w[head : len(w) - tail]) for w in words]


def sensitivity_together(s: pd.DataFrame) -> str:
    """The solid bars of one scenario's sensitivity ranking (``s``, rows of the
    sensitivity table) read together: how many stay clear with the false discovery
    rate over all its correlations held at 5% (`not_clear_together`), naming those
    that do not."""
    clear = s["p_value"] < 0.05
    tested = int(s["p_value"].notna().sum())
    if tested < 2 or not clear.any():
        return ""
    out = s[not_clear_together(s["p_value"])]
    said = (
        f"Among {tested} correlations some look clear by chance: holding the false discovery rate over them all "
        "to 5% (Benjamini and Hochberg, 1995), "
    )
    n = int(clear.sum())
    if out.empty:
        return (
            said
            + (
                "the one solid bar stays"
                if n == 1
                else "both solid bars stay"
                if n == 2
                else f"all {n} solid bars stay"
            )
            + " clear."
        )
    named = "; ".join(
        f"{m.replace('_', ' ')} ~ {f} (p = {p:.3f})"
        for m, f, p in zip(out["metric"], out["factor"], out["p_value"], strict=True)
    )
    kept = n - len(out)
    return said + (
        f"{kept} of the {n} solid bars stay{'s' if kept == 1 else ''} clear; the others, to read with more care: "
        f"{named}."
    )


def _days(days: list[float]) -> str:
    """Days of the runs as a caption gives them: '300', or '263 to 306' where they differ."""
    lo, hi = math.floor(min(days)), math.floor(max(days))
    return f"{lo:,}" if lo == hi else f"{lo:,} to {hi:,}"


def _failures(runs: pd.DataFrame, failures: pd.DataFrame) -> str:
    found = failed_by_scenario(runs, failures)
    if not found:
        return "none: every run finished"
    n = failures["run_id"].nunique()
    return (
        f"{n:,} run{'s' if n > 1 else ''} failed and {'is' if n == 1 else 'are'} left out ("
        + ", ".join(f"{html.escape(s)}: {k} of {of}" for s, k, of in found)
        + f"); {FAILED}"
    )


def _route(
    a: tuple[float, float], b: tuple[float, float], columns: dict[int, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The points of a line in the networks figure from dot ``a`` to dot ``b`` that passes
    over no other dot, ``columns`` being the heights of the dots in each column.

    A straight line between columns two or more apart would cross the columns between
    at heights where dots may be, and seem to join them (a council's line to its ICB
    ending, to the eye, at a district): where it would pass within about a dot's width
    of one, it bends to pass just beside it, on the side it was on, as a smooth curve.
    Two organisations of one type (a trust and the trust running community services)
    are joined by an arc to the left of their column rather than a line along it.
    """
    (x0, y0), (x1, y1) = sorted([a, b])
    if x0 == x1:  # a half ellipse, out to the left, wider the farther apart they are
        t = np.linspace(0.0, 1.0, 25)
        bow = 0.12 + 0.15 * abs(y1 - y0)
        return x0 - bow * np.sqrt(np.clip(1 - (2 * t - 1) ** 2, 0, 1)), y0 + (y1 - y0) * t
    xs, ys = [x0], [y0]
    for c in range(int(x0) + 1, int(x1)):
        y = y0 + (y1 - y0) * (c - x0) / (x1 - x0)
        dots = columns.get(c, np.empty(0))
        if len(dots):
            clear = min(0.035, 0.45 / (len(dots) + 1))  # dots are 1 / (n + 1) apart
            nearest = dots[np.argmin(np.abs(dots - y))]
            if abs(y - nearest) < clear:
                y = nearest + (clear if y >= nearest else -clear)
        xs.append(c)
        ys.append(y)
    xs.append(x1)
    ys.append(y1)
    if len(xs) == 2:
        return np.array(xs, dtype=float), np.array(ys, dtype=float)
    x = np.linspace(x0, x1, 12 * (len(xs) - 1) + 1)
    return x, PchipInterpolator(xs, ys)(x)  # through every point, without overshooting


def _wrap(name: str, width: int = 15, lines: int = 3, widest: int = 17) -> str:
    """A label of at most ``lines`` lines of about ``width`` characters, or up to
    ``widest`` where that keeps it whole ("St Helens and / Knowsley Teaching / Hospitals"),
    cut with an ellipsis only when it is longer than that."""
    for w in range(width, widest + 1):
        parts = textwrap.wrap(name.replace("_", " "), w) or [name]
        if len(parts) <= lines:
            break
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: widest - 1].rstrip() + "\u2026"
    return "\n".join(parts)


def _style(i: int) -> dict[str, Any]:
    return {"color": OKABE_ITO[i % len(OKABE_ITO)], "linestyle": LINESTYLES[i % len(LINESTYLES)]}


def _breakable(name: str) -> str:
    """A scenario's id for an HTML table, which may break after each underscore: the
    long ids of a county study ('counties_split_places_aligned_joint_commissioning')
    otherwise widen their column, and the table, beyond the page."""
    return html.escape(name).replace("_", "_<wbr>")


def _scenario_table(head: str, rows: list[str]) -> str:
    """A table of a row for each scenario (``rows``, each a ``<tr>``) under the heads ``head``."""
    return (
        f'<table class="headline"><thead><tr><th>scenario</th>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _estimate_cell(s: dict[str, Any] | None, d: dict[str, Any] | None, attrs: str) -> str:
    """A table cell: the mean with its 95% interval and, under it, the change from the
    baseline with its interval (``d``: paired over replications), coloured when clear;
    ``attrs`` on the mean's element say what it is."""
    if s is None:
        return "<td>n/a</td>"
    text = (
        f'<span {attrs} data-mean="{s["mean"]!r}">'
        f"{html.escape(fmt_estimate(s['mean'], s['ci_low'], s['ci_high']))}</span>"
    )
    if d is not None:
        pct = d["relative_change_pct"]
        cls = "up" if d["ci_low"] > 0 else "down" if d["ci_high"] < 0 else "same"
        text += (
            f'<br><span class="diff {cls}" data-diff="{d["mean"]!r}">change '
            f"{html.escape(fmt_estimate(d['mean'], d['ci_low'], d['ci_high'], signed=True))}"
            + (f" ({fmt_pct(d)})" if math.isfinite(pct) else "")
            + "</span>"
        )
    return f"<td>{text}</td>"


class Report:
    """Reads an experiment's results and writes its report."""

    def __init__(self, results: str | Path):
        self.root = Path(results)
        manifest = self.root / "manifest.json"
        if not manifest.is_file():
            raise no_results(self.root, "manifest.json")
        self.manifest: dict[str, Any] = json.loads(manifest.read_text())
        earlier = earlier_version(self.root, self.manifest)
        if earlier:  # its tables lack what this version's report reads, or count otherwise
            raise ValueError(f"{earlier}; the report in {self.root / 'report'} is left as it was")
        self.runs = pd.read_parquet(self.root / "runs.parquet")
        self.summary = pd.read_parquet(self.root / "scenario_summary.parquet")
        self.diffs = pd.read_parquet(self.root / "differences.parquet")
        self.sensitivity = pd.read_parquet(self.root / "sensitivity.parquet")
        self.failures = pd.read_parquet(self.root / "failures.parquet")
        if self.runs.empty:
            raise ValueError(f"{none_finished(self.root, self.failures)}; there is nothing to report on yet")
        self.scenarios = list(dict.fromkeys(self.runs["scenario"]))
        self.baseline = self.manifest["baseline"]
        if self.baseline not in self.scenarios:  # every run of it failed
            raise ValueError(
                f"{self.root}: the baseline, {self.baseline}, has no finished run, and the report compares every "
                "scenario with it; failures.csv has the errors, and the same sweep with --retry-failed runs them "
                "again (handover compare shows the other scenarios meanwhile)"
            )
        self.factors = factor_columns(self.runs)
        self.out = self.root / "report"
        self.figures: list[tuple[str, str, str]] = []  # (name, title, caption)
        self._configs: dict[str, dict[str, Any]] = {}

    # -- reading run files ------------------------------------------------------------

    def run_table(self, run_id: str, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        found: pd.DataFrame = read_run_file(self.root / "runs" / run_id, table, columns)
        return found

    @cached_property
    def type_labels(self) -> dict[str, str]:
        """Each organisation type's label as the baseline's configuration gives it."""
        types = self.run_config(self.first_run(self.baseline))["organisation_types"]
        return {t: str(spec.get("label") or "") for t, spec in types.items()}

    def noun(self, org_type: str, n: int) -> str:
        return _noun(org_type, n, self.type_labels.get(org_type, ""))

    def column_label(self, org_type: str) -> str:
        """A column of the networks figure: 'Councils', or a type's own label."""
        return TYPE_LABEL.get(org_type) or self.type_labels.get(org_type) or org_type

    def run_config(self, run_id: str) -> dict[str, Any]:
        if run_id not in self._configs:
            self._configs[run_id] = dict(read_run_file(self.root / "runs" / run_id, RUN_META)["config"])
        return self._configs[run_id]

    @cached_property
    def weekly_workload(self) -> pd.DataFrame:
        """Every run's workload (sweep point 0) in hours a week, with scenario and organisation names."""
        frames = []
        for scenario in self.scenarios:
            for run_id in self.point_zero_runs(scenario):
                cfg = self.run_config(run_id)
                weeks = (cfg["run"]["length_days"] - cfg["run"]["warmup_days"]) / 7
                w = self.run_table(run_id, "workload")
                hours = ["casework_hours", "rework_hours", "meeting_hours", "total_hours"]
                w[hours] = w[hours] / weeks
                orgs = cfg["organisations"]
                names = {o: d.get("name") or o for o, d in orgs.items()}
                types = {o: d["type"] for o, d in orgs.items()}
                frames.append(
                    w.assign(
                        scenario=scenario,
                        run=run_id,
                        name=w["organisation"].map(names),
                        type=w["organisation"].map(types),
                    )
                )
        return pd.concat(frames, ignore_index=True)

    def first_run(self, scenario: str) -> str:
        rows = self.runs[(self.runs["scenario"] == scenario) & (self.runs["point"] == 0)]
        return str(rows.sort_values("replication")["run_id"].iloc[0])

    def run_lengths(self) -> dict[str, tuple[float, float]]:
        """Each scenario's (length_days, warmup_days) at sweep point 0: the experiment's
        ``run``, unless the scenario overrides it."""
        return {
            s: (run["length_days"], run["warmup_days"])
            for s in self.scenarios
            for run in [self.run_config(self.first_run(s))["run"]]
        }

    def point_zero_runs(self, scenario: str) -> list[str]:
        rows = self.runs[(self.runs["scenario"] == scenario) & (self.runs["point"] == 0)]
        return rows.sort_values("replication")["run_id"].tolist()

    # -- figures ----------------------------------------------------------------------------

    def save(self, fig: plt.Figure, name: str, title: str, caption: str) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        fig.savefig(self.out / f"{name}.png", dpi=130, bbox_inches="tight")
        fig.savefig(self.out / f"{name}.svg", bbox_inches="tight")
        plt.close(fig)
        self.figures.append((name, title, caption))

    def figure_networks(self) -> None:
        largest, n_types = 0, 0
        for scenario in self.scenarios:
            kinds = [o["type"] for o in self.run_config(self.first_run(scenario))["organisations"].values()]
            largest = max([largest, *(kinds.count(t) for t in set(kinds))])
            n_types = max(n_types, len(set(kinds)))
        if largest > NETWORK_MOST:
            self.figure_network_counts()
            return
        # configurations with the same organisations, interfaces and footprints (governance
        # or staffing compared on one map) share a panel
        panels: dict[str, list[str]] = {}
        for scenario in self.scenarios:
            panels.setdefault(self.network_key(scenario), []).append(scenario)
        n = len(panels)
        # two panels a row: wide enough for names beside every column, and read at about
        # their own size on the page
        ncols = min(2, n)
        nrows = math.ceil(n / ncols)
        width = max(6.5, 1.3 * n_types)  # a column of dots and names for each type
        # tall enough for a name of three lines beside every dot of the fullest column, up
        # to a point (the flagship has 18 trusts, most of them beyond its border: "University
        # Hospitals of Morecambe Bay" needs three)
        height = min(8.5, max(5.0, 5.0 * 3 * (largest + 1) / NAME_LINES))
        fig, grid = plt.subplots(
            nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, layout="constrained"
        )
        for ax in grid.flat[n:]:
            ax.set_visible(False)
        dashed: set[str] = set()  # the types whose footprints are drawn over councils
        arcs = False  # an interface between two organisations of one type
        for ax, sharing in zip(grid.flat, panels.values(), strict=False):
            scenario = sharing[0]
            run_id = self.first_run(scenario)
            cfg = self.run_config(run_id)
            interfaces = self.run_table(run_id, "interfaces")
            types = {oid: o["type"] for oid, o in cfg["organisations"].items()}
            columns = [t for t in TYPE_ORDER if t in set(types.values())] + sorted(
                set(types.values()) - set(TYPE_ORDER)
            )
            pos, lines, heights = {}, {}, {}
            names = {oid: o.get("name") or oid for oid, o in cfg["organisations"].items()}
            for x, t in enumerate(columns):
                # in the order of their names, to be found as in an index: the same in every panel
                members = sorted((o for o, ot in types.items() if ot == t), key=lambda o: (names[o].casefold(), o))
                for k, o in enumerate(members):
                    pos[o] = (x, 1 - (k + 1) / (len(members) + 1))
                    # the lines a name has room for
                    lines[o] = min(5, int(NAME_LINES * height / 5.0) // (len(members) + 1))
                heights[x] = np.array([pos[o][1] for o in members])
            flows = interfaces["expected_flow_per_week"].to_numpy()
            top = flows.max() if len(flows) and flows.max() > 0 else 1.0
            for r in interfaces.itertuples():
                if r.org_a in pos and r.org_b in pos and r.expected_flow_per_week > 0:
                    arcs = arcs or types[r.org_a] == types[r.org_b]
                    ax.plot(
                        *_route(pos[r.org_a], pos[r.org_b], heights),
                        color="#0072B2",
                        alpha=0.55,
                        linewidth=0.4 + 5.0 * r.expected_flow_per_week / top,
                        zorder=1,
                    )
            # places and police forces exchange no patients: show which councils' residents
            # each covers
            fp = cfg["footprints"]
            for t in ("place", "police"):
                if t not in fp or "local_authority" not in fp:
                    continue
                for org, council in sorted({(fp[t][z], fp["local_authority"][z]) for z in fp[t]}):
                    if org in pos and council in pos:
                        xs, ys = _route(pos[org], pos[council], heights)
                        ax.plot(xs, ys, color="grey", linestyle="--", linewidth=0.8, zorder=1)
                        dashed.add(t)
            for o, (x, y) in pos.items():
                ax.scatter([x], [y], s=40, color="#E69F00", edgecolor="black", linewidth=0.6, zorder=2)
                if lines[o] >= 2:  # a name needs two lines; with more in the column they would crowd
                    # beside its dot, over the lines on a pale ground, never over the next column
                    ax.annotate(
                        _wrap(names[o], lines=lines[o]),
                        (x, y),
                        xytext=(5, 0),
                        textcoords="offset points",
                        ha="left",
                        va="center",
                        fontsize=7,
                        linespacing=1.05,
                        bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
                        zorder=3,
                    )
            ax.set_xticks(range(len(columns)), [self.column_label(t) for t in columns], rotation=30, ha="right")
            ax.set_yticks([])
            ax.set_xlim(-0.3, len(columns) - 0.05)  # room for the last column's names
            ax.set_ylim(0, 1)
            n_if = int(exchanging(interfaces).sum())
            counts = f"{len(types)} organisations, {n_if} interfaces" + (" in each" if len(sharing) > 1 else "")
            ax.set_title(f"{textwrap.fill(', '.join(sharing), 70)}\n{counts}", fontsize=10)
            for side in ("top", "right", "left"):
                ax.spines[side].set_visible(False)
        # name only what is drawn: most configurations have places and no police
        owners = " and ".join(
            {"place": "places'", "police": "police forces'"}[t] for t in ("place", "police") if t in dashed
        )
        joins = " or ".join(
            {"place": "a place", "police": "a police force"}[t] for t in ("place", "police") if t in dashed
        )
        fig.suptitle(
            "Organisations (dots) and the interfaces between them (blue, width = patients a week)"
            + (f"; {owners} footprints over councils (dashed)" if dashed else ""),
        )
        self.save(
            fig,
            "networks",
            "Organisations and interfaces",
            "Each dot is an organisation, in columns by type and in the order of their names; each blue line "
            "an interface that exchanges patients, its width proportional to the expected complex discharges "
            "a week across it; lines bend around the dots they do not join and pass behind the names they "
            "cross (each starts at a dot, not at a name)"
            + (
                ", and an arc beside a column joins two of its organisations, one of them in another role "
                "(a trust running community services)"
                if arcs
                else ""
            )
            + (
                f"; each dashed line joins {joins} to a council whose residents it covers"
                + (" (one line per place when places are aligned to councils)." if "place" in dashed else ".")
                if dashed
                else "."
            )
            + (
                " Configurations with the same organisations, interfaces and footprints share a panel."
                if n < len(self.scenarios)
                else ""
            ),
        )

    def network_key(self, scenario: str) -> str:
        """What the networks figure draws of ``scenario``: its organisations, the interfaces
        that exchange patients with their flows, and its places' and police forces' footprints."""
        run_id = self.first_run(scenario)
        cfg = self.run_config(run_id)
        interfaces = self.run_table(run_id, "interfaces")
        flowing = interfaces[exchanging(interfaces)]
        fp = cfg["footprints"]
        return json.dumps(
            [
                sorted((oid, o["type"], o.get("name") or oid) for oid, o in cfg["organisations"].items()),
                sorted(zip(flowing["org_a"], flowing["org_b"], flowing["expected_flow_per_week"], strict=True)),
                {t: fp.get(t) for t in ("place", "police", "local_authority")},
            ],
            sort_keys=True,
        )

    def figure_network_counts(self) -> None:
        """For configurations too big to draw a dot for each organisation (all England
        has hundreds of councils and places): how many organisations of each type, and
        how many interfaces between each pair of types, in each configuration."""
        order = self.type_order
        orgs, links = [], []
        for scenario in self.scenarios:
            run_id = self.first_run(scenario)
            kinds = [o["type"] for o in self.run_config(run_id)["organisations"].values()]
            orgs.append({t: kinds.count(t) for t in set(kinds)})
            f = self.run_table(run_id, "interfaces")
            f = f[exchanging(f)]
            pairs = [tuple(sorted(ab, key=order)) for ab in zip(f["type_a"], f["type_b"], strict=True)]
            links.append({pair: pairs.count(pair) for pair in set(pairs)})
        types = sorted({t for c in orgs for t in c}, key=order)
        pairs = sorted({p for c in links for p in c}, key=lambda p: (order(p[0]), order(p[1])))
        panels = [
            ("Organisations by type", "organisations", [self.noun(t, 2) for t in types], orgs, types),
            (
                "Interfaces between types (exchanging patients)",
                "interfaces",
                [f"{self.noun(a, 1)} \u2013 {self.noun(b, 1)}" for a, b in pairs],
                links,
                pairs,
            ),
        ]
        n = len(self.scenarios)
        fig, axes = plt.subplots(1, 2, figsize=(13, 1.5 + 0.16 * n * max(len(types), len(pairs))), layout="constrained")
        width = 0.8 / n
        for ax, (title, unit, labels, counts, keys) in zip(axes, panels, strict=True):
            for i, scenario in enumerate(self.scenarios):
                bars = ax.barh(
                    np.arange(len(keys)) + (i - (n - 1) / 2) * width,
                    [counts[i].get(k, 0) for k in keys],
                    height=width,
                    color=OKABE_ITO[i % len(OKABE_ITO)],
                    hatch=HATCHES[i % len(HATCHES)],
                    edgecolor="black",
                    linewidth=0.4,
                    label=scenario,
                )
                ax.bar_label(bars, fontsize=7, padding=2)
            ax.set_yticks(range(len(keys)), labels, fontsize=8)
            ax.invert_yaxis()
            ax.set_title(title, fontsize=10)
            ax.set_xlabel(unit)
            ax.margins(x=0.12)
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncol=min(n, 5), fontsize=8)
        self.save(
            fig,
            "networks",
            "Organisations and interfaces",
            f"With more than {NETWORK_MOST} organisations of one type, too many to draw one by one: the "
            "number of organisations of each type in each configuration, and of interfaces between each "
            "pair of types (an interface: two organisations with patients crossing between them).",
        )

    def figure_distributions(self) -> None:
        columns = len(self.scenarios) if len(self.scenarios) <= 6 else 4  # of the legend, under the panels
        rows = -(-len(self.scenarios) // columns)
        fig, axes = plt.subplots(1, 3, figsize=(14, 4.2 + 0.22 * rows), layout="constrained")
        reach = {"gap_days": 1.0, "delayed_days": 1.0}  # where the cumulative axes end
        keys: list[Any] = []  # each scenario's bar and line (a tuple), for one legend
        seen: set[int] = set()  # numbers of handovers that occur
        untils: list[float] = []  # the days the whole journeys were discharged before
        ends: list[float] = []  # and the runs' lengths
        for i, scenario in enumerate(self.scenarios):
            frames, wholes = [], []
            for run_id in self.point_zero_runs(scenario):
                read = ["discharged", "journey_end", "inter_handovers", "gap_days", "delayed_days"]
                p = self.run_table(run_id, "patients", read)
                cfg = self.run_config(run_id)
                lo, hi = cfg["run"]["warmup_days"], cfg["run"]["length_days"]
                frames.append(p[(p["discharged"] >= lo) & (p["discharged"] < hi)])
                whole, until = whole_journeys(p, lo, hi)
                wholes.append(whole)
                untils.append(until)
                ends.append(hi)
            p, whole = pd.concat(frames), pd.concat(wholes)
            style = _style(i)
            counts = whole["inter_handovers"].clip(upper=5).value_counts(normalize=True).sort_index()
            seen.update(int(k) for k in counts.index)
            width = 0.8 / len(self.scenarios)
            axes[0].bar(
                counts.index + (i - (len(self.scenarios) - 1) / 2) * width,
                counts.to_numpy() * 100,
                width=width,
                color=style["color"],
                label=scenario,
                edgecolor="black",
                linewidth=0.4,
                hatch=HATCHES[i % len(HATCHES)],
            )
            for ax, col, q in ((axes[1], "gap_days", whole), (axes[2], "delayed_days", p)):
                x = np.sort(q[col].to_numpy())
                (line,) = ax.plot(x, np.arange(1, len(x) + 1) / len(x) * 100, label=scenario, linewidth=1.6, **style)
                if len(x):
                    reach[col] = max(reach[col], 1.1 * float(np.quantile(x, 0.995)))
            bar = Patch(facecolor=style["color"], edgecolor="black", linewidth=0.4, hatch=HATCHES[i % len(HATCHES)])
            keys.append((bar, line))
        if seen:  # whole numbers only, the last '5+'
            ticks = range(min(seen), max(seen) + 1)
            axes[0].set_xticks(ticks, [f"{k}+" if k == 5 else str(k) for k in ticks])
        axes[0].set_xlabel("handovers between organisations")
        axes[0].set_ylabel("% of discharges")
        axes[0].set_title("Handovers per discharge")
        axes[1].set_xlabel("gap days after discharge")
        axes[1].set_title("Gaps in care (cumulative)")
        axes[1].set_xlim(0, reach["gap_days"])  # the longest half a percent would squash the rest
        axes[2].set_xlabel("delayed days (ready to discharge)")
        axes[2].set_title("Delayed days (cumulative)")
        axes[2].set_xlim(0, reach["delayed_days"])
        for ax in axes[1:]:
            ax.set_ylabel("% of discharges with at most this")
            ax.grid(alpha=0.3)
        top = max((b.get_height() for b in axes[0].patches), default=0.0)
        axes[0].set_ylim(0, top * 1.1 or 1.0)
        axes[0].set_yticks([t for t in axes[0].get_yticks() if 0 <= t <= 100])  # no share over 100%
        # one legend under the panels, each scenario's bar beside its line: inside a panel, the
        # thirteen of a county study in five unitaries hid the bars and the curves
        fig.legend(
            handles=keys,
            labels=list(self.scenarios),
            loc="outside lower center",
            ncol=columns,
            fontsize=8,
            handler_map={tuple: HandlerTuple(ndivide=None, pad=0.8)},
            handlelength=4,
        )
        self.save(
            fig,
            "distributions",
            "Distributions per discharge",
            "Per-patient distributions over every replication of the measured period: share of "
            "discharges by number of handovers, and cumulative shares of gap days and delayed days "
            "(their axes end a little beyond the 99.5th percentile). Handovers and gaps in care go on after "
            "discharge, so those two are of the patients discharged before the first still on their way when "
            f"the run ended (by day {_days(untils)} of the {_days(ends)}; later ones' would be "
            "cut short); delayed days are of every discharge.",
        )

    def figure_workload(self) -> None:
        w = self.weekly_workload.assign(group=self.weekly_workload["role"].str.replace("_", " "))
        per_run = w.groupby(["scenario", "run", "group"])[["casework_hours", "rework_hours", "meeting_hours"]].sum()
        work = per_run.groupby(["scenario", "group"]).mean().reset_index()
        groups = sorted(work["group"].unique())
        ncols = min(4, len(groups))
        nrows = math.ceil(len(groups) / ncols)
        fig, grid = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.4 * nrows), squeeze=False)
        axes = [list(grid.flat)]
        for ax in axes[0][len(groups) :]:
            ax.set_visible(False)
        parts = [
            ("casework_hours", "casework", "#56B4E9", ""),
            ("rework_hours", "rework", "#D55E00", "//"),
            ("meeting_hours", "meetings", "#009E73", ".."),
        ]
        for ax, group in zip(axes[0], groups, strict=False):
            g = work[work["group"] == group].set_index("scenario").reindex(self.scenarios).fillna(0)
            bottom = np.zeros(len(self.scenarios))
            for col, label, color, hatch in parts:
                ax.bar(
                    range(len(self.scenarios)),
                    g[col],
                    bottom=bottom,
                    color=color,
                    hatch=hatch,
                    edgecolor="black",
                    linewidth=0.4,
                    label=label,
                )
                bottom += g[col].to_numpy()
            # room above the tallest bar (stacked parts of no height would pin the top to it)
            ax.set_ylim(0, bottom.max() * 1.08 if bottom.max() > 0 else 1.0)
            ax.set_title(group, fontsize=10)
            ax.set_xticks(range(len(self.scenarios)), self.scenarios, rotation=45, ha="right", fontsize=8)
            ax.set_ylabel("staff hours a week")
        fig.tight_layout()
        # one legend for every panel, above them, where it hides no bar
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(parts), fontsize=9)
        self.save(
            fig,
            "workload",
            "Workload by organisation type and role",
            "Staff hours a week (mean over replications) spent on casework, on reworking failed "
            "referrals, and in meetings, summed over every organisation with staff in that role.",
        )

    def figure_awaiting(self) -> None:
        fig, ax = plt.subplots(figsize=(10, 4.2))
        for i, scenario in enumerate(self.scenarios):
            series = []
            for run_id in self.point_zero_runs(scenario):
                a = self.run_table(run_id, "awaiting").set_index("day")["awaiting_discharge"]
                series.append(a)
            # each replication's 7-day mean, centred: the week's rhythm and the day's noise
            # would hide the differences between configurations
            frame = pd.concat(series, axis=1).rolling(7, center=True, min_periods=1).mean()
            mean = frame.mean(axis=1)
            lo, hi = frame.quantile(0.05, axis=1), frame.quantile(0.95, axis=1)
            style = _style(i)
            ax.plot(mean.index, mean.to_numpy(), label=scenario, linewidth=1.5, **style)
            ax.fill_between(mean.index, lo.to_numpy(), hi.to_numpy(), color=style["color"], alpha=0.15)
        ends: dict[float, list[str]] = {}  # a scenario may override the experiment's warm-up
        for scenario, (_, warmup) in self.run_lengths().items():
            ends.setdefault(warmup, []).append(scenario)
        for warmup, which in ends.items():
            ax.axvline(warmup, color="grey", linestyle=":", linewidth=1)
            label = " end of warm-up" + (f" ({', '.join(which)})" if len(ends) > 1 else "")
            ax.text(warmup, ax.get_ylim()[1] * 0.95, label, color="grey", fontsize=8, va="top")
        ax.set_xlabel("day")
        ax.set_ylabel("patients awaiting discharge")
        ax.set_title(
            "Patients ready for discharge but still in hospital, 7-day mean "
            "(line: mean of replications; band: their 5th-95th percentile)"
        )
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        self.save(
            fig,
            "awaiting",
            "Patients awaiting discharge over time",
            "Patients who are ready for discharge but still in hospital, counted each day and averaged "
            "over the 7 days around it; the line is the mean over replications and the band their 5th to "
            "95th percentile.",
        )

    def factor_panels(self, draw: Any, ylabel: str, title: str) -> plt.Figure:
        """A panel for each headline metric (rows) and each factor of the sweep (columns),
        each drawn by ``draw(ax, metric, factor)``, with one legend under them all."""
        metrics = HEADLINE_TABLE
        fig, axes = plt.subplots(
            len(metrics),
            len(self.factors),
            figsize=(3.6 * len(self.factors), 2.4 * len(metrics)),
            squeeze=False,
            layout="constrained",
        )
        for r, metric in enumerate(metrics):
            for c, factor in enumerate(self.factors):
                ax = axes[r][c]
                draw(ax, metric, factor)
                if r == len(metrics) - 1:
                    ax.set_xlabel(factor, fontsize=8)
                if c == 0:
                    ax.set_ylabel(ylabel.format(metric.replace("_", " ")), fontsize=8)
        fig.suptitle(title)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4), fontsize=8)
        return fig

    def figure_sweep(self) -> None:
        if not self.factors:
            return

        def draw(ax: Any, metric: str, factor: str) -> None:
            at, names = _axis(self.runs[factor])
            if names:
                ax.set_xticks(range(len(names)), names, fontsize=7, rotation=20)
            for i, scenario in enumerate(self.scenarios):
                g = self.runs[self.runs["scenario"] == scenario]
                ax.scatter(
                    at[g.index], g[metric], s=10, color=OKABE_ITO[i % 8], label=scenario, marker="os^Dv<>p"[i % 8]
                )

        self.save(
            self.factor_panels(draw, "{}", "Each headline metric against each factor (one point per run)"),
            "sweep",
            "Metrics against factors",
            "One point per run: each headline metric against each factor of the sweep.",
        )

    def figure_sweep_changes(self) -> None:
        """Each scenario's paired change from the baseline at each point of the sweep, with its
        95% CI: the comparison the common random numbers make sharp, which the spread of the
        runs' own values in the figure before hides."""
        changes = self.diffs[self.diffs["scenario"] != self.baseline]
        if not self.factors or changes.empty:
            return
        others = [sc for sc in self.scenarios if sc != self.baseline]

        def draw(ax: Any, metric: str, factor: str) -> None:
            at, names = _axis(changes[factor])
            # the scenarios side by side at each value
            step = 0.1 if names else 0.012 * (at.max() - at.min())
            ax.axhline(0, color="grey", linewidth=0.8)
            if names:  # values that are not numbers (trusted_assessors.cover: everywhere, nowhere)
                ax.set_xticks(range(len(names)), names, fontsize=7, rotation=20)
            for k, scenario in enumerate(others):
                g = changes[(changes["scenario"] == scenario) & (changes["metric"] == metric)]
                i = self.scenarios.index(scenario)
                ax.errorbar(
                    at[g.index] + (k - (len(others) - 1) / 2) * step,
                    g["mean"],
                    yerr=[g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]],
                    fmt="os^Dv<>p"[i % 8],
                    markersize=4,
                    capsize=2,
                    linewidth=1,
                    color=OKABE_ITO[i % 8],
                    label=scenario,
                )

        title = f"Each scenario's change from the baseline ({self.baseline}) at each point, with its 95% CI"
        self.save(
            self.factor_panels(draw, "change in {}", title),
            "sweep_changes",
            "Changes from the baseline against factors",
            f"Each scenario's change from the baseline, {self.baseline}, at each point of the sweep: the mean of "
            "the paired differences over its replications (the same patients in both), with its 95% confidence "
            "interval. A change whose interval crosses zero could be chance.",
        )

    def figure_sensitivity(self) -> None:
        if self.sensitivity.empty:
            return
        s = self.sensitivity[self.sensitivity["scenario"] == self.baseline]
        points = self.runs.loc[self.runs["scenario"] == self.baseline, "point"].nunique()
        clear = s["p_value"] < 0.05
        fig, ax = plt.subplots(figsize=(8, 0.8 + 0.35 * len(s)), layout="constrained")
        labels = [f"{m.replace('_', ' ')} ~ {f}" for m, f in zip(s["metric"], s["factor"], strict=True)]
        colours = ["#0072B2" if v >= 0 else "#D55E00" for v in s["prcc"]]
        ax.barh(range(len(s)), s["prcc"].where(clear), color=colours)
        # those that could be chance at this many points: pale and hatched
        ax.barh(range(len(s)), s["prcc"].where(~clear), color=colours, alpha=0.3, hatch="///", edgecolor="white")
        for k, v in enumerate(s["prcc"]):
            if np.isnan(v):  # the metric did not vary over the sweep
                ax.text(0.02, k, "no variation", va="center", fontsize=7, color="grey")
        ax.set_yticks(range(len(s)), labels, fontsize=7)
        ax.invert_yaxis()  # the metrics in the headline table's order, from the top
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlim(-1, 1)
        ax.set_xlabel("partial rank correlation coefficient")
        ax.set_title(f"Sensitivity ({self.baseline}, {points} points)")
        key = [
            Patch(color="#0072B2", label="rises with the factor"),
            Patch(color="#D55E00", label="falls with the factor"),
            Patch(facecolor="grey", alpha=0.3, hatch="///", edgecolor="white", label="could be chance (p ≥ 0.05)"),
        ]
        fig.legend(handles=key, loc="outside lower center", ncol=3, fontsize=7)
        others = " The other scenarios' are in sensitivity.csv." if len(self.scenarios) > 1 else ""
        self.save(
            fig,
            "sensitivity",
            "Sensitivity ranking",
            f"Partial rank correlation of each factor with each metric over the {points} points of the Latin "
            f"hypercube (each point's mean over its replications), in the baseline, {self.baseline}: how "
            "closely the metric rises (blue) or falls (orange) with the factor, the other factors held. "
            "Solid bars are clear (p < 0.05); pale, hatched bars could be chance at this many points. "
            + sensitivity_together(s)
            + others,
        )

    # -- the page ------------------------------------------------------------------------------

    def organisation_workload_html(self) -> str:
        """Hours a week by organisation (all roles), each scenario's mean over replications:
        every organisation in organisation_workload.csv beside the page, and on the page
        all of them, or, when there are more than ORG_ROWS, those whose hours change most."""
        per_run = self.weekly_workload.groupby(["scenario", "run", "organisation", "name", "type"])[
            ["total_hours", "meeting_hours"]
        ].sum()
        wide = per_run.groupby(["scenario", "organisation", "name", "type"]).mean().unstack("scenario")
        total = wide["total_hours"].reindex(columns=self.scenarios)
        meetings = wide["meeting_hours"].reindex(columns=self.scenarios)
        table = pd.concat([total.add_suffix(": hours a week"), meetings.add_suffix(": of them in meetings")], axis=1)[
            [f"{s}: {m}" for s in self.scenarios for m in ("hours a week", "of them in meetings")]
        ]
        self.out.mkdir(parents=True, exist_ok=True)
        table.sort_index().to_csv(self.out / "organisation_workload.csv")
        note = ""
        if len(total) > ORG_ROWS:
            # an organisation missing from a configuration has no hours there
            change = total.fillna(0).sub(total[self.baseline].fillna(0), axis=0).abs().max(axis=1)
            shown = change.sort_values(ascending=False, kind="stable").index[:ORG_ROWS]
            note = (
                f"<p>The {ORG_ROWS} organisations, of {len(total):,}, whose hours a week change most from "
                f"the baseline; every organisation is in "
                f'<a href="organisation_workload.csv">organisation_workload.csv</a> beside this page.</p>'
            )
        else:
            shown = total.max(axis=1).sort_values(ascending=False, kind="stable").index
        # long scenario names may break after an underscore
        head = "".join(f"<th>{_breakable(s)}</th>" for s in self.scenarios)
        # two organisations of one name (a legacy place and a new council both called
        # "Central Lancashire") are told apart by their type, and two of one type by
        # their ids as well
        names = total.index.get_level_values("name")
        shared = set(names[names.duplicated()])
        named = total.index.droplevel(0)
        same_type = set(named[named.duplicated()])
        rows = []
        for org in shown:
            oid, name, kind = org
            label = str(name)
            if (name, kind) in same_type:
                label = f"{name} ({self.noun(kind, 1)} {oid})"
            elif name in shared:
                label = f"{name} ({self.noun(kind, 1)})"
            cells = "".join(
                "<td>-</td>"
                if math.isnan(total.at[org, s])
                else f"<td>{_hours(total.at[org, s])} ({meetings.at[org, s]:,.1f} in meetings)</td>"
                for s in self.scenarios
            )
            rows.append(f"<tr><th>{html.escape(label)}</th>{cells}</tr>")
        return (
            f'{note}<table class="headline org-workload"><thead><tr><th>organisation</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    def type_order(self, org_type: str) -> tuple[int, str]:
        """Types in the order of the networks figure's columns; others after, by id."""
        return (TYPE_ORDER.index(org_type) if org_type in TYPE_ORDER else len(TYPE_ORDER), org_type)

    @cached_property
    def interface_costs(self) -> pd.DataFrame:
        """Every interface of each scenario (sweep point 0) with the staff hours a week it
        costs, mean over replications: one row per scenario and pair of organisations."""
        costs = ["handovers_per_week", *INTERFACE_HOURS]
        frames = []
        for scenario in self.scenarios:
            runs = self.point_zero_runs(scenario)
            f = pd.concat([self.run_table(r, "interfaces") for r in runs], ignore_index=True)
            keys = ["org_a", "org_b", "type_a", "type_b", "expected_flow_per_week"]
            # a pair no handover crossed in a run is a row of noughts there: sum, then share
            mean = f.groupby(keys, sort=False)[costs].sum() / len(runs)
            frames.append(mean.reset_index().assign(scenario=scenario))
        return pd.concat(frames, ignore_index=True)[["scenario", *keys, *costs]]

    def interface_costs_html(self) -> str:
        """Staff hours a week the interfaces between each pair of types cost, each scenario's
        mean over replications, with how many interfaces; every interface in
        interface_costs.csv beside the page."""
        c = self.interface_costs
        self.out.mkdir(parents=True, exist_ok=True)
        c.to_csv(self.out / "interface_costs.csv", index=False)
        c = c[exchanging(c)]
        if c.empty:  # one organisation does everything, in every configuration
            return ""
        swap = c["type_a"].map(self.type_order) > c["type_b"].map(self.type_order)
        first = c["type_a"].where(~swap, c["type_b"])
        second = c["type_b"].where(~swap, c["type_a"])
        c = c.assign(first=first, second=second, interfaces=1)
        sums = ["interfaces", *INTERFACE_HOURS]
        by_pair = c.groupby(["first", "second", "scenario"])[sums].sum()
        pairs = sorted(
            {(a, b) for a, b, _ in by_pair.index}, key=lambda p: (self.type_order(p[0]), self.type_order(p[1]))
        )
        every = c.groupby("scenario")[sums].sum()

        def cell(x: pd.Series | None) -> str:
            if x is None:
                return "<td>-</td>"
            n = int(x["interfaces"])
            parts = ", ".join(
                f"{name} {_hours(x[col])}"
                for name, col in [
                    ("referrals", "referral_hours_per_week"),
                    ("rework", "rework_hours_per_week"),
                    ("meetings", "meeting_hours_per_week"),
                ]
            )
            return (
                f"<td>{_hours(x['staff_hours_per_week'])} ({n:,} interface{'s' if n != 1 else ''})"
                f'<div class="diff same">{parts}</div></td>'
            )

        head = "".join(f"<th>{_breakable(s)}</th>" for s in self.scenarios)
        rows = []
        for a, b in pairs:
            label = f"{self.noun(a, 1)} \u2013 {self.noun(b, 1)}"
            cells = "".join(
                cell(by_pair.loc[(a, b, s)] if (a, b, s) in by_pair.index else None) for s in self.scenarios
            )
            rows.append(f"<tr><th>{html.escape(label)}</th>{cells}</tr>")
        cells = "".join(cell(every.loc[s]) if s in every.index else "<td>none</td>" for s in self.scenarios)
        rows.append(f"<tr><th>all interfaces</th>{cells}</tr>")
        return (
            "<p>What the interfaces between organisations cost: staff hours a week of the handovers across "
            "them (the sending team's referrals, and its rework of those that fail) and of the meetings each "
            "pair holds (a hospital's weekly discharge meeting with a council, a funding panel of an ICB and a "
            "council), by the kinds of organisation on either side, with how many interfaces there are; mean "
            "over replications (a trust that also runs community services is an acute trust in both roles, so "
            "a hospital's referral to another trust's community services is between two acute trusts). "
            "Meetings of more than two organisations (a place's board), or of two that "
            "exchange no patients (councils' joint commissioning board), are in the table above, not here. "
            "Every pair of organisations that exchange patients or meet is in "
            '<a href="interface_costs.csv">interface_costs.csv</a> beside this page.</p>'
            f'<table class="headline interface-costs"><thead><tr><th>interfaces</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    @cached_property
    def area_of(self) -> dict[str, str]:
        """Each zone's ICB in the baseline, the areas compared by ICB; empty when the
        baseline has fewer than two ICBs."""
        base = self.run_config(self.first_run(self.baseline))
        icbs = {o for o, spec in base["organisations"].items() if spec["type"] == AREA_TYPE}
        if AREA_TYPE not in base["footprints"] or len(icbs) < 2:
            return {}
        return {str(z): str(o) for z, o in base["footprints"][AREA_TYPE].items()}

    @cached_property
    def areas(self) -> pd.DataFrame:
        """Each ICB's area in the baseline (the zones it covers there) in each scenario: the
        councils serving at least PARTNER_MIN_SHARE of its residents, and coordination hours
        a week, each organisation's hours (mean over replications) shared among the areas
        by where the residents it serves live (a trust: its patients).  Keeping the
        baseline's areas compares ICBs merged or split in a scenario over the same
        residents.  No rows when the baseline has fewer than two ICBs."""
        area_of = self.area_of
        if not area_of:
            return pd.DataFrame()
        base = config_from_dict(self.run_config(self.first_run(self.baseline)))
        people = {z.id: z.population for z in base.zones}
        residents: dict[str, dict[str, int]] = {}
        for zone, area in area_of.items():
            residents.setdefault(area, {})[zone] = people[zone]
        per_run = self.weekly_workload.groupby(["scenario", "run", "organisation"])[
            ["meeting_hours", "total_hours"]
        ].sum()
        hours = per_run.groupby(["scenario", "organisation"]).mean()
        rows = []
        for scenario in self.scenarios:
            cfg = base if scenario == self.baseline else config_from_dict(self.run_config(self.first_run(scenario)))
            geo = Geography(cfg)
            shares = geo.shares_by_area(area_of)
            mine = hours.loc[scenario]
            for area, zones in residents.items():
                of = np.array([shares.get(o, {}).get(area, 0.0) for o in mine.index])
                rows.append(
                    {
                        "icb": area,
                        "name": base.organisations[area].name or area,
                        "scenario": scenario,
                        "residents": sum(zones.values()),
                        "councils": len(geo.serving(COUNCIL_TYPE, zones, PARTNER_MIN_SHARE))
                        if COUNCIL_TYPE in geo.single
                        else 0,
                        "meeting_hours": float((mine["meeting_hours"].to_numpy() * of).sum()),
                        "total_hours": float((mine["total_hours"].to_numpy() * of).sum()),
                        "delayed_days": (self.delay_estimate(scenario, f"area:{area}")[0] or {"mean": math.nan})[
                            "mean"
                        ],
                    }
                )
        return pd.DataFrame(rows)

    def area_workload_html(self) -> str:
        """The areas' table: every ICB of the baseline, the largest change in meeting hours
        first, a row of all of them last; the same figures in icb_workload.csv."""
        a = self.areas
        if a.empty:
            return ""
        wide = a.pivot_table(
            index=["icb", "name", "residents"],
            columns="scenario",
            values=["councils", "meeting_hours", "total_hours", "delayed_days"],
        )
        wide = wide.reindex(columns=pd.MultiIndex.from_product([wide.columns.levels[0], self.scenarios]))
        meet, total, councils = wide["meeting_hours"], wide["total_hours"], wide["councils"]
        change = meet.sub(meet[self.baseline], axis=0).abs().max(axis=1)
        order = change.round(6).sort_values(ascending=False, kind="stable").index
        flat = pd.concat(
            [
                councils.astype(int).add_suffix(": councils"),
                meet.add_suffix(": hours a week in meetings"),
                total.add_suffix(": coordination hours a week"),
                wide["delayed_days"].add_suffix(": delayed days per discharge"),
            ],
            axis=1,
        ).loc[order]
        self.out.mkdir(parents=True, exist_ok=True)
        flat.to_csv(self.out / "icb_workload.csv")

        def cell(row: pd.Series, s: str) -> str:
            value, base = row[s], row[self.baseline]
            text = _hours(value)
            if s != self.baseline and round(value - base, 1) != 0:
                text += f" ({(value - base) / base:+.1%})" if base > 0 else f" ({value - base:+,.1f})"
            return f"<td>{text}</td>"

        short = dict(zip(order, _without_shared_words([str(name) for _, name, _ in order]), strict=True))
        body = [
            f"<tr><th>{html.escape(short[key])}</th>"
            + "".join(f"<td>{int(councils.at[key, s])}</td>" for s in self.scenarios)
            + "".join(cell(meet.loc[key], s) for s in self.scenarios)
            + "".join(self._area_delay_cell(s, f"area:{key[0]}", f'data-area="{key[0]}"') for s in self.scenarios)
            + "</tr>"
            for key in order
        ]
        body.append(
            "<tr><th>all areas</th>"
            + "<td></td>" * len(self.scenarios)
            + "".join(cell(meet.sum(), s) for s in self.scenarios)
            + "".join(self._area_delay_cell(s, "all", 'data-area="all"') for s in self.scenarios)
            + "</tr>"
        )
        n = len(self.scenarios)
        # three groups of a column for each scenario: long names may break after an underscore
        names = "".join(f"<th>{_breakable(s)}</th>" for s in self.scenarios) * 3
        return (
            f"<h3>By ICB area</h3><p>Staff hours in meetings, and delayed days, by the {len(order)} ICBs of "
            "the baseline, each over the residents it covers there, so that an ICB merged or split in a "
            "scenario is compared over the same people. An organisation's hours are shared among the areas "
            "by where the residents it serves live (a hospital: where its patients live). Councils: those "
            f"serving at least {PARTNER_MIN_SHARE:.0%} of the area's residents. Delayed days: per discharge of "
            "the area's residents in the measured period, the baseline's with its 95% interval and each "
            "other scenario's as its change from the baseline, paired by replication, with its interval. "
            "Mean over replications; the largest change in "
            "meeting hours first; in brackets, the change from the baseline. "
            '<a href="icb_workload.csv">icb_workload.csv</a> beside this page has these and each area\'s '
            "coordination hours a week in all.</p>"
            f'<table class="headline areas"><thead><tr><th rowspan="2">ICB area</th>'
            f'<th colspan="{n}">councils</th><th colspan="{n}">staff hours a week in meetings</th>'
            f'<th colspan="{n}">delayed days per discharge (the baseline\'s; change from it)</th>'
            f"</tr><tr>{names}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    def _area_delay_cell(self, scenario: str, column: str, attrs: str) -> str:
        """Delayed days in the areas' table, kept short: the baseline's with its interval,
        a scenario's as its change from the baseline, paired by replication."""
        s, d = self.delay_estimate(scenario, column)
        if s is None:
            return "<td>n/a</td>"
        mean = f'class="area-delay" {attrs} data-mean="{s["mean"]!r}"'
        if d is None:
            return f"<td><span {mean}>{html.escape(fmt_estimate(s['mean'], s['ci_low'], s['ci_high']))}</span></td>"
        cls = "up" if d["ci_low"] > 0 else "down" if d["ci_high"] < 0 else "same"
        change = fmt_estimate(d["mean"], d["ci_low"], d["ci_high"], signed=True)
        return f'<td><span {mean}></span><span class="diff {cls}">{html.escape(change)}</span></td>'

    def headline_rows(self) -> list[dict[str, Any]]:
        rows = []
        point = 0
        for scenario in self.scenarios:
            row: dict[str, Any] = {"scenario": scenario}
            for metric in HEADLINE_TABLE:
                s = self.summary[
                    (self.summary["scenario"] == scenario)
                    & (self.summary["metric"] == metric)
                    & (self.summary["point"] == point)
                ]
                d = self.diffs[
                    (self.diffs["scenario"] == scenario)
                    & (self.diffs["metric"] == metric)
                    & (self.diffs["point"] == point)
                ]
                row[metric] = s.iloc[0].to_dict() if not s.empty else None
                row[f"{metric}__diff"] = d.iloc[0].to_dict() if not d.empty else None
            rows.append(row)
        return rows

    def multiplicity_html(self) -> str:
        """How many of the headline table's changes are clear, each at 95%, and how many
        stay clear with the false discovery rate over them all held at 5% (Benjamini
        and Hochberg, 1995, as ``scipy.stats.false_discovery_control``): among many
        changes some look clear by chance, and a planner reads the table as a whole."""
        tested: list[tuple[str, str, dict[str, Any], float]] = []  # scenario, metric, change, p
        for row in self.headline_rows():
            for metric in HEADLINE_TABLE:
                d = row[f"{metric}__diff"]
                if d is None or (d["mean"] == 0 and d["sd"] == 0):  # the same in every pair: no test
                    continue
                p = paired_p_value(d["mean"], d["sd"], int(d["n"]))
                if math.isfinite(p):
                    tested.append((row["scenario"], metric, d, p))
        clear = [t for t in tested if t[2]["ci_low"] > 0 or t[2]["ci_high"] < 0]
        if len(tested) < 2 or not clear:
            return ""
        dropped = not_clear_together([p for *_, p in tested])
        doubtful = [t for t, out in zip(tested, dropped, strict=True) if out and t in clear]
        said = (
            f"<p><strong>Many changes at once:</strong> {len(clear)} of the {len(tested)} changes in the table "
            "(those not the same in every replication) are clear, each at 95%, and among many some look clear "
            "by chance. Holding the expected share of chance among those called clear to 5% (the false "
            "discovery rate: Benjamini and Hochberg, 1995), "
        )
        if not doubtful:
            return said + f"{'both stay' if len(clear) == 2 else f'all {len(clear)} stay'} clear.</p>"
        listing = "; ".join(
            f"{html.escape(s)}: {html.escape(HEADLINE[m][:1].lower() + HEADLINE[m][1:])} ("
            + (fmt_pct(d) if math.isfinite(d["relative_change_pct"]) else f"{d['mean']:+.3g}")
            + ")"
            for s, m, d, _ in doubtful[:10]
        )
        more = f"; and {len(doubtful) - 10} more" if len(doubtful) > 10 else ""
        others = "the other one" if len(doubtful) == 1 else f"the other {len(doubtful)}"
        return said + (
            f"{len(clear) - len(doubtful)} stay{'s' if len(clear) - len(doubtful) == 1 else ''} clear; {others}, "
            f"to read with more care: {listing}{more}.</p>"
        )

    def other_patients_html(self) -> str:
        """A warning where some scenarios' patients are not the baseline's (`other_patients`)."""
        others = other_patients(manifest_cells(self.manifest), self.baseline)
        if not others:
            return ""
        said = other_patients_note(others, self.baseline)
        return f"<p><strong>But:</strong> {html.escape(said[0].upper() + said[1:])}.</p>"

    def precision_shortfall(self) -> str | None:
        """With automatic replications, where the precision asked for was not reached."""
        return precision_shortfall(self.runs, self.manifest["resolved"].get("replications"), self.failures)

    def precision_html(self) -> str:
        return "".join(
            f"<p><strong>Precision:</strong> {html.escape(short[0].upper() + short[1:])}.</p>"
            for short in (self.precision_shortfall(), no_interval(self.runs))
            if short
        )

    def overload_html(self) -> str:
        """A warning where staff or places were overloaded in any run (`overloads`), by name."""
        found, not_checked = overloads(self.runs), unchecked(self.runs)
        note = f"<p>{html.escape(not_checked)}</p>" if not_checked else ""
        if not found:
            return note
        names: dict[str, str] = {}
        for scenario in self.scenarios:
            orgs = self.run_config(self.first_run(scenario))["organisations"]
            names |= {o: d.get("name") or o for o, d in orgs.items()}

        def named(item: str) -> str:  # 'a+b:care_home_beds': "A and B's care home beds"
            orgs, _, what = item.partition(":")
            who = " and ".join(names.get(o, o) for o in orgs.split("+"))
            return f"{who}'s {what.replace('_', ' ')}"

        items = "".join(
            f"<li><strong>{html.escape(scenario)}</strong>{html.escape(f' at {at}' if at else '')}: "
            f"{html.escape(', '.join(named(w) for w in what))} (in {hits} of {n} runs)</li>"
            for scenario, at, what, hits, n in found
        )
        return f'<div class="overloaded"><p>{html.escape(OVERLOADED)}</p><ul>{items}</ul></div>{note}'

    def start_up_html(self) -> str:
        """Where each configuration's start from empty ends (`start_ups`), against its
        warm-up: a warning naming those whose warm-up looks short, or, where none does,
        the latest and what measuring from it would change."""
        found = start_ups(self.root, self.runs)
        if not found:
            return ""
        short = [s for s in found if s.short]
        if short:
            items = "".join(f"<li>{html.escape(s.line().strip())}</li>" for s in short)
            return f'<div class="start-up"><p>{html.escape(START_UP)}</p><ul>{items}</ul></div>'
        last = max(found, key=lambda s: s.settled_day)
        who = f"{last.scenario} at {last.at}" if last.at else last.scenario
        most = max(abs(s.change) for s in found)
        return (
            "<p>Where the runs' start from empty ends, by MSER-5 (White, 1997) on the mean of the "
            f"replications' daily counts: by day {last.settled_day} at the latest ({html.escape(who)}), "
            f"against a warm-up of {last.warmup_days:g} days"
            + (
                f"; measured from there instead, the patients awaiting discharge a day would differ by "
                f"{most:.1%} at most.</p>"
                if most > 0
                else ", so the measured period holds none of it.</p>"
            )
        )

    def headline_html(self) -> str:
        head = "".join(f"<th>{html.escape(HEADLINE[m])}</th>" for m in HEADLINE_TABLE)
        body = []
        for row in self.headline_rows():
            name = row["scenario"] + (" (baseline)" if row["scenario"] == self.baseline else "")
            cells = [
                _estimate_cell(row[m], row[f"{m}__diff"], f'class="est" data-metric="{m}"') for m in HEADLINE_TABLE
            ]
            body.append(
                f'<tr data-scenario="{html.escape(row["scenario"])}"><th>{_breakable(name)}</th>'
                + "".join(cells)
                + "</tr>"
            )
        return _scenario_table(head, body)

    def point_zero_run_rows(self) -> Iterator[tuple[dict[str, Any], str, dict[str, Any], dict[str, Pathway]]]:
        """For each run of sweep point 0 of each scenario: the start of its row in a table of a
        row for each run (its scenario and replication), its id, configuration and pathways."""
        # a run two scenarios share (the same configuration) is in the runs table once for each
        replication = self.runs.drop_duplicates("run_id").set_index("run_id")["replication"]
        for scenario in self.scenarios:
            for run_id in self.point_zero_runs(scenario):
                cfg = self.run_config(run_id)
                pathways = {k: Pathway.model_validate(v) for k, v in cfg["pathways"].items()}
                yield {"scenario": scenario, "replication": int(replication[run_id])}, run_id, cfg, pathways

    @cached_property
    def delays_by_run(self) -> pd.DataFrame:
        """For each run of sweep point 0, means over the patients discharged in the measured
        period: of each part of their delayed days (``DELAY_PARTS``), of the delayed days
        themselves ("all", the headline's), and of those of each pathway with steps."""
        rows = []
        for row, run_id, cfg, pathways in self.point_zero_run_rows():
            zone = ["zone"] if self.area_of else []
            p = self.run_table(run_id, "patients", ["delayed_days", *delay_columns(pathways), *zone])
            lo, hi = cfg["run"]["warmup_days"], cfg["run"]["length_days"]
            p = p[(p["discharged"] >= lo) & (p["discharged"] < hi)]
            parts = delay_parts(p, pathways)
            # runs stored by a version that recorded the discharging step's referral
            # only when the step ended: their parts fall short of the delayed days
            row["parts_short"] = bool((parts.sum(axis=1) < p["delayed_days"] - 1e-6).any())
            row.update(parts.mean().to_dict())
            row["all"] = float(p["delayed_days"].mean())
            for pathway, pw in pathways.items():
                if pw.steps:
                    row[f"pathway:{pathway}"] = float(p.loc[p["pathway"] == pathway, "delayed_days"].mean())
            if zone:  # and of the residents of each of the baseline's ICB areas
                by_area = p["delayed_days"].groupby(p["zone"].astype(str).map(self.area_of)).mean()
                row.update({f"area:{area}": float(v) for area, v in by_area.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def delay_estimate(self, scenario: str, column: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """A column of ``delays_by_run`` in a scenario (``by_run_estimate``)."""
        return self.by_run_estimate(self.delays_by_run, scenario, column)

    def by_run_estimate(
        self, by_run: pd.DataFrame, scenario: str, column: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """A column of a table of a row for each run (``delays_by_run``, ``gaps_by_run``) in a
        scenario: its mean over replications with a 95% interval (None where the scenario has
        none of it: a pathway it does not use) and, against the baseline, the change paired by
        replication (None for the baseline)."""
        runs = by_run[by_run["scenario"] == scenario].set_index("replication")
        base = by_run[by_run["scenario"] == self.baseline].set_index("replication")
        if column not in runs or not runs[column].notna().any():
            return None, None
        s = mean_ci(runs[column])
        if scenario == self.baseline or column not in base or not base[column].notna().any():
            return s, None
        change = (runs[column] - base[column]).dropna()
        before = float(base.loc[change.index, column].mean())
        return s, mean_ci(change) | {"relative_change_pct": 100 * change.mean() / before if before else math.nan}

    def delays_html(self) -> str:
        """Delayed days in their parts, and by pathway: for each scenario the mean over
        replications and, against the baseline, the change paired by replication."""
        by_run = self.delays_by_run
        heading = "<h3>What the days waiting for discharge are spent on</h3>"
        if by_run["parts_short"].any():
            return (
                heading + f"<p>Not shown: {int(by_run['parts_short'].sum())} of these runs were stored by a "
                "version of the model that recorded the referral that discharged a patient only when that "
                "step ended, so the parts would not add up to the delayed days. To see them, move the "
                "experiment's <code>runs/</code> folder aside and run <code>handover sweep</code> again.</p>"
            )

        names: dict[str, str] = {}  # each pathway's name, from the first configuration that has it
        for scenario in self.scenarios:
            for pathway, spec in self.run_config(self.first_run(scenario))["pathways"].items():
                names.setdefault(f"pathway:{pathway}", spec.get("name") or pathway)
        by_pathway = {c: names[c] for c in by_run.columns if c.startswith("pathway:")}
        # a care home's own assessment only where some scenario has patients no trusted assessor covers
        provider = bool(by_run["provider"].fillna(0).any())
        parts = {k: v for k, v in DELAY_PARTS.items() if k != "provider" or provider}
        return (
            heading + f"<p>Delayed days per discharge (ready for discharge to discharge, the headline's) in "
            f"{['four', 'five'][provider]} parts that add up to them. <strong>Referrals</strong>: from each "
            "referral sent until the team receiving "
            "it has taken it on, reworked ones included; longer when many arrive at once. "
            "<strong>Funding decisions</strong>: the wait for the panel or person "
            "who decides. <strong>Waiting</strong>: for a member of staff to be free and, at the step that "
            "discharges the patient, for the bed or the care package to start. <strong>Work</strong>: "
            "assessments and checks and, for the patients who need it, their home made ready. "
            + (
                "<strong>A care home's own assessment</strong>: once a care home has a place for the patient, "
                "the days until its own assessor has come and it takes them, where no trusted assessor "
                "covers them. "
                if provider
                else ""
            )
            + "Mean over the patients discharged in the measured period, then over replications; under each, "
            "the change from the baseline, paired by replication.</p>"
            + self.by_run_table(by_run, parts | {"all": "All: delayed days per discharge"}, "part")
            + "<p>And by pathway: the delayed days of each pathway's discharges.</p>"
            + self.by_run_table(by_run, by_pathway, "part")
        )

    def by_run_table(self, by_run: pd.DataFrame, columns: dict[str, str], kind: str) -> str:
        """A table of a row for each scenario and a column for each of ``columns`` of
        ``by_run`` (labelled by their values): the mean over replications and, under it, the
        change from the baseline; each mean's element is of class ``kind``."""
        head = "".join(f"<th>{html.escape(label)}</th>" for label in columns.values())
        body = []
        for scenario in self.scenarios:
            cells = [
                _estimate_cell(
                    *self.by_run_estimate(by_run, scenario, column), f'class="{kind}" data-{kind}="{column}"'
                )
                for column in columns
            ]
            name = scenario + (" (baseline)" if scenario == self.baseline else "")
            body.append(f"<tr><th>{_breakable(name)}</th>{''.join(cells)}</tr>")
        return _scenario_table(head, body)

    @cached_property
    def gaps_by_run(self) -> pd.DataFrame:
        """For each run of sweep point 0, means over the journeys discharged in the measured
        period and whole by the run's end (``whole_journeys``, as the distributions'; of those,
        only the ones that ended, where a service so overloaded that someone waits for it from
        the start cut them short, for a step's times are recorded once it ends): of each part
        of their gap days in care (``GAP_PARTS``), of those before each service starts
        (``before:STEP``), and of the gap days themselves ("all")."""
        rows = []
        for row, run_id, cfg, pathways in self.point_zero_run_rows():
            p = self.run_table(run_id, "patients", [*gap_columns(pathways), "journey_end", "gap_days"])
            whole, _ = whole_journeys(p, cfg["run"]["warmup_days"], cfg["run"]["length_days"])
            whole = whole[whole["journey_end"].notna()]
            row.update(gap_parts(whole, pathways).mean().to_dict())
            row["all"] = float(whole["gap_days"].mean())
            rows.append(row)
        return pd.DataFrame(rows)

    def gaps_html(self) -> str:
        """Gap days in care in DESIGN.md's two kinds, and by the service they wait for: for
        each scenario the mean over replications and, against the baseline, the change
        paired by replication."""
        by_run = self.gaps_by_run
        # the steps after discharge, in the order the pathways take them (gap_parts' columns),
        # but a service whose start no one waits for (a care home's place, taken at discharge)
        services = {
            c: c.removeprefix("before:").replace("_", " ")
            for c in by_run.columns
            if c.startswith("before:") and by_run[c].fillna(0).any()
        }
        return (
            "<h3>What the gaps in care are made of</h3><p>Gap days per discharge after leaving hospital, in "
            "two parts that add up to them. <strong>In transit</strong>: from the team that has the patient "
            "letting them go to the next service taking them on (a referral, reworked ones included). "
            "<strong>Waiting to start</strong>: from leaving hospital, or from being taken on, to the "
            "service's first visit (the visit as it is booked, or waiting for staff, a place or a decision). "
            "Of the journeys discharged in the measured period and whole by the run's end, as the distribution "
            "above (the headline counts each gap in the period it ends, over every discharge: close to this "
            "where the run is much longer than a journey); mean over the patients, then over replications; "
            "under each, the change from "
            "the baseline, paired by replication.</p>"
            + self.by_run_table(by_run, {**GAP_PARTS, "all": "All: gap days per discharge"}, "gap")
            + "<p>And by the service whose start they wait for: gap days per discharge before each starts.</p>"
            + self.by_run_table(by_run, {c: f"Before {name} starts" for c, name in services.items()}, "gap")
        )

    def unranked(self) -> str:
        """Why a Latin hypercube's sweep has no sensitivity ranking: too few points."""
        sweep = self.manifest["resolved"].get("sweep") or {}
        if sweep.get("method") != "latin_hypercube" or not self.sensitivity.empty:
            return ""
        k, n = len(self.factors), self.runs["point"].nunique()
        return (
            f"<p>No sensitivity ranking: a partial rank correlation of {k} factors needs at least "
            f"{points_to_rank(k)} points of the Latin hypercube with results, and these runs have {n}. "
            "Give <code>sweep.points</code> more and run the sweep again.</p>"
        )

    def point_note(self) -> str:
        if not self.factors:
            return ""
        first = self.runs[self.runs["point"] == 0].iloc[0]
        where = html.escape(fmt_point(first, self.factors))
        return (
            f"<p><strong>At the first point of the sweep ({where}).</strong> Every point is in "
            "<code>scenario_summary.csv</code> and section 6.</p>"
        )

    def scenarios_html(self) -> str:
        spec = self.manifest["resolved"]["scenarios"]
        items = []
        for scenario in self.scenarios:
            cfg = self.run_config(self.first_run(scenario))
            counts: dict[str, int] = {}
            for o in cfg["organisations"].values():
                counts[o["type"]] = counts.get(o["type"], 0) + 1
            orgs = ", ".join(
                f"{n} {self.noun(t, n)}"
                for t, n in sorted(
                    counts.items(), key=lambda kv: TYPE_ORDER.index(kv[0]) if kv[0] in TYPE_ORDER else 99
                )
            )
            given = spec.get(scenario, {})  # as the manifest recorded it (a results folder of any age)
            desc = Scenario.model_construct(**{k: v for k, v in given.items() if k in Scenario.model_fields}).summary()
            mark = " <em>(baseline)</em>" if scenario == self.baseline else ""
            items.append(
                f"<li><strong>{html.escape(scenario)}</strong>{mark}: {html.escape(desc)}. "
                f"<span class='orgs'>{html.escape(orgs)}.</span></li>"
            )
        return "<ul>" + "".join(items) + "</ul>"

    def reference_rows(self) -> list[tuple[str, str, str, str]]:
        """The baseline (sweep point 0, mean over its replications) beside England's figures
        (``sim/data/reference.yaml``), per resident where England's is a count: rows of
        (measure, this model, England, how to read them), as HTML."""
        ref, _ = load_yaml(REFERENCE)
        cfg = self.run_config(self.first_run(self.baseline))
        residents = sum(z["population"] for z in cfg["zones"])
        simple = {p for p, d in cfg["pathways"].items() if not d["steps"]}
        complex_ = [p for p in cfg["pathways"] if p not in simple]
        lo, hi = cfg["run"]["warmup_days"], cfg["run"]["length_days"]
        rates, shares, stays, delayed = [], [], [], []
        run_ids = self.point_zero_runs(self.baseline)
        for run_id in run_ids:
            p = self.run_table(run_id, "patients", ["pathway", "admitted", "discharged", "delayed_days"])
            p = p[(p["discharged"] >= lo) & (p["discharged"] < hi)]
            cx = p[~p["pathway"].isin(simple)]
            rates.append(len(cx) / ((hi - lo) / 365) / residents * 1000 if residents else math.nan)
            shares.append(cx["pathway"].value_counts(normalize=True).reindex(complex_, fill_value=0.0))
            stays.append(float((cx["discharged"] - cx["admitted"]).mean()))
            delayed.append((float(cx["delayed_days"].mean()), float(p["delayed_days"].mean())))
        awaiting = float(self.runs.loc[self.runs["run_id"].isin(run_ids), "mean_awaiting_discharge"].mean())
        rate, stay = float(np.mean(rates)), float(np.mean(stays))
        delay, delay_all = np.mean(delayed, axis=0)
        share = pd.concat(shares, axis=1).mean(axis=1)
        names = {p: cfg["pathways"][p].get("name") or p for p in complex_}
        england_rate = ref["complex_discharges_per_year"] / ref["residents"] * 1000
        per_100k = awaiting / residents * 1e5 if residents else math.nan
        low, high = (ref["awaiting_discharge_per_day"][k] / ref["residents"] * 1e5 for k in ("low", "high"))
        los, wait = ref["length_of_stay_days"], ref["delayed_days_per_discharge"]
        e = html.escape
        rows = [
            (
                "Complex discharges a year, per 1,000 residents",
                f"{rate:.1f}",
                f"{england_rate:.1f} ({ref['complex_discharges_per_year']:,} a year)",
                "Configurations built from England's geography are set to England's rate."
                if abs(rate / england_rate - 1) < 0.05
                else "This configuration sets its own rate (<code>demand</code>).",
            ),
            (
                "Of them, by pathway",
                "<br>".join(f"{e(names[p])}: {share[p]:.0%}" for p in complex_),
                "<br>".join(
                    f"about {ref['pathway_shares'][p]:.0%}" if p in ref["pathway_shares"] else "-" for p in complex_
                ),
                "Set by the configuration's pathways.",
            ),
            (
                "Days in hospital of a complex discharge, admission to discharge (mean)",
                f"{stay:.1f}",
                f"about {los['all']:g} for every emergency admission; {los['aged_85_and_over']:g} "
                "for people aged 85 and over",
                "Complex discharges are mostly older people, and their stay includes the wait for discharge.",
            ),
            (
                "Days from ready for discharge to discharge, per complex discharge (mean)",
                f"{delay:.2f}" + (f"<br>over every discharge: {delay_all:.2f}" if simple else ""),
                f"{wait['england']:g} over every discharge; {wait['north_west']:g} in the North West (December 2022)",
                "England's average is over every discharge, most of which wait little, so a complex "
                "discharge waits longer than it. The model gives every area the same staff and capacity "
                "per resident, so it does not show why one region waits longer than another.",
            ),
            (
                "Patients a day ready for discharge but still in hospital, per 100,000 residents",
                f"{per_100k:.1f} ({awaiting:,.0f} a day)",
                f"{low:.0f} to {high:.0f} ({ref['awaiting_discharge_per_day']['low']:,} to "
                f"{ref['awaiting_discharge_per_day']['high']:,} a day"
                + (
                    ")"  # the area is England
                    if abs(residents / ref["residents"] - 1) < 0.01
                    else f"; {low * residents / 1e5:,.0f} to {high * residents / 1e5:,.0f} at this area's population)"
                ),
                "The model counts the waits for what it represents: referrals, assessments, funding "
                "decisions, care and beds to start. England's count is of every reason, such as transport, "
                f"medicines and the hospital's own work, so the model's patients are {per_100k / high:.0%} "
                f"to {per_100k / low:.0%} of it.",
            ),
        ]
        return rows

    def reference_html(self) -> str:
        body = "".join(
            f'<tr><th>{measure}</th><td class="model">{model}</td><td>{england}</td><td>{reading}</td></tr>'
            for measure, model, england, reading in self.reference_rows()
        )
        return (
            f"<p>Is the model in the right range? The baseline ({html.escape(self.baseline)}; mean over "
            "its replications) beside England's figures, per resident where England's is a count "
            "(<code>sim/data/reference.yaml</code> has their sources). Configurations built from "
            "England's geography are set to the first two rows, and their stays until ready for discharge "
            "follow the third; the waits and the patients awaiting discharge come out of the model.</p>"
            '<table class="reference"><thead><tr><th>measure</th><th>this model</th><th>England</th>'
            f"<th>how to read them</th></tr></thead><tbody>{body}</tbody></table>"
        )

    def model_card_html(self) -> str:
        m = self.manifest
        cfg = self.run_config(self.first_run(self.baseline))
        versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
        hashes = "".join(
            f"<li>{html.escape(c['scenario'])} (point {c['point']}): <code>{c['config_hash'][:16]}</code></li>"
            for c in m["cells"][:20]
        )
        items = [
            (
                "Aim",
                "Compare boundary configurations on handovers, failed handovers, gaps in care, delayed days "
                "and coordination workload of complex hospital discharges.",
            ),
            (
                "Model",
                "Discrete-event simulation (SimPy). Patients arrive from zones, are admitted to trusts by "
                "catchment shares, become ready for discharge and follow their pathway's steps (some needed by "
                "only a share of the pathway's patients, such as the housing authority's), each done by "
                "the organisation their home zone resolves to; staff and capacity are queues; handovers can "
                "fail and be reworked; recurring meetings take staff from casework; funding decisions wait "
                "under each place's governance arrangement, whose sittings are meetings too, and a decision "
                "taken by one person alone is their casework.",
            ),
            (
                "Left out",
                "The voluntary sector; readmissions; waits for anything the pathways' steps do not need "
                "(equipment, transport, the family's choice); people who arrange their own care, and "
                "placements in another council's beds; any step of the police in a discharge (with "
                "<code>police: true</code> they sit on Safeguarding Adults Boards); the cost of the change "
                "between configurations, which are compared in their steady state. Why, in the README's "
                "&ldquo;What the model leaves out&rdquo;.",
            ),
            ("Experiment file", f"<code>{html.escape(m['experiment_file'])}</code>"),
            (
                "Base configuration",
                f"<code>{html.escape(m['resolved']['base'])}</code>: {html.escape(cfg.get('description', ''))}",
            ),
            ("Configuration hashes", f"<ul>{hashes}</ul>"),
            (
                "Run length",
                f"{cfg['run']['length_days']:g} days from empty (no one in hospital, every bed and place free), "
                f"of which {cfg['run']['warmup_days']:g} days of warm-up are not measured (checked by MSER-5, "
                "section 5); discharges, handovers and gaps in care are counted in the measured period when "
                "they end (a handover when accepted, a gap when the service starts); patients still in the "
                "system at the end are kept and marked"
                + "".join(
                    f"; {html.escape(s)}: {length:g} days, {warmup:g} of warm-up"
                    for s, (length, warmup) in self.run_lengths().items()
                    if (length, warmup) != (cfg["run"]["length_days"], cfg["run"]["warmup_days"])
                )
                + ".",
            ),
            (
                "Replications",
                replications_text(self.runs, self.scenarios)
                + "; confidence intervals are 95% (Student's t) over replications; differences are paired by "
                "replication (common random numbers)."
                + (f" <strong>The {html.escape(short)}.</strong>" if (short := self.precision_shortfall()) else ""),
            ),
            ("Seeds", f"base seed {m['resolved']['seed']}; streams derived from (seed, replication, stream name)."),
            (
                "Assumptions and sources",
                "Every number of a built configuration is in <code>sim/data/defaults.yaml"
                "</code> with its source; geography from ONS and OHID data (Open Government "
                "Licence v3.0), see <code>sim/data/england/README.md</code>.",
            ),
            (
                "Software",
                f"Python {html.escape(m['python'].split()[0])}; {html.escape(versions)}; git commit "
                f"<code>{html.escape(str(m.get('git_commit')))}</code>"
                + (" with changes not committed to it" if m.get("git_uncommitted_changes") else "")
                + (f"; the model's results version {m['results_version']}" if "results_version" in m else ""),
            ),
            (
                "Machine and run time",
                f"{html.escape(m['machine']['platform'])}, {m['machine']['cpus']} CPUs; "
                f"{m['timings']['run_seconds_total']:.0f} s of runs ({html.escape(m['executor'])}).",
            ),
            ("Failures", _failures(self.runs, self.failures)),
        ]
        return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"

    def write(self) -> Path:
        """Write the report into report/: made whole in a folder beside it and moved in file
        by file (the page last), so that a report that fails part-way (a damaged run, a
        full disk) leaves the one there as it was, figures and all."""
        final, self.out = self.out, self.root / f".report.partial-{os.getpid()}"  # one a process
        shutil.rmtree(self.out, ignore_errors=True)  # left by an earlier process of this id, killed part-way
        try:
            self.write_page()
            final.mkdir(parents=True, exist_ok=True)
            for f in sorted(self.out.iterdir(), key=lambda f: f.name == "index.html"):
                f.replace(final / f.name)
        finally:
            shutil.rmtree(self.out, ignore_errors=True)
            self.out = final
        return final / "index.html"

    def write_page(self) -> Path:
        self.figure_networks()
        self.figure_distributions()
        self.figure_workload()
        self.figure_awaiting()
        self.figure_sweep()
        self.figure_sweep_changes()
        self.figure_sensitivity()
        imgs = {}
        for name, _, _ in self.figures:
            data = base64.b64encode((self.out / f"{name}.png").read_bytes()).decode()
            imgs[name] = f"data:image/png;base64,{data}"

        def figure(name: str) -> str:
            for n, title, caption in self.figures:
                if n == name:
                    return (
                        f'<figure id="fig-{n}"><img src="{imgs[n]}" alt="{html.escape(title)}">'
                        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                    )
            return ""

        m = self.manifest
        description = m["resolved"].get("description") or ""
        title = m["resolved"].get("title") or m["experiment"]
        sweep_section = ""
        if self.factors:
            sweep_section = (
                "<h2>6. Sweep: metrics against factors</h2>"
                + figure("sweep")
                + figure("sweep_changes")
                + figure("sensitivity")
                + self.unranked()
            )
        # sections are numbered without a gap
        reference = 7 if self.factors else 6
        card = reference + 1
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}: boundary comparison</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #111; }}
h1 {{ font-size: 1.6em; }} h2 {{ margin-top: 2em; border-bottom: 1px solid #ccc; }}
table.headline, table.reference {{ border-collapse: collapse; font-size: 0.85em; }}
table.headline th, table.headline td, table.reference th, table.reference td {{
  border: 1px solid #bbb; padding: 0.35em 0.5em; vertical-align: top; }}
table.headline thead th, table.reference thead th {{ background: #f0f0f0; }}
table.reference tbody th {{ text-align: left; font-weight: normal; }}
table.reference td.model {{ white-space: nowrap; }}
.diff {{ font-size: 0.9em; }} .up {{ color: #a33c00; }} .down {{ color: #00577f; }} .same {{ color: #555; }}
figure {{ margin: 1em 0; }} figure img {{ max-width: 100%; }} figcaption {{ font-size: 0.9em; color: #333; }}
dt {{ font-weight: bold; margin-top: 0.6em; }} .orgs {{ color: #444; }}
div.wide {{ overflow-x: auto; max-width: 100%; }}
.overloaded, .start-up {{ border-left: 4px solid #a33c00; background: #fff4ec; padding: 0.2em 1em; margin: 1em 0; }}
</style>
<script>
window.addEventListener("load", function () {{
  var imgs = Array.prototype.slice.call(document.images);
  document.body.setAttribute("data-images", imgs.length);
  var loaded = imgs.filter(function (i) {{ return i.complete && i.naturalWidth > 0; }});
  document.body.setAttribute("data-images-loaded", loaded.length);
}});
</script></head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(description)}</p>
<h2>1. The question and the configurations compared</h2>
<p>Each configuration below is simulated with the same patients (common random numbers): the same
people arrive from the same places, with the same hospital stays, so the differences come from
what each configuration changes (its boundaries, or how it is run), not from different patients.
Baseline: <strong>{html.escape(self.baseline)}</strong>.</p>
{self.other_patients_html()}
{self.scenarios_html()}
{figure("networks")}
<h2>2. Headline figures</h2>
{self.point_note()}
<p>Mean over replications with its 95% confidence interval; under each, the change from the baseline
(paired by replication) with its interval and the relative change. Orange: a clear increase; blue: a
clear decrease; grey: no clear change. Numbers are shown to the precision their intervals justify.</p>
{self.headline_html()}
{self.multiplicity_html()}
{self.precision_html()}
{self.overload_html()}
<h2>3. Distributions per discharge</h2>
{figure("distributions")}
{self.delays_html()}
{self.gaps_html()}
<h2>4. Workload by organisation and role</h2>
{figure("workload")}
<p>Coordination hours a week of each organisation (all its roles: casework, rework and meetings), and
of them the hours in meetings; mean over replications. An organisation that exists in only some
configurations shows a dash in the others.</p>
{self.organisation_workload_html()}
{self.interface_costs_html()}
{self.area_workload_html()}
<h2>5. Patients awaiting discharge over time</h2>
{figure("awaiting")}
{self.start_up_html()}
{sweep_section}
<h2>{reference}. The baseline beside England's figures</h2>
{self.reference_html()}
<h2>{card}. Model card</h2>
<p>The items of the STRESS-DES reporting guideline that apply.</p>
{self.model_card_html()}
</body></html>
"""
        # a table with a column for each of many scenarios may be wider than the page:
        # it scrolls sideways in a box of its own, and the page keeps its width
        page = page.replace("<table ", '<div class="wide"><table ').replace("</table>", "</table></div>")
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / "index.html"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)
        return path


def write_report(results: str | Path) -> Path:
    return Report(results).write()
