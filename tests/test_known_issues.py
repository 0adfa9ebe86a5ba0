from pathlib import Path

import numpy as np
import pytest

from harness.core import known_issues
from harness.core.known_issues import KnownIssue, KnownIssueFileError
from harness.core.spec import LayerSpec, nested_layers
from harness.run import side_paths, torch_end
from harness.run.pipeline import LegResult, _attribute
from tests.bad_files import assert_names_the_file

GELU = LayerSpec("Dense", {"units": 1, "activation": "gelu"}, ((1, 1),))
RELU = LayerSpec("Dense", {"units": 1, "activation": "relu"}, ((1, 1),))


def test_match_by_attributes_and_leg_glob():
    issue = KnownIssue(id="x", url="u", reason="r", legs="keras>*", attrs={"activation": "gelu"})
    assert issue.matches_case(GELU, "keras>tf2onnx")
    assert issue.matches_case(GELU, "keras>tf2onnx>onnx2torch")
    assert not issue.matches_case(RELU, "keras>tf2onnx")
    assert not issue.matches_case(GELU, "mat>torch")
    assert issue.strict


def test_message_entries_recognise_the_failure_and_are_not_strict():
    issue = KnownIssue(id="x", url="u", reason="r", legs="*>onnx2torch",
                       message=r"operation_type='Size'")
    assert not issue.strict
    assert issue.matches_failure("conversion_error", "NotImplementedError: ... operation_type='Size', ...")
    assert not issue.matches_failure("conversion_error", "operation_type='Erfc'")


# The stages after a converted PyTorch module (harness.run.torch_end) on the converters' legs.
TORCH_END_LEGS = tuple(f"{base}>{stage}" for base in ("onnx>onnx2torch", "onnx>onnx2pytorch",
                                                       "keras>tf2onnx>onnx2torch")
                       for stage in torch_end.STAGES)


def test_the_shipped_file_loads_and_every_pin_matches_its_own_entry():
    issues = known_issues.load()
    assert issues
    for issue in issues:
        assert issue.url.startswith("https://")
        assert issue.nature in known_issues.NATURES and issue.parties
    for pin in known_issues.pins(issues):
        issue = pin.issue
        if pin.spec.source != issue.source and issue.onnx_stage and (issue.kind or issue.attrs):
            # Matched through the ONNX model the stage is given (another source's case
            # converted to ONNX): the pinned test runs it.
            continue
        # The usual legs, and each "*>..." glob started from the spec's source directly or
        # through tf2onnx (the stages after a torch module: "*>onnx2torch>torch-export").
        started = [glob.replace("*", start, 1) for glob in issue.globs if glob.startswith("*>")
                   for start in (pin.spec.source, f"{pin.spec.source}>tf2onnx")]
        legs = [leg for leg in ("keras", "keras>tf2onnx", "keras>tf2onnx>onnx2torch",
                                "keras>tf2onnx>onnx2pytorch", "keras>keras-onnx",
                                "keras>h5", "keras>keras-torch", "keras>savedmodel",
                                "onnx", "onnx>onnx2torch", "onnx>onnx2pytorch",
                                "onnx>ort-optimized", "mat", "mat>mat2torch",
                                "keras>tf2onnx>ort-optimized", *TORCH_END_LEGS, *side_paths.ALL,
                                *started)
                if issue.matches_case(pin.spec, leg)]
        assert legs, f"{pin.id}: its minimal spec does not match its own entry"


ENTRY = "[[issue]]\nid='a'\nurl='u'\nreason='r'\nlegs='*'\n"


