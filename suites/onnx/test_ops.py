"""Every ONNX kind (single ops and drawn graphs as exporters write them), drawn by Hypothesis,
down both ONNX → PyTorch converters and onnxruntime's optimiser.

The reference is onnxruntime with every graph optimisation off, beside onnx's reference
evaluator (harness.sources.onnx); each leg is compared with it. Known upstream bugs
(harness/known_issues.d/*.toml, legs ``onnx...``) are recorded as xfail and pinned below as
strict xfails with their minimal spec. Nothing on this path imports TensorFlow.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.core import axes, known_issues, registry
from harness.core.strategies import layer_specs

from ..verdicts import onnx_paths, still_reproduces_test

pytest.importorskip("onnxruntime", reason="the onnx source reads its models with onnxruntime")

SOURCE = "onnx"
KINDS = registry.names(source=SOURCE)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_op(kind, data, parity):
    spec = data.draw(layer_specs(kind, source=SOURCE), label="spec")
    parity.check(spec)


# Every kind in each dtype it admits besides float32 (harness.core.dtypes: float16, float64), so
# that every run has them rather than where the draw happens to pick them. A twelfth of the
# profile's examples each, as the layer suite's axes.
AXIS_CASES = [(kind, axis) for kind in KINDS
              for axis in axes.admitted(registry.get(kind, SOURCE)).names]
AXIS_EXAMPLES = max(1, settings().max_examples // 12)


@pytest.mark.parametrize(("kind", "axis"), AXIS_CASES,
                         ids=[f"{kind}-{axis}" for kind, axis in AXIS_CASES])
# A dtype or a free batch that a drawn opset or form cannot take is drawn again (Picker.dtype,
# harness.core.free_dims.applicable): filtering is how the axis is drawn, not a sign of a bad
# strategy, so Hypothesis' filter health check is off here.
@settings(max_examples=AXIS_EXAMPLES, suppress_health_check=[
    *settings().suppress_health_check, HealthCheck.filter_too_much])
@given(data=st.data())
def test_op_axis(kind, axis, data, parity):
    spec = data.draw(layer_specs(kind, source=SOURCE, axis=axis), label="spec")
    parity.check(spec)


PINNED = known_issues.pins(source=SOURCE)

test_known_issue_still_reproduces = still_reproduces_test(PINNED, onnx_paths, "the ONNX paths")
