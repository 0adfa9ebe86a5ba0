"""The environment of a run, once: what every shard shares, and only what differs.

Every pytest-xdist worker and every machine writes a run record. Two workers of one machine
differ in nothing but their shard name (and, say, one environment variable), so the page
shows the shared fields once and lists the few that differ, shard by shard.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SHARD_FIELDS = ("record", "schema", "run_id", "shard", "started")
"""Fields of a run record that name the shard rather than describe where it ran."""

NESTED = ("versions", "environment", "hypothesis")
"""Mappings compared key by key, so that one differing version does not hide the rest."""

ABSENT = object()


def _flatten(run: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in run.items():
        if key in SHARD_FIELDS:
            continue
        if key in NESTED and isinstance(value, Mapping):
            for inner, inner_value in value.items():
                flat[f"{key}.{inner}"] = inner_value
        else:
            flat[str(key)] = value
    return flat


def _canonical(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True, default=str)


@dataclass
class Difference:
    field: str
    values: list[tuple[Any, list[str]]]
    """Each value, with the shards that had it; ABSENT where a shard had no such field."""


@dataclass
class Environment:
    common: dict[str, Any] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    shards: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return self.common.get(key, default)

    def nested(self, prefix: str) -> dict[str, Any]:
        """The shared keys of one nested mapping (`versions`), without the prefix."""
        start = prefix + "."
        return {k[len(start):]: v for k, v in self.common.items() if k.startswith(start)}


def shard_name(run: Mapping[str, Any], several_runs: bool) -> str:
    name = str(run.get("shard", "?"))
    return f"{name} ({run.get('run_id', '?')})" if several_runs else name


def environment_once(runs: Iterable[Mapping[str, Any]]) -> Environment:
    runs = list(runs)
    env = Environment()
    run_ids = list(dict.fromkeys(str(r["run_id"]) for r in runs if r.get("run_id") is not None))
    several = len(run_ids) > 1
    env.run_ids = run_ids
    env.shards = [shard_name(r, several) for r in runs]
    env.started = sorted({str(r["started"]) for r in runs if r.get("started") is not None})
    flats = [_flatten(r) for r in runs]
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    for key in keys:
        values: dict[str, tuple[Any, list[str]]] = {}
        for shard, flat in zip(env.shards, flats):
            value = flat.get(key, ABSENT)
            values.setdefault(_canonical(value), (value, []))[1].append(shard)
        if len(values) == 1:
            value = next(iter(values.values()))[0]
            if value is not ABSENT:
                env.common[key] = value
        else:
            env.differences.append(Difference(key, list(values.values())))
    return env
