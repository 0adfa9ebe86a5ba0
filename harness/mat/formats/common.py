"""Small readers of neutral values shared by the format parsers."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.mat.reader import elements


def is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype != object and value.dtype.kind in "biufc"


def weights_cell(value: Any) -> list[np.ndarray]:
    """The arrays of a MatConvNet `weights` cell (an empty cell: no weights)."""
    return [np.asarray(item) for item in elements(value) if is_array(item)]
