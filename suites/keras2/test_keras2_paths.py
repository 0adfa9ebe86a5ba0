"""tf2onnx as its Keras-2 users run it, on the drawn Keras kinds that tf_keras builds.

Each case is the drawn Keras 3 layer rebuilt in tf_keras (the ``tf-keras`` stage, weights
copied; ``keras>tf-keras`` checks the twin computes the same), then converted by
``tf2onnx.convert.from_keras`` on the tf_keras model (``tf2onnx-keras2``) and by onnx2torch,
each leg compared with Keras 3. Only the kinds ``harness.sources.keras.keras2_kinds`` admits (measured by
``python -m harness.tools.keras2_measure``) are drawn, a twelfth of the profile's examples each as
the layer suite's axes: one per kind under the ci profile, 16 under nightly. The paths are
this suite's own (a dedicated Harness), whatever ``--parity-paths`` says.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.core.strategies import layer_specs
from harness.sources.keras.keras2_kinds import ADMITTED

from ..installed import require
from ..verdicts import accepted

require("tensorflow", "tf-keras", "tf2onnx", "onnx2torch", reason="the cases are built in Keras")

PATHS = "keras>tf-keras>tf2onnx-keras2>onnx2torch"
EXAMPLES = max(1, settings().max_examples // 12)


@pytest.fixture(scope="module")
def keras2_harness(parity):
    from harness.run.pipeline import Harness

    return Harness(PATHS, opset=parity.opset, policy=parity.policy, diagnose=False,
                   cache=parity.cache)


@pytest.mark.parametrize("kind", ADMITTED)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_keras2_path(kind, data, keras2_harness, parity):
    spec = data.draw(layer_specs(kind), label="spec")
    case = keras2_harness.run(spec)
    record = getattr(parity, "record", None)  # into the session's report, where it can
    if record is not None:
        record(case)
    unexpected = [leg for leg in case.legs if not accepted(leg, keras2_stage="tf-keras")]
    assert not unexpected, case.failure_message()
