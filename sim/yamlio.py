"""Safe YAML loading that remembers the line of every key.

Only ruamel.yaml's round-trip loader is used: it builds plain mappings, sequences and
scalars and never constructs arbitrary Python objects.  Duplicate keys are errors.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError

from sim.errors import ConfigError, Problem

Lines = dict[tuple[str | int, ...], int]
Kind = Literal["model configuration", "experiment file", "build specification"]

# The three kinds of file the tool reads, each told by top-level keys only it has, and
# what to do with one.
KINDS: dict[Kind, tuple[frozenset[str], str]] = {
    "model configuration": (
        frozenset({"zones", "organisations", "organisation_types", "footprints", "pathways", "demand"}),
        "'handover run {path}' simulates it once, and an experiment's base names it",
    ),
    "experiment file": (
        frozenset({"base", "scenarios", "sweep", "replications", "seed"}),
        "'handover sweep {path}' runs it",
    ),
    "build specification": (
        frozenset({"icbs", "councils", "places", "community_health", "police"}),
        "'handover build {path} --out configs/NAME.yaml' makes a model configuration from it",
    ),
}


def kind_of(data: dict[str, Any]) -> Kind | None:
    """The kind of file (a key of KINDS) whose own keys ``data`` has, when it has only one's."""
    kinds = [kind for kind, (own, _) in KINDS.items() if own & data.keys()]
    return kinds[0] if len(kinds) == 1 else None


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _plain(node: Any, path: tuple[str | int, ...], lines: Lines) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            try:
                pos = node.lc.key(key)
            except KeyError:  # merged in with `<<: *anchor`: on the line of the mapping it is merged into
                pos = None
            line = pos[0] + 1 if pos else lines.get(path, 1)
            sub = (*path, str(key))
            lines[sub] = line
            out[str(key)] = _plain(node[key], sub, lines)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, item in enumerate(node):
            sub = (*path, i)
            pos = node.lc.item(i)
            lines[sub] = pos[0] + 1 if pos else lines.get(path, 1)
            items.append(_plain(item, sub, lines))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _reused_anchor(name: str, warning: str) -> Problem:
    """ruamel.yaml's warning of an anchor defined twice, as a problem: legal YAML, but an
    alias then means the nearest one above it, so a scenario copied with its anchor (as
    ``handover county`` writes them) changes the scenarios after it that use the alias."""
    anchor = re.search(r"duplicate anchor '([^']*)'", warning)
    lines = [int(n) for n in re.findall(r"\(line: (\d+)\)", warning)]  # the first's, then this one's
    a = anchor.group(1) if anchor else "?"
    first = f" (first at line {lines[0]})" if lines else ""
    return Problem(
        name,
        lines[-1] if lines else None,
        (),
        f"the anchor &{a} is defined again{first}: each *{a} would mean the nearest one above it, so an alias "
        f"meant for the first could take this one; give this one a name of its own (&{a}_2, say)",
    )


def load_yaml(path: str | Path, kind: Kind | None = None) -> tuple[dict[str, Any], Lines]:
    """Load a YAML mapping; return it as plain Python data with a line for every key path.

    With ``kind`` (a key of KINDS), a file that is plainly of another kind is one error
    saying what it is and what to do with it, rather than one for every key."""
    name = str(path)
    p = Path(path)
    if p.is_dir():
        raise ConfigError([Problem(name, None, (), "a folder, not a file: give the YAML file itself")])
    if not p.is_file():
        raise ConfigError([Problem(name, None, (), "no such file")])
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(name, None, (), f"cannot read the file: {exc}")]) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ReusedAnchorWarning)
            doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(s for s in (exc.context, exc.problem) if s)
        raise ConfigError([Problem(name, line, (), f"invalid YAML: {what}")]) from None
    except YAMLError as exc:
        raise ConfigError([Problem(name, None, (), f"invalid YAML: {exc}")]) from None
    reused = [_reused_anchor(name, str(w.message)) for w in caught if issubclass(w.category, ReusedAnchorWarning)]
    if reused:
        raise ConfigError(reused)
    if doc is None:
        raise ConfigError([Problem(name, 1, (), "the file is empty: expected a mapping of keys")])
    if not isinstance(doc, CommentedMap):
        shape = "a list" if isinstance(doc, CommentedSeq) else f"a {type(doc).__name__}"
        raise ConfigError([Problem(name, 1, (), f"expected a mapping of keys at the top level, found {shape}")])
    lines: Lines = {}
    data = _plain(doc, (), lines)
    found = kind_of(data)
    if kind is not None and found is not None and found != kind:
        told = KINDS[found][1].format(path=name)
        raise ConfigError([Problem(name, None, (), f"{_a(found)}, not {_a(kind)}: {told}")])
    return data, lines


def line_of(lines: Lines, path: tuple[str | int, ...]) -> int | None:
    """The line of the deepest part of ``path`` that the file has."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1 if lines else None


def flow(value: object) -> str:
    """A value as a YAML file would give it on one line: ``{merge: {into: x}}`` reads
    'merge: {into: x}' (a mapping of one mapping without its braces), a whole number
    without '.0'.  For saying what a transform or override does, not for reading back."""
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {flow(v)}" for k, v in value.items())
        return inner if len(value) == 1 and isinstance(next(iter(value.values())), dict) else f"{{{inner}}}"
    if isinstance(value, list):
        return f"[{', '.join(flow(v) for v in value)}]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