@pytest.mark.parametrize("body, message", [
    ("[[issue]]\nid = 'a'\nurl = 'u'\nreason = 'r'\n", "missing key 'legs'"),
    ((ENTRY + "nature='refusal'\nparty='tf2onnx'\n") * 2, "duplicate ids"),
    ("[[issue]\n", "not valid TOML"),
    (ENTRY + "party='tf2onnx'\n", r"issue\[0\] \(a\): missing key 'nature' \(one of wrong-output"),
    (ENTRY + "nature='bug'\nparty='tf2onnx'\n", "nature = 'bug' is not one of wrong-output"),
    (ENTRY + "nature='refusal'\n", "missing key 'party'"),
    (ENTRY + "nature='refusal'\nparty='tf2onnx2'\n", "party = 'tf2onnx2' is not one of"),
    (ENTRY + "nature='refusal'\nparty=['onnx2torch', 'torchh']\n", "party = 'torchh'"),
    (ENTRY + "nature='refusal'\nparty='torch'\nunpinned_reason=''\n",
     "unpinned_reason must be a non-empty string"),
])
def test_bad_pattern_files_name_the_file_and_entry(tmp_path, body, message):
    assert_names_the_file(tmp_path / "known.toml", body, known_issues.load, KnownIssueFileError,
                          message)


def test_a_file_is_parsed_once_and_again_when_edited(tmp_path, monkeypatch):
    path = tmp_path / "known.toml"
    path.write_text(ENTRY + "nature='refusal'\nparty='tf2onnx'\n")
    parsed = []
    parse = known_issues._parse_file
    monkeypatch.setattr(known_issues, "_parse_file", lambda f: parsed.append(f) or parse(f))
    first, again = known_issues.load(path), known_issues.load(path)
    assert [i.id for i in first] == [i.id for i in again] == ["a"] and len(parsed) == 1
    assert first is not again  # a list of its own each time: a caller may change it
    path.write_text(ENTRY.replace("id='a'", "id='b'") + "nature='refusal'\nparty='onnx'\n")
    assert [i.id for i in known_issues.load(path)] == ["b"] and len(parsed) == 2


def _leg(leg, verdict, known=None):
    return LegResult(path="p", leg=leg, stage=leg.rsplit(">", 1)[-1], runner="r",
                     verdict=verdict, category=None if verdict == "pass" else "numeric_mismatch",
                     known_issue=known)


def test_a_leg_downstream_of_a_known_bug_inherits_its_xfail_and_blame():
    upstream = _leg("keras>tf2onnx", "xfail", {"id": "k", "url": "u", "reason": "r"})
    upstream.blame = "tf2onnx"
    downstream = _attribute(_leg("keras>tf2onnx>onnx2torch", "error"), upstream)
    assert downstream.verdict == "xfail"
    assert downstream.known_issue["id"] == "k"
    assert downstream.blame == "tf2onnx"


def test_a_leg_that_fails_on_its_own_is_blamed_on_its_stage():
    upstream = _leg("keras>tf2onnx", "pass")
    downstream = _attribute(_leg("keras>tf2onnx>onnx2torch", "fail"), upstream)
    assert downstream.verdict == "fail" and downstream.blame == "onnx2torch"


def test_an_unknown_upstream_failure_is_blamed_upstream_but_still_fails():
    upstream = _attribute(_leg("keras>tf2onnx", "fail"), None)
    downstream = _attribute(_leg("keras>tf2onnx>onnx2torch", "fail"), upstream)
    assert downstream.verdict == "fail" and downstream.blame == "tf2onnx"


def test_a_strict_entry_that_no_longer_reproduces_fails_as_xpass():
    pytest.importorskip("tensorflow")
    from harness.run.pipeline import Harness, ParityFailure

    stale = KnownIssue(id="stale", url="https://example.invalid/1", reason="fixed long ago",
                       legs="keras>*", attrs={"activation": "relu"})
    case = Harness("keras>tf2onnx", known_issues=[stale]).run(RELU)
    assert [leg.verdict for leg in case.legs] == ["xpass"]
    with pytest.raises(ParityFailure, match="known issue stale no longer reproduces"):
        case.check()


STRIDED_DILATED = LayerSpec(
    "Conv2D", {"filters": 1, "kernel_size": [2, 2], "strides": [2, 2], "dilation_rate": [2, 2]},
    ((1, 6, 6, 1),),
)


