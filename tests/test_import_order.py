"""prepare_imports: torch and torchvision load before TensorFlow, and only when TensorFlow does
(the LLVM abort of torchvision after TensorFlow; docs/benchmarks.md, start-up)."""

import subprocess
import sys

import pytest

pytest.importorskip("torch")

PROBE = """
import sys
from harness.core.frameworks import prepare_imports
prepare_imports()
prepare_imports()  # twice: one hook
assert "torch" not in sys.modules, "torch imported before anything needed it"
{trigger}
loaded = list(sys.modules)
print(loaded.index("torch") < loaded.index("tensorflow"),
      "torchvision" not in loaded or loaded.index("torchvision") < loaded.index("tensorflow"))
"""


@pytest.mark.parametrize("trigger", ["import tensorflow", "import keras"])
def test_torch_loads_just_before_tensorflow(trigger):
    pytest.importorskip("tensorflow")
    done = subprocess.run([sys.executable, "-c", PROBE.format(trigger=trigger)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["True", "True"], done.stdout


def test_a_process_without_tensorflow_imports_no_torch():
    done = subprocess.run([sys.executable, "-c", "import sys\n"
                           "from harness.core.frameworks import prepare_imports\n"
                           "prepare_imports()\nimport onnx, numpy\n"
                           "print('torch' in sys.modules)"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "False"
