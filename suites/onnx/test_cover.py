"""The covering cases: draws that reach what the ci profile's derandomised examples do not.

``cover.json`` beside this file is written by ``python -m harness.tools.draw_cover --source
onnx`` (docs/coverage.md): it measured, with coverage.py, which branches of the draw code and
which (attribute value, axis) pairs the ci corpus reaches, and kept the fewest further draws
that reach the rest. A kind's covering cases run in one test, down the same paths as
``test_op``; known upstream bugs are xfails there as here.
"""

from pathlib import Path

import pytest

from harness.cover_corpus import cases_by_kind, run_all

pytest.importorskip("onnxruntime", reason="the onnx source reads its models with onnxruntime")

COVER = cases_by_kind(Path(__file__).with_name("cover.json"))


@pytest.mark.parametrize("kind", sorted(COVER))
def test_cover(kind, parity):
    failures = run_all(parity, COVER[kind])
    assert not failures, "\n\n".join(failures)