def test_a_known_source_failure_is_the_cases_xfail_and_an_unknown_one_its_error():
    pytest.importorskip("tensorflow")
    from harness.run.pipeline import Harness

    source_bug = KnownIssue(id="src", url="https://example.invalid/2", reason="Keras refuses it",
                            legs="keras", category="source_error",
                            message="not supported in conjunction with")
    case = Harness("keras>tf2onnx", known_issues=[source_bug]).run(STRIDED_DILATED)
    assert [(leg.leg, leg.verdict, leg.category) for leg in case.legs] == [
        ("keras", "xfail", "source_error")]
    assert case.legs[0].known_issue["id"] == "src"
    unknown = Harness("keras>tf2onnx", known_issues=[]).run(STRIDED_DILATED)
    assert [(leg.leg, leg.verdict, leg.category) for leg in unknown.legs] == [
        ("keras", "error", "source_error")]
    assert "cannot build the Keras source of Conv2D" in unknown.legs[0].message


@pytest.mark.parametrize("bad, message", [
    (np.array([[1.0, -4.4e30]], np.float32), "implausible values"),
    (np.array([[1.0, np.nan]], np.float32), "non-finite value"),
])
def test_an_implausible_reference_is_a_source_error(bad, message):
    from harness.sources import SourceError
    from harness.sources.keras import check_plausible as _check_plausible

    with pytest.raises(SourceError, match=message):
        _check_plausible(RELU, [np.zeros(2, np.float32), bad])
    _check_plausible(RELU, [np.full((2, 2), 1e5, np.float32)])  # large but plausible


def _sequential(*layers):
    return LayerSpec("Sequential", {"layers": [{"kind": k, "attrs": a} for k, a in layers],
                                    "api": "functional"}, ((1, 2),))


GELU_DENSE = ("Dense", {"units": 1, "use_bias": True, "activation": "gelu"})
RELU_DENSE = ("Dense", {"units": 1, "use_bias": True, "activation": "relu"})


def test_a_model_matches_an_entry_through_any_of_its_layers():
    gelu = {i.id: i for i in known_issues.load()}["tf2onnx-gelu-erfc"]
    assert gelu.matches_case(_sequential(RELU_DENSE, GELU_DENSE), "keras>tf2onnx")
    functional = LayerSpec("Functional", {
        "nodes": [{"kind": "ReLU", "attrs": {}, "inputs": ["input_0"]},
                  {"kind": "Dense", "attrs": GELU_DENSE[1], "inputs": [0]},
                  {"shared": 1, "inputs": [1]}],
        "outputs": [2]}, ((1, 1),))
    assert gelu.matches_case(functional, "keras>tf2onnx")
    assert [k for k, _ in nested_layers(functional.kind, functional.attrs)] == ["Functional", "ReLU", "Dense"]


def test_a_strict_entry_does_not_match_a_model_without_its_trigger():
    """No false xpass: a model passes an attribute-only entry only if the layer is in it."""
    gelu = {i.id: i for i in known_issues.load()}["tf2onnx-gelu-erfc"]
    assert gelu.strict
    assert not gelu.matches_case(_sequential(RELU_DENSE, RELU_DENSE), "keras>tf2onnx")
    # Kind and attributes must hold for the same layer, not be spread over two.
    issue = KnownIssue(id="x", url="u", reason="r", legs="keras>*", kind="Conv1DTranspose",
                       attrs={"data_format": "channels_first"})
    spread = _sequential(("Conv1DTranspose", {"data_format": "channels_last"}),
                         ("Permute", {"dims": [2, 1], "data_format": "channels_first"}))
    assert not issue.matches_case(spread, "keras>tf2onnx")
    same = _sequential(("Conv1DTranspose", {"data_format": "channels_first"}))
    assert issue.matches_case(same, "keras>tf2onnx")


