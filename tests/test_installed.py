"""A stage whose package is not installed is left out of a run, once, naming what to install;
a stage whose package is installed but fails to import is still an error (harness.core.installed)."""

from __future__ import annotations

import pytest

from harness import converters
from harness.core import installed
from harness.core.spec import LayerSpec
from harness.core.stages import left_out_stages, missing
from harness.run import side_paths
from harness.run.pipeline import Harness
from harness.runtimes import registry
from tests.fakes import Stage

ABSENT = "parity-test-absent-distribution"


def _broken(artifact):
    import parity_test_absent_module  # noqa: F401  (an import error inside the stage)


@pytest.fixture
def stages():
    absent = Stage("absent-rewriter", "onnx", "onnx", lambda a: a, packages=(ABSENT, "onnx"))
    broken = Stage("broken-rewriter", "onnx", "onnx", _broken, packages=("onnx",))
    for stage in (absent, broken):
        converters.register(stage)
    yield absent, broken
    for stage in (absent, broken):
        converters.unregister(stage.name)


def test_a_stage_whose_package_is_absent_is_named_once_with_what_to_install(stages):
    assert missing("absent-rewriter") == (f"stage absent-rewriter: {ABSENT} is not installed "
                                          f"(pip install {ABSENT})")
    assert missing("broken-rewriter") is None  # installed; its import error is its own
    assert missing("onnx2torch") is None
    assert [why for why in left_out_stages() if "rewriter" in why] == [missing("absent-rewriter")]


def test_parity_s_own_extras_are_named():
    assert installed.install_hint(["ai-edge-litert"]) == "pip install 'parity[litert]'"
    assert installed.install_hint(["onnxsim", "onnxslim"]) == "pip install 'parity[optimizers]'"
    assert installed.install_hint(["onnxsim", ABSENT]) == (
        f"pip install 'parity[optimizers]' {ABSENT}")


def test_side_paths_leave_out_the_absent_stage_and_keep_the_rest(stages):
    part = side_paths.installed(side_paths.SidePaths(("onnx>absent-rewriter", "onnx>onnxsim"),
                                                     every=1))
    assert part.paths == ("onnx>onnxsim",)
    assert part.left_out == (f"onnx>absent-rewriter: {missing('absent-rewriter')}",)
    assert side_paths.runnable(["onnx>broken-rewriter", "onnx>absent-rewriter"]) == [
        "onnx>broken-rewriter"]


def test_a_stored_artifact_needs_only_its_runner(monkeypatch):
    """A golden case's stored TFLite leg replays with LiteRT alone (no TensorFlow); without
    LiteRT it is left out."""
    stored = {"keras>tflite": object()}
    monkeypatch.setitem(registry.PACKAGES, "tflite", ("ai-edge-litert",))
    litert = installed.is_installed("ai-edge-litert")
    assert (side_paths.unavailable("keras>tflite", stored) is None) == litert
    monkeypatch.setitem(registry.PACKAGES, "tflite", (ABSENT,))
    assert side_paths.unavailable("keras>tflite", stored) == (
        f"keras>tflite: the tflite runner: {ABSENT} is not installed (pip install {ABSENT})")


def test_an_installed_stage_that_fails_to_import_is_still_an_error(stages):
    pytest.importorskip("onnxruntime")
    spec = LayerSpec("Relu", {"opset": 17}, ((2, 3),), seed=0, source="onnx")
    legs = Harness("onnx>broken-rewriter").run(spec).legs
    assert [(leg.leg, leg.verdict) for leg in legs] == [("onnx>broken-rewriter", "error")]
    assert "parity_test_absent_module" in legs[0].message
