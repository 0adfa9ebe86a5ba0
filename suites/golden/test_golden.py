"""Replays the golden store: every stored case's downstream legs against its stored outputs.

Runs without TensorFlow: the ONNX artifact and the expected outputs come from the store
(``golden/`` or ``$PARITY_GOLDEN``), so a change in onnxruntime or a converter downstream of
ONNX is gated against fixed references. A damaged file fails its own case with a message
naming it; every other case still replays.
"""

import pytest

from harness import golden

ROOT = golden.default_root()
RECOVERED = golden.recover(ROOT) if ROOT.exists() else None
try:
    STORE = golden.read_manifest(ROOT)
    MANIFEST_PROBLEM = None
except golden.GoldenError as exc:
    STORE, MANIFEST_PROBLEM = None, str(exc)

CASE_IDS = sorted(STORE.cases) if STORE else []


def test_manifest_is_readable():
    assert MANIFEST_PROBLEM is None, MANIFEST_PROBLEM


def test_store_has_no_unused_or_unlisted_files():
    if STORE is None:
        pytest.skip(f"no readable manifest: {MANIFEST_PROBLEM}")
    _, problems = golden.verify(ROOT, deep=False)
    unused = [str(p) for p in problems if "unused" in p.message]
    assert not unused, "\n".join(unused)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_golden_case(case_id, parity):
    pytest.importorskip("onnxruntime")
    try:
        case = golden.load_case(STORE, case_id)
    except golden.GoldenError as exc:
        pytest.fail(f"golden case {case_id} cannot be replayed: {exc}", pytrace=False)
    if not case.has_onnx:
        pytest.skip(f"{case.spec.kind}: no stored ONNX model "
                    f"({case.provenance.get('onnx_error') or 'not converted'})")
    result = parity.replay(case)
    assert result.legs, f"no leg of {[p.name for p in parity.paths]} starts from the stored ONNX"
    result.check()


def test_every_registered_kind_has_a_golden_case():
    """Missing goldens, as syrupy reports them: a kind added without regenerating the store."""
    if STORE is None:
        pytest.skip(f"no readable manifest: {MANIFEST_PROBLEM}")
    from harness import registry

    stored = set()
    for case_id in STORE.cases:
        try:
            stored.add(golden.load_case(STORE, case_id, verify=False).spec.kind)
        except golden.GoldenError:
            continue
    missing = sorted(set(registry.names(without=registry.WHOLE_MODELS)) - stored)
    assert not missing, (f"no golden case for {missing}; run 'parity golden update' "
                         f"(it keeps unchanged cases as they are)")
