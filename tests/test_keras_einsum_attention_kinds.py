"""The Keras kinds EinsumDense, AdditiveAttention, GroupQueryAttention and RMSNormalization:
their draws reach every documented form, and Keras builds and runs every draw."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports
from suites.installed import require

require("tensorflow", "keras", reason="the draws are built in Keras")
prepare_imports()

from harness.core.inputs import make_inputs  # noqa: E402
from harness.core.spec import LayerSpec  # noqa: E402
from harness.core.strategies import sample  # noqa: E402
from harness.sources.keras.kinds.attention import GQA_DOMAINS  # noqa: E402
from harness.sources.keras.kinds.core import EINSUM_EQUATIONS  # noqa: E402
from harness.sources.keras.model import build_model, run_keras  # noqa: E402


def built_and_run(spec: LayerSpec) -> list[np.ndarray]:
    return run_keras(build_model(spec), make_inputs(spec))


def test_einsum_dense_draws_every_documented_form_and_keras_runs_each():
    specs = sample("EinsumDense", 60)
    assert {s.attrs["equation"] for s in specs} == set(EINSUM_EQUATIONS)
    assert {s.attrs["bias_axes"] for s in specs} >= {None, "c", "d", "e", "de"}
    assert {s.attrs["lora_rank"] for s in specs} == {None, 1, 2}
    # an ellipsis of no axis, one or two: beside the batch and "b" (before it, or after)
    ellipses = {len(s.input_shapes[0]) - 2 for s in sample("EinsumDense", 200)
                if "..." in s.attrs["equation"]}
    assert ellipses == {0, 1, 2}
    for spec in specs:
        (output,) = built_and_run(spec)
        if spec.attrs["equation"] == "abc,bd->adc":  # the kernel's axis before the input's
            batch, steps, features = spec.input_shapes[0]
            assert output.shape == (batch, spec.attrs["output_shape"][0], features)


def test_group_query_attention_draws_share_each_key_value_head_among_query_heads():
    specs = sample("GroupQueryAttention", 40)
    pairs = {(s.attrs["num_query_heads"], s.attrs["num_key_value_heads"]) for s in specs}
    assert all(query % key_value == 0 for query, key_value in pairs)
    assert (4, 2) in pairs and (4, 1) in pairs  # two query heads per group, and four
    assert {s.attrs["sliding_window"] for s in specs} == set(GQA_DOMAINS["sliding_window"])
    for spec in specs[:12]:
        outputs = built_and_run(spec)
        assert outputs[0].shape == spec.input_shapes[0]


def test_additive_attention_runs_as_one_two_and_three_inputs_with_and_without_its_scale():
    specs = sample("AdditiveAttention", 24)
    assert {(len(s.input_shapes), s.attrs["use_scale"]) for s in specs} == {
        (2, True), (2, False), (3, True), (3, False)}
    for spec in specs:
        outputs = built_and_run(spec)
        assert outputs[0].shape == spec.input_shapes[0]


def test_rms_normalization_is_drawn_over_the_trailing_axes_keras_can_run():
    """Keras 3.15 multiplies the scale into the trailing axes: over axis 1 of a rank-4 input
    it raises in Keras itself. When Keras runs it, widen RMS_NORM_DOMAINS["axis"]."""
    specs = sample("RMSNormalization", 20)
    for spec in specs:
        rank = len(spec.input_shapes[0])
        assert spec.attrs["axis"] in (-1, list(range(1, rank)))
        built_and_run(spec)
    not_trailing = LayerSpec(kind="RMSNormalization", attrs={"axis": 1, "epsilon": 1e-6},
                             input_shapes=((2, 3, 2, 2),), dtype="float32", seed=0)
    with pytest.raises(Exception, match="Incompatible shapes"):
        built_and_run(not_trailing)


def test_a_float64_einsum_dense_with_lora_is_held_to_float32_and_without_to_float64():
    """Keras makes LoRA kernels float32 in a float64 layer; tf2onnx folds their product
    itself, 9.5e-7 relative from Keras' on this cover case, a pass at float32's tolerance."""
    from harness.core.tolerance import TolerancePolicy
    from harness.run.pipeline import Harness

    attrs = {"activation": "tanh", "bias_axes": "e", "equation": "abc,cde->abde",
             "lora_alpha": None, "lora_rank": 2, "output_shape": [None, 1, 1]}
    spec = LayerSpec(kind="EinsumDense", attrs=attrs, input_shapes=((2, 4, 1),),
                     dtype="float64", seed=574)
    policy = TolerancePolicy()
    with_lora = policy.for_spec(spec, "keras>tf2onnx", "cpu")
    without = policy.for_spec(LayerSpec(kind="EinsumDense", attrs={**attrs, "lora_rank": None},
                                        input_shapes=((2, 4, 1),), dtype="float64", seed=574),
                              "keras>tf2onnx", "cpu")
    assert (with_lora.atol, with_lora.rtol) == (1e-5, 1.3e-6)
    assert (without.atol, without.rtol) == (1e-12, 1e-12)
    (leg,) = Harness("keras>tf2onnx").run(spec).legs
    assert leg.verdict == "pass", leg.message
    assert leg.metrics["max_abs"] > 1e-12  # it would fail at float64's tolerance
