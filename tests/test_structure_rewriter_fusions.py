"""Rewrites that check an operand against the wrong thing, each recognised by a structure check
(harness/core/structure/), each with a control that is rewritten and agrees.

- FusionConvMul folds a Conv > Mul constant into the weights by its squeezed length alone
  (conv-scale-not-per-channel): a constant that scales the last axis or adds a leading one.
- FusionGemm checks a batched MatMul's bias against the flattened Gemm output
  (matmul-bias-expands-output): a bias that broadcasts the product to a larger shape.
- onnx2pytorch makes an Add's constant after a MatMul the bias of an nn.Linear, which torch
  folds into addmm where it holds one dimension above 1 (matmul-bias-not-a-linear-bias): a
  (1, 1, N) bias of the product's own rank fails.
- onnxoptimizer's eliminate_consecutive_idempotent_ops, and onnxslim's EliminationReshape for a fed
  shape, merge Reshape > Reshape whose second shape holds a 0 (reshape-of-reshape-copies-a-dim),
  which copies a dimension of the first Reshape's output."""

from __future__ import annotations

import pytest
import torch  # noqa: F401  (before anything imports TensorFlow)

from harness.core.spec import LayerSpec
from harness.core.structure import (
    conv_scale_not_per_channel,
    matmul_bias_expands_output,
    matmul_bias_not_a_linear_bias,
    reshape_of_reshape_copies_a_dim,
)
from harness.run.pipeline import Harness

pytest.importorskip("onnxslim")

CONV_MUL = "onnxslim-conv-mul-fusion-ignores-broadcast"
GEMM = "onnxslim-gemm-fusion-bias-expands-batched-product"
RESHAPES = "onnxoptimizer-idempotent-reshape-copies-zeros-from-input"
LINEAR = "onnx2pytorch-matmul-bias-expands-linear"


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
    assert (leg.verdict, leg.known_issue["id"]) == ("xfail", CONV_MUL), leg.message


@pytest.mark.parametrize("scale", [[2, 1, 1], [1, 2, 1, 1]], ids=["c11", "1c11"])
def test_a_per_channel_scale_is_fused_and_agrees(scale):
    harness = Harness("onnx>onnxslim")
    spec = conv_mul(scale, width=2)
    assert not conv_scale_not_per_channel(harness.read_source(spec).artifact, None)
    (leg,) = harness.run(spec).legs
    assert leg.verdict == "pass", leg.message


def matmul_add(x_shape: tuple[int, ...], bias: list[int]) -> LayerSpec:
    """MatMul of an input of ``x_shape`` by a (K, 2) constant > Add of a ``bias`` constant."""
    nodes = [{"kind": "MatMul", "attrs": {"opset": 17},
              "inputs": ["input_0", {"weight": [x_shape[-1], 2], "role": "kernel"}]},
             {"kind": "Add", "attrs": {"opset": 17},
              "inputs": [0, {"weight": bias, "role": "bias"}]}]
    return LayerSpec(kind="MatMulAdd", source="onnx",
                     attrs={"opset": 17, "nodes": nodes, "graph_outputs": [1]},
                     input_shapes=(x_shape,), dtype="float32", seed=1)


def test_a_bias_that_expands_a_batched_product_is_the_gemm_entry():
    harness = Harness("onnx>onnxslim")
    spec = matmul_add((2, 1, 3), [2, 2])
    assert matmul_bias_expands_output(harness.read_source(spec).artifact, None)
    (leg,) = harness.run(spec).legs
    assert (leg.verdict, leg.known_issue["id"]) == ("xfail", GEMM), leg.message


@pytest.mark.parametrize(("x_shape", "bias"), [((1, 2, 3), [2, 2]), ((2, 1, 3), [2])],
                         ids=["rows", "last-axis"])
def test_a_bias_within_the_product_is_fused_and_agrees(x_shape, bias):
    harness = Harness("onnx>onnxslim")
    spec = matmul_add(x_shape, bias)
    assert not matmul_bias_expands_output(harness.read_source(spec).artifact, None)
    (leg,) = harness.run(spec).legs
    assert leg.verdict == "pass", leg.message


@pytest.mark.parametrize(("x_shape", "bias", "broken"), [
    ((2, 3, 4), [1, 1, 2], True), ((1, 2, 1), [1, 2, 2], False), ((2, 3, 4), [2, 3, 2], False),
    ((2, 3, 4), [2, 1, 2], False), ((2, 3, 4), [1, 2], False), ((2, 2, 3, 4), [1, 1, 1, 2], True)],
    ids=["11n", "1m2-two-dims", "whole", "b1n", "row", "rank-4-111n"])
def test_a_bias_torch_folds_into_addmm_is_the_linear_entry(x_shape, bias, broken):
    harness = Harness("onnx>onnx2pytorch")
    spec = matmul_add(x_shape, bias)
    assert matmul_bias_not_a_linear_bias(harness.read_source(spec).artifact, None) is broken
    (leg,) = harness.run(spec).legs
    if broken:
        assert (leg.verdict, leg.known_issue["id"]) == ("xfail", LINEAR), leg.message
    else:
        assert leg.verdict == "pass", leg.message


def reshape_chain(second: list[int], allowzero: int = 0) -> LayerSpec:
    """Reshape of a (2, 3) input to (3, 2), then to the constant ``second``."""
    nodes = [{"kind": "Reshape", "attrs": {"opset": 17},
              "inputs": ["input_0", {"const": [3, 2], "dtype": "int64"}]},
             {"kind": "Reshape", "attrs": {"opset": 17, "allowzero": allowzero},
              "inputs": [0, {"const": second, "dtype": "int64"}]}]
    return LayerSpec(kind="PassTargets", source="onnx",
                     attrs={"opset": 17, "nodes": nodes, "graph_outputs": [1]},
                     input_shapes=((2, 3),), dtype="float32", seed=1)


def test_a_zero_in_the_second_reshape_is_the_reshapes_entry():
    harness = Harness("onnx>onnxoptimizer")
    spec = reshape_chain([0, -1])
    assert reshape_of_reshape_copies_a_dim(harness.read_source(spec).artifact, None)
    (leg,) = harness.run(spec).legs
    assert (leg.verdict, leg.known_issue["id"]) == ("xfail", RESHAPES), leg.message


@pytest.mark.parametrize(("second", "allowzero"), [([1, -1], 0), ([6, 1], 1)],
                         ids=["no-zero", "allowzero"])
def test_a_second_reshape_that_copies_nothing_is_merged_and_agrees(second, allowzero):
    harness = Harness("onnx>onnxoptimizer")
    spec = reshape_chain(second, allowzero)
    assert not reshape_of_reshape_copies_a_dim(harness.read_source(spec).artifact, None)
    (leg,) = harness.run(spec).legs
    assert leg.verdict == "pass", leg.message
