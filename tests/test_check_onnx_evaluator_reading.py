"""A user's ONNX file that onnxruntime loads but refuses to run: read by onnx's reference
evaluator where that runs it (harness/sources/file/onnx_evaluator.py), the refusal left to the
legs that run onnxruntime; and where the evaluator refuses the inputs too, the inputs' fault."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.check.options import CheckError  # noqa: E402
from harness.core.frameworks import prepare_imports  # noqa: E402
from harness.runtimes.onnxruntime import runtime_failure  # noqa: E402
from harness.sources.file.onnx_evaluator import evaluator_reading  # noqa: E402

HEADS, HEAD_SIZE = 2, 4


@pytest.fixture(autouse=True, scope="module")
def _imports():
    prepare_imports()


def attention_file(path):
    """Attention-23 over (b, heads, s, 4) queries, keys and values with a boolean padding mask
    (b, 1, 1, s), the shape torch.onnx.export writes for scaled_dot_product_attention's
    attn_mask[:, None, None, :]."""
    qkv = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["b", HEADS, "s", HEAD_SIZE])
           for name in ("q", "k", "v")]
    mask = helper.make_tensor_value_info("mask", TensorProto.BOOL, ["b", 1, 1, "s"])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", HEADS, "s", HEAD_SIZE])
    graph = helper.make_graph([helper.make_node("Attention", ["q", "k", "v", "mask"], ["y"])],
                              "padded_attention", [*qkv, mask], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)],
                              ir_version=10)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    return path


def attention_by_hand(q, k, v, mask):
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])
    scores = np.where(mask, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return (weights / weights.sum(-1, keepdims=True)) @ v


def attention_inputs(batch=2, length=3):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((batch, HEADS, length, HEAD_SIZE)).astype(np.float32)
               for _ in range(3))
    mask = np.ones((batch, 1, 1, length), bool)
    mask[1, ..., length - 1:] = False  # the second row padded at its end
    return [q, k, v, mask]


def test_onnxruntime_still_refuses_a_mask_broadcast_over_the_queries(tmp_path):
    """Pins onnxruntime-attention-mask-broadcast-over-queries-refused: fails once onnxruntime
    runs the spec's broadcast."""
    import onnxruntime

    path = attention_file(tmp_path / "attention.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = attention_inputs()
    with pytest.raises(Exception, match=r"inconsistent q_sequence_length"):
        session.run(None, dict(zip(["q", "k", "v", "mask"], inputs)))


def test_the_evaluator_reads_what_onnxruntime_refuses_as_the_spec_says(tmp_path):
    model = onnx.load(attention_file(tmp_path / "attention.onnx"))
    inputs = attention_inputs()
    (y,) = evaluator_reading(model, ["q", "k", "v", "mask"], inputs)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, attention_by_hand(*inputs), rtol=1e-5, atol=1e-6)


def test_a_file_onnxruntime_refuses_to_run_is_checked_against_the_evaluator(tmp_path):
    path = attention_file(tmp_path / "attention.onnx")
    outcome = run_check(CheckOptions(model=str(path), report=None,
                                     paths="onnx>ort-optimized,onnx>onnxoptimizer"))
    said = [note for note in outcome.notes if note.startswith("onnxruntime cannot run")]
    assert len(said) == 1, outcome.notes  # the same refusal at both sizes, said once
    assert "inconsistent q_sequence_length (between attn_mask and Q)" in said[0]
    assert "onnx's reference evaluator can: its outputs are the reference" in said[0]
    assert "/onnxruntime_src/" not in said[0]
    # s takes the size of a rank-4 input's free dimension in the mask too
    assert outcome.sizes == [[[4, 2, 64, 4]] * 3 + [[4, 1, 1, 64]],
                             [[1, 2, 96, 4]] * 3 + [[1, 1, 1, 96]]]
    for row in outcome.rows:
        assert row.known_issue is not None, row.leg
        assert row.known_issue["id"] == "onnxruntime-attention-mask-broadcast-over-queries-refused"


