"""Task-level agreement that does not cry wolf: top-k forgives classes the reference cannot tell
apart within the leg's tolerance (a saturated softmax's ties), and PSNR covers image outputs at
an integer scale of an input (super-resolution) as well as at its own size (denoisers)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
onnx2torch = pytest.importorskip("onnx2torch")

from harness.check import FILE_ATOL, FILE_RTOL  # noqa: E402
from harness.check.task import (  # noqa: E402
    TaskTally,
    image_scale,
    is_image,
    psnr,
    top_k_agreement,
)
from harness.core.compare import Tolerance  # noqa: E402
from harness.sources import file as files  # noqa: E402
from tests.check_cli import check, onnx_reference  # noqa: E402


def blind(actual, expected, k) -> np.ndarray:
    """Rows whose k highest classes are the same set, ties broken by index: the comparison
    that cries wolf on a saturated softmax."""
    top_a = np.sort(np.argsort(-actual, axis=1, kind="stable")[:, :k], axis=1)
    top_e = np.sort(np.argsort(-expected, axis=1, kind="stable")[:, :k], axis=1)
    return (top_a == top_e).all(axis=1)


def ties_within(actual, expected, k, atol, rtol) -> np.ndarray:
    """The rule written out: the two top-k sets differ only among classes whose reference
    values lie within atol + rtol * |v| of the k-th value v (both sets' ties broken by index)."""
    agree = []
    for a, e in zip(actual, expected):
        chosen = set(np.argsort(-a, kind="stable")[:k])
        top = set(np.argsort(-e, kind="stable")[:k])
        kth = np.sort(e)[::-1][k - 1]
        agree.append(all(abs(e[j] - kth) <= atol + rtol * abs(kth) for j in chosen ^ top))
    return np.array(agree)


# -- the rule --------------------------------------------------------------------------------

def saturated(rows: int = 3) -> np.ndarray:
    """Softmax rows as float32 gives them: one class near 1, the rest tiny or exactly 0."""
    row = np.array([0.999, 6e-4, 3e-4, 1e-4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                   np.float32)
    return np.stack([np.roll(row, i) for i in range(rows)])


def test_a_saturated_softmax_ties_agree_where_a_blind_comparison_cries_wolf():
    expected = saturated()
    actual = expected.copy()
    # A runtime that keeps denormals gives 1e-40 where the reference flushed it to 0.
    actual[:, -1] = np.float32(1e-40)
    assert not blind(actual, expected, 5).any()
    assert top_k_agreement(actual, expected, 5, FILE_ATOL, FILE_RTOL) == (3, 3)
    # Exact zeros are exact ties: forgiven even at no tolerance.
    assert top_k_agreement(actual, expected, 5) == (3, 3)
    # The 4th class (1e-4) against the 5th (0): tied within atol 1e-4, not within 1e-5.
    actual[:, -1] = 0
    actual[np.arange(3), (np.arange(3) + 3) % 12] = 0
    actual[np.arange(3), (np.arange(3) + 5) % 12] = 1e-4
    assert top_k_agreement(actual, expected, 4, FILE_ATOL, FILE_RTOL) == (3, 3)
    assert top_k_agreement(actual, expected, 4, 1e-5, 1e-5) == (0, 3)
    assert ties_within(actual, expected, 4, FILE_ATOL, FILE_RTOL).all()


def test_a_real_change_of_class_still_disagrees():
    expected = np.array([[0.50, 0.30, 0.10, 0.05, 0.03, 0.02, 0, 0, 0, 0]], np.float32)
    top1_swapped = expected[:, [1, 0, 2, 3, 4, 5, 6, 7, 8, 9]]
    assert top_k_agreement(top1_swapped, expected, 1, FILE_ATOL, FILE_RTOL) == (0, 1)
    assert top_k_agreement(top1_swapped, expected, 5, FILE_ATOL, FILE_RTOL) == (1, 1)
    fifth_swapped = expected[:, [0, 1, 2, 3, 5, 4, 6, 7, 8, 9]]  # 0.03 and 0.02 trade
    assert top_k_agreement(fifth_swapped, expected, 5, FILE_ATOL, FILE_RTOL) == (0, 1)
    # Within a looser tolerance the same two are tied.
    assert top_k_agreement(fifth_swapped, expected, 5, 0.01, 0.0) == (1, 1)
    # Top-1 follows the same rule: winners within tolerance of each other are tied.
    close = np.array([[0.40005, 0.4, 0.2] + [0.0] * 7], np.float32)
    assert top_k_agreement(close[:, [1, 0, *range(2, 10)]], close, 1, FILE_ATOL, 0) == (1, 1)
    assert top_k_agreement(close[:, [1, 0, *range(2, 10)]], close, 1, 1e-5, 0) == (0, 1)


def test_a_leg_within_tolerance_agrees_on_every_row_and_one_beyond_it_can_not():
    rng = np.random.default_rng(7)
    atol, rtol = 1e-4, 1e-3
    # Coarse values tie often (exactly or within tolerance), as saturated outputs do.
    expected = (np.round(rng.uniform(0, 1, (4000, 12)) ** 6, 3)).astype(np.float64)
    room = atol + rtol * np.abs(expected)
    within = expected + rng.uniform(-1, 1, expected.shape) * room
    cried_wolf = 0
    for k in (1, 3, 5):
        assert top_k_agreement(within, expected, k, atol, rtol) == (4000, 4000)
        cried_wolf += int((~blind(within, expected, k)).sum())
        # The rule as written out agrees with the implementation on these rows.
        assert ties_within(within, expected, k, atol, rtol).all()
    assert cried_wolf > 100  # compared blindly, many of these rows would disagree
    beyond = expected + rng.uniform(-30, 30, expected.shape) * room
    agree, rows = top_k_agreement(beyond, expected, 5, atol, rtol)
    assert agree < rows
    np.testing.assert_array_equal(
        ties_within(beyond, expected, 5, atol, rtol).sum(), agree)


def test_the_tally_uses_the_tolerance_it_is_given():
    expected = np.tile(saturated(1), (2, 1))
    expected[:, 4] = 5e-5  # the 5th class, 5e-5 above the 6th (0)
    actual = expected.copy()
    actual[:, -1] = 6e-5  # the leg ranks the 12th (0 in the reference) 5th
    tally = TaskTally()
    tally.add([actual], [expected], [], Tolerance(1e-4, 1e-3, "file"))
    assert tally.to_json() == {"top1": 1.0, "top1_rows": 2, "top5": 1.0}
    tally = TaskTally()
    tally.add([actual], [expected], [], Tolerance(1e-6, 0.0, "tight"))
    assert tally.to_json()["top5"] == 0.0


# -- image outputs ---------------------------------------------------------------------------

@pytest.mark.parametrize("output, inputs, scale", [
    ((1, 3, 1280, 960), [(1, 3, 640, 480)], 2),  # ESPCN x2, NCHW
    ((1, 1280, 960, 3), [(1, 640, 480, 3)], 2),  # NHWC
    ((2, 1, 96, 96), [(2, 1, 24, 24)], 4),
    ((1, 3, 64, 64), [(1, 3, 64, 64)], 1),  # a denoiser
    ((1, 8, 64, 64), [(1, 3, 64, 64)], 1),  # at the input's own size, any channels
    ((1, 8, 128, 128), [(1, 3, 64, 64)], None),  # scaled, but not the input's channels
    ((1, 3, 128, 96), [(1, 3, 64, 64)], None),  # not one scale on both axes
    ((1, 3, 100, 100), [(1, 3, 64, 64)], None),  # not an integer scale
    ((1, 1000), [(1, 3, 64, 64)], None),
])
def test_image_outputs_at_an_integer_scale_of_an_input(output, inputs, scale):
    arrays = [np.zeros(shape, np.float32) for shape in inputs]
    assert image_scale(np.zeros(output, np.float32), arrays) == scale
    assert is_image(np.zeros(output, np.float32), arrays) == (scale is not None)


# -- end to end: parity check on real files --------------------------------------------------


def test_a_x2_upsampler_gets_a_psnr_row(capsys, tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 12, 3, padding=1), torch.nn.PixelShuffle(2))
    path = tmp_path / "espcn_x2.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (torch.randn(1, 3, 16, 16),), str(path), dynamo=False,
                          input_names=["lr"], output_names=["hr"], opset_version=17,
                          dynamic_axes={"lr": {0: "batch", 2: "h", 3: "w"}})
    assert "DepthToSpace" in {node.op_type for node in onnx.load(str(path)).graph.node}
    found = check(capsys, path, "--paths", "onnx>onnx2torch")
    row = found["onnx>onnx2torch"]
    assert row["verdict"] == "agrees"
    # By hand: onnx2torch against onnxruntime at both sizes parity drew; the worst counts.
    module = onnx2torch.convert(onnx.load(str(path))).eval()
    by_hand = []
    for spec in files.file_specs(path):
        x = files.case_inputs(spec)[0]
        expected = onnx_reference(path, x)
        assert expected.shape[2:] == (2 * x.shape[2], 2 * x.shape[3])
        with torch.no_grad():
            actual = module(torch.from_numpy(x)).numpy()
        by_hand.append(psnr(actual, expected))
    assert row["task"] == {"psnr_db": pytest.approx(min(by_hand), abs=0.01)}
    assert 100 < row["task"]["psnr_db"] < float("inf")  # float32 rounding only


