"""``parity check -q``: nothing on stderr but parity's own lines. TensorFlow, XLA and absl
write to descriptor 2 from C++, some lines before any setting of theirs is read, so the
tests run ``parity`` in a fresh process, as a user's shell does."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.core.quiet import framework_logs_silenced

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_the_descriptor_is_silenced_and_parity_s_own_lines_are_not(tmp_path):
    done = run_python(
        "import os, sys, warnings\n"
        "from harness.core.quiet import framework_logs_silenced\n"
        "with framework_logs_silenced():\n"
        "    os.write(2, b'a C++ log line\\n')\n"
        "    warnings.warn('a framework warning')\n"
        "    print('parity: its own line', file=sys.stderr)\n"
        "os.write(2, b'after: descriptor 2 restored\\n')\n", ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "parity: its own line\nafter: descriptor 2 restored\n"


def test_a_stream_that_is_not_the_descriptor_stays(capsys):
    with framework_logs_silenced():
        print("caught by pytest", file=sys.stderr)
    assert capsys.readouterr().err == "caught by pytest\n"


@pytest.fixture(scope="module")
def keras_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("quiet")
    done = run_python(
        "from harness.core.frameworks import prepare_imports\n"
        "prepare_imports()\n"
        "import keras\n"
        "keras.utils.set_random_seed(0)\n"
        "x = keras.Input((4,), name='x')\n"
        "keras.Model(x, keras.layers.Dense(3, name='d')(x)).save('quiet.keras')\n", folder)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder / "quiet.keras"


def parity_check(model: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", "check", str(model),
                           "--paths", "keras>tf2onnx", "--report", "none", *args],
                          cwd=model.parent, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_quiet_leaves_stderr_empty_on_a_model_tensorflow_reads(keras_model):
    done = parity_check(keras_model, "-q")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    assert "parity check: every leg agrees" in done.stdout


def test_quiet_still_says_why_a_check_cannot_run(keras_model):
    done = parity_check(keras_model, "-q", "--paths", "onnx>onnx2torch")
    assert done.returncode == 2
    assert done.stderr.startswith("parity check: --paths: onnx>onnx2torch starts at 'onnx'")
    assert len(done.stderr.splitlines()) == 1