def test_entries_that_recognise_the_failure_come_before_attribute_only_ones():
    strict = KnownIssue(id="strict", url="u", reason="r", legs="keras>*",
                        attrs={"activation": "gelu"})
    worded = KnownIssue(id="worded", url="u", reason="r", legs="keras>*", kind="Sequential",
                        message="KeyError: 'keras_tensor")
    spec = LayerSpec("Sequential", {"layers": [{"kind": "Dense", "attrs": GELU_DENSE[1]}]},
                     ((1, 1),))
    assert [i.id for i in known_issues.candidates([strict, worded], spec, "keras>tf2onnx")] == [
        "worded", "strict"]


def test_a_functional_model_with_a_gelu_layer_is_the_gelu_known_issue():
    pytest.importorskip("tensorflow")
    from harness.run.pipeline import Harness

    spec = _sequential(RELU_DENSE, GELU_DENSE)
    case = Harness("keras>tf2onnx>onnx2torch,keras>tf2onnx>onnx2pytorch").run(spec)
    verdicts = {leg.leg: (leg.verdict, (leg.known_issue or {}).get("id")) for leg in case.legs}
    assert verdicts == {
        "keras>tf2onnx": ("xfail", "tf2onnx-gelu-erfc"),
        "keras>tf2onnx>onnx2torch": ("xfail", "tf2onnx-gelu-erfc"),
        # onnx2pytorch falls back to torch.erfc on the invalid model: a pass, not an xpass.
        "keras>tf2onnx>onnx2pytorch": ("pass", None),
    }


def test_an_onnx_entry_matches_an_attribute_left_at_its_schema_default():
    """A drawn ONNX op writes only the attributes it drew away from their defaults: a Resize
    without ``mode`` is nearest, and the entries naming ``mode = "nearest"`` cover it."""
    import harness.sources.onnx.kinds  # noqa: F401  (registers the ONNX ops)

    entry = next(issue for issue in known_issues.load()
                 if issue.id == "onnx2torch-resize-nearest-modes")
    spec = LayerSpec("Resize", {"opset": 17, "nearest_mode": "round_prefer_ceil"},
                     ((1, 1, 1, 2),), source="onnx")
    assert entry.matches_case(spec, "onnx>onnx2torch")
    linear = LayerSpec("Resize", {"opset": 17, "mode": "linear"}, ((1, 1, 1, 2),),
                       source="onnx")
    assert not entry.matches_case(linear, "onnx>onnx2torch")
    # Keras attributes are as the spec says: no defaults are filled in.
    assert known_issues._with_defaults("keras", "Resize", {}) == {}


# --- one entry per root cause, each pinned -----------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _onnx_model(node, inputs, initializers, output_shape):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [node], "pinned",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
        initializer=[helper.make_tensor(name, TensorProto.FLOAT, list(value.shape),
                                        value.ravel().tolist())
                     for name, value in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _clip_without_min():
    """torch.onnx's export of clamp(max=0.5): Clip's min input left out (an empty name)."""
    from onnx import helper

    return _onnx_model(helper.make_node("Clip", ["x", "", "max"], ["y"]), [("x", [1, 3])],
                       {"max": np.array(0.5, np.float32)}, [1, 3])


def _conv_transpose_asymmetric_pads():
    from onnx import helper

    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], kernel_shape=[2, 2],
                            strides=[2, 2], pads=[0, 0, 1, 1])
    return _onnx_model(node, [("x", [1, 1, 2, 2])],
                       {"w": np.ones((1, 1, 2, 2), np.float32)}, [1, 1, 3, 3])


HAND_BUILT = {"onnx2torch-clip-omitted-min": _clip_without_min,
              "onnx2torch-asymmetric-conv-transpose": _conv_transpose_asymmetric_pads}


