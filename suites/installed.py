"""Whether a suite's frameworks are installed, asked at collection without importing them.

``pytest.importorskip`` imports what it checks: at collection, TensorFlow's import costs a
pytest-xdist worker about 4.5 s of CPU (AMD EPYC, AVX2), although a run whose stages hit in
the stage cache may never build a Keras model. A test that needs the framework imports it
when it runs.
"""

from __future__ import annotations

import pytest

from harness.core.installed import not_installed


def require(*distributions: str, reason: str) -> None:
    """Skips the calling test module, as ``pytest.importorskip`` would, where any of
    ``distributions`` is not installed (one that is installed but fails to import is the
    test's error, not a skip)."""
    missing = not_installed(distributions)
    if missing:
        pytest.skip(f"{reason} ({', '.join(missing)} not installed)", allow_module_level=True)
