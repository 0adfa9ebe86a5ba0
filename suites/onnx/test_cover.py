"""The covering cases: draws that reach what the ci profile's derandomised examples do not.

``cover.json`` beside this file is written by ``python -m harness.tools.draw_cover --source
onnx`` (docs/coverage.md): it measured, with coverage.py, which branches of the draw code and
which (attribute value, axis) pairs the ci corpus reaches, and kept the fewest further draws
that reach the rest. A kind's covering cases run in one test, down the same paths as
``test_op``; known upstream bugs are xfails there as here.
"""

from pathlib import Path

import pytest

from harness.cover_corpus import suite_test

pytest.importorskip("onnxruntime", reason="the onnx source reads its models with onnxruntime")

test_cover = suite_test(Path(__file__).with_name("cover.json"))