@pytest.mark.parametrize("issue_id", sorted(HAND_BUILT))
def test_entries_pinned_by_a_hand_built_model_still_reproduce(issue_id):
    """The entries whose trigger no drawn kind writes (an omitted optional input, asymmetric
    ConvTranspose pads): the model as an exporter writes it, converted by the real
    onnx2torch; a fix upstream fails here, asking for the entry to go."""
    pytest.importorskip("onnx2torch")
    import onnxruntime
    import torch
    from onnx2torch import convert

    issue = {i.id: i for i in known_issues.load()}[issue_id]
    assert issue.pinned_by.endswith("::" + test_entries_pinned_by_a_hand_built_model_still_reproduce.__name__)
    model = HAND_BUILT[issue_id]()
    x = np.linspace(-1, 1, int(np.prod([d.dim_value for d in
                                         model.graph.input[0].type.tensor_type.shape.dim])),
                    dtype=np.float32).reshape([d.dim_value for d in
                                               model.graph.input[0].type.tensor_type.shape.dim])
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    session.run(None, {"x": x})  # a valid model: onnxruntime runs it
    try:
        module = convert(model).eval()
        with torch.no_grad():
            module(torch.from_numpy(x))
    except Exception as exc:  # noqa: BLE001 (whatever onnx2torch raises is compared below)
        message = f"{type(exc).__name__}: {exc}"
        assert issue.matches_failure(None, message), (issue_id, message)
        return
    pytest.fail(f"{issue_id} no longer reproduces: fixed upstream? Remove the entry ({issue.url})")


def _named_test_exists(node_id: str) -> bool:
    path, _, name = node_id.partition("::")
    function = name.split("[", 1)[0]
    file = ROOT / path
    return file.is_file() and f"def {function}(" in file.read_text()


def test_every_entry_pins_something_that_runs_or_says_why_not():
    """A minimal spec (a pinned strict-xfail test), a named test, or a written reason."""
    unpinned = []
    for issue in known_issues.load():
        if issue.pinned_by is not None:
            assert _named_test_exists(issue.pinned_by), (
                f"{issue.id}: pinned_by names {issue.pinned_by!r}, which does not exist")
        if not issue.minimals and issue.pinned_by is None:
            unpinned.append(issue)
    assert all(issue.unpinned_reason for issue in unpinned), [
        issue.id for issue in unpinned if not issue.unpinned_reason]
    # The list is short and each says why; a new entry without a pin needs a reason too.
    assert {issue.id for issue in unpinned} == {
        "tensorflow-onednn-conv-garbage", "h5-unsupported-by-tf-keras",
        "tensorflow-onednn-savedmodel-separable-conv"}


def test_no_two_entries_describe_the_same_root_cause():
    """Two entries whose minimal specs, legs and messages coincide are one entry."""
    assert known_issues.coinciding(known_issues.load()) == []
    spec = LayerSpec("Dense", {"units": 1}, ((1, 1),))
    one = KnownIssue(id="one", url="u", reason="r", legs="keras>*onnx*", message="m",
                     minimals=(spec,))
    twin = KnownIssue(id="twin", url="u", reason="r", legs="keras>*onnx*", message="m",
                      minimals=(spec,))
    assert known_issues.coinciding([one, twin]) == [
        ("one", "twin", "the same minimal spec on keras>*onnx*"),
        ("one", "twin", "the same failure on the same legs")]
    other_leg = KnownIssue(id="other", url="u", reason="r", legs="keras", message="m2",
                           minimals=(spec,))
    assert known_issues.coinciding([one, other_leg]) == []
    told_apart = [KnownIssue(id=f"by-{check}", url="u", reason="r", legs="onnx>ort-optimized",
                             kind="Pow", category="numeric_mismatch", where=check)
                  for check in ("layer-norm-chain-misread", "layer-norm-epsilon-first")]
    assert known_issues.coinciding(told_apart) == []


