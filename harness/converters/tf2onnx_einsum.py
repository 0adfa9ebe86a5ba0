"""tf2onnx's einsum decompositions, searched once per tf2onnx installation, not once per process.

tf2onnx's EinsumOptimizer replaces an ONNX ``Einsum`` by Transposes, MatMuls and ReduceSums in
the letter order its cost model predicts cheapest: ``CachedEinsum._build_optimize_ml``
decomposes the equation under every permutation of its letters (5,040 for a seven-letter
equation of MultiHeadAttention with two attention axes: some 7 s of CPU) and keeps the best.
The choice depends on the equation, the opset and the code that searches (tf2onnx's, numpy's,
onnx's), nothing else, and tf2onnx keeps it for the rest of the process in
``CachedEinsum.einsum_cache`` (keyed by equation, opset, optimize, dtype, decompose). Each
pytest worker of a run, and each run, searched the same equations again.

``preload()`` puts the choices that ``tf2onnx_einsum.json`` records into that cache before a
conversion, only where this very code searched them: the table keeps a hash of every file
of the tf2onnx package, of the einsum optimiser's code as imported, and numpy's and onnx's
versions; where any differs (another release, an edited, patched or fault-injected tf2onnx)
nothing is preloaded and tf2onnx searches as it always does. A preloaded choice is what the search returns, and the only thing the
search leaves that tf2onnx reads (``equation_``), so the conversion goes on as after the
search (``tests/test_tf2onnx_einsum.py``: the same nodes and bit-identical outputs).

With ``PARITY_EINSUM_RECORD=FILE`` set, each choice a conversion had to search is appended to
FILE, one JSON object a line; ``python -m harness.tools.einsum_table`` merges such files into
the table (docs/benchmarks.md, "tf2onnx's einsum search").
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

TABLE = Path(__file__).with_name("tf2onnx_einsum.json")
SCHEMA = "parity.tf2onnx-einsum/1"
RECORD_ENV = "PARITY_EINSUM_RECORD"
# The packages whose code decides a choice: tf2onnx's files are hashed; numpy's and onnx's
# versions stand for theirs (parity's own fault injection edits converters, not these).
VERSIONED = ("numpy", "onnx")

_state: dict[str, Any] = {"preloaded": False, "fingerprint": None, "known": set()}


def fingerprint() -> dict[str, str]:
    """What decides tf2onnx's einsum choices in this process: a hash of every file of the
    imported tf2onnx package, numpy's and onnx's versions and the einsum optimiser's code as
    imported (``live_code``)."""
    if _state["fingerprint"] is None:
        import tf2onnx

        root = Path(tf2onnx.__file__).resolve().parent
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        _state["fingerprint"] = {
            "tf2onnx": f"{importlib.metadata.version('tf2onnx')}+{digest.hexdigest()[:16]}",
            **{name: importlib.metadata.version(name) for name in VERSIONED},
        }
    # The optimiser's code as this process runs it, not as its files say: a function patched
    # in memory (a plugin, a test's fault) searches differently, so nothing may be preloaded.
    return {**_state["fingerprint"], "einsum_code": live_code()}


def live_code() -> str:
    """A hash of the code of every function and method of tf2onnx's einsum optimiser, as
    imported now (its bytecode, constants and names: no paths or line numbers, which differ
    between installations)."""
    from tf2onnx.optimizer import einsum_optimizer

    digest = hashlib.sha256()

    def add(code) -> None:
        digest.update(code.co_code + repr(code.co_names).encode())
        for const in code.co_consts:
            if hasattr(const, "co_code"):
                add(const)
            else:
                digest.update(stable_repr(const).encode())

    def members(namespace):
        for name, value in sorted(vars(namespace).items()):
            function = getattr(value, "__func__", value)
            if hasattr(function, "__code__"):
                yield name, function.__code__
            elif isinstance(value, type) and value.__module__ == einsum_optimizer.__name__:
                yield from ((f"{name}.{n}", c) for n, c in members(value))

    for name, code in members(einsum_optimizer):
        digest.update(name.encode())
        add(code)
    return digest.hexdigest()[:16]


def stable_repr(const) -> str:
    """A constant's repr, the same in every process: a frozenset's members sorted (their
    order follows string hashing, which each process seeds)."""
    if isinstance(const, frozenset):
        return "frozenset(" + repr(sorted(map(stable_repr, const))) + ")"
    if isinstance(const, tuple):
        return "(" + ", ".join(map(stable_repr, const)) + ")"
    return repr(const)


def read_table(path: Path = TABLE) -> dict[str, Any]:
    """The table: ``{"schema", "fingerprint", "choices": [{"equation", "opset",
    "decompose", "chosen"}, ...]}``; an empty one where the file is missing."""
    if not path.is_file():
        return {"schema": SCHEMA, "fingerprint": {}, "choices": []}
    table = json.loads(path.read_text(encoding="utf-8"))
    if table.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema {table.get('schema')!r}, expected {SCHEMA!r}")
    return table


def cache_key(choice: dict[str, Any]) -> tuple:
    """tf2onnx's key of a choice (``einsum_optimizer.optimize_einsum``), as EinsumOptimizer
    asks: optimised, in float32."""
    return (choice["equation"], choice["opset"], True, np.float32, choice["decompose"])


def preload(path: Path = TABLE) -> int:
    """Puts the table's choices into tf2onnx's per-process cache, once a process, where the
    table was searched by this process' code; returns how many it put there."""
    if _state["preloaded"]:
        return 0
    _state["preloaded"] = True
    from tf2onnx.optimizer.einsum_optimizer import CachedEinsum

    cache = CachedEinsum.einsum_cache
    table = read_table(path)
    added = 0
    if table["choices"] and table["fingerprint"] == fingerprint():
        for choice in table["choices"]:
            key = cache_key(choice)
            if key in cache:
                continue
            einsum = CachedEinsum(choice["equation"], opset=choice["opset"], optimize=True,
                                  dtype=np.float32, decompose=choice["decompose"], key=key)
            # What build() leaves after its search, the search skipped.
            einsum.equation_ = choice["chosen"]
            einsum.build_runtime()
            cache[key] = einsum
            added += 1
    _state["known"] = set(cache)
    return added


def searched() -> list[dict[str, Any]]:
    """The choices tf2onnx searched in this process since the last call (or preload)."""
    from tf2onnx.optimizer.einsum_optimizer import CachedEinsum

    fresh = []
    for key, einsum in list(CachedEinsum.einsum_cache.items()):
        if key in _state["known"]:
            continue
        _state["known"].add(key)
        equation, opset, optimize, dtype, decompose = key
        if optimize and dtype is np.float32 and isinstance(opset, int):
            fresh.append({"equation": equation, "opset": opset, "decompose": bool(decompose),
                          "chosen": einsum.equation_})
    return fresh


def record_searched() -> None:
    """With ``PARITY_EINSUM_RECORD`` set, appends what this process newly searched to that
    file, with the fingerprint it was searched under."""
    target = os.environ.get(RECORD_ENV)
    if not target:
        return
    fresh = searched()
    if fresh:
        with open(target, "a", encoding="utf-8") as out:
            for choice in fresh:
                out.write(json.dumps({"fingerprint": fingerprint(), **choice},
                                     sort_keys=True) + "\n")


def reset() -> None:
    """Lets ``preload`` run again, as in a fresh process (tests, tools)."""
    _state.update(preloaded=False, known=set())
