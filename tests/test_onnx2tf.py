"""onnx2tf's stages: its install beside the pinned stack, its worker, and how its tensors map
back to the ONNX model's (docs/rewriters.md#onnx2tf).

The layout rules are tested on their own; the stages run the real onnx2tf in its worker
(skipped, saying why, where `parity install onnx2tf` has not run; CI runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.converters import onnx2tf_install
from harness.converters.onnx2tf_layout import (
    LayoutError,
    channel_last,
    input_perm,
    inverse,
    output_perm,
)

# -- the layout rules ---------------------------------------------------------------------------


def test_channel_first_inputs_move_axis_1_last_at_every_rank_from_3():
    assert channel_last(2) is None
    assert channel_last(3) == (0, 2, 1)
    assert channel_last(4) == (0, 2, 3, 1)
    assert channel_last(5) == (0, 2, 3, 4, 1)
    assert input_perm("x", [1, 3, 8, 8], [1, 8, 8, 3]) == (0, 2, 3, 1)
    assert input_perm("x", [3, 4], [3, 4]) is None
    assert input_perm("x", [None, 3, 8], [None, 8, 3]) == (0, 2, 1)


def test_an_input_declared_in_another_layout_is_refused_naming_it():
    with pytest.raises(LayoutError, match=r"input 'x'.*\(1, 3, 8, 8\).*\(1, 8, 8, 3\)"):
        input_perm("x", [1, 3, 8, 8], [1, 3, 8, 8])


def test_an_output_s_layout_is_the_declared_shape_s_where_it_tells_them_apart():
    nhwc_back = inverse(channel_last(4))
    assert output_perm("y", [2, 3, 4, 5], [2, 4, 5, 3], recorded_channel_last=False) == nhwc_back
    assert output_perm("y", [2, 3, 4, 5], [2, 3, 4, 5], recorded_channel_last=True) is None
    assert output_perm("y", [2, 7], [2, 7], recorded_channel_last=False) is None


def test_where_both_layouts_fit_onnx2tf_s_record_decides():
    nhwc_back = inverse(channel_last(4))
    assert output_perm("y", [1, 4, 4, 4], [1, 4, 4, 4], recorded_channel_last=True) == nhwc_back
    assert output_perm("y", [1, 4, 4, 4], [1, 4, 4, 4], recorded_channel_last=False) is None
    assert output_perm("y", None, [1, 4, 5, 6], recorded_channel_last=True) == nhwc_back


def test_an_output_declared_with_no_rank_takes_the_onnx_rank_and_the_record():
    nhwc_back = inverse(channel_last(4))
    assert output_perm("y", [2, 3, 4, 5], None, recorded_channel_last=True) == nhwc_back
    assert output_perm("y", [2, 3, 4, 5], None, recorded_channel_last=False) is None
    assert output_perm("y", None, None, recorded_channel_last=False) is None
    with pytest.raises(LayoutError, match="output 'y' channel-last with no rank"):
        output_perm("y", None, None, recorded_channel_last=True)


def test_the_worker_reads_a_tensor_of_unknown_rank_as_no_shape():
    tf = pytest.importorskip("tensorflow")
    from harness.converters.onnx2tf_worker import shape

    assert shape(tf.TensorSpec(shape=(2, None, 3))) == [2, None, 3]
    assert shape(tf.TensorSpec(shape=None)) is None


def test_no_other_permutation_is_ever_tried():
    # (2, 5, 4, 3) is the ONNX shape under another permutation, not one onnx2tf documents
    with pytest.raises(LayoutError, match="neither ONNX's"):
        output_perm("y", [2, 3, 4, 5], [2, 5, 4, 3], recorded_channel_last=False)
    with pytest.raises(LayoutError, match="neither"):
        output_perm("y", [2, 3, 4, 5], [2, 3, 20], recorded_channel_last=False)


def test_inverse_undoes_the_permutation():
    array = np.arange(120).reshape(2, 3, 4, 5)
    perm = channel_last(4)
    assert np.array_equal(array.transpose(perm).transpose(inverse(perm)), array)


# -- the install --------------------------------------------------------------------------------


def test_a_missing_install_names_the_command(tmp_path):
    with pytest.raises(onnx2tf_install.Onnx2TfNotInstalled, match="parity install onnx2tf"):
        onnx2tf_install.require(tmp_path / "nothing")


def test_an_install_for_other_pins_is_refused(tmp_path):
    (tmp_path / onnx2tf_install.RECORD).write_text(json.dumps({"pins": ["onnx2tf==1.0.0"]}))
    with pytest.raises(onnx2tf_install.Onnx2TfNotInstalled, match="other pins.*onnx2tf==1.0.0"):
        onnx2tf_install.require(tmp_path)


def test_a_failed_install_leaves_the_previous_one(tmp_path):
    folder = tmp_path / "onnx2tf"
    folder.mkdir()
    record = {"pins": list(onnx2tf_install.PINS), "onnx2tf": "previous"}
    (folder / onnx2tf_install.RECORD).write_text(json.dumps(record))
    with pytest.raises(subprocess.CalledProcessError):
        onnx2tf_install.install(folder, pip_args=("--no-index", "--find-links",
                                                  str(tmp_path / "no-wheels-here")))
    assert onnx2tf_install.version(folder) == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["onnx2tf"]  # no staging left


# -- the stages, with the real onnx2tf ----------------------------------------------------------

installed = pytest.mark.skipif(
    onnx2tf_install.record() is None,
    reason="onnx2tf is not installed here: `parity install onnx2tf` (CI runs it)")

RNG = np.random.default_rng(0)


def _save(path: Path, nodes, inputs, outputs, initializers=()) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def _value(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def conv_model(path: Path) -> Path:
    """NCHW in, NCHW out: onnx2tf declares both channel-last."""
    weights = numpy_helper.from_array(RNG.standard_normal((4, 3, 3, 3)).astype(np.float32), "W")
    return _save(path, [helper.make_node("Conv", ["x", "W"], ["y"], pads=[1, 1, 1, 1]),
                        helper.make_node("Relu", ["y"], ["z"])],
                 [_value("x", [1, 3, 6, 7])], [_value("z", [1, 4, 6, 7])], [weights])


def two_output_model(path: Path) -> Path:
    """Two outputs that onnx2tf hands back in different layouts (one channel-last, one as
    ONNX lays it out), each told apart by its declared shape."""
    return _save(path, [helper.make_node("Add", ["a", "b"], ["s"]),
                        helper.make_node("Mul", ["a", "b"], ["p"])],
                 [_value("a", [2, 3, 4, 5]), _value("b", [2, 3, 4, 5])],
                 [_value("p", [2, 3, 4, 5]), _value("s", [2, 3, 4, 5])])


def check(model: Path, *args: str, home: str | None = None) -> dict:
    env = {**os.environ}
    if home is not None:
        env[onnx2tf_install.HOME_VARIABLE] = home
    done = subprocess.run([sys.executable, "-m", "harness.cli", "check", str(model), "--json",
                           "-q", "--report", "none", *args],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.stdout.strip(), done.stderr[-3000:]
    return json.loads(done.stdout)


@installed
def test_both_legs_agree_and_map_layouts_by_what_onnx2tf_declares(tmp_path):
    from harness.converters import ConvertOptions, get
    from harness.core.artifact import Artifact
    from harness.runtimes.registry import runner_for

    model = onnx.load(two_output_model(tmp_path / "two.onnx"))
    a, b = (RNG.standard_normal((2, 3, 4, 5)).astype(np.float32) for _ in range(2))
    expected = [a * b, a + b]
    source = Artifact("onnx", model, ["a", "b"])
    saved = get("onnx2tf").convert(source, ConvertOptions(workdir=tmp_path / "work"))
    flat = get("onnx2tf-tflite").convert(source, ConvertOptions(workdir=tmp_path / "work"))
    for artifact in (saved, flat):
        # p comes back channel-last, s as ONNX lays it out: only p is permuted back
        assert artifact.meta["input_perms"] == [[0, 2, 3, 1], [0, 2, 3, 1]]
        assert artifact.meta["output_perms"] == [[0, 3, 1, 2], None]
        got = runner_for(artifact.format).run(artifact, [a, b])
        for found, want in zip(got, expected):
            np.testing.assert_allclose(found, want, rtol=1e-6, atol=1e-6)
    # the permutations are what the runners apply: reading p as written is wrong, not a match
    wrong = Artifact(flat.format, flat.model, flat.input_names,
                     {**flat.meta, "output_perms": [None, None]})
    p, _ = runner_for("tflite").run(wrong, [a, b])
    assert p.shape == (2, 4, 5, 3)


@installed
def test_parity_check_on_an_onnx_file_shows_the_onnx2tf_legs(tmp_path):
    found = check(conv_model(tmp_path / "conv.onnx"), "--paths",
                  "onnx>onnx2tf,onnx>onnx2tf-tflite")
    legs = {leg["leg"]: leg for leg in found["legs"]}
    assert legs["onnx>onnx2tf"]["verdict"] == "agrees"
    assert legs["onnx>onnx2tf"]["runner"] == "tensorflow"
    assert legs["onnx>onnx2tf-tflite"]["verdict"] == "agrees"
    assert legs["onnx>onnx2tf-tflite"]["runner"] == "litert"


@installed
def test_a_model_onnx2tf_fails_is_a_conversion_error_quoting_it_and_the_worker_goes_on(
        tmp_path):
    from harness.converters import ConversionError, ConvertOptions, get
    from harness.core.artifact import Artifact

    node = helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")
    graph = helper.make_graph([node], "custom", [_value("x", [1, 4])], [_value("y", [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.example", 1)])
    stage = get("onnx2tf-tflite")
    options = ConvertOptions(workdir=tmp_path)
    with pytest.raises(ConversionError, match="onnx2tf"):
        stage.convert(Artifact("onnx", model, ["x"]), options)
    good = onnx.load(conv_model(tmp_path / "conv.onnx"))
    assert stage.convert(Artifact("onnx", good, ["x"]), options).format == "tflite"


@installed
def test_a_conversion_past_its_time_limit_is_killed_and_the_next_starts_afresh(
        tmp_path, monkeypatch):
    from harness.converters import ConversionError, ConvertOptions, get
    from harness.converters.onnx2tf_stage import TIMEOUT_VARIABLE
    from harness.core.artifact import Artifact

    model = onnx.load(conv_model(tmp_path / "conv.onnx"))
    model.doc_string = "a model of its own: not in the stage's memo"
    monkeypatch.setenv(TIMEOUT_VARIABLE, "0.5")
    with pytest.raises(ConversionError, match=r"did not finish within 0.5 s"):
        get("onnx2tf").convert(Artifact("onnx", model, ["x"]), ConvertOptions(workdir=tmp_path))
    monkeypatch.delenv(TIMEOUT_VARIABLE)
    model.doc_string = "another"
    assert get("onnx2tf").convert(Artifact("onnx", model, ["x"]),
                                  ConvertOptions(workdir=tmp_path)).format == "tf-signature"


@installed
def test_the_worker_s_scratch_folder_goes_with_it_however_it_ends(tmp_path):
    """The worker removes its scratch folder (onnx2tf's calibration images) as it exits,
    asked to or left by its parent; where it was killed, the folder goes with the temporary
    folder the client gave it (harness.runtimes.worker)."""
    from harness.converters.onnx2tf_stage import Onnx2TfWorker

    model = conv_model(tmp_path / "conv.onnx")
    for ending in ("asked", "left", "killed"):
        client = Onnx2TfWorker(onnx2tf_install.require())
        reply = client.convert(model, tmp_path / ending)
        assert reply["ok"], reply
        scratch = Path(client.info["scratch"])
        assert (scratch / "calibration_image_sample_data_20x128x128x3_float32.npy").is_file()
        assert len(list(scratch.glob("parity-onnxsim-*/zygote.sock"))) == 1  # onnxsim's zygote
        if ending == "left":  # the parent went away: the worker reads the end of its input
            os.close(client._worker._to_child)
            client._worker._to_child = None
            assert client._worker.process.wait(timeout=60) == 0
            assert not scratch.exists()
        if ending == "killed":  # no goodbye: the worker cannot clean up after itself
            client._worker.kill()
            assert not scratch.exists() and not scratch.parent.exists()
        client.close()
        assert not scratch.exists(), ending


def test_a_worker_that_cannot_import_onnx2tf_leaves_no_scratch_folder(tmp_path):
    """A worker whose folder holds no onnx2tf says so and goes; its scratch folder goes too,
    though the client ends it at once."""
    from harness.converters.onnx2tf_stage import Onnx2TfWorker, Onnx2TfWorkerError

    client = Onnx2TfWorker(tmp_path)  # an empty folder: nothing to import onnx2tf from
    with pytest.raises(Onnx2TfWorkerError, match="cannot import onnx2tf"):
        client.start()
    client.close()
    assert client.info["scratch"] and not Path(client.info["scratch"]).exists()


def test_without_the_install_the_suites_sample_leaves_onnx2tf_out_and_says_so(tmp_path):
    script = ("from harness.run import side_paths\n"
              "extension = side_paths.parse('auto', 'ci')\n"
              "print(side_paths.left_out(extension))\n"
              "try:\n    side_paths.parse('onnx>onnx2tf')\n"
              "except Exception as exc:\n    print(type(exc).__name__, exc)\n")
    env = {**os.environ, onnx2tf_install.HOME_VARIABLE: str(tmp_path / "none")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    left, refused = done.stdout.strip().splitlines()
    assert "onnx>onnx2tf:" in left and "onnx>onnx2tf-tflite:" in left
    assert "parity install onnx2tf" in left
    assert refused.startswith("PathError") and "parity install onnx2tf" in refused


@installed
def test_the_stage_cache_key_covers_onnx2tf_s_folder(tmp_path):
    """onnx2tf's code is never imported here, so no package fingerprint covers it: an onnx2tf
    reinstalled at the same version with other code must miss, not hand back old output."""
    import shutil

    from harness.converters import ConvertOptions
    from harness.converters.onnx2tf_install import fingerprint, home
    from harness.converters.onnx2tf_stage import Onnx2TfTfliteConverter
    from harness.run.stage_cache.keys import stage_key

    copy = tmp_path / "onnx2tf"
    shutil.copytree(home(), copy)
    stage = Onnx2TfTfliteConverter()
    stage.folder = copy
    before = stage_key(stage, "input", ConvertOptions())
    assert stage_key(stage, "input", ConvertOptions()) == before
    planted = copy / "onnx2tf" / "ops" / "Relu.py"
    planted.write_text(planted.read_text() + "\n# the same version, other code\n")
    fingerprint.cache_clear()
    assert stage_key(stage, "input", ConvertOptions()) != before


@installed
def test_a_warm_run_takes_tensorflow_s_run_and_the_flatbuffer_and_runs_no_onnx2tf(tmp_path):
    from harness.converters import onnx2tf_stage
    from harness.core.spec import LayerSpec
    from harness.run.stage_cache.cache import LazyArtifact
    from tests.cache_runs import run_cached, verdicts

    relu = LayerSpec("Relu", {}, ((2, 3, 4),), seed=1, source="onnx")
    paths = "onnx>onnx2tf,onnx>onnx2tf-tflite"
    cold, _, cold_cache = run_cached(tmp_path, relu, paths)
    assert ("run tensorflow", "miss") in cold_cache.run_log
    onnx2tf_stage._RECENT.clear()  # what this process converted: a new run has nothing
    warm, artifacts, warm_cache = run_cached(tmp_path, relu, paths)
    assert warm_cache.module_log == [("onnx2tf", "hit")]
    assert warm_cache.run_log == [("run tensorflow", "hit")]
    assert ("onnx2tf-tflite", "hit") in warm_cache.log
    assert isinstance(artifacts["onnx>onnx2tf"], LazyArtifact)
    assert not onnx2tf_stage._RECENT  # onnx2tf never ran
    assert verdicts(warm) == verdicts(cold)
    assert {leg.verdict for leg in warm.legs} == {"pass"}
