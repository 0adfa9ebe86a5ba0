"""What a check proves (harness.check.strength): the ``weak:`` and ``warning:`` lines of
``parity check`` on files written here with the real frameworks, and their absence on an
ordinary model.

- an output constant over the drawn inputs (a Keras Dense with a zero kernel; an ONNX model
  whose output moves far below the tolerance), never a model whose rows are equal because
  the user's rows are;
- a saturated softmax or sigmoid, with its logits compared on the legs: a Keras 3 Dense
  split into Dense + softmax, a tf_keras sigmoid, an ONNX Softmax node, a MatConvNet
  softmax layer; a stage that shifts the logits, which the saturated softmax hides;
- the size a file declares checked first (a MatConvNet net.meta.inputSize of [H W], an ONNX
  input with fixed dimensions);
- an output shape declared in an ONNX file, or in the ONNX a stage writes, that onnxruntime
  contradicts.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("torch")

import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.check.render import text  # noqa: E402
from harness.check.strength import CONSTANT, DECLARED_OUTPUT, SATURATED  # noqa: E402
from harness.converters import Artifact, ConvertOptions, get, register, unregister  # noqa: E402
from harness.core.frameworks import prepare_imports  # noqa: E402
from tests.fakes import onnx_rewrite  # noqa: E402

BIAS_SHIFT = 2.0  # what the faulty stage adds to every logit: far beyond tolerance


def check(model, **options):
    outcome = run_check(CheckOptions(model=str(model), report=None, **options))
    return outcome, {finding.kind: finding for finding in outcome.strength}


def onnx_file(path, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def gemm_file(path, scale: float = 1.0, softmax: bool = False, output_dims=("N", 10),
              input_dims=("N", 6)):
    """y = x W + b (W drawn, times ``scale``), through a Softmax when ``softmax``."""
    rng = np.random.default_rng(0)
    weight = (rng.normal(size=(6, 10)) * scale).astype(np.float32)
    bias = rng.normal(size=(10,)).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["logits" if softmax else "y"],
                              name="fc")]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["y"], axis=-1, name="probs"))
    return onnx_file(path, nodes,
                     [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_dims))],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(output_dims))],
                     [numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "b")])


class ShiftedLogits:
    """onnx2torch on a copy whose Gemm bias is shifted: every logit off by ``BIAS_SHIFT``."""

    name = "onnx2torch-strength-shifted"
    source, target = "onnx", "torch"
    packages = ("onnx2torch", "torch")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        shifted = onnx.ModelProto()
        shifted.CopyFrom(artifact.model)
        for init in shifted.graph.initializer:
            if init.name == "b":
                value = numpy_helper.to_array(init) + np.float32(BIAS_SHIFT)
                init.CopyFrom(numpy_helper.from_array(value, "b"))
        return get("onnx2torch").convert(Artifact("onnx", shifted, artifact.input_names),
                                         options)


def declares_batch_one(model) -> None:
    """Every output's first dimension declared 1, whatever the graph computes."""
    for value in model.graph.output:
        dims = value.type.tensor_type.shape.dim
        dims[0].Clear()
        dims[0].dim_value = 1


@pytest.fixture(scope="module", autouse=True)
def stages():
    faults = [ShiftedLogits(), onnx_rewrite("onnx-strength-batch-one", declares_batch_one)]
    for stage in faults:
        register(stage)
    yield
    for stage in faults:
        unregister(stage.name)


# -- an ordinary model: no line --------------------------------------------------------------

def test_an_ordinary_onnx_model_gets_no_line(tmp_path):
    outcome, found = check(gemm_file(tmp_path / "ordinary.onnx"))
    assert outcome.exit_code == 0 and found == {}
    assert "weak:" not in text(outcome) and "warning:" not in text(outcome)
    assert outcome.to_json()["strength"] == []


def test_rows_equal_because_the_users_rows_are_are_not_constant(tmp_path):
    """Four copies of one row give four equal outputs: no two distinct rows to tell by."""
    path = gemm_file(tmp_path / "repeated.onnx")
    data = tmp_path / "repeated.npz"
    np.savez(data, x=np.repeat(np.random.default_rng(1).normal(size=(1, 6)), 4, axis=0)
             .astype(np.float32))
    outcome, found = check(path, inputs=str(data))
    assert outcome.exit_code == 0 and CONSTANT not in found


# -- outputs constant over the inputs --------------------------------------------------------

