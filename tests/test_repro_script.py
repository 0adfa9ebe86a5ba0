"""Standalone reproducers: a script written for a failing case shows the same failure in a
fresh Python process that never imports parity, and a passing case's script says so."""

import ast
import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import converters
from harness.converters import Artifact
from harness.core import known_issues
from harness.core.spec import LayerSpec
from harness.core.tolerance import TolerancePolicy
from harness.repro_script import ScriptError, choose_target, write_script
from harness.run.pipeline import Harness
from tests.fakes import Fake, Stage

pytest.importorskip("tensorflow")
pytest.importorskip("onnx2torch")

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = {pin.id: pin.spec for pin in known_issues.pins()}
# What each kind of script may import, and nothing else.
# (os, re, sys and traceback: every script's guard against a crash reading as a reproduction)
ALLOWED_IMPORTS = {
    "tf2onnx": {"base64", "io", "json", "os", "re", "sys", "traceback", "keras", "numpy",
                "onnxruntime", "tensorflow", "tf2onnx"},
    "onnx2torch": {"base64", "io", "os", "re", "sys", "traceback", "numpy", "onnx",
                   "onnx2torch", "onnxruntime", "torch"},
}


@pytest.fixture(scope="module")
def harness():
    # The policy a suite run applies: pyproject.toml's, with its bicubic rule for ONNX legs.
    return Harness("keras>tf2onnx>onnx2torch",
                   policy=TolerancePolicy.from_pyproject(ROOT / "pyproject.toml"))


