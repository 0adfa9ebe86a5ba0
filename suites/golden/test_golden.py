"""Replays the golden store: every stored case's downstream legs against its stored outputs.

Runs without TensorFlow: each case's source reads back what it stored (a Keras case's ONNX
artifact, an ONNX case's model, a MATLAB case's .mat file) and the expected outputs come from
the store (``golden/`` or ``$PARITY_GOLDEN``), so a change in onnxruntime or a converter
downstream of the source is gated against fixed references. A damaged file fails its own case with a message
naming it; every other case still replays.
"""

import contextlib
import fcntl
import os

import pytest

from harness import golden

ROOT = golden.default_root()
if str(ROOT) == "none":  # parity gate without --golden (docs/gate.md)
    pytest.skip("no golden store given: parity gate --golden STORE (a folder, or the .tar.gz "
                "'parity golden pack' writes; docs/gate.md)", allow_module_level=True)


def _case_ids() -> list[str]:
    """The cases to replay, read at collection, which changes nothing on disk: from the store,
    or where an update was interrupted (no store), from the store ``golden.recover`` will put
    in its place (the new one if its manifest is readable, else the old one)."""
    candidates = [ROOT] if ROOT.exists() else [
        ROOT.with_name(ROOT.name + ".new"), ROOT.with_name(ROOT.name + ".old")]
    for root in candidates:
        try:
            return sorted(golden.read_manifest(root).cases)
        except golden.GoldenError:
            continue
    return []


CASE_IDS = _case_ids()


@contextlib.contextmanager
def _alone_in(folder):
    """Holds a lock on ``folder``: pytest-xdist workers recover the store one at a time."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@pytest.fixture(scope="module")
def manifest():
    """``(store, problem)``: the store once an interrupted update is finished or rolled back
    (before any case replays), or None and why it cannot be read."""
    folder = ROOT.resolve().parent
    if folder.is_dir():
        with _alone_in(folder):
            golden.recover(ROOT)
    try:
        return golden.read_manifest(ROOT), None
    except golden.GoldenError as exc:
        return None, str(exc)


def test_manifest_is_readable(manifest):
    _, problem = manifest
    assert problem is None, problem


def test_store_has_no_unused_or_unlisted_files(manifest):
    store, problem = manifest
    if store is None:
        pytest.skip(f"no readable manifest: {problem}")
    unused = [str(p) for p in golden.unlisted(store)]
    assert not unused, "\n".join(unused)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_golden_case(case_id, parity, manifest):
    store, problem = manifest
    if store is None:
        pytest.fail(f"golden case {case_id} cannot be replayed: {problem}", pytrace=False)
    try:
        case = golden.load_case(store, case_id)
    except golden.GoldenError as exc:
        pytest.fail(f"golden case {case_id} cannot be replayed: {exc}", pytrace=False)
    if case.spec.source != "mat":  # every other source's replay starts from an ONNX model
        pytest.importorskip("onnxruntime")
    try:
        stored = case.stored_artifacts()
    except golden.GoldenError as exc:
        pytest.fail(f"golden case {case_id} cannot be replayed: {exc}", pytrace=False)
    if not stored:
        pytest.skip(f"{case.spec.kind}: nothing stored to replay "
                    f"({case.provenance.get('onnx_error') or 'not stored'})")
    result = parity.replay(case)
    named = [path.name for path in parity.paths if path.source == case.spec.source]
    if not result.legs and named:  # a narrowed selection (parity gate --converter h5)
        pytest.skip(f"the selection's {case.spec.source} paths ({', '.join(named)}) start from "
                    f"none of what the case stored ({', '.join(stored)})")
    assert result.legs, (f"no leg of the {case.spec.source} paths starts from what the case "
                         f"stored ({', '.join(stored)})")
    result.check()


GATED_SOURCES = ("keras", "mat", "onnx")


@pytest.fixture(scope="module")
def stored_kinds(manifest) -> dict[str, set[str]]:
    """The kinds the store holds a case of, by source (each case's spec.json read once)."""
    store, _ = manifest
    kinds: dict[str, set[str]] = {}
    for case_id in store.cases if store is not None else ():
        try:
            spec = golden.load_spec(store, case_id)
        except golden.GoldenError:
            continue
        kinds.setdefault(spec.source, set()).add(spec.kind)
    return kinds


@pytest.mark.parametrize("source", GATED_SOURCES)
def test_every_registered_kind_has_a_golden_case(manifest, stored_kinds, source):
    """Missing goldens, as syrupy reports them: a kind added without regenerating the store."""
    store, problem = manifest
    if store is None:
        pytest.skip(f"no readable manifest: {problem}")
    from harness.core import registry

    missing = sorted(set(registry.names(without=registry.WHOLE_MODELS, source=source))
                     - stored_kinds.get(source, set()))
    assert not missing, (f"no golden case for the {source} kinds {missing}; run 'parity golden "
                         f"update --source {source}' (it keeps unchanged cases as they are)")
