"""The file source's layout: a detector that hands each format to a loader of its own, a
package that loads no framework until a file is read, and golden copies looked for where the
golden store keeps its cases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness import golden
from harness.core import registry
from harness.core.spec import LayerSpec
from harness.sources import file as files
from harness.sources.file import detector, store

REPO = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("torch", "tensorflow", "keras", "tf_keras", "onnx", "onnxruntime", "h5py",
              "scipy", "tf2onnx")


def test_every_format_is_a_module_of_its_own_in_the_detectors_list():
    for module in detector.DETECTED:
        assert module.__name__ == "harness.sources.file." + module.FORMAT.replace("-", "_")
        assert callable(module.recognises) and callable(module.load)
    assert sorted(files.FORMATS) == sorted(kind.name for kind in registry.kinds("file"))
    # A case records its start only where it differs from this table (``attrs["start"]``),
    # so the golden store's file cases depend on it staying as it is.
    assert files.START == {"keras": "keras", "h5": "tf_keras", "keras-json": "tf_keras",
                           "savedmodel": "tf_keras", "onnx": "onnx", "mat": "mat",
                           "tflite": "tflite"}


def test_the_mat_header_is_asked_before_the_hdf5_signature(tmp_path):
    # A MATLAB -v7.3 file is HDF5 behind a 512-byte header that starts with "MATLAB".
    order = [module.FORMAT for module in detector.DETECTED]
    assert order.index("mat") < order.index("h5") and order[-1] == "onnx"
    path = tmp_path / "net.mat"
    path.write_bytes(b"MATLAB 7.3 MAT-file".ljust(512, b" ") + b"\x89HDF\r\n\x1a\n")
    assert files.detect(path) == "mat"


def test_importing_the_file_source_loads_no_framework():
    # ``harness.check`` imports the source's paths when it loads: ``parity check --help``
    # and every format's detection stay free of torch and TensorFlow until a file is read.
    code = ("import sys, harness.check, harness.sources.file\n"
            f"print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"


def test_a_golden_copy_is_looked_for_where_the_golden_store_keeps_the_case(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("PARITY_GOLDEN", str(tmp_path / "store"))
    spec = LayerSpec("onnx", {"path": str(tmp_path / "model.onnx"), "sha256": "0" * 64},
                     ((1, 3),), "float32", 0, source="file")
    folder = golden.default_root() / golden.CASES / spec.case_id
    assert store.case_folder(spec) == folder
    assert store.golden_copy(spec, None) is None
    (folder / store.COPY_FOLDER).mkdir(parents=True)
    (folder / store.COPY_FOLDER / "model.onnx").write_bytes(b"onnx")
    assert store.golden_copy(spec, None) == (folder / store.COPY_FOLDER / "model.onnx", None)


def test_a_plugin_format_is_asked_before_onnx_and_named_once():
    # In a fresh interpreter: add_format changes the detector's list for the process.
    code = """
import types
from harness.core import registry
from harness.sources.file import detector

fmt = types.SimpleNamespace(FORMAT="npy-model", START="onnx",
                            recognises=lambda path, head, weights: False, load=None)
detector.add_format(fmt)
order = [module.FORMAT for module in detector.DETECTED]
assert order[-2:] == ["npy-model", "onnx"], order
assert detector.START["npy-model"] == "onnx"
assert registry.get("npy-model", "file").source == "file"
try:
    detector.add_format(fmt)
except ValueError as exc:
    print(exc)
"""
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "file format 'npy-model' is already known"
