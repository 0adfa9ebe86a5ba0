"""Every registered layer kind, drawn by Hypothesis, down every conversion path.

Each leg (onnxruntime on the ONNX model, PyTorch on the converted module, ...) is compared
with Keras; a failing leg fails the test with its metrics, the shrunk spec and a reproducer.
Known upstream bugs (harness/known_issues.toml) are recorded as xfail and pinned below as
strict xfails with their minimal spec.

Under the ci profile, a drawn case that adds no pair, branch or leg to what the cover's ci part
and the other drawn cases hold is drawn and not run: ``ci_draws.json`` lists them, chosen by
cost (``python -m harness.tools.ci_select choose --draws``, docs/coverage.md). A stale list runs
every drawn case. The tests' own source is left as it was: Hypothesis seeds a derandomised
test from it, so an edit there would draw another corpus.
"""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.core import axes, known_issues, registry
from harness.core.strategies import layer_specs
from harness.cover_corpus import LeavingToCover, ci_skipped_ids, current_profile

from ..installed import require
from ..verdicts import still_reproduces_test

require("tensorflow", reason="the layer suite builds its cases in Keras")

KINDS = registry.names(without=registry.WHOLE_MODELS)
LEFT_TO_COVER = (ci_skipped_ids(Path(__file__).parent) if current_profile() == "ci"
                 else frozenset())


@pytest.fixture(scope="module")
def parity(parity):
    return LeavingToCover(parity, LEFT_TO_COVER) if LEFT_TO_COVER else parity


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_layer(kind, data, parity):
    spec = data.draw(layer_specs(kind), label="spec")
    parity.check(spec)


# Every kind along every axis it admits (harness.core.axes): float16, float64, mixed_float16 and
# free dimensions. A twelfth of the profile's examples each (one under the ci profile), so
# that the axes add a third to the layer suite, not a multiple of it.
AXIS_CASES = [(kind, axis) for kind in KINDS
              for axis in axes.admitted(registry.get(kind)).names]
AXIS_EXAMPLES = max(1, settings().max_examples // 12)


@pytest.mark.parametrize(("kind", "axis"), AXIS_CASES,
                         ids=[f"{kind}-{axis}" for kind, axis in AXIS_CASES])
@settings(max_examples=AXIS_EXAMPLES)
@given(data=st.data())
def test_layer_axis(kind, axis, data, parity):
    spec = data.draw(layer_specs(kind, axis=axis), label="spec")
    parity.check(spec)


PINNED = known_issues.pins(source=registry.KERAS)

test_known_issue_still_reproduces = still_reproduces_test(
    PINNED, lambda parity: parity.paths, "--parity-paths")