def test_a_keras_model_that_ignores_its_input_is_weak(tmp_path):
    prepare_imports()
    import keras

    keras.utils.set_random_seed(0)
    x = keras.Input((6,), name="x")
    flat = keras.layers.Dense(3, kernel_initializer="zeros", bias_initializer="ones",
                              name="flat")
    ordinary = keras.layers.Dense(3, name="ordinary")
    keras.Model(x, [flat(x), ordinary(x)]).save(tmp_path / "constant.keras")

    outcome, found = check(tmp_path / "constant.keras", paths="keras>tf2onnx")
    assert [row.verdict for row in outcome.rows] == ["agrees"] and outcome.exit_code == 0
    finding = found.pop(CONSTANT)
    assert found == {}  # the ordinary output moves with its input: one line, for 'flat'
    assert finding.output == "flat" and finding.details["spread"] == 0.0
    assert finding.details["rows"] >= 4  # the first size's four drawn rows, at least
    line = ("weak: output 'flat' is constant over the drawn inputs "
            f"({finding.details['rows']} distinct rows): agreement proves little about how "
            "the model uses its inputs")
    assert line in text(outcome)
    (payload,) = outcome.to_json()["strength"]
    assert payload["kind"] == CONSTANT and payload["output"] == "flat"


def test_an_output_that_moves_below_the_tolerance_is_weak_too(tmp_path):
    outcome, found = check(gemm_file(tmp_path / "tiny.onnx", scale=1e-7),
                           paths="onnx>onnx2torch")
    finding = found[CONSTANT]
    assert 0 < finding.details["spread"] < 1e-4
    assert "within the legs' tolerance (atol 0.0001, rtol 0.001): a leg that returned a " \
           "constant would agree too" in finding.text


# -- a saturated softmax or sigmoid ----------------------------------------------------------

def test_a_saturated_keras_softmax_has_its_logits_compared(tmp_path):
    prepare_imports()
    import keras

    keras.utils.set_random_seed(0)
    x = keras.Input((6,), name="x")
    head = keras.layers.Dense(10, activation="softmax", name="head")
    model = keras.Model(x, head(keras.layers.Dense(16, activation="relu", name="hidden")(x)))
    head.set_weights([w * 1000 for w in head.get_weights()])
    model.save(tmp_path / "saturated.keras")

    outcome, found = check(tmp_path / "saturated.keras",
                           paths="keras>tf2onnx,keras>tf2onnx>onnx2torch")
    assert outcome.exit_code == 0
    finding = found[SATURATED]
    assert finding.output == "head"
    assert finding.details["activation"] == "Dense layer 'head' before its softmax activation"
    logits = finding.details["logits"]
    assert [leg["leg"] for leg in logits["legs"]] == ["keras>tf2onnx",
                                                     "keras>tf2onnx>onnx2torch"]
    assert all(leg["verdict"] == "agrees" for leg in logits["legs"])
    # Each leg's logits were compared value by value (a measured error, 0 where the CPU
    # rounds both alike: exactly 0 on an Intel Xeon with AVX-512, some 1e-5 on an AMD EPYC).
    assert all(isinstance(leg["max_abs"], float) and leg["max_abs"] >= 0
               for leg in logits["legs"])
    assert max(row.max_abs for row in outcome.rows) < 1e-6
    assert ("weak: output 'head' is a saturated softmax (every value within 1e-06 of 0 or 1)"
            ": agreement on it proves little about the logits before it; its logits (Dense "
            "layer 'head' before its softmax activation) compared on 2 leg(s) at 4x6: every "
            "leg agrees (max abs ") in text(outcome)


def test_a_saturated_tf_keras_sigmoid_has_its_logits_compared(tmp_path):
    prepare_imports()
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    x = tf_keras.Input((6,), name="x")
    hidden = tf_keras.layers.Dense(4, name="hidden")(x)
    score = tf_keras.layers.Dense(1, kernel_initializer=tf_keras.initializers.Constant(5e3),
                                  name="score")(hidden)
    model = tf_keras.Model(x, tf_keras.layers.Activation("sigmoid", name="gate")(score))
    model.save(tmp_path / "gate.h5", save_format="h5")

    outcome, found = check(tmp_path / "gate.h5", paths="tf_keras>tf2onnx-keras2")
    finding = found[SATURATED]
    assert finding.output == "gate"
    assert finding.details["activation"] == "the input of Activation layer 'gate'"
    (leg,) = finding.details["logits"]["legs"]
    assert leg["leg"] == "tf_keras>tf2onnx-keras2" and leg["verdict"] == "agrees"


