"""Where the conformance suites are: the package ``parity_suites`` (``suites/`` in the
repository, installed with the wheel or mapped by an editable install), else ``suites/``
beside the ``harness`` folder of a checkout that is not installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGE = "parity_suites"


def folder() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parents[2] / "suites"


def corpus_key(path: Path, nodeid: str) -> str | None:
    """The name a suite test's derandomised draws are seeded by, wherever the suites run from:
    ``suites/<file under the suites folder>::<test>``, as pytest names it from the
    repository's root; None for a test outside the suites.

    Hypothesis seeds a parametrized test's derandomised draws with pytest's node id, which
    names the file from the run's root directory: installed, ``onnx/test_ops.py::...`` drew
    another corpus than the repository's ``suites/onnx/test_ops.py::...`` (an int8 MaxPool
    onnx2torch cannot run that the gated corpus never held)."""
    try:
        inside = Path(path).resolve().relative_to(folder().resolve())
    except ValueError:
        return None
    test = nodeid.split("::", 1)[1] if "::" in nodeid else nodeid
    return f"suites/{inside.as_posix()}::{test}"
