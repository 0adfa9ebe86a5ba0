"""A user's ONNX file whose outputs are random: exported in training mode (a Dropout whose
training_mode is true), or drawing noise (RandomNormal and the other random ops).

No two runs of such a model agree, onnxruntime's own included, so every leg "differed" and
the rewriters (ort-optimized, onnxsim, onnxslim, onnxoptimizer) were blamed for the
Dropout's draw. Now the file is refused (exit 2) with the nodes that draw and what to do; a
BatchNormalization left in training mode is deterministic and is checked, with a note.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.cli import main  # noqa: E402

PATHS = "onnx>ort-optimized,onnx>onnxoptimizer"


def model(nodes, initializers=(), opset: int = 17):
    value = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "g", [value("x", TensorProto.FLOAT, [2, 3, 4, 4])],
                              [value("y", TensorProto.FLOAT, None)], list(initializers))
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    proto.ir_version = 10
    return proto


def dropout(training: bool, ratio: float = 0.3):
    return model([helper.make_node("Dropout", ["x", "ratio", "training"], ["y"],
                                   name="drop")],
                 [numpy_helper.from_array(np.array(ratio, np.float32), "ratio"),
                  numpy_helper.from_array(np.array(training), "training")])


def batch_norm(training_mode: int):
    """A trained BatchNormalization: scale, bias, mean and variance all different (where two
    are equal, onnxruntime's optimised session shares their buffers and its training-mode
    kernel computes otherwise: a bug of its own, left alone in the closing note)."""
    statistics = {"s": [1.0, 2.0, 3.0], "b": [0.1, 0.2, 0.3], "m": [0.5, -0.5, 1.0],
                  "v": [2.0, 3.0, 4.0]}
    # In training mode it must write the running statistics too, as torch.onnx.export does.
    outputs = ["y", "running_mean", "running_var"] if training_mode else ["y"]
    return model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], outputs,
                                   name="bn", training_mode=training_mode)],
                 [numpy_helper.from_array(np.float32(v), n) for n, v in statistics.items()])


def saved(tmp_path, proto, name="model.onnx"):
    path = tmp_path / name
    onnx.save(proto, path)
    return path


@pytest.mark.parametrize(("proto", "named"), [
    (dropout(training=True), "Dropout 'drop' in training mode draws anew"),
    (model([helper.make_node("RandomNormalLike", ["x"], ["noise"], name="noise"),
            helper.make_node("Add", ["x", "noise"], ["y"])]), "RandomNormalLike 'noise'"),
], ids=["dropout-training", "random-normal"])
def test_a_model_whose_outputs_are_random_is_refused_with_what_draws(tmp_path, capsys, proto,
                                                                      named):
    assert main(["check", str(saved(tmp_path, proto)), "--paths", PATHS,
                 "--report", "none"]) == 2
    err = capsys.readouterr().err
    assert named in err and "its outputs are random" in err, err
    assert "TrainingMode.EVAL" in err and "Traceback" not in err


@pytest.mark.parametrize("proto", [dropout(training=False), dropout(training=True, ratio=0.0)],
                         ids=["inference", "ratio-zero"])
def test_a_dropout_that_draws_nothing_is_checked(tmp_path, proto):
    result = run_check(CheckOptions(model=saved(tmp_path, proto), paths=PATHS, report=None))
    assert {row.verdict for row in result.rows} == {"agrees"}


def test_a_batch_norm_in_training_mode_is_checked_with_a_note(tmp_path):
    result = run_check(CheckOptions(model=saved(tmp_path, batch_norm(1), "bn.onnx"),
                                    paths=PATHS, report=None))
    assert {row.verdict for row in result.rows} == {"agrees"}
    assert any("BatchNormalization 'bn' computes with training_mode=1" in note
               for note in result.notes), result.notes
    plain = run_check(CheckOptions(model=saved(tmp_path, batch_norm(0), "bn0.onnx"),
                                   paths=PATHS, report=None))
    assert not any("training_mode" in note for note in plain.notes)