def test_logits_show_a_fault_the_saturated_softmax_hides(tmp_path):
    path = gemm_file(tmp_path / "classifier.onnx", scale=100.0, softmax=True)
    outcome, found = check(path, paths="onnx>onnx2torch,onnx>onnx2torch-strength-shifted")
    # On the probabilities, the shifted logits do not show: every leg agrees, exit 0.
    assert [row.verdict for row in outcome.rows] == ["agrees", "agrees"]
    assert outcome.exit_code == 0
    finding = found[SATURATED]
    assert finding.details["activation"] == "the input of Softmax node 'probs'"
    legs = {leg["leg"]: leg for leg in finding.details["logits"]["legs"]}
    assert legs["onnx>onnx2torch"]["verdict"] == "agrees"
    shifted = legs["onnx>onnx2torch-strength-shifted"]
    assert shifted["verdict"] == "differs"
    assert shifted["max_abs"] == pytest.approx(BIAS_SHIFT, rel=1e-3)
    assert ("onnx>onnx2torch-strength-shifted differs (max abs 2): the saturated softmax "
            "hides it") in finding.text


# -- the size a file declares ----------------------------------------------------------------

def mat_classifier(path, size: list[float], scale: float = 1.0):
    """A MatConvNet SimpleNN classifier of 8x8 grayscale images (conv, relu, a conv that
    spans the image, softmax), declaring ``size`` as net.meta.inputSize."""
    pytest.importorskip("scipy")
    from harness.sources.mat.case import MatCase, network_spec, save_mat

    conv = {"k": [3, 3], "filters": 4, "stride": [1, 1], "dilation": [1, 1],
            "pad": [1, 1, 1, 1], "groups": 1, "bias": True}
    chain = [("conv", conv), ("relu", {"leak": 0.0}),
             ("conv", {**conv, "k": [8, 8], "filters": 10, "pad": [0, 0, 0, 0]}),
             ("softmax", {})]
    case = MatCase(network_spec(chain, input_shape=(1, 1, 8, 8), fmt="simplenn", seed=3))
    variables = case.variables()
    net = variables["net"]
    if size:
        net["meta"]["inputSize"] = np.array([size])
    else:
        del net["meta"]["inputSize"]
    weights = list(net["layers"].ravel())[2]["weights"]
    for k in range(weights.size):
        weights.flat[k] = weights.flat[k] * scale
    save_mat(path, variables, case.version)
    return path


def test_a_mat_network_is_checked_at_the_size_it_declares(tmp_path):
    """[8 8]: a grayscale image's size() as MATLAB writes it, without its channel."""
    outcome, _ = check(mat_classifier(tmp_path / "mnist.mat", [8.0, 8.0]))
    assert outcome.sizes == [[[4, 1, 8, 8]], [[1, 1, 8, 8]]]
    assert ("input 'input': checked at the size the network declares, 1x8x8 "
            "(net.meta.inputSize [8 8]; its channels from the first convolution's weights), "
            "not at sizes parity picks for a fully convolutional network") in outcome.notes
    assert outcome.rows[0].verdict == "agrees"


def test_a_mat_network_that_declares_no_size_runs_at_free_sizes(tmp_path):
    outcome, _ = check(mat_classifier(tmp_path / "free.mat", []))
    assert outcome.sizes == [[[4, 1, 64, 64]], [[1, 1, 96, 96]]]
    assert not any("declares" in note for note in outcome.notes)


def test_a_saturated_mat_softmax_has_its_logits_compared(tmp_path):
    outcome, found = check(mat_classifier(tmp_path / "sure.mat", [8.0, 8.0, 1.0],
                                          scale=100.0))
    finding = found[SATURATED]
    assert finding.details["activation"] == "the input of layer 4 'softmax4' (type 'softmax')"
    (leg,) = finding.details["logits"]["legs"]
    assert leg["leg"] == "mat>mat2torch" and leg["verdict"] == "agrees"
    assert finding.details["logits"]["shapes"] == [[4, 1, 8, 8]]


