"""onnxruntime's LayerNormFusion fuses ReduceMean > Sub > Pow > ReduceMean > Add > Sqrt > Div
by op types alone (harness/core/structure/'s layer-norm-chain-misread): a chain whose
exponent or operand order is not a layer norm's is recognised as that entry on the
ort-optimized leg; an epsilon given as the Add's first operand, which onnxruntime before 1.32
did not read, is an entry of its own (layer-norm-epsilon-first) that 1.32 no longer meets; a
true layer norm chain is neither flagged nor failing."""

from __future__ import annotations

import pytest
import torch  # noqa: F401  (before anything imports TensorFlow)

from harness.core.spec import LayerSpec
from harness.core.structure import layer_norm_chain_misread, layer_norm_epsilon_first
from harness.run.pipeline import Harness

pytest.importorskip("onnxruntime")


LAYER_NORM = "onnxruntime-layer-norm-fusion-operands-unchecked"
EPSILON_FIRST = "onnxruntime-layer-norm-fusion-epsilon-first"


def layer_norm_chain(exponent: float = 2.0, eps_first: bool = False, mean_first: bool = False,
                     div_reversed: bool = False) -> LayerSpec:
    """ReduceMean > Sub > Pow > ReduceMean > Add > Sqrt > Div > Mul > Add over (1, 3), as an
    exporter writes a layer norm, with one operand in the role given."""
    axes = {"opset": 17, "axes": [-1]}
    eps = {"const": 1.0, "dtype": "float32"}
    nodes = [
        {"kind": "ReduceMean", "attrs": axes, "inputs": ["input_0"]},
        {"kind": "Sub", "attrs": {}, "inputs": [0, "input_0"] if mean_first else ["input_0", 0]},
        {"kind": "Pow", "attrs": {}, "inputs": [1, {"const": exponent, "dtype": "float32"}]},
        {"kind": "ReduceMean", "attrs": axes, "inputs": [2]},
        {"kind": "Add", "attrs": {}, "inputs": [eps, 3] if eps_first else [3, eps]},
        {"kind": "Sqrt", "attrs": {}, "inputs": [4]},
        {"kind": "Div", "attrs": {}, "inputs": [5, 1] if div_reversed else [1, 5]},
        {"kind": "Mul", "attrs": {}, "inputs": [6, {"const": [1.5] * 3, "dtype": "float32"}]},
        {"kind": "Add", "attrs": {}, "inputs": [7, {"const": [0.5] * 3, "dtype": "float32"}]},
    ]
    return LayerSpec(kind="OpPairs", source="onnx",
                     attrs={"opset": 17, "nodes": nodes, "graph_outputs": [8]},
                     input_shapes=((1, 3),), dtype="float32", seed=3)


@pytest.mark.parametrize("misread", [{"exponent": 4.0}, {"mean_first": True},
                                     {"div_reversed": True}],
                         ids=["exponent", "mean-first", "div-reversed"])
def test_a_misread_layer_norm_chain_is_the_fusion_entry(misread):
    harness = Harness("onnx>ort-optimized")
    received = harness.read_source(layer_norm_chain(**misread)).artifact
    assert layer_norm_chain_misread(received, None)
    assert not layer_norm_epsilon_first(received, None)
    (leg,) = harness.run(layer_norm_chain(**misread)).legs
    assert (leg.verdict, leg.known_issue["id"]) == ("xfail", LAYER_NORM), leg.message


def test_an_epsilon_given_first_is_its_own_entry_which_onnxruntime_1_32_no_longer_meets():
    import onnxruntime
    from packaging.version import Version

    harness = Harness("onnx>ort-optimized")
    received = harness.read_source(layer_norm_chain(eps_first=True)).artifact
    assert layer_norm_epsilon_first(received, None)
    assert not layer_norm_chain_misread(received, None)
    (leg,) = harness.run(layer_norm_chain(eps_first=True)).legs
    if Version(onnxruntime.__version__) >= Version("1.32"):
        assert leg.verdict == "pass", leg.message
    else:
        assert (leg.verdict, leg.known_issue["id"]) == ("xfail", EPSILON_FIRST), leg.message


def test_a_true_layer_norm_chain_is_fused_and_agrees():
    harness = Harness("onnx>ort-optimized")
    received = harness.read_source(layer_norm_chain()).artifact
    assert not layer_norm_chain_misread(received, None)
    assert not layer_norm_epsilon_first(received, None)
    (leg,) = harness.run(layer_norm_chain()).legs
    assert leg.verdict == "pass", leg.message
