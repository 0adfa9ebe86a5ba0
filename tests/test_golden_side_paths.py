"""The golden store's side paths (issue #36, harness.golden.side): a case recorded with them
replays down the ONNX rewriters from its stored model and runs its stored TFLite flatbuffers
with LiteRT, without TensorFlow; a case recorded without them replays as before; an
unchanged case gains them without any other file moving; the known issues' minimal specs are
recorded on their own side paths and pinned by the replay; damage names the file; the store
still packs and unpacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch  # noqa: F401  (before anything imports TensorFlow: DESIGN.md hazards)

from harness import golden
from harness.core import known_issues
from harness.core.spec import LayerSpec
from harness.golden import side
from harness.run import side_paths

pytest.importorskip("tensorflow")
pytest.importorskip("onnxruntime")
pytest.importorskip("ai_edge_litert")

REPO = Path(__file__).resolve().parents[1]
DENSE = LayerSpec("Dense", {"units": 3}, ((2, 4),), seed=1)
ADD = LayerSpec("Add", {}, ((2, 3), (2, 3)), seed=1, source="onnx")
TFLITE_LEGS = ["keras>tflite", "keras>savedmodel>tflite-savedmodel"]
# onnxsim reduces a no-op Reduce over every axis (wrong-output): pinned on onnx>onnxsim.
PINNED = "onnxsim-reduce-noop-with-empty-axes"


def _pinned_spec() -> LayerSpec:
    (pin,) = [pin for pin in known_issues.pins() if pin.issue.id == PINNED]
    return pin.spec


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A store of a Keras and an ONNX case recorded without side paths, and the same store
    once the update recorded them with every side path."""
    from harness.golden.update import update

    base = tmp_path_factory.mktemp("stores")
    plain = base / "plain" / "golden"
    assert update(plain, [DENSE, ADD]).written
    sided = base / "sided" / "golden"
    shutil.copytree(plain, sided)
    summary = update(sided, [DENSE, ADD, _pinned_spec()], side_paths=side_paths.ALL,
                     keep_others=True)
    assert summary.written, summary.lines()
    return plain, sided, summary


@pytest.fixture
def store(pristine, tmp_path):
    root = tmp_path / "golden"
    shutil.copytree(pristine[1], root)
    return root


def _case(root: Path, spec: LayerSpec):
    return golden.load_case(golden.read_manifest(root), spec.case_id)


def _legs(result) -> dict[str, str]:
    return {leg.leg: leg.verdict for leg in result.legs}


def test_an_unchanged_case_gains_its_side_paths_and_nothing_else_moves(pristine):
    plain, sided, summary = pristine
    assert sorted(summary.sided) == sorted([DENSE.case_id, ADD.case_id])
    assert summary.added == [_pinned_spec().case_id] and not summary.changed
    before, after = golden.read_manifest(plain).cases, golden.read_manifest(sided).cases
    for spec in (DENSE, ADD):
        gained = {name: digest for name, digest in after[spec.case_id].items()
                  if name not in before[spec.case_id]}
        assert {n: d for n, d in after[spec.case_id].items() if n not in gained} == \
            before[spec.case_id]
        assert side.FILE in gained
    assert {f"side/{leg.replace('>', '_')}.tflite" for leg in TFLITE_LEGS} <= set(
        after[DENSE.case_id])
    assert golden.verify(sided) == (golden.read_manifest(sided), [])


def test_the_side_paths_document_says_what_the_case_holds(store):
    dense = json.loads((store / "cases" / DENSE.case_id / side.FILE).read_text())
    assert dense["paths"] == list(side_paths.KERAS)
    assert set(dense["legs"]) == set(TFLITE_LEGS)
    entry = dense["legs"]["keras>tflite"]
    assert entry["format"] == "tflite" and "tensorflow" in dense["versions"]
    add = json.loads((store / "cases" / ADD.case_id / side.FILE).read_text())
    assert add["paths"] == list(side_paths.ONNX) and add["legs"] == {}