@pytest.mark.parametrize("dims, sizes", [
    (("N", 3, 5, 5), [[[4, 3, 5, 5]], [[1, 3, 5, 5]]]),  # declared: checked there only
    ((2, 3, 5, 5), [[[2, 3, 5, 5]]]),
    (("N", 3, "H", "W"), [[[4, 3, 64, 64]], [[1, 3, 96, 96]]]),  # free: parity picks
])
def test_an_onnx_input_is_checked_at_its_declared_dimensions(tmp_path, dims, sizes):
    path = onnx_file(tmp_path / "relu.onnx", [helper.make_node("Relu", ["x"], ["y"])],
                     [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(dims))])
    outcome, found = check(path, paths="onnx>onnx2torch")
    assert outcome.sizes == sizes and found == {}



def test_free_dimensions_named_alike_take_one_size_across_ranks(tmp_path):
    """torch.onnx.export names a transformer's sequence axis alike in its (batch, seq, d)
    features and its (batch, seq) mask; onnxruntime refuses the Mul of the two where parity
    drew them by rank (13 and 12), so the named axis takes one size in every input."""
    nodes = [helper.make_node("Cast", ["mask"], ["mask_f"], to=TensorProto.FLOAT),
             helper.make_node("Unsqueeze", ["mask_f", "last"], ["mask_3d"]),
             helper.make_node("Mul", ["x", "mask_3d"], ["y"])]
    last = numpy_helper.from_array(np.array([-1], np.int64), "last")
    path = onnx_file(tmp_path / "masked.onnx", nodes,
                     [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "s", 4]),
                      helper.make_tensor_value_info("mask", TensorProto.INT64, ["b", "s"])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "s", 4])],
                     [last])
    outcome, _ = check(path, paths="onnx>onnx2torch")
    assert outcome.sizes == [[[4, 8, 4], [4, 8]], [[1, 13, 4], [1, 13]]]
    assert [row.verdict for row in outcome.rows] == ["agrees"]


def test_a_dimension_named_as_arithmetic_takes_the_size_it_computes(tmp_path):
    """A decoder's mask covers its past and its new tokens: Optimum names its length
    ``past_sequence_length + sequence_length``; drawn by its rank it would be 8 against the
    16 the concatenation makes, and onnxruntime would refuse the Mul."""
    nodes = [helper.make_node("Concat", ["past", "x"], ["all"], axis=1),
             helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
             helper.make_node("Unsqueeze", ["mask_f", "last"], ["mask_3d"]),
             helper.make_node("Mul", ["all", "mask_3d"], ["y"])]
    last = numpy_helper.from_array(np.array([-1], np.int64), "last")
    total = "past_sequence_length + sequence_length"
    path = onnx_file(tmp_path / "decoder.onnx", nodes,
                     [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                    ["b", "sequence_length", 4]),
                      helper.make_tensor_value_info("past", TensorProto.FLOAT,
                                                    ["b", "past_sequence_length", 4]),
                      helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                                    ["b", total])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", total, 4])],
                     [last])
    outcome, _ = check(path, paths="onnx>onnx2torch")
    assert outcome.sizes == [[[4, 8, 4], [4, 8, 4], [4, 16]], [[1, 13, 4], [1, 13, 4], [1, 26]]]
    assert [row.verdict for row in outcome.rows] == ["agrees"]

# -- declared output shapes the runtime contradicts ------------------------------------------

def test_an_output_declared_with_batch_one_is_a_warning(tmp_path):
    path = gemm_file(tmp_path / "dynamo.onnx", output_dims=(1, 10))
    outcome, found = check(path, paths="onnx>onnx2torch,onnx>ort-optimized")
    assert outcome.exit_code == 0  # every leg returns what onnxruntime returns
    finding = found.pop(DECLARED_OUTPUT)
    assert found == {}
    assert finding.details == {"declared": [1, 10], "returned": [4, 10], "in_file": True}
    assert ("warning: output 'y' is declared 1x10 in the file (so does the ONNX of "
            "onnx>ort-optimized) but onnxruntime returns 4x10: a user who trusts the declared "
            "shape gets the wrong one") in text(outcome)


def test_an_output_a_stage_declares_wrongly_names_the_leg(tmp_path):
    outcome, found = check(gemm_file(tmp_path / "fine.onnx"),
                           paths="onnx>onnx-strength-batch-one")
    finding = found[DECLARED_OUTPUT]
    assert finding.legs == ["onnx>onnx-strength-batch-one"]
    assert finding.details["in_file"] is False
    assert finding.text.startswith("output 'y' is declared 1x10 in the ONNX of "
                                   "onnx>onnx-strength-batch-one but onnxruntime returns 4x10")