@pytest.fixture(scope="module")
def saturated_keras(tmp_path_factory):
    """A Keras 3 classifier (Flatten, Dense 32 ReLU, Dense 10 softmax) with weights 8 times
    their initial draw: on drawn inputs its softmax saturates, one class near 1 and several
    flushed to 0 by TensorFlow, which onnxruntime and torch keep as denormals."""
    keras = pytest.importorskip("keras")
    pytest.importorskip("tf2onnx")
    keras.utils.set_random_seed(0)
    image = keras.Input((28, 28, 1), name="image")
    hidden = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(image))
    model = keras.Model(image, keras.layers.Dense(10, activation="softmax")(hidden))
    for weight in model.weights:
        weight.assign(weight.numpy() * 8)
    path = tmp_path_factory.mktemp("keras") / "saturated.keras"
    model.save(path)
    return path


def test_a_saturated_classifier_agrees_on_top_k_end_to_end(capsys, saturated_keras):
    import keras
    import tensorflow as tf
    import tf2onnx

    legs = ("keras>tf2onnx", "keras>tf2onnx>onnx2torch")
    found = check(capsys, saturated_keras, "--paths", legs[1])
    # By hand, as parity's stages convert: tf2onnx on the model Keras 3 loads, onnxruntime
    # reading it as written, onnx2torch on the same ONNX; the reference is Keras 3.
    model = keras.models.load_model(saturated_keras, safe_mode=True)
    signature = [tf.TensorSpec((None, 28, 28, 1), tf.float32, name="image")]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=17)
    proto.ir_version = min(proto.ir_version, 8)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    module = onnx2torch.convert(proto).eval()
    expected, by_leg = [], {leg: [] for leg in legs}
    for spec in files.file_specs(saturated_keras):
        x = files.case_inputs(spec)[0]
        expected.append(np.asarray(model(x, training=False)))
        by_leg[legs[0]].append(session.run(None, {proto.graph.input[0].name: x})[0])
        with torch.no_grad():
            by_leg[legs[1]].append(module(torch.from_numpy(x)).numpy())
    expected = np.concatenate(expected)
    assert len(expected) == 5  # batch 4, then 1
    assert ((expected == 0).sum(axis=1) >= 5).all()  # saturated: half its classes flushed
    for leg, outputs in by_leg.items():
        actual = np.concatenate(outputs)
        assert np.abs(actual - expected).max() <= 1e-4
        # Every row ties at its 5th place (classes flushed to 0 beside denormals), where a
        # blind top-5 rests on rounding: whether it disagrees depends on the CPU's kernels
        # (it does with oneDNN on an Intel CPU, not on an AMD EPYC either way); the
        # tie-aware comparison must agree on any.
        fifth = np.sort(expected, axis=1)[:, -5]
        assert (np.abs(np.sort(expected, axis=1)[:, -6] - fifth) <= 1e-4).all()
        assert ties_within(actual, expected, 5, FILE_ATOL, FILE_RTOL).all()
        row = found[leg]
        assert row["verdict"] == "agrees" and row["max_abs"] <= 1e-4
        assert row["task"] == {"top1": 1.0, "top1_rows": 5, "top5": 1.0}
