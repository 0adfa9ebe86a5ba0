"""The Keras source on both of TensorFlow's CPU kernel sets: without oneDNN (a CPU without
AVX-512, or ``TF_ENABLE_ONEDNN_OPTS=0``) Eigen refuses channels_first convolutions, and the
case is still read, through its channels_last twin; with oneDNN the same case reads the
same. Each setting is fixed when TensorFlow loads, so each runs in a process of its own."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[1]

READ = textwrap.dedent('''
    import json
    from harness.core.frameworks import prepare_imports
    prepare_imports()
    import numpy as np
    from harness.core.spec import LayerSpec
    from harness.core.tolerance import TolerancePolicy
    from harness.runtimes.keras import cpu_refusal, run_keras, tensorflow_cpu
    from harness.sources.keras import KerasSource
    from harness.sources.keras.model import build_model

    spec = LayerSpec("Conv3DTranspose", {"filters": 2, "kernel_size": [2, 2, 2],
                     "strides": [2, 1, 1], "padding": "valid", "data_format": "channels_first",
                     "use_bias": True}, ((1, 3, 2, 3, 3),), seed=4)
    reading = KerasSource().read(spec, policy=TolerancePolicy())
    model = build_model(spec)
    try:
        model(reading.inputs[0])  # Keras' own channels_first kernel, eagerly
        refusal = None
    except Exception as exc:
        refusal = cpu_refusal(exc)
    print(json.dumps({"reference": np.asarray(reading.reference[0]).tolist(),
                      "native": reading.native is not None, "refusal": refusal,
                      "state": tensorflow_cpu()}))
''')


def read_with(onednn: str) -> dict:
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", READ], env=env, capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def readings():
    return {setting: read_with(setting) for setting in ("0", "1")}


def test_without_onednn_the_twin_reads_a_case_keras_own_kernel_is_refused(readings):
    off = readings["0"]
    assert off["state"]["onednn"] is False
    assert off["state"]["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert "only supports" in off["refusal"]  # TensorFlow's own words, recognised
    # Keras' own layer still reads, compiled by XLA (run_keras), beside the twin's reference
    assert off["native"] is True


def test_both_settings_read_the_same_reference(readings):
    import numpy as np

    assert readings["1"]["state"]["onednn"] is True
    np.testing.assert_allclose(readings["0"]["reference"], readings["1"]["reference"],
                               rtol=1e-5, atol=1e-6)


def test_a_refusal_names_the_cpu_and_the_onednn_state():
    from harness.runtimes.keras import cpu_state_text

    text = cpu_state_text({"cpu": "AMD EPYC", "avx512f": False, "onednn": False,
                           "TF_ENABLE_ONEDNN_OPTS": None})
    assert text == "CPU AMD EPYC, no AVX-512, oneDNN off (TF_ENABLE_ONEDNN_OPTS=unset)"
    assert json.dumps(text)



ILL_FORMED = textwrap.dedent('''
    import json
    from harness.core.frameworks import prepare_imports
    prepare_imports()
    from harness.core.spec import LayerSpec
    from harness.run.pipeline import Harness

    # dev seed 9006 without oneDNN: a 'same' transposed convolution with an even kernel and
    # an explicit output_padding, dilated. Eigen refuses any dilation before it looks at the
    # shapes; XLA's compilation, tried instead, finds them ill-formed.
    spec = LayerSpec("Conv2DTranspose", {"filters": 1, "kernel_size": [2, 1],
                     "strides": [1, 1], "padding": "same", "dilation_rate": [1, 2],
                     "output_padding": [0, 0], "data_format": "channels_last",
                     "activation": "linear", "use_bias": True}, ((1, 2, 1, 1),))
    leg = Harness("keras>tf2onnx").run(spec).legs[0]
    print(json.dumps({"leg": leg.leg, "verdict": leg.verdict, "message": leg.message,
                      "known_issue": (leg.known_issue or {}).get("id")}))
''')


def test_an_ill_formed_layer_eigen_refuses_for_its_dilation_is_still_its_known_issue():
    """Without oneDNN, TensorFlow's refusal of the dilation hid the layer's own fault, which
    oneDNN and XLA both report: the source failed unclaimed. The reading now carries XLA's
    words beside Eigen's, and the known issue recognises it with oneDNN on or off."""
    said = {}
    for onednn in ("0", "1"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "PYTHONPATH": str(ROOT)}
        run = subprocess.run([sys.executable, "-c", ILL_FORMED], env=env, capture_output=True,
                             text=True, timeout=300, cwd=ROOT)
        assert run.returncode == 0, run.stderr[-3000:]
        said[onednn] = json.loads(run.stdout.strip().splitlines()[-1])
    for onednn, leg in said.items():
        assert leg["known_issue"] == "keras-conv-transpose-same-output-padding-length", \
            (onednn, leg)
    assert "do not yet support dilation rates larger than 1" in said["0"]["message"]
    assert "XLA's compilation of it, tried instead, failed too" in said["0"]["message"]
    assert "could not create a primitive descriptor" in said["1"]["message"]
