"""The stages after a converted PyTorch module (harness.run.torch_end, docs/torch-end.md), on the
real torch: each stage on a module that passes and on one that fails, a free batch through
torch.export with a declared Dim, and whose failure the diagnosis says it is."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch  # before anything imports TensorFlow

from harness.converters import Artifact, ConversionPath, ConvertOptions, get
from harness.converters.torch_tracing import ExportError, free_axes
from harness.core.spec import LayerSpec
from harness.core.taxonomy import CATEGORIES, classify_exception
from harness.run import torch_end
from harness.run.pipeline import Harness
from harness.runtimes import runner_for

pytest.importorskip("onnx2torch")
pytest.importorskip("onnxruntime")


class Flatten(torch.nn.Module):
    """Keeps the batch free: the reshape takes its size from the input."""

    def forward(self, x):
        return torch.relu(x.reshape(x.shape[0], -1)) * 2.0


class BakedBatch(torch.nn.Module):
    """Bakes the batch in (3), as a converter that copied the example's shape would."""

    def forward(self, x):
        return torch.relu(x.reshape(3, -1))


class Histogram(torch.nn.Module):
    """torch.histc: neither ONNX exporter has a translation for it (torch 2.15)."""

    def forward(self, x):
        return torch.histc(x, bins=4)


