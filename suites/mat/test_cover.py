"""The MATLAB covering cases: networks that reach the (attribute value, file format) pairs the
ci profile's derandomised examples miss (``python -m harness.tools.draw_cover --source mat``,
docs/coverage.md). A kind's cases run in one test, down the same paths as
``test_matlab_layer``: a pair costs one case, not one test.
"""

from pathlib import Path

from harness.cover_corpus import suite_test

test_cover = suite_test(Path(__file__).with_name("cover.json"))
