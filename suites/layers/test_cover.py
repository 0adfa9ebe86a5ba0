"""The Keras covering cases: draws that reach the branches of the draw code and the
(attribute value, axis) pairs that the ci profile's derandomised examples do not (``python
-m harness.tools.draw_cover --source keras``, docs/coverage.md). A Keras case costs a
conversion, so the ci profile runs the first cases the greedy cover chose (``ci_cases``),
the nightly one all of them. A covering case that fails on a leg no known issue covers is
``held`` in cover.json until it is pinned: ``test_cover_held`` lists each as a skip.
"""

from pathlib import Path

from harness.cover_corpus import held_test, suite_test

from ..installed import require

require("tensorflow", reason="the layer suite builds its cases in Keras")

COVER = Path(__file__).with_name("cover.json")
test_cover = suite_test(COVER)
test_cover_held = held_test(COVER)