def inputs(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def free_batch_options(first=(3, 2, 4), second=(5, 2, 4)) -> ConvertOptions:
    return ConvertOptions(example_inputs=(inputs(*first),), input_shapes=((first,), (second,)))


def run(artifact: Artifact, x: np.ndarray) -> np.ndarray:
    return runner_for(artifact.format).run(artifact, [x])[0]


@pytest.mark.parametrize("stage", torch_end.STAGES)
def test_each_stage_passes_a_module_that_traces_at_every_size(stage):
    torch._dynamo.reset()
    options = free_batch_options()
    artifact = get(stage).convert(Artifact("torch", Flatten(), ["x"]), options)
    assert artifact.format == get(stage).target
    for x in (inputs(3, 2, 4, seed=1), inputs(5, 2, 4, seed=2), inputs(1, 2, 4, seed=3)):
        expected = Flatten()(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(run(artifact, x), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("stage", ["torch-export", "torch-export-nonstrict"])
def test_a_baked_batch_is_caught_at_export_by_the_declared_dim(stage):
    with pytest.raises(ExportError) as raised:
        get(stage).convert(Artifact("torch", BakedBatch(), ["x"]), free_batch_options())
    text = str(raised.value)
    assert "whose: converter (baked size)" in text
    assert "specialized it to be a constant (3)" in text or "Constraints violated" in text


def test_the_dynamo_onnx_exporter_falls_back_to_the_baked_size_caught_at_the_second_size():
    # torch.onnx.export(dynamo=True) exports what torch.export specialised rather than
    # refusing: the ONNX model takes batch 3 only, and onnxruntime refuses batch 5.
    artifact = get("torch-onnx").convert(Artifact("torch", BakedBatch(), ["x"]),
                                         free_batch_options())
    assert run(artifact, inputs(3, 2, 4)).shape == (3, 8)
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        run(artifact, inputs(5, 2, 4))


def test_a_baked_batch_exports_when_no_dimension_is_free():
    options = ConvertOptions(example_inputs=(inputs(3, 2, 4),), input_shapes=(((3, 2, 4),),))
    artifact = get("torch-export").convert(Artifact("torch", BakedBatch(), ["x"]), options)
    assert run(artifact, inputs(3, 2, 4)).shape == (3, 8)


@pytest.mark.parametrize("stage", ["torch-onnx", "torch-onnx-ts"])
def test_an_op_without_a_translation_fails_onnx_export_as_torchs(stage):
    options = ConvertOptions(example_inputs=(inputs(2, 3),), input_shapes=(((2, 3),),))
    with pytest.raises(ExportError) as raised:
        get(stage).convert(Artifact("torch", Histogram(), ["x"]), options)
    text = str(raised.value)
    assert "whose: torch" in text and "histc" in text


def test_free_axes_share_a_dim_where_their_sizes_agree():
    options = ConvertOptions(example_inputs=(inputs(2, 3), inputs(2, 1), inputs(4,)),
                             input_shapes=(((2, 3), (2, 1), (4,)), ((5, 3), (5, 1), (4,))))
    assert free_axes(options) == [{0: "d0"}, {0: "d0"}, {}]


# -- through the pipeline, on onnx2torch's and onnx2pytorch's real modules --------------------

RESHAPE = LayerSpec.from_json({
    "kind": "Reshape", "source": "onnx", "input_shapes": [[2, 2, 2]], "dtype": "float32",
    "seed": 0, "attrs": {"operands": ["in", {"const": [-1, 4], "dtype": "int64"}], "opset": 17}})
RELU_FREE_BATCH = LayerSpec.from_json({
    "kind": "Relu", "source": "onnx", "input_shapes": [[2, 3]], "dtype": "float32", "seed": 0,
    "attrs": {"opset": 17}, "free_dims": ["batch"], "more_shapes": [[[3, 3]]]})


def legs(spec, paths):
    harness = Harness(paths, known_issues=[], diagnose=False)
    return {leg.leg: leg for leg in harness.run(spec).legs}


def test_a_free_batch_goes_through_torch_export_with_a_declared_dim():
    seen = {}
    harness = Harness("onnx>onnx2torch>torch-export", known_issues=[], diagnose=False,
                      on_paths=lambda case, artifacts, *rest: seen.update(artifacts=artifacts))
    found = {leg.leg: leg for leg in harness.run(RELU_FREE_BATCH).legs}
    assert found["onnx>onnx2torch>torch-export"].verdict == "pass"
    program = seen["artifacts"]["onnx>onnx2torch>torch-export"].meta["exported_program"]
    batch = program.graph_signature.user_inputs[0]
    shape = next(n for n in program.graph.nodes if n.name == batch).meta["val"].shape
    assert isinstance(shape[0], torch.SymInt) and shape[1] == 3  # the Dim, and a fixed axis


def test_torch_export_is_blocked_by_onnx2torchs_reshape_and_blames_the_converter():
    found = legs(RESHAPE, "onnx>onnx2torch>torch-export,onnx>onnx2torch>torch-export-nonstrict")
    assert found["onnx>onnx2torch"].verdict == "pass"
    for leg in ("onnx>onnx2torch>torch-export", "onnx>onnx2torch>torch-export-nonstrict"):
        result = found[leg]
        assert result.verdict == "error" and result.category == "export_error"
        assert "whose: converter (data-dependent guard)" in result.message
        assert "blocked at: onnx2torch/node_converters/reshape.py" in result.message
        assert result.blame == result.stage


@pytest.mark.parametrize("stage", ["torch-compile-eager", "torch-compile-aot-eager"])
def test_torch_compile_fails_inside_dynamo_on_onnx2torchs_reshape(stage):
    torch._dynamo.reset()
    result = legs(RESHAPE, f"onnx>onnx2torch>{stage}")[f"onnx>onnx2torch>{stage}"]
    assert result.verdict == "error" and result.category == "compile_error"
    assert "whose: torch (dynamo internal)" in result.message
    assert "torch.Size() takes an iterable of 'int'" in result.message
    assert "blocked at: onnx2torch/node_converters/reshape.py" in result.message


def test_onnx2pytorchs_reshape_compiles_with_inductor_and_agrees():
    torch._dynamo.reset()
    result = legs(RESHAPE, "onnx>onnx2pytorch>torch-compile")["onnx>onnx2pytorch>torch-compile"]
    assert result.verdict == "pass", result.message
    assert result.metrics["max_abs"] <= 1e-6


def test_the_torchscript_exporter_takes_onnx2torchs_reshape_back_to_onnx():
    result = legs(RESHAPE, "onnx>onnx2torch>torch-onnx-ts")["onnx>onnx2torch>torch-onnx-ts"]
    assert result.verdict == "pass" and result.runner == "onnxruntime", result.message


def test_the_pinned_entries_recognise_the_failures():
    harness = Harness("onnx>onnx2torch>torch-export,onnx>onnx2pytorch>torch-export-nonstrict",
                      diagnose=False)
    found = {leg.leg: leg for leg in harness.run(RESHAPE).legs}
    for leg in ("onnx>onnx2torch>torch-export", "onnx>onnx2pytorch>torch-export-nonstrict"):
        assert found[leg].verdict == "xfail", found[leg].message
        assert found[leg].known_issue["id"].startswith(("onnx2torch-", "onnx2pytorch-"))


# -- taxonomy, paths, sampling ---------------------------------------------------------------

def test_the_taxonomy_names_export_and_compile_errors():
    assert {"export_error", "compile_error"} <= set(CATEGORIES)
    assert classify_exception("convert", "torch-export raised ExportError: x") == (
        "export_error", None)
    assert classify_exception("convert", "torch-compile raised CompileError: x") == (
        "compile_error", None)
    # a compiled module that recompiles at a later size fails in the runner
    assert classify_exception("run", "torch raised InternalTorchDynamoError: y")[0] == (
        "compile_error")
    assert classify_exception("run", "torch raised RuntimeError: y")[0] == "runtime_error"


def test_only_torch_ending_paths_extend():
    paths = [ConversionPath.parse(p) for p in
             ("onnx>onnx2torch", "onnx>ort-optimized", "onnx>onnx2torch>torch-export")]
    names = [p.name for p in torch_end.Extension(("torch-onnx-ts",)).extend(paths)]
    assert names == ["onnx>onnx2torch", "onnx>ort-optimized", "onnx>onnx2torch>torch-export",
                     "onnx>onnx2torch>torch-onnx-ts"]


def test_the_ci_budget_extends_only_each_sources_main_converter():
    paths = [ConversionPath.parse(p) for p in
             ("onnx>onnx2torch", "onnx>onnx2pytorch", "onnx>ort-optimized")]
    first = torch_end.Extension(("torch-onnx-ts",), first_only=True).extend(paths)
    assert [p.name for p in first][3:] == ["onnx>onnx2torch>torch-onnx-ts"]


def test_an_input_the_exporter_drops_is_put_back():
    # EyeLike's output depends on its input's shape only: the TorchScript exporter folds it
    # to a constant and drops the input, which the leg still feeds.
    spec = LayerSpec.from_json({"kind": "EyeLike", "source": "onnx", "attrs": {"opset": 17},
                                "input_shapes": [[2, 3]], "dtype": "float32", "seed": 0})
    result = legs(spec, "onnx>onnx2torch>torch-onnx-ts")["onnx>onnx2torch>torch-onnx-ts"]
    assert result.verdict == "pass", result.message


def test_the_suites_sample_is_deterministic_and_near_its_rate():
    extension = torch_end.Extension(("torch-onnx-ts",), every=8)
    ids = [f"case-{i}" for i in range(4000)]
    chosen = [i for i in ids if extension.applies(i)]
    assert chosen == [i for i in ids if extension.applies(i)]
    assert 400 < len(chosen) < 600


def test_the_option_parses_stages_and_refuses_others():
    assert torch_end.parse("none") is None
    assert torch_end.parse("auto", "ci") == torch_end.PROFILES["ci"]
    assert torch_end.parse("all").stages == torch_end.STAGES
    assert torch_end.parse("torch-export").stages == ("torch-export",)
    from harness.converters import PathError

    with pytest.raises(PathError, match="takes 'onnx' artifacts"):
        torch_end.parse("onnx2torch")


def test_parity_check_offers_the_stages_for_a_file(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from harness.cli import main

    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"]), helper.make_node("Relu", ["y"], ["z"])],
        "flatten", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 8])],
        [numpy_helper.from_array(np.array([-1, 8], dtype=np.int64), "shape")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "flatten.onnx"
    onnx.save(model, str(path))
    code = main(["check", str(path), "--paths", "onnx>onnx2torch", "--torch-end",
                 "torch-export,torch-onnx-ts", "--report", "none", "--json", "-q"])
    payload = json.loads(capsys.readouterr().out)
    rows = {row["leg"]: row for row in payload["legs"]}
    assert rows["onnx>onnx2torch>torch-onnx-ts"]["verdict"] == "agrees"
    assert rows["onnx>onnx2torch>torch-onnx-ts"]["results"] == ["pass", "pass"]
    export = rows["onnx>onnx2torch>torch-export"]
    assert export["verdict"] == "error" and export["category"] == "export_error"
    assert "blocked at: onnx2torch/node_converters/reshape.py" in export["message"]
    assert code == 1


def test_a_module_that_makes_an_empty_tensor_is_exported_in_a_child():
    """The TorchScript exporter divides by zero on an empty tensor's reshape (SIGFPE, torch
    2.15): such a module exports in a forked child and its crash is the leg's error; any
    other exports in this process (a fork of a test worker costs about 0.1 s)."""
    import torch

    from harness.converters.torch_onnx import watched_forward

    def makes_an_empty_tensor(module, args) -> bool:
        return watched_forward(module, args).empty

    class Shift(torch.nn.Module):  # onnx2torch's exclusive CumSum, over a length-1 axis
        def forward(self, x):
            index = torch.arange(1, x.shape[0])
            return torch.reshape(index, [x.shape[0] - 1, 1]).float().sum() + x

    assert makes_an_empty_tensor(Shift(), (torch.zeros(1, 3),))
    assert not makes_an_empty_tensor(Shift(), (torch.zeros(2, 3),))
    assert makes_an_empty_tensor(torch.nn.Identity(), (torch.zeros(0, 3),))
    assert not makes_an_empty_tensor(torch.nn.Linear(3, 2), (torch.zeros(1, 3),))


def test_a_module_that_catches_a_torch_error_is_exported_in_a_child():
    """torch's tracer crashes (SIGSEGV, torch 2.15) where a traced op raises and the module
    catches it and goes on, as onnx2pytorch's Expand does: the export runs in a child, and
    the crash is the leg's error, not the process'."""
    import torch

    from harness.converters import Artifact, ConvertOptions, get
    from harness.converters.torch_onnx import watched_forward
    from harness.converters.torch_tracing import ExportError

    class ExpandOrMultiply(torch.nn.Module):
        def forward(self, x):
            try:
                out = x.expand(1, 1, 1)
            except RuntimeError:
                out = x * torch.ones(1, 1, 1)
            return -out

    class Expands(torch.nn.Module):
        def forward(self, x):
            return -x.expand(2, 2, 3)

    assert watched_forward(ExpandOrMultiply(), (torch.zeros(2, 2, 3),)).caught
    assert not watched_forward(Expands(), (torch.zeros(1, 2, 3),)).may_crash_the_exporter
    options = ConvertOptions(example_inputs=(np.ones((2, 2, 3), np.float32),),
                             input_shapes=(((2, 2, 3),),))
    with pytest.raises(ExportError, match=r"crashed the process \(signal 11"):
        get("torch-onnx-ts").convert(Artifact("torch", ExpandOrMultiply(), ["x"]), options)


def test_the_watched_forward_names_each_output_the_exporter_is_given():
    import torch

    from harness.converters.torch_onnx import watched_forward

    class Two(torch.nn.Module):
        def forward(self, x):
            return x + 1, x * 2

    assert watched_forward(Two(), (torch.zeros(2),)).names == ["output_0", "output_1"]
    assert watched_forward(torch.nn.Identity(), (torch.zeros(2),)).names == ["output_0"]


def test_a_module_whose_forward_raises_is_exported_in_a_child_that_says_why():
    import torch

    from harness.converters.torch_onnx import Forward, watched_forward

    class Raises(torch.nn.Module):
        def forward(self, x):
            raise ValueError("no forward")

    assert watched_forward(Raises(), (torch.zeros(1),)) == Forward(None, True)

    from harness.converters import Artifact, ConvertOptions, get
    from harness.converters.torch_tracing import ExportError

    options = ConvertOptions(example_inputs=(np.zeros(1, np.float32),), input_shapes=(((1,),),))
    with pytest.raises(ExportError, match="no forward"):
        get("torch-onnx-ts").convert(Artifact("torch", Raises(), ["x"]), options)
