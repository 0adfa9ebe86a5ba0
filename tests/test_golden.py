"""The golden store: verification names the damaged file, the rest replays, an interrupted
update leaves a store that verifies, and changed expected outputs are never taken silently."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness import golden

pytest.importorskip("tensorflow")
pytest.importorskip("onnxruntime")

KINDS = ["Dense", "Conv2D", "Add"]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    from harness.golden.update import corpus, update

    root = tmp_path_factory.mktemp("store") / "golden"
    summary = update(root, corpus(2, KINDS))
    assert summary.written and len(summary.added) >= len(KINDS)
    return root


@pytest.fixture
def store(pristine, tmp_path):
    root = tmp_path / "golden"
    shutil.copytree(pristine, root)
    return root


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_fresh_store_verifies(store):
    verified, problems = golden.verify(store)
    assert problems == []
    assert len(verified.cases) >= len(KINDS)


@pytest.mark.parametrize("name", ["spec.json", "provenance.json", "inputs.npz",
                                  "expected.npz", "model.keras", "model.onnx"])
def test_one_flipped_byte_is_reported_by_file_and_case(store, name):
    case_id = sorted(golden.read_manifest(store).cases)[0]
    _flip_byte(store / "cases" / case_id / name)
    verified, problems = golden.verify(store)
    assert [(p.case_id, p.file) for p in problems] == [(case_id, f"cases/{case_id}/{name}")]
    assert "checksum mismatch" in problems[0].message
    others = [c for c in verified.cases if c != case_id]
    for other in others:  # the rest of the store is still usable
        golden.load_case(verified, other)
    with pytest.raises(golden.GoldenError, match=name):
        golden.load_case(verified, case_id)


def test_verify_command_exits_non_zero_naming_the_file(store):
    case_id = sorted(golden.read_manifest(store).cases)[-1]
    _flip_byte(store / "cases" / case_id / "expected.npz")
    result = subprocess.run([sys.executable, "-m", "harness.cli", "golden", "verify",
                             "--root", str(store)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1
    assert f"cases/{case_id}/expected.npz: checksum mismatch" in result.stdout


def test_truncated_manifest_is_a_clear_error(store):
    manifest = store / "MANIFEST.json"
    manifest.write_bytes(manifest.read_bytes()[:40])
    verified, problems = golden.verify(store)
    assert verified is None
    assert problems[0].file == "MANIFEST.json"
    assert "truncated or corrupt" in problems[0].message


def test_unlisted_and_missing_files_are_reported(store):
    case_id = sorted(golden.read_manifest(store).cases)[0]
    (store / "cases" / case_id / "stray.txt").write_text("x")
    (store / "cases" / "0000000000000000").mkdir()
    (store / "cases" / case_id / "inputs.npz").unlink()
    _, problems = golden.verify(store)
    messages = {(p.file, p.message.split(":")[0]) for p in problems}
    assert (f"cases/{case_id}/stray.txt", "unused") in messages
    assert ("cases/0000000000000000", "unused") in messages
    assert (f"cases/{case_id}/inputs.npz", "missing") in messages


def test_replay_runs_every_other_case_when_one_file_is_damaged(store):
    case_id = sorted(golden.read_manifest(store).cases)[0]
    _flip_byte(store / "cases" / case_id / "expected.npz")
    env = {**os.environ, "PARITY_GOLDEN": str(store)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/golden", "-q", "-p", "no:cacheprovider",
         "--parity-report", "none", "-k", "test_golden_case"],
        capture_output=True, text=True, cwd=REPO, env=env,
    )
    n = len(golden.read_manifest(store).cases)
    assert f"1 failed, {n - 1} passed" in result.stdout, result.stdout[-2000:]
    assert f"cases/{case_id}/expected.npz" in result.stdout


def test_changed_expected_outputs_stop_the_update(store):
    from harness.golden.update import corpus, update

    manifest = golden.read_manifest(store)
    case_id = sorted(manifest.cases)[0]
    path = store / "cases" / case_id / "expected.npz"
    with np.load(path) as data:
        arrays = {k: data[k] + 0.5 for k in data.files}
    np.savez(path, **arrays)
    manifest.cases[case_id]["expected.npz"] = golden.sha256(path)
    golden.write_manifest(store, manifest.cases)
    before = path.read_bytes()

    summary = update(store, corpus(2, KINDS))
    assert not summary.written
    assert [c[0] for c in summary.changed] == [case_id]
    assert summary.changed[0][2]["max_abs"] == pytest.approx(0.5, rel=1e-3)
    assert path.read_bytes() == before  # the old store is intact
    assert golden.verify(store)[1] == []

    summary = update(store, corpus(2, KINDS), accept_changes=True)
    assert summary.written and path.read_bytes() != before
    assert len(summary.unchanged) == len(manifest.cases) - 1


def test_an_unchanged_case_without_its_keras_model_gains_it_and_keeps_its_other_files(store):
    """A case written while Keras could not save its layer keeps every file it has and gains
    model.keras once the layer saves."""
    from harness.golden.update import corpus, update

    manifest = golden.read_manifest(store)
    case_id = sorted(manifest.cases)[0]
    folder = store / "cases" / case_id
    (folder / "model.keras").unlink()
    del manifest.cases[case_id]["model.keras"]
    golden.write_manifest(store, manifest.cases)
    kept = {name: (folder / name).read_bytes() for name in manifest.cases[case_id]}

    summary = update(store, corpus(2, KINDS))
    assert summary.written and summary.completed == [case_id] and not summary.changed
    assert "1 unchanged gained model.keras" in summary.lines()[0]
    assert all((folder / name).read_bytes() == data for name, data in kept.items())
    verified, problems = golden.verify(store)
    assert problems == [] and "model.keras" in verified.cases[case_id]


def test_an_update_of_some_kinds_keeps_every_case_of_the_others(store):
    from harness.golden.update import corpus, update

    before = golden.read_manifest(store).cases
    dense = {c for c in before if json.loads(
        (store / "cases" / c / "spec.json").read_text())["kind"] == "Dense"}
    assert dense and dense != set(before)

    summary = update(store, corpus(2, ["Dense"]), kinds=["Dense"])
    assert summary.written and summary.removed == []
    assert set(summary.untouched) == set(before) - dense
    assert set(summary.unchanged) == dense
    verified, problems = golden.verify(store)
    assert problems == [] and verified.cases == before

    summary = update(store, corpus(2, ["Dense"]))  # unrestricted: the others are not drawn
    assert set(summary.removed) == set(before) - dense


@pytest.mark.parametrize("state", ["new complete", "new incomplete", "leftovers"])
def test_recover_handles_every_interrupted_swap(store, state):
    new, old = store.with_name("golden.new"), store.with_name("golden.old")
    shutil.copytree(store, new)
    if state == "new incomplete":
        (new / "MANIFEST.json").unlink()
    if state in ("new complete", "new incomplete"):
        os.replace(store, old)  # killed between the two renames of swap_in
    else:
        shutil.copytree(store, old)
    action = golden.recover(store)
    assert action
    assert golden.verify(store)[1] == []
    assert not new.exists() and not old.exists()


def test_killing_an_update_at_any_moment_leaves_a_store_that_verifies(store, tmp_path):
    command = [sys.executable, "-m", "harness.cli", "golden", "update", "--root", str(store),
               "--per-kind", "3", "--accept-changes"]
    for kind in [*KINDS, "Activation", "MaxPooling2D"]:
        command += ["--kind", kind]
    # A killed update leaves its temporary files (a SavedModel half exported): in tmp_path.
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary)}
    rng = np.random.default_rng(0)
    for delay in sorted(rng.uniform(6, 20, 5)):
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=env)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        golden.recover(store)
        verified, problems = golden.verify(store)
        assert problems == [], f"after a kill at {delay:.1f} s: {[str(p) for p in problems]}"
        assert verified.cases
