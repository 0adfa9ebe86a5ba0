"""A node converter's entry claims a failure only where a node holds what its bug needs (its
``where`` check, harness/core/structure/). onnx2torch's Selu entry claimed every "gamma
parameter must be" on a Selu, and its ReduceMax entry every shape or value mismatch of a
ReduceMax: a fault in the converter that fails the op's common form (the default constants,
axes all positive) that way read as the known bug, and the gate passed."""

from __future__ import annotations

import dataclasses

import pytest
import torch  # noqa: F401  (before anything imports TensorFlow)

from harness.core import known_issues, structure
from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx2torch")

# entry id -> its where check
WHERE = {
    "onnx2torch-selu-fixed-constants": "selu-constants-not-default",
    "onnx2torch-prelu-slope-as-channels": "prelu-slope-read-as-channels",
    "onnx2torch-reduce-negative-axes": "reduce-axes-with-a-negative",
    "onnx2torch-conv-transpose-output-shape": "conv-transpose-output-shape",
    "onnx2torch-flatten-axis": "flatten-axis-at-an-end",
    "onnx2torch-unsqueeze-negative-axes": "unsqueeze-axes-with-a-negative",
    "onnx2torch-squeeze-negative-axes": "squeeze-axes-with-a-negative",
    "onnx2torch-maxpool-ceil-mode-shape": "max-pool-ceil-mode",
    "onnx2pytorch-gather-negative-axis": "gather-axis-negative",
    "onnx-pool-padding-only-window": "pool-window-of-padding-only",
    "onnx-reference-average-pool-ceil-mode-overhang-padded-first":
        "pool-ceil-mode-overhang-of-two",
}
ENTRIES = {issue.id: issue for issue in known_issues.load() if issue.id in WHERE}


def received(spec: LayerSpec):
    return Harness("onnx>onnx2torch").read_source(spec).artifact


def twin(entry: str, index: int = 0, input_shapes=None, **attrs) -> LayerSpec:
    """The entry's minimal spec with other attribute values: the same op without the bug's
    cause."""
    spec = ENTRIES[entry].minimals[index]
    return dataclasses.replace(spec, attrs={**spec.attrs, **attrs},
                               input_shapes=input_shapes or spec.input_shapes)


def without(entry: str, *names: str) -> LayerSpec:
    """The entry's first minimal spec with ``names`` left out: their defaults."""
    spec = ENTRIES[entry].minimals[0]
    return dataclasses.replace(spec, attrs={k: v for k, v in spec.attrs.items()
                                            if k not in names})


def axes(*values: int) -> list:
    return ["in", {"const": list(values), "dtype": "int64"}]


def test_each_entry_names_its_check():
    """Their minimal specs hold their checks (test_structure_motif_where.py)."""
    assert {entry: ENTRIES[entry].where for entry in WHERE} == WHERE


TWINS = {
    "selu-default-constants": ("onnx2torch-selu-fixed-constants",
                               without("onnx2torch-selu-fixed-constants", "alpha", "gamma")),
    "selu-default-written": ("onnx2torch-selu-fixed-constants",
                             twin("onnx2torch-selu-fixed-constants",
                                  gamma=1.05070102214813232421875)),
    "prelu-per-channel": ("onnx2torch-prelu-slope-as-channels",
                          twin("onnx2torch-prelu-slope-as-channels",
                               input_shapes=((1, 2, 2), (2, 1)))),
    "prelu-along-the-last-axis": ("onnx2torch-prelu-slope-as-channels",
                                  twin("onnx2torch-prelu-slope-as-channels",
                                       input_shapes=((1, 3, 2), (2,)))),
    "reduce-keepdims": ("onnx2torch-reduce-negative-axes",
                        twin("onnx2torch-reduce-negative-axes", keepdims=1)),
    "reduce-positive-axes": ("onnx2torch-reduce-negative-axes",
                             twin("onnx2torch-reduce-negative-axes", axes=[0, 1])),
    "reduce-one-negative-axis": ("onnx2torch-reduce-negative-axes",
                                 twin("onnx2torch-reduce-negative-axes", axes=[-1])),
    "conv-transpose-without-output-shape": (
        "onnx2torch-conv-transpose-output-shape",
        without("onnx2torch-conv-transpose-output-shape", "output_shape")),
    "flatten-axis-1": ("onnx2torch-flatten-axis",
                       twin("onnx2torch-flatten-axis", axis=1, input_shapes=((2, 3),))),
    "flatten-axis-minus-1": ("onnx2torch-flatten-axis",
                             twin("onnx2torch-flatten-axis", axis=-1, input_shapes=((2, 3),))),
    "unsqueeze-positive-axes": ("onnx2torch-unsqueeze-negative-axes",
                                twin("onnx2torch-unsqueeze-negative-axes",
                                     operands=axes(0, 2))),
    "unsqueeze-one-negative-axis": ("onnx2torch-unsqueeze-negative-axes",
                                    twin("onnx2torch-unsqueeze-negative-axes",
                                         operands=axes(-1))),
    "squeeze-positive-axes": ("onnx2torch-squeeze-negative-axes",
                              twin("onnx2torch-squeeze-negative-axes", operands=axes(0, 2))),
    "max-pool-floor": ("onnx2torch-maxpool-ceil-mode-shape",
                       twin("onnx2torch-maxpool-ceil-mode-shape", ceil_mode=0)),
    "pool-window-reaching-the-input": ("onnx-pool-padding-only-window",
                                       twin("onnx-pool-padding-only-window", 1, pads=[1, 0])),
    "pool-without-dilation": ("onnx-pool-padding-only-window",
                              twin("onnx-pool-padding-only-window", 0, dilations=[1])),
    "average-pool-overhang-of-one": (
        "onnx-reference-average-pool-ceil-mode-overhang-padded-first",
        twin("onnx-reference-average-pool-ceil-mode-overhang-padded-first",
             input_shapes=((1, 1, 5),))),
    "gather-positive-axis": ("onnx2pytorch-gather-negative-axis",
                             twin("onnx2pytorch-gather-negative-axis", axis=2)),
}


