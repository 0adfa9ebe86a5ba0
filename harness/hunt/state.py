"""What a hunt keeps on disk: the cases it ran, its groups and where its draws stand.

A hunt's folder (``--state``) holds ``state.json``; a second hunt over the same folder with the
same seed and paths goes on where the first stopped: it draws the batches after the last one
drawn, skips the case ids already run and adds its failures to the groups already found.
A folder whose state was written for other paths or another seed is refused (a hunt over
other paths is another hunt: give it its own folder).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.core.atomic import atomic_write_text

STATE_FILE = "state.json"
SCHEMA = "parity.hunt/1"


class StateError(ValueError):
    """A state folder that cannot be read, or that belongs to another hunt."""


@dataclass
class Group:
    """Failures that share a root cause (``triage.signature``)."""

    key: str
    stage: str  # the stage blamed
    kind: str
    source: str
    category: str
    fingerprint: str  # of the normalised message
    place: str  # where a multi-layer case first diverged ("" for one layer)
    message: str  # the first case's message, as seen
    legs: list[str] = field(default_factory=list)  # every leg name it was seen on
    cases: list[str] = field(default_factory=list)  # case ids
    first_spec: dict[str, Any] = field(default_factory=dict)
    first_leg: str = ""
    minimal_spec: dict[str, Any] | None = None  # after the shrink
    shrink: dict[str, Any] = field(default_factory=dict)  # steps tried and taken
    draft: dict[str, Any] = field(default_factory=dict)  # drafts.write's summary
    known: str | None = None  # the known issue that recognises it now, if one was added since

    @property
    def weight(self) -> tuple[int, int]:
        """How much it explains: the cases, then the legs."""
        return len(self.cases), len(self.legs)


@dataclass
class State:
    seed: int
    paths: list[str]
    sources: list[str]
    next_batch: int = 0
    spent_s: float = 0.0
    runs: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # verdicts and what became of cases
    seen: list[str] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)  # drawn, not run yet
    groups: dict[str, Group] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = SCHEMA
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        if data.get("schema") != SCHEMA:
            raise StateError(f"not a parity hunt state (schema {data.get('schema')!r}, "
                             f"wanted {SCHEMA!r})")
        groups = {key: Group(**value) for key, value in data.get("groups", {}).items()}
        fields = {k: v for k, v in data.items() if k not in ("schema", "groups")}
        return cls(**fields, groups=groups)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


def load(folder: Path, *, seed: int, paths: list[str], sources: list[str]) -> State:
    """The folder's state, or a new one; refuses a state of other paths or another seed."""
    file = folder / STATE_FILE
    if not file.is_file():
        return State(seed=seed, paths=list(paths), sources=list(sources))
    try:
        state = State.from_json(json.loads(file.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError, KeyError) as exc:
        raise StateError(f"{file}: cannot be read ({exc}); remove it or name another "
                         f"--state folder") from None
    except StateError as exc:
        raise StateError(f"{file}: {exc}") from None
    if state.seed != seed or sorted(state.paths) != sorted(paths):
        raise StateError(f"{file} holds a hunt with seed {state.seed} over "
                         f"{', '.join(state.paths)}; this one has seed {seed} over "
                         f"{', '.join(paths)}: name another --state folder to start a new hunt")
    state.sources = sorted(set(state.sources) | set(sources))
    return state


def save(state: State, folder: Path) -> Path:
    file = folder / STATE_FILE
    atomic_write_text(file, json.dumps(state.to_json(), indent=1, sort_keys=True) + "\n")
    return file
