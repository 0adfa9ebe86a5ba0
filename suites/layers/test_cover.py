"""The Keras covering cases: draws that reach the branches of the draw code that the ci
profile's derandomised examples do not (``python -m harness.tools.draw_cover --source keras
--branches-only``, docs/coverage.md). A Keras case costs a conversion, so the Keras cover
reaches branches; the ONNX one reaches every (attribute value, axis) pair too.
"""

from pathlib import Path

import pytest

from harness.cover_corpus import suite_test

pytest.importorskip("tensorflow", reason="the layer suite builds its cases in Keras")

test_cover = suite_test(Path(__file__).with_name("cover.json"))
