"""onnxslim's FusionConvMul folds a Conv > Mul constant into the weights by its squeezed
length alone (harness/core/structure.py's conv-scale-not-per-channel): a constant that
scales the last axis or adds a leading one is recognised as that entry on the onnxslim leg,
and a true per-channel scale is neither flagged nor failing."""

from __future__ import annotations

import pytest
import torch  # noqa: F401  (before anything imports TensorFlow)

from harness.core.spec import LayerSpec
from harness.core.structure import conv_scale_not_per_channel
from harness.run.pipeline import Harness

pytest.importorskip("onnxslim")

ENTRY = "onnxslim-conv-mul-fusion-ignores-broadcast"


def conv_mul(scale: list[int], width: int) -> LayerSpec:
    """Conv(1x1, two output channels) > Mul by a constant of shape ``scale`` on (1, 1, 1,
    ``width``)."""
    conv = {"opset": 17, "dilations": [1, 1], "group": 1, "kernel_shape": [1, 1],
            "pads": [0, 0, 0, 0], "strides": [1, 1]}
    nodes = [{"kind": "Conv", "attrs": conv,
              "inputs": ["input_0", {"weight": [2, 1, 1, 1], "role": "kernel"}]},
             {"kind": "Mul", "attrs": {"opset": 17},
              "inputs": [0, {"weight": scale, "role": "scale"}]}]
    return LayerSpec(kind="ConvConst", source="onnx",
                     attrs={"opset": 17, "nodes": nodes, "graph_outputs": [1]},
                     input_shapes=((1, 1, 1, width),), dtype="float32", seed=1)


@pytest.mark.parametrize("scale", [[2], [2, 1, 1, 1]], ids=["last-axis", "leading-axis"])
def test_a_scale_that_is_not_per_channel_is_the_fusion_entry(scale):
    harness = Harness("onnx>onnxslim")
    spec = conv_mul(scale, width=2)
    assert conv_scale_not_per_channel(harness.read_source(spec).artifact, None)
    (leg,) = harness.run(spec).legs
    assert (leg.verdict, leg.known_issue["id"]) == ("xfail", ENTRY), leg.message


@pytest.mark.parametrize("scale", [[2, 1, 1], [1, 2, 1, 1]], ids=["c11", "1c11"])
def test_a_per_channel_scale_is_fused_and_agrees(scale):
    harness = Harness("onnx>onnxslim")
    spec = conv_mul(scale, width=2)
    assert not conv_scale_not_per_channel(harness.read_source(spec).artifact, None)
    (leg,) = harness.run(spec).legs
    assert leg.verdict == "pass", leg.message
