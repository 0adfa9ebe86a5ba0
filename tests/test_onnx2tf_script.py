"""An onnx2tf leg's standalone script maps tensors as parity's stage maps them.

The script (harness.sources.onnx.repro, the onnx2tf body) cannot import parity, so it carries
its own copy of the layout rule; here that copy is held to harness.converters.onnx2tf_layout
on every shape pair of small ranks. The scripts themselves run against onnx2tf in
test_upstream_export.py (where `parity install onnx2tf` has installed it).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from harness.converters import onnx2tf_layout, onnx2tf_worker
from harness.converters.onnx2tf_stage import Onnx2TfConverter, Onnx2TfTfliteConverter
from harness.sources.onnx import repro


@pytest.fixture(scope="module")
def script_functions():
    namespace = {"np": np}
    exec(repro._ONNX2TF_LAYOUT, namespace)  # noqa: S102  (our own template's text)
    return namespace["channel_last"], namespace["in_onnx_layout"]


SHAPES = [shape for rank in (1, 2, 3, 4) for shape in itertools.product((1, 2, 3), repeat=rank)]


@pytest.mark.parametrize("recorded", [False, True])
def test_the_scripts_output_mapping_is_the_stages(script_functions, recorded):
    _, in_onnx_layout = script_functions
    checked = 0
    for onnx_shape in SHAPES:
        perm = onnx2tf_layout.channel_last(len(onnx_shape))
        for declared in {tuple(onnx_shape), tuple(onnx2tf_layout.permuted(onnx_shape, perm))}:
            back = onnx2tf_layout.output_perm("y", onnx_shape, declared, recorded)
            y = np.arange(np.prod(declared)).reshape(declared)
            want = y if back is None else np.transpose(y, back)
            got = in_onnx_layout(y, np.zeros(onnx_shape), recorded)
            assert got.shape == want.shape and np.array_equal(got, want), (onnx_shape, declared)
            checked += 1
    assert checked > len(SHAPES)


def test_the_scripts_inputs_go_channel_last_as_onnx2tf_documents(script_functions):
    channel_last, _ = script_functions
    for shape in SHAPES:
        x = np.arange(np.prod(shape)).reshape(shape)
        perm = onnx2tf_layout.channel_last(len(shape))
        want = x if perm is None else np.transpose(x, perm)
        assert np.array_equal(channel_last(x), want) and channel_last(x).shape == want.shape


@pytest.mark.parametrize("stage", [Onnx2TfConverter, Onnx2TfTfliteConverter])
def test_both_onnx2tf_stages_declare_a_recipe_the_template_scripts(stage):
    recipe = stage.script
    assert "import onnx2tf" in recipe.imports and "onnx2tf_convert(model)" in recipe.convert
    defined = "\n".join(recipe.defined)
    assert "def onnx2tf_convert(model):" in defined and "def read_outputs(" in defined
    assert "harness" not in defined and "**CONVERT_SWITCHES" in defined
    script = {}
    exec(compile(defined, stage.__name__, "exec"), script)  # definitions only: nothing runs
    # the worker's switches, both read from the skeleton's onnx2tf.py
    assert script["CONVERT_SWITCHES"] == onnx2tf_worker.CONVERT_SWITCHES
    assert script["CONVERT_SWITCHES"]["output_signaturedefs"] is True
