"""Errors a user can act on: each names the file, the line, the key and what is wrong."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


def format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def no_space_after_colon(text: str) -> str:
    """A note for 'baseline:true', which YAML reads as one word (a key, or a string where a
    mapping should be): it needs a space after the colon. Empty for anything else."""
    key, colon, value = text.partition(":")
    if not (colon and re.fullmatch(r"[A-Za-z_][\w.]*", key) and value) or value[0].isspace() or value.startswith("//"):
        return ""  # not a key run into its value: a time (12:30), a URL
    return f"; YAML needs a space after a colon: '{key}: {value}'"


def likely(name: str, known: list[str]) -> list[str]:
    """What ``name`` may have meant among ``known``: those whose ids start with its words
    ('devon': 'devon_council', not 'east_devon_district'), else hold every word of it
    ('cornwall_icb': 'cornwall_and_the_isles_of_scilly_icb'), up to five, else the closest
    by spelling, else none."""
    known = sorted(known)
    words = [w for w in re.split(r"[_\W]+", name.lower()) if w]
    split = {k: re.split(r"[_\W]+", k.lower()) for k in known}
    starting = [k for k in known if words and split[k][: len(words)] == words]  # 'devon': not 'east_devon_district'
    holding = [k for k in known if words and all(w in split[k] for w in words)]
    for found in (starting, holding):  # before spelling: 'cornwall_icb' is closer to 'cornwall_place'
        if 0 < len(found) <= 5:
            return found
    return difflib.get_close_matches(name, known, n=1)


def did_you_mean(name: str, known: list[str], most: int = 12) -> str:
    """The hint after 'unknown X 'name'': what it may have meant (``likely``), else what is
    known (the first ``most`` of a long list)."""
    meant = likely(name, known)
    if meant:
        return "; did you mean " + " or ".join(repr(k) for k in meant) + "?"
    said = [repr(k) if any("," in k for k in known) else k for k in sorted(known)]  # 'Bristol, City of'
    if len(said) <= most:
        return f"; known: {', '.join(said)}" if said else ""
    return f"; known: {', '.join(said[:most])}, ... ({len(said)} in all)"


def unknown_key(what: str, key: str, allowed: list[str]) -> str:
    """'unknown key 'x'; did you mean 'y'? (allowed: ...)', for a key or an argument."""
    spaced = no_space_after_colon(key)
    if spaced and key.partition(":")[0] in allowed:  # the key is there, and its value run into it
        return f"unknown {what} {key!r}{spaced}"
    close = difflib.get_close_matches(key, allowed, n=1)
    return (
        f"unknown {what} {key!r}"
        + (f"; did you mean {close[0]!r}?" if close else "")
        + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    )


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {format_path(self.path)}: {self.message}"


class ConfigError(Exception):
    """One or more problems in a configuration or experiment file."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