def test_the_duplicates_found_by_the_audit_are_one_entry_each():
    ids = {issue.id for issue in known_issues.load()}
    merged = {"torch-cpu-half-avg-pool3d", "onnx2torch-no-globalmaxpool", "onnx2torch-no-size",
              "onnx2torch-no-reversesequence", "onnx2torch-no-lstm", "onnx2torch-no-gru",
              "onnx2torch-no-rnn", "onnx2torch-onnx-asymmetric-avgpool",
              "onnx2torch-global-max-pool", "onnx2torch-size-op", "onnx2torch-rnn-ops",
              "onnx2torch-reverse-sequence", "tensorflow-onednn-conv-transpose-primitive-1d-3d"}
    assert not ids & merged
    assert {"torch-cpu-avgpool3d-no-half", "onnx2torch-no-converter",
            "onnx2torch-asymmetric-avgpool"} <= ids


# --- a converter's bug is the same bug whatever the source --------------------------------------


def _received(*nodes):
    from onnx import helper

    from harness.converters import Artifact

    graph = helper.make_graph(list(nodes), "g", [], [])
    return Artifact("onnx", helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


def test_an_entry_about_an_onnx_node_matches_where_another_source_wrote_that_node():
    from onnx import helper

    entry = KnownIssue(id="x", url="u", reason="r", legs="onnx>onnx2torch", source="onnx",
                       kind="Resize", attrs={"mode": "nearest"}, category="numeric_mismatch")
    keras_case = LayerSpec("Resizing", {"interpolation": "nearest"}, ((1, 2, 2, 1),))
    # Resize without a mode attribute: nearest by the schema's default.
    nearest = _received(helper.make_node("Resize", ["x", "", "s"], ["y"]))
    linear = _received(helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear"))
    assert entry.matches_case(keras_case, "keras>tf2onnx>onnx2torch", nearest)
    assert not entry.matches_case(keras_case, "keras>tf2onnx>onnx2torch", linear)
    assert not entry.matches_case(keras_case, "keras>tf2onnx>onnx2pytorch", nearest)
    assert not entry.matches_case(keras_case, "keras>tf2onnx", nearest)  # another stage
    assert not entry.matches_case(keras_case, "keras>tf2onnx>onnx2torch")  # no model given
    # A match through another source's model recognises a failure, never declares an xpass.
    assert not entry.matches_directly(keras_case, "keras>tf2onnx>onnx2torch")
    scoped = KnownIssue(id="y", url="u", reason="r", legs="onnx>onnx2torch", source="onnx",
                        kind="Resize", source_only="only the ONNX source's reading is wrong")
    assert not scoped.matches_case(keras_case, "keras>tf2onnx>onnx2torch", nearest)


def test_an_entry_recognised_by_its_message_matches_every_source_on_that_stage():
    entry = {i.id: i for i in known_issues.load()}["onnx2torch-auto-pad-same"]
    assert entry.source == "onnx" and entry.kind is None and entry.source_only is None
    keras_case = LayerSpec("Conv2D", {"padding": "same"}, ((1, 4, 4, 1),))
    mat_case = LayerSpec("SimpleNN", {}, ((1, 4, 4, 1),), source="mat")
    for spec, leg in [(keras_case, "keras>tf2onnx>onnx2torch"),
                      (keras_case, "keras>keras-onnx>onnx2torch"),
                      (mat_case, "mat>mat2onnx>onnx2torch")]:
        assert entry.matches_case(spec, leg), leg
    assert not entry.matches_case(keras_case, "keras>tf2onnx>onnx2pytorch")


def test_onnx2torchs_same_padding_refusal_is_known_on_a_keras_leg_and_an_onnx_leg():
    """#23: the refusal a Keras model meets through tf2onnx (a free-spatial Conv2D with
    padding='same' becomes auto_pad SAME_UPPER) is the entry the ONNX source pins."""
    pytest.importorskip("onnx2torch")
    pytest.importorskip("tensorflow")
    from harness.run.pipeline import Harness

    entry = {i.id: i for i in known_issues.load()}["onnx2torch-auto-pad-same"]
    conv = LayerSpec("Conv2D", {"filters": 1, "kernel_size": [3, 3], "strides": [1, 1],
                                "padding": "same", "dilation_rate": [1, 1], "groups": 1,
                                "use_bias": True, "activation": "linear",
                                "data_format": "channels_last"},
                     ((1, 4, 4, 1),), free_dims=("spatial",))
    keras_legs = {leg.leg: leg for leg in Harness("keras>tf2onnx>onnx2torch").run(conv).legs}
    onnx_legs = {leg.leg: leg for leg in Harness("onnx>onnx2torch").run(entry.minimal).legs}
    for leg in (keras_legs["keras>tf2onnx>onnx2torch"], onnx_legs["onnx>onnx2torch"]):
        assert (leg.verdict, (leg.known_issue or {}).get("id")) == (
            "xfail", "onnx2torch-auto-pad-same"), (leg.leg, leg.verdict, leg.message)
    # tf2onnx 1.17 writes an extra leading dimension for a free-spatial convolution in about
    # one conversion in seven, by memory layout (tests/test_free_spatial_conv.py): its own
    # entry then marks the tf2onnx leg, and onnx2torch refuses the node either way.
    tf2onnx_leg = keras_legs["keras>tf2onnx"]
    assert tf2onnx_leg.verdict == "pass" or tf2onnx_leg.known_issue["id"] == \
        "tf2onnx-free-spatial-conv-extra-dim", (tf2onnx_leg.verdict, tf2onnx_leg.message)


def test_the_pages_counts_are_recomputed_from_the_toml_files_by_hand():
    """docs/known-issues.md's counts per nature and per party, against the files read with
    tomllib alone (not through the loader the page's generator uses)."""
    import re
    from collections import Counter

    tomllib = known_issues.tomllib
    files = [known_issues.DEFAULT_FILE, *sorted(known_issues.MORE_FILES.glob("*.toml"))]
    entries = [raw for path in files for raw in tomllib.loads(path.read_text())["issue"]]
    natures = Counter(raw["nature"] for raw in entries)
    parties = Counter(party for raw in entries
                      for party in ([raw["party"]] if isinstance(raw["party"], str)
                                    else raw["party"]))
    page = (ROOT / "docs" / "known-issues.md").read_text()
    assert page.count(f"{len(entries)} entries, one per root cause") == 1
    for nature, count in natures.items():
        assert re.search(rf"^\| {nature} \| [^|]+ \| {count} \|$", page, re.M), nature
    for party, count in parties.items():
        assert re.search(rf"^\| {re.escape(party)} \| {count} \|", page, re.M), party
    reported = sum(bool(re.search(r"/(issues|pull)/\d+$", raw["url"])) for raw in entries)
    assert f"- {reported} entries cite an upstream issue or pull request" in page


def test_a_users_keras_file_meets_the_onnx_sources_entry(tmp_path, capsys):
    """#23: a user's fully convolutional Keras model (a denoiser: 'same' convolutions on an
    input of any size) checked with ``parity check``: onnx2torch's refusal of the
    SAME_UPPER Conv that tf2onnx writes is the known onnx2torch-auto-pad-same, not a plain
    'unsupported'."""
    pytest.importorskip("onnx2torch")
    pytest.importorskip("tensorflow")
    import json

    import keras

    from harness.cli import main

    inputs = keras.Input((None, None, 1))
    hidden = keras.layers.Conv2D(2, 3, padding="same", activation="relu")(inputs)
    keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same")(hidden)).save(
        tmp_path / "denoiser.keras")
    main(["check", str(tmp_path / "denoiser.keras"), "--paths", "keras>tf2onnx>onnx2torch",
          "--json", "-q", "--report", "none"])
    legs = {leg["leg"]: leg for leg in json.loads(capsys.readouterr().out)["legs"]}
    # Not the tf2onnx leg's verdict: on a free-spatial convolution tf2onnx 1.17 writes an
    # extra leading dimension in about one conversion in seven, by memory layout
    # (tests/test_free_spatial_conv.py); onnx2torch refuses the node either way.
    torch_leg = legs["keras>tf2onnx>onnx2torch"]
    assert (torch_leg["verdict"], torch_leg["known_issue"]["id"]) == (
        "unsupported", "onnx2torch-auto-pad-same")
    assert torch_leg["known_issue"]["nature"] == "refusal"


def test_an_attribute_may_name_the_values_of_several_variants():
    entry = {i.id: i for i in known_issues.load()}["onnx-reference-conv-transpose-group-bias"]
    for group, matches in ((1, False), (2, True), (3, True)):
        spec = LayerSpec("ConvTranspose", {"opset": 17, "group": group}, ((1, 6, 2),),
                         source="onnx")
        assert entry.matches_case(spec, "onnx") is matches, group


BOUNDED = {
    # { any_above = 1 }: a dilated window on any axis, not an undilated one
    "onnxruntime-pool-same-dilations": (
        "MaxPool", "dilations", {"opset": 17, "auto_pad": "SAME_UPPER", "kernel_shape": [2, 2]},
        (([2], True), ([1, 3], True), ([1, 1], False), (None, False))),
    # { any_below = 0 }: an axis counted from the back among others, not axes from the front
    "onnxruntime-resize-negative-axes-aspect-policy": (
        "Resize", "axes", {"opset": 18, "keep_aspect_ratio_policy": "not_smaller"},
        (([-1], True), ([2, -1], True), ([2, 3], False), (None, False))),
}


@pytest.mark.parametrize("issue_id", sorted(BOUNDED))
def test_an_attribute_may_name_values_above_or_below_a_bound(issue_id):
    """A bounded attribute matches where any element passes the bound, and not a spec
    without the attribute."""
    kind, name, base, cases = BOUNDED[issue_id]
    entry = {i.id: i for i in known_issues.load()}[issue_id]
    for value, matches in cases:
        attrs = dict(base) if value is None else {**base, name: value}
        spec = LayerSpec(kind, attrs, ((1, 1, 3, 3),), source="onnx")
        assert entry.matches_case(spec, "onnx") is matches, value


@pytest.mark.parametrize(("value", "bound"), [
    (True, {"any_above": 0}), ("2", {"any_above": 1}),
    (False, {"any_below": 1}), ("-1", {"any_below": 0})])
def test_a_bound_reads_numbers_only(value, bound):
    assert not known_issues._attr_matches(value, bound)


def test_an_entry_may_name_several_dtypes():
    (issue,) = [i for i in known_issues.load()
                if i.id == "tflite-float16-float64-no-builtin-kernels"]
    assert issue.dtype == ("float64", "float16", "mixed_float16")
    for dtype, covered in (("float16", True), ("float64", True), ("mixed_float16", True),
                           ("float32", False)):
        spec = LayerSpec("Subtract", {}, ((1, 1), (1, 1)), dtype=dtype, seed=0)
        assert issue.covers_axes(spec) is covered, dtype


def test_judging_only_the_entries_that_may_recognise_a_failure_picks_the_same_entry(
        monkeypatch):
    """A failing leg is matched only against entries whose category and message (or a
    structural check) could recognise it: the pins of the ONNX entries, real converters,
    judge to the same verdict and entry as when every entry on the leg is tried."""
    from harness.run.pipeline import Harness

    paths = "onnx>onnx2torch,onnx>onnx2pytorch,onnx>ort-optimized"
    pins = [pin for pin in known_issues.pins(source="onnx")
            if any(glob.rsplit(">", 1)[-1] in paths for glob in pin.issue.globs)][:40]

    def judged():
        harness = Harness(paths, diagnose=False)
        return [[(leg.leg, leg.verdict, (leg.known_issue or {}).get("id"))
                 for leg in harness.run(pin.spec).legs] for pin in pins]

    filtered = judged()
    monkeypatch.setattr(KnownIssue, "may_match_failure", lambda self, category, message: True)
    assert filtered == judged()
    assert sum(verdict == "xfail" for case in filtered for _, verdict, _ in case) >= 20