def fixed_reshape_file(path, shape):
    """A Reshape of an (n, 6) input with a free n to the constant ``shape``, saved at
    ``path``: the size it was traced at baked in."""
    constant = numpy_helper.from_array(np.array(shape, np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])], "fixed_reshape",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))], [constant])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                ir_version=8), path)
    return path


def test_inputs_both_readers_refuse_stay_the_inputs_fault(tmp_path):
    """A Reshape to a fixed 4x3x2 under a free batch: the evaluator refuses the batch of 1 as
    onnxruntime does, so the second size is not run, and no reader is swapped."""
    path = fixed_reshape_file(tmp_path / "fixed.onnx", (4, 3, 2))
    outcome = run_check(CheckOptions(model=str(path), report=None, paths="onnx>ort-optimized"))
    assert outcome.sizes == [[[4, 6]]]
    assert not any(note.startswith("onnxruntime cannot run") for note in outcome.notes)
    (said,) = [note for note in outcome.notes if note.startswith("not run at 1x6")]
    assert said.startswith("not run at 1x6: the source model itself cannot run there")
    assert "The input tensor cannot be reshaped to the requested shape" in said
    assert said.endswith("it ran at 4x6, drawn alike: a dimension the file declares free is "
                         "likely fixed inside the model (a size its exporter traced), and "
                         "whoever feeds it this size meets the same)")


def test_onnxruntimes_failure_is_said_without_its_source_path_and_signature():
    raw = ("[ONNXRuntimeError] : 1 : FAIL : Non-zero status code returned while running "
           "Attention node. Name:'sdpa' Status Message: /onnxruntime_src/onnxruntime/core/"
           "providers/cpu/llm/attention_helper.h:68 onnxruntime::common::Status "
           "onnxruntime::attention_helper::ComputeOutputShapeForAttention(const "
           "onnxruntime::Tensor*, bool, float, AttentionParameters&) attn_mask == nullptr || "
           "attn_mask->Shape()[2] == Q->Shape()[2] was false. inconsistent q_sequence_length")
    assert runtime_failure(RuntimeError(raw)) == (
        "[ONNXRuntimeError] : 1 : FAIL : Non-zero status code returned while running Attention "
        "node. Name:'sdpa' Status Message: attn_mask == nullptr || attn_mask->Shape()[2] == "
        "Q->Shape()[2] was false. inconsistent q_sequence_length")
    reshape = ("[ONNXRuntimeError] : 1 : FAIL : Non-zero status code returned while running "
               "Reshape node. Name:'r' Status Message: /onnxruntime_src/onnxruntime/core/"
               "providers/cpu/tensor/reshape_helper.h:91 onnxruntime::ReshapeHelper::"
               "ReshapeHelper(const onnxruntime::TensorShape&, onnxruntime::TensorShapeVector&,"
               " bool) input_shape_size == requested_shape_size was false. The input tensor "
               "cannot be reshaped to the requested shape.")
    assert runtime_failure(RuntimeError(reshape)).endswith(
        "Name:'r' Status Message: input_shape_size == requested_shape_size was false. The "
        "input tensor cannot be reshaped to the requested shape.")


def test_a_traced_size_no_drawn_size_meets_asks_for_inputs_at_the_model_s_sizes(tmp_path):
    """A Reshape to a fixed 2x3x2 under a free batch, as a TorchScript export bakes a traced
    batch or sequence length in: neither drawn batch (4, then 1) runs, and the refusal says
    that the free dimensions' sizes, not only the values, may be what the model expects."""
    path = fixed_reshape_file(tmp_path / "traced.onnx", (2, 3, 2))
    with pytest.raises(CheckError) as refused:
        run_check(CheckOptions(model=str(path), report=None, paths="onnx>ort-optimized"))
    said = str(refused.value)
    assert "cannot be run on inputs of shape 4x6" in said
    assert ("cannot tell the sizes its free dimensions run at or the values the model "
            "expects: give inputs it runs on with --inputs FILE.npz, one array per input "
            "('x' 4x6 float32)") in said