def test_a_case_replays_down_every_side_path_it_holds(store):
    from harness.run.pipeline import Harness

    harness = Harness()  # the sources' default paths only, as the golden suite's
    dense = _case(store, DENSE)
    assert set(dense.stored_artifacts()) == {"keras>tf2onnx", *TFLITE_LEGS}
    verdicts = _legs(dense.replay(harness))
    assert {leg: verdicts.get(leg) for leg in TFLITE_LEGS} == dict.fromkeys(TFLITE_LEGS, "pass")
    assert "keras>savedmodel" not in verdicts  # nothing of it stored: not replayed
    assert verdicts["keras>tf2onnx"] == "pass"
    add = _legs(_case(store, ADD).replay(harness))
    assert {leg: add.get(leg) for leg in side_paths.ONNX} == dict.fromkeys(side_paths.ONNX,
                                                                          "pass")
    assert harness.extension is None  # the harness itself is left as it was


def test_a_case_recorded_without_side_paths_replays_as_before(pristine):
    from harness.run.pipeline import Harness

    plain = pristine[0]
    for spec in (DENSE, ADD):
        case = _case(plain, spec)
        assert case.side_paths == [] and case.side_artifacts == {}
        legs = _legs(case.replay(Harness()))
        assert not set(legs) & {*side_paths.ONNX, *TFLITE_LEGS}
        assert set(legs.values()) == {"pass"}


def test_a_known_issues_minimal_spec_is_pinned_by_the_replay(store):
    from harness.golden.update import pinned_side_paths
    from harness.run.pipeline import Harness

    assert pinned_side_paths(_pinned_spec()) == ["onnx>onnxsim"]  # recorded with it always
    assert pinned_side_paths(ADD) == []
    case = _case(store, _pinned_spec())
    assert "onnx>onnxsim" in case.side_paths
    result = case.replay(Harness())
    (leg,) = [leg for leg in result.legs if leg.leg == "onnx>onnxsim"]
    assert leg.verdict == "xfail" and leg.known_issue["id"] == PINNED
    assert not result.failures
    # without its entry the leg fails: the replay runs onnxsim on the stored model again
    fixed = Harness(known_issues=[])
    assert "onnx>onnxsim" in {leg.leg for leg in case.replay(fixed).failures}


def test_the_replay_of_side_paths_needs_no_tensorflow(store):
    script = f"""
import sys
for name in ("tensorflow", "tf2onnx", "tf_keras"):
    sys.modules[name] = None  # importing any of them now raises ImportError
from harness import golden
from harness.run.pipeline import Harness
store = golden.read_manifest(golden.Path({str(store)!r}))
for case_id in sorted(store.cases):
    result = golden.load_case(store, case_id).replay(Harness())
    print(case_id, sorted((leg.leg, leg.verdict) for leg in result.legs))
    assert not result.failures, result.failure_message()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "'keras>tflite', 'pass'" in done.stdout and "'onnx>onnxslim', 'pass'" in done.stdout


def test_a_damaged_side_file_fails_its_own_case_naming_the_file(store):
    name = "side/keras_tflite.tflite"
    path = store / "cases" / DENSE.case_id / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    _, problems = golden.verify(store)
    assert [(p.case_id, p.file) for p in problems] == [(DENSE.case_id,
                                                        f"cases/{DENSE.case_id}/{name}")]
    with pytest.raises(golden.GoldenError, match="checksum mismatch"):
        _case(store, DENSE)
    _case(store, ADD)  # every other case still loads


def test_a_side_file_the_manifest_does_not_list_is_refused(store):
    manifest = json.loads((store / golden.MANIFEST).read_text())
    del manifest["cases"][DENSE.case_id]["side/keras_tflite.tflite"]
    (store / golden.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(golden.GoldenError, match="not in the manifest"):
        _case(store, DENSE)
    _, problems = golden.verify(store, deep=False)
    assert any("unused" in p.message for p in problems)


def test_a_store_with_side_paths_packs_and_unpacks(store, tmp_path):
    from harness.golden import artifact

    archive = tmp_path / "golden.tar.gz"
    digest = artifact.pack(store, archive)
    assert artifact.pack(store, tmp_path / "again.tar.gz") == digest  # the same bytes
    root = artifact.unpack(archive, tmp_path / "unpacked")
    assert golden.read_manifest(root).cases == golden.read_manifest(store).cases
    assert (root / "cases" / DENSE.case_id / "side" / "keras_tflite.tflite").read_bytes() == (
        store / "cases" / DENSE.case_id / "side" / "keras_tflite.tflite").read_bytes()