@pytest.mark.parametrize("name", list(TWINS))
def test_the_entry_does_not_claim_its_message_on_a_twin_without_the_cause(name):
    """The entry's own message, on the same op without the bug's cause, is a failure: what
    a fault elsewhere in the op's converter says."""
    entry, spec = TWINS[name]
    issue = ENTRIES[entry]
    model = received(spec)
    assert not structure.holds(issue.where, model, None)
    assert not issue.matches_failure("mismatch", "The shapes do not match; not close; "
                                     "gamma parameter must be 2.1; tuple index out of range; "
                                     "Dimension out of range", (model, None))


@pytest.mark.parametrize(("axis", "shape"), [(1, (3,)), (2, (2, 3)), (-2, (2, 3))])
def test_a_flatten_axis_at_the_end_of_the_dims_is_the_bug_too(axis, shape):
    """Axis 1 of a 1-D input is its rank: onnx2torch fails there as at axis 0 (a golden case
    of the default axis on a 1-D input)."""
    spec = twin("onnx2torch-flatten-axis", axis=axis, input_shapes=(shape,))
    assert structure.holds("flatten-axis-at-an-end", received(spec), None)
    [leg] = Harness("onnx>onnx2torch", diagnose=False).run(spec).legs
    assert leg.verdict == "xfail", (leg.verdict, leg.message)


NIGHTLY = {  # found by the nightly profile, seed 7 (2026-11-29)
    "int8-max-pool-of-padding-only": LayerSpec(
        kind="MaxPool", source="onnx", dtype="int8", seed=0, input_shapes=((1, 1, 1, 2),),
        attrs={"auto_pad": "NOTSET", "ceil_mode": 0, "dilations": [2, 1],
               "kernel_shape": [2, 2], "opset": 17, "outputs": 1, "pads": [1, 0, 1, 0],
               "storage_order": 0, "strides": [1, 1]}),
    "int64-reduce-max-of-mixed-axes": LayerSpec(
        kind="ReduceMax", source="onnx", dtype="int64", seed=0, input_shapes=((2, 2, 1, 1),),
        attrs={"axes": [1, -2], "keepdims": 0, "opset": 17}),
    "float16-average-pool-ceil-overhang": LayerSpec(
        kind="AveragePool", source="onnx", dtype="float16", seed=0, input_shapes=((1, 1, 4),),
        attrs={"auto_pad": "NOTSET", "kernel_shape": [3], "strides": [3], "pads": [0, 0],
               "ceil_mode": 1, "count_include_pad": 0, "opset": 17}),
}


@pytest.mark.parametrize("name", list(NIGHTLY))
def test_the_nightly_profiles_finds_are_known_issues(name):
    """Integers are compared exactly, and a mismatch says "Values differ", which the
    entries' messages did not name; the reference's ceil_mode AveragePool is a new entry."""
    result = Harness("onnx>onnx2torch", diagnose=False).run(NIGHTLY[name])
    failing = [(leg.leg, leg.verdict, leg.message) for leg in result.legs
               if leg.verdict in ("fail", "error")]
    assert not failing
    assert any(leg.verdict == "xfail" for leg in result.legs)


def test_a_selu_refused_with_its_default_constants_is_no_known_issue(monkeypatch):
    """onnx2torch's Selu converter planted with its gamma check turned (a one-line fault of
    ``harness.tools.mutants``' kind): a Selu with the default constants is now refused as
    "gamma parameter must be", the entry's message, and that is no known issue; clean, it
    passes, and a Selu with another gamma stays the known issue."""
    import inspect

    from onnx2torch.node_converters import activations, registry

    harness = Harness("onnx>onnx2torch", diagnose=False)
    default = without("onnx2torch-selu-fixed-constants", "alpha", "gamma")
    [leg] = harness.run(default).legs
    assert leg.verdict == "pass", leg.message
    [leg] = harness.run(ENTRIES["onnx2torch-selu-fixed-constants"].minimals[0]).legs
    assert leg.verdict == "xfail", leg.message

    key = registry.OperationDescription(domain="", operation_type="Selu", version=6)
    source = inspect.getsource(registry._CONVERTER_REGISTRY[key])
    planted = source.replace("if not np.isclose(gamma, default_gamma):",
                             "if np.isclose(gamma, default_gamma):")
    assert planted != source, "onnx2torch's Selu no longer checks its gamma so"
    namespace = dict(vars(activations))
    namespace["add_converter"] = lambda **_: (lambda converter: converter)
    exec(compile(planted, activations.__file__, "exec"), namespace)  # noqa: S102 (our fault)
    monkeypatch.setitem(registry._CONVERTER_REGISTRY, key, namespace["_"])

    [leg] = harness.run(default).legs
    assert leg.verdict in ("fail", "error") and leg.known_issue is None, (leg.verdict,
                                                                          leg.message)
    assert "gamma parameter must be" in leg.message
