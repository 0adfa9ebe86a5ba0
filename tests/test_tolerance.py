import pytest

from harness.core.tolerance import PolicyError, Rule, TolerancePolicy
from tests.bad_files import assert_names_the_file


def test_defaults_per_dtype():
    policy = TolerancePolicy()
    t32 = policy.for_case("Conv2D", "keras>tf2onnx", "cpu", "float32")
    t16 = policy.for_case("Conv2D", "keras>tf2onnx", "cpu", "float16")
    assert t16.atol > t32.atol and t16.rtol > t32.rtol
    assert t32.rule == "default float32"


def test_most_specific_rule_wins_and_later_breaks_ties():
    policy = TolerancePolicy(rules=[
        Rule(atol=1, rtol=1, kind="Conv2D"),
        Rule(atol=2, rtol=2, kind="Conv2D", leg="*>onnx2torch"),
        Rule(atol=3, rtol=3, kind="Conv2D", leg="*>onnx2torch", device="cuda"),
        Rule(atol=4, rtol=4, kind="Conv2D"),
    ])
    assert policy.for_case("Conv2D", "keras>tf2onnx", "cpu", "float32").atol == 4
    assert policy.for_case("Conv2D", "keras>tf2onnx>onnx2torch", "cpu", "float32").atol == 2
    assert policy.for_case("Conv2D", "keras>tf2onnx>onnx2torch", "cuda", "float32").atol == 3
    assert policy.for_case("Dense", "keras>tf2onnx", "cpu", "float32").rule == "default float32"


def test_policy_from_pyproject(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text(
        "[tool.parity.tolerance.float32]\natol = 2e-5\nrtol = 3e-5\n\n"
        "[[tool.parity.tolerance.rules]]\nkind = 'Activation'\natol = 1e-4\nrtol = 1e-4\n"
        "reason = 'erf differs by a few ULP'\n"
    )
    policy = TolerancePolicy.from_pyproject(path)
    assert policy.for_case("Dense", "keras>tf2onnx", "cpu", "float32").atol == 2e-5
    act = policy.for_case("Activation", "keras>tf2onnx", "cpu", "float32")
    assert act.atol == 1e-4 and "erf differs" in act.rule


@pytest.mark.parametrize("body, message", [
    ("[[tool.parity.tolerance.rules]]\nkind = 'X'\natol = -1\nrtol = 0\n", "non-negative"),
    ("[[tool.parity.tolerance.rules]]\nkind = 'X'\natol = 1\nrtol = 1\nwhen = 'y'\n", "unknown keys"),
    ("[tool.parity.tolerance]\nfloat32 = 3\n", "unexpected entry"),
    ("[tool.parity.tolerance\n", "not valid TOML"),
])
def test_bad_policy_files_name_the_file_and_entry(tmp_path, body, message):
    assert_names_the_file(tmp_path / "pyproject.toml", body, TolerancePolicy.from_pyproject,
                          PolicyError, message)


def test_rules_can_require_attribute_values():
    policy = TolerancePolicy(rules=[
        Rule(atol=1e-2, rtol=1e-3, kind="UpSampling2D", leg="keras>*onnx",
             attrs=(("interpolation", "bicubic"),)),
    ])
    bicubic = {"interpolation": "bicubic", "size": [2, 2]}
    assert policy.for_case("UpSampling2D", "keras>tf2onnx", "cpu", "float32", bicubic).atol == 1e-2
    nearest = {"interpolation": "nearest"}
    assert policy.for_case("UpSampling2D", "keras>tf2onnx", "cpu", "float32", nearest).atol == 1e-5
    torch_leg = "keras>tf2onnx>onnx2torch"
    assert policy.for_case("UpSampling2D", torch_leg, "cpu", "float32", bicubic).atol == 1e-5


def test_a_model_gets_the_room_of_a_nested_layer_with_a_looser_rule():
    policy = TolerancePolicy(rules=[
        Rule(atol=1e-3, rtol=1e-5, kind="GRU", reason="gru"),
        Rule(atol=1e-6, rtol=1e-2, kind="Dense", leg="*>onnx2torch"),
    ])
    gru = {"kind": "GRU", "attrs": {"units": 2}, "inputs": ["input_0"]}
    dense = {"kind": "Dense", "attrs": {"units": 1}, "inputs": [0]}
    functional = {"nodes": [gru, dense, {"shared": 1, "inputs": [1]}], "outputs": [2]}

    tf2onnx = policy.for_case("Functional", "keras>tf2onnx", "cpu", "float32", functional)
    assert (tf2onnx.atol, tf2onnx.rtol) == (1e-3, 1e-5)
    assert "default float32" in tf2onnx.rule and "nested rule[kind=GRU]: gru" in tf2onnx.rule

    torch_leg = policy.for_case("Functional", "keras>tf2onnx>onnx2torch", "cpu", "float32",
                                functional)
    assert (torch_leg.atol, torch_leg.rtol) == (1e-3, 1e-2)
    assert "kind=Dense" in torch_leg.rule

    sequential = {"layers": [{"kind": "ReLU", "attrs": {}}]}
    plain = policy.for_case("Sequential", "keras>tf2onnx", "cpu", "float32", sequential)
    assert (plain.atol, plain.rtol, plain.rule) == (1e-5, 1e-5, "default float32")


def test_a_nested_rule_tighter_than_the_case_does_not_narrow_it():
    policy = TolerancePolicy(rules=[
        Rule(atol=1e-2, rtol=1e-2, kind="Sequential"),
        Rule(atol=1e-7, rtol=1e-7, kind="ReLU"),
    ])
    sequential = {"layers": [{"kind": "ReLU", "attrs": {}}]}
    tolerance = policy.for_case("Sequential", "keras>tf2onnx", "cpu", "float32", sequential)
    assert (tolerance.atol, tolerance.rtol) == (1e-2, 1e-2)
    assert tolerance.rule == "rule[kind=Sequential]"
