import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.core import registry
from harness.core.inputs import input_dtypes, int_bounds, make_inputs
from harness.core.spec import LayerSpec, SpecError, canonical_json
from harness.core.strategies import layer_specs


def test_case_id_is_stable_across_key_order_and_tuples():
    a = LayerSpec("Conv2D", {"filters": 2, "kernel_size": (3, 3)}, ((1, 5, 5, 3),), seed=7)
    b = LayerSpec("Conv2D", {"kernel_size": [3, 3], "filters": 2}, [[1, 5, 5, 3]], seed=7)
    assert a.case_id == b.case_id
    assert len(a.case_id) == 16


def test_case_id_pins_the_canonical_form():
    # If this changes, every stored case id changes: bump the spec schema instead.
    spec = LayerSpec("Dense", {"units": 3}, ((2, 4),), seed=1)
    canonical = (
        '{"attrs":{"units":3},"dtype":"float32","input_shapes":[[2,4]],"kind":"Dense",'
        '"schema":"parity.spec/1","seed":1}'
    )
    assert canonical_json(spec.to_json()) == canonical
    assert spec.case_id == hashlib.sha256(canonical.encode()).hexdigest()[:16]


def test_every_field_changes_the_id():
    base = LayerSpec("Dense", {"units": 3}, ((2, 4),), seed=1)
    variants = [
        LayerSpec("Dense", {"units": 4}, ((2, 4),), seed=1),
        LayerSpec("Dense", {"units": 3}, ((2, 5),), seed=1),
        LayerSpec("Dense", {"units": 3}, ((2, 4),), seed=2),
        LayerSpec("Dense", {"units": 3}, ((2, 4),), dtype="float64", seed=1),
        LayerSpec("Dense", {"units": 3}, ((2, 4),), seed=1, input_overrides=(((0, 1.5),),)),
    ]
    assert len({v.case_id for v in variants} | {base.case_id}) == len(variants) + 1


def test_non_json_attributes_are_rejected_with_the_path():
    with pytest.raises(SpecError, match=r"Dense.attrs.units"):
        LayerSpec("Dense", {"units": object()}, ((2, 4),))
    with pytest.raises(SpecError, match="non-finite"):
        LayerSpec("Dense", {"alpha": float("nan")}, ((2, 4),))


def test_malformed_json_spec_is_a_clear_error():
    with pytest.raises(SpecError, match="malformed spec"):
        LayerSpec.from_json({"kind": "Dense"})
    with pytest.raises(SpecError, match="unsupported spec schema"):
        LayerSpec.from_json({"schema": "parity.spec/99", "kind": "Dense", "input_shapes": []})


@settings(max_examples=25, deadline=None)
@given(data=st.data(), kind=st.sampled_from(registry.names()))
def test_specs_round_trip_through_json(data, kind):
    spec = data.draw(layer_specs(kind))
    again = LayerSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert again == spec
    assert again.case_id == spec.case_id


@settings(max_examples=25, deadline=None)
@given(data=st.data(), kind=st.sampled_from(registry.names()))
def test_inputs_are_bounded_finite_and_reproducible(data, kind):
    spec = data.draw(layer_specs(kind))
    first, second = make_inputs(spec), make_inputs(spec)
    assert [x.shape for x in first] == [tuple(s) for s in spec.input_shapes]
    bounds = int_bounds(spec) + [None] * len(first)
    for a, b, dtype, bound in zip(first, second, input_dtypes(spec), bounds):
        assert a.dtype == dtype
        assert (a == b).all()
        assert (a.min() >= 0 and a.max() < bound) if bound else abs(a).max() <= 8.0


def test_overrides_are_written_over_the_seeded_data():
    plain = LayerSpec("Dense", {"units": 1}, ((1, 6),), seed=3)
    patched = LayerSpec("Dense", {"units": 1}, ((1, 6),), seed=3, input_overrides=(((4, -7.5),),))
    a, b = make_inputs(plain)[0], make_inputs(patched)[0]
    assert b[0, 4] == -7.5
    mask = [True] * 6
    mask[4] = False
    assert (a[0, mask] == b[0, mask]).all()


DRAWS_AROUND_A_NEW_MODULE = """
import json, pathlib, sys
from harness.core.strategies import sample

def ids():
    return [s.case_id for kind in ("Attention", "Dense", "Conv2D") for s in sample(kind, 8)]

before = ids()
folder = pathlib.Path(sys.argv[1])  # the test's own temporary folder
(folder / "literals_elsewhere.py").write_text(
    "FLOATS = [" + ", ".join(repr(0.125 + 0.37 * i) for i in range(300)) + "]\\n"
    "INTS = [" + ", ".join(str(7 + 13 * i) for i in range(300)) + "]\\n")
sys.path.insert(0, str(folder))
import literals_elsewhere  # a local module full of literals
print(json.dumps({"before": before, "after": ids()}))
"""


def test_corpus_draws_do_not_depend_on_the_literals_of_imported_modules(tmp_path):
    """Hypothesis draws literals of local modules; the corpus must not change when a module
    is imported or edited, or the golden store drifts from its own corpus."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run([sys.executable, "-c", DRAWS_AROUND_A_NEW_MODULE, str(tmp_path)],
                            capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[1])
    draws = json.loads(result.stdout.strip().splitlines()[-1])
    assert draws["before"] == draws["after"]


def test_hypothesis_sees_local_constants_again_outside_spec_draws():
    """Only spec draws are kept from the literals of local modules: importing the harness
    patches nothing in Hypothesis, and the switch is undone when its block ends."""
    from hypothesis.internal.conjecture import providers

    from harness.core.strategies import without_local_constants

    provider = providers.HypothesisProvider(None)
    assert len(provider._local_constants) > 0  # the harness' own literals, as Hypothesis sees
    with without_local_constants():
        assert len(provider._local_constants) == 0
        assert len(providers.HypothesisProvider(None)._local_constants) == 0
    assert len(provider._local_constants) > 0
    assert providers._get_local_constants.__module__ == providers.__name__