def imported_modules(script: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            modules.add("__import__")
    return modules


def run_script(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "repro.py"
    script.write_text(text)
    # A fresh interpreter outside the repository: parity is not importable by accident
    # from the working directory (it is installed, so the AST check below is the guard).
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)


def leg(case, name):
    return next(leg for leg in case.legs if leg.leg == name)


def test_tf2onnx_load_error_reproduces_without_parity(harness, tmp_path):
    spec = MINIMAL["tf2onnx-gelu-erfc"]
    case = harness.run(spec)
    failing = leg(case, "keras>tf2onnx")
    assert (failing.verdict, failing.category, failing.blame) == ("xfail", "unsupported_op",
                                                                   "tf2onnx")
    text = write_script(harness, case)
    assert imported_modules(text) == ALLOWED_IMPORTS["tf2onnx"]
    assert f"parity case {spec.case_id}" in text and "blamed on stage tf2onnx" in text
    assert "tf2onnx 1." in text  # the versions it was made with

    done = run_script(text, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    # The same exception as parity's leg: onnxruntime refuses the graph for the same reason.
    exception = re.search(r"onnxruntime cannot load the model: (\w+): ", failing.message).group(1)
    assert f"REPRODUCED: load_error: onnxruntime cannot load the model: {exception}: " in done.stdout
    reason = re.search(r"No Op registered for \w+ with domain_version of \d+", failing.message)
    assert reason.group(0) in done.stdout


def test_onnx2torch_numeric_mismatch_reproduces_with_the_same_metrics(harness, tmp_path):
    spec = MINIMAL["onnx2torch-resize-cubic-coordinates-UpSampling2D"]
    case = harness.run(spec)
    assert leg(case, "keras>tf2onnx").verdict == "pass"  # the bicubic rule covers the ONNX leg
    failing = leg(case, "keras>tf2onnx>onnx2torch")
    assert (failing.category, failing.blame) == ("numeric_mismatch", "onnx2torch")
    text = write_script(harness, case)
    assert imported_modules(text) == ALLOWED_IMPORTS["onnx2torch"]
    assert f"ATOL, RTOL = {failing.tolerance.atol!r}, {failing.tolerance.rtol!r}" in text

    done = run_script(text, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    found = re.search(r"REPRODUCED: numeric_mismatch: output 0: max_abs=(\S+) at (\(.*?\)) ",
                      done.stdout)
    assert found, done.stdout
    assert float(found.group(1)) == pytest.approx(failing.metrics["max_abs"], rel=1e-5)
    assert found.group(2) == str(tuple(failing.metrics["max_abs_index"]))
    # onnxruntime on the very same ONNX model agrees with Keras: the fault is onnx2torch's.
    assert "onnxruntime on the same ONNX model, output 0: ok:" in done.stdout


def test_onnx2torch_conversion_error_shows_the_same_exception(harness, tmp_path):
    case = harness.run(MINIMAL["onnx2torch-asymmetric-avgpool-AveragePooling1D"])
    failing = leg(case, "keras>tf2onnx>onnx2torch")
    assert failing.category == "conversion_error"
    done = run_script(write_script(harness, case), tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"REPRODUCED: conversion_error: {failing.message.splitlines()[0]}" in done.stdout


def test_a_passing_case_does_not_reproduce(harness, tmp_path):
    spec = LayerSpec("Dense", {"units": 3, "activation": "relu"}, ((2, 4),), seed=5)
    case = harness.run(spec)
    assert not case.failures
    text = write_script(harness, case, leg_name="keras>tf2onnx>onnx2torch")
    assert "parity saw: pass" in text
    done = run_script(text, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "does not reproduce" in done.stdout
    assert "REPRODUCED" not in done.stdout


def test_a_channels_first_convolution_compares_with_the_channels_last_reference(harness,
                                                                                tmp_path):
    # Keras gets this one wrong itself: the script computes parity's reference as parity does
    # (the channels_last twin, which TensorFlow runs with oneDNN and without) and shows
    # Keras' own output against it (through XLA where TensorFlow refuses NCHW).
    spec = MINIMAL["keras-add-bias-nhwc-channels-first"]
    case = harness.run(spec)
    assert leg(case, "keras").blame == "keras"
    with pytest.raises(ScriptError, match="fails in the source framework itself"):
        write_script(harness, case)
    onnx_leg = leg(case, "keras>tf2onnx")
    text = write_script(harness, case, leg_name="keras>tf2onnx")
    assert "TWIN_PERM = (0, 2, 3, 1)" in text and "expected = twin_reading(" in text
    done = run_script(text, tmp_path)
    expected = 0 if onnx_leg.verdict == "pass" else 1
    assert done.returncode == expected, done.stdout + done.stderr
    assert ("Keras' own channels_first output 0 against the reference: numeric_mismatch"
            in done.stdout)


def test_a_model_too_big_to_inline_is_a_clear_error(harness):
    spec = LayerSpec("Dense", {"units": 700}, ((1, 800),), seed=0)  # 560k weights, 2.2 MB
    case = harness.run(spec)
    with pytest.raises(ScriptError, match=r"too big to inline in a script: its model and data "
                                          r"take 2\.\d MB, the limit is 2 MB"):
        write_script(harness, case)
    assert write_script(harness, case, max_bytes=3 * 2**20).startswith("#!/usr/bin/env python3")


def scaled_kernel(converted: Artifact) -> Artifact:
    """The first weight matrix of tf2onnx's model scaled by 1.5: a fault of that stage."""
    import numpy as np
    from onnx import numpy_helper

    model = copy.deepcopy(converted.model)
    weight = next(t for t in model.graph.initializer if len(t.dims) == 2)
    weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight) * np.float32(1.5),
                                            weight.name))
    return Artifact("onnx", model, converted.input_names)


def test_a_stage_no_script_can_call_is_refused_by_name():
    converters.register(Fake("tf2onnx-scaled-kernel", "tf2onnx", after=scaled_kernel))
    try:
        harness = Harness("keras>tf2onnx-scaled-kernel>onnx2torch")
        case = harness.run(LayerSpec("Dense", {"units": 2}, ((1, 3),), seed=1))
        # Both legs fail; the torch leg is blamed on the faulty stage, so its script would
        # start there too, and that stage exists only in this process.
        assert [leg.blame for leg in case.legs] == ["tf2onnx-scaled-kernel"] * 2
        target = choose_target(harness, case, "keras>tf2onnx-scaled-kernel>onnx2torch")
        assert (target.leg_name, target.stage) == ("keras>tf2onnx-scaled-kernel",
                                                   "tf2onnx-scaled-kernel")
        with pytest.raises(ScriptError, match="stage 'tf2onnx-scaled-kernel' .* is not one a "
                                              "standalone script can call: it was registered "
                                              "in this process only.* --plugins"):
            write_script(harness, case)
        # Named as a plugin module's, it gets a script that imports that module.
        text = write_script(harness, case, plugins=["tests.test_repro_script"])
        assert "PLUGINS = ['tests.test_repro_script']" in text
        assert "STAGE = 'tf2onnx-scaled-kernel'" in text
        assert "(Keras -> ONNX, a plugin stage)" in text
    finally:
        converters.unregister("tf2onnx-scaled-kernel")


def test_a_plugin_stage_whose_artifact_no_script_runs_is_refused():
    # A plugin stage whose artifact no script runs: a Keras model (parity runs it with Keras).
    converters.register(Stage("keras-pass-through", "keras", "keras", packages=("keras",),
                              make=lambda a: Artifact("keras", a.model, list(a.input_names))))
    try:
        harness = Harness("keras>keras-pass-through")
        case = harness.run(LayerSpec("Dense", {"units": 2}, ((1, 3),), seed=1))
        with pytest.raises(ScriptError, match=r"stage 'keras-pass-through' .*keras -> keras.* "
                                              r"is not one a standalone script can call: "
                                              r"scripts feed a stage a keras or onnx or mat model "
                                              r"and "
                                              r"run an onnx or torch one"):
            write_script(harness, case, leg_name="keras>keras-pass-through",
                         plugins=["some.plugin"])
    finally:
        converters.unregister("keras-pass-through")


def test_an_unknown_leg_is_a_clear_error(harness):
    case = harness.run(LayerSpec("Dense", {"units": 1}, ((1, 1),), seed=0))
    with pytest.raises(ScriptError, match="has no leg 'keras>nope'; its legs: keras>tf2onnx"):
        write_script(harness, case, leg_name="keras>nope")


def test_custom_objects_are_inlined_as_code(harness):
    case = harness.run(LayerSpec("Dense", {"units": 2, "activation": "gelu_tanh"}, ((1, 3),)))
    text = write_script(harness, case, leg_name="keras>tf2onnx")
    tree = ast.parse(text)
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert "gelu_tanh" in functions
    assert '@keras.saving.register_keras_serializable(package="parity", name="gelu_tanh")' in text
    assert not {"harness", "parity"} & imported_modules(text)


def test_a_failure_only_at_a_further_size_is_scripted_at_that_size(tmp_path):
    """A stage that bakes the batch in passes at the case's first size and fails at its
    further one: the script embeds the inputs and reference of the size that failed, says
    so, and reproduces the failure in a fresh process."""
    from harness.core import free_dims
    from tests import baked_batch_stage

    spec = free_dims.with_free(LayerSpec("Dense", {"units": 2}, ((1, 3),), seed=1), ("batch",))
    harness = Harness(f"keras>{baked_batch_stage.NAME}")
    case = harness.run(spec)
    (failing,) = case.legs
    assert (failing.verdict, failing.category) == ("error", "runtime_error")
    assert failing.metrics["at_shapes"] == [[2, 3]] == [list(s) for s in spec.more_shapes[0]]
    assert failing.message.startswith("at input shapes (2, 3) (passed at (1, 3))")

    text = write_script(harness, case, plugins=["tests.baked_batch_stage"])
    assert "the embedded inputs have shapes (2, 3), the size the leg failed at; it passed " \
           "at (1, 3)" in " ".join(text.split())
    script = tmp_path / "repro.py"
    script.write_text(text)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "REPRODUCED: runtime_error: onnxruntime raised" in done.stdout
    assert "Got: 2 Expected: 1" in done.stdout
