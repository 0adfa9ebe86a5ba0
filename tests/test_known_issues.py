import numpy as np
import pytest

from harness import known_issues, torch_end
from harness.known_issues import KnownIssue, KnownIssueFileError
from harness.pipeline import LegResult, _attribute
from harness.spec import LayerSpec, nested_layers

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


# The stages after a converted PyTorch module (harness.torch_end) on the converters' legs.
TORCH_END_LEGS = tuple(f"{base}>{stage}" for base in ("onnx>onnx2torch", "onnx>onnx2pytorch",
                                                       "keras>tf2onnx>onnx2torch")
                       for stage in torch_end.STAGES)


def test_the_shipped_file_loads_and_every_pin_matches_its_own_entry():
    issues = known_issues.load()
    assert issues
    for issue in issues:
        assert issue.url.startswith("https://")
        if issue.minimal is not None:
            legs = [leg for leg in ("keras", "keras>tf2onnx", "keras>tf2onnx>onnx2torch",
                                    "keras>tf2onnx>onnx2pytorch", "keras>keras-onnx",
                                    "keras>h5", "keras>keras-torch", "keras>savedmodel",
                                    "onnx", "onnx>onnx2torch", "onnx>onnx2pytorch",
                                    "onnx>ort-optimized", "mat", "mat>mat2torch",
                                    "keras>tf2onnx>ort-optimized", *TORCH_END_LEGS)
                    if issue.matches_case(issue.minimal, leg)]
            assert legs, f"{issue.id}: its minimal spec does not match its own entry"


@pytest.mark.parametrize("body, message", [
    ("[[issue]]\nid = 'a'\nurl = 'u'\nreason = 'r'\n", "missing key 'legs'"),
    ("[[issue]]\nid='a'\nurl='u'\nreason='r'\nlegs='*'\n" * 2, "duplicate ids"),
    ("[[issue]\n", "not valid TOML"),
])
def test_bad_pattern_files_name_the_file_and_entry(tmp_path, body, message):
    path = tmp_path / "known.toml"
    path.write_text(body)
    with pytest.raises(KnownIssueFileError, match=message) as info:
        known_issues.load(path)
    assert str(path) in str(info.value)


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
    from harness.pipeline import Harness, ParityFailure

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


def test_a_known_source_failure_is_the_cases_xfail_and_an_unknown_one_raises():
    pytest.importorskip("tensorflow")
    from harness.pipeline import Harness, SourceError

    source_bug = KnownIssue(id="src", url="https://example.invalid/2", reason="Keras refuses it",
                            legs="keras", category="source_error",
                            message="not supported in conjunction with")
    case = Harness("keras>tf2onnx", known_issues=[source_bug]).run(STRIDED_DILATED)
    assert [(leg.leg, leg.verdict, leg.category) for leg in case.legs] == [
        ("keras", "xfail", "source_error")]
    assert case.legs[0].known_issue["id"] == "src"
    with pytest.raises(SourceError, match="cannot build the Keras source of Conv2D"):
        Harness("keras>tf2onnx", known_issues=[]).run(STRIDED_DILATED)


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
    from harness.pipeline import Harness

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
