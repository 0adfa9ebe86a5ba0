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
