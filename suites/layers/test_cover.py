"""The Keras covering cases: draws that reach the branches of the draw code that the ci
profile's derandomised examples do not (``python -m harness.tools.draw_cover --source keras
--branches-only``, docs/coverage.md). Keras cases cost a conversion each, so the Keras cover
reaches branches; the ONNX one reaches every (attribute value, axis) pair too.
"""

from pathlib import Path

import pytest

from harness.cover_corpus import cases_by_kind, run_all

pytest.importorskip("tensorflow", reason="the layer suite builds its cases in Keras")

COVER = cases_by_kind(Path(__file__).with_name("cover.json"))


@pytest.mark.parametrize("kind", sorted(COVER))
def test_cover(kind, parity):
    failures = run_all(parity, COVER[kind])
    assert not failures, "\n\n".join(failures)
