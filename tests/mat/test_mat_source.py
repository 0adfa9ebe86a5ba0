"""The `mat` source: drawn MATLAB networks flow like Keras cases (read, the `mat2torch` leg,
golden store and replay without TensorFlow, per-layer diagnosis of a failure)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import find
from torch import nn

import harness.mat as hm
from harness import golden, sources
from harness.core import registry
from harness.core.spec import LayerSpec
from harness.core.strategies import layer_specs, sample
from harness.golden.update import corpus, update
from harness.run.pipeline import Harness
from harness.sources import SourceError
from harness.sources.mat.case import MatCase, network_spec
from harness.sources.mat.draw import mat_specs

CONV = ("conv", {"k": [3, 3], "filters": 2, "stride": [1, 1], "dilation": [1, 1],
                 "pad": [1, 1, 1, 1], "groups": 1, "bias": True})
POOL = ("pool", {"method": "max", "k": [2, 2], "stride": [2, 2], "pad": [0, 0, 0, 0],
                 "count_pad": False})
CHAIN = network_spec([CONV, ("relu", {"leak": 0.0}), POOL], input_shape=(1, 2, 6, 6),
                     fmt="simplenn", seed=4)


def test_source_reads_a_mat_file_inputs_and_reference_in_pytorch_layout():
    reading = sources.get("mat").read(CHAIN, policy=None, device="cpu")
    assert reading.artifact.format == "mat" and reading.artifact.model.is_file()
    assert hm.load_network(reading.artifact.model).format == "matconvnet.simplenn"
    assert [x.shape for x in reading.inputs] == [(1, 2, 6, 6)]
    assert [(y.shape, y.dtype) for y in reading.reference] == [((1, 2, 3, 3), np.float32)]
    assert reading.native is None


def test_every_kind_is_a_registered_mat_kind_with_a_family_and_formats():
    from harness.sources.mat import kinds

    names = registry.names(source="mat")
    assert {"conv", "pool", "bnorm", "lstm", "sum", "input"} <= set(names)
    for name in names:
        assert registry.family_of(name, "mat").startswith("mat-")
        assert kinds.get(name).formats
    assert sources.get("mat").family(CHAIN) == "mat-convolution/simplenn"


def test_a_spec_the_writers_cannot_build_is_a_source_error():
    bad = LayerSpec(kind="fc", attrs={"format": "simplenn", "version": "7",
                                      "layers": [{"kind": "fc", "attrs": {"outputs": 2}}]},
                    input_shapes=((1, 2, 5, 5),), source="mat")
    with pytest.raises(SourceError, match="layer 1 \\(fc\\) has no simplenn writer"):
        sources.get("mat").read(bad, policy=None, device="cpu")


def test_drawing_is_the_registry_strategy_and_shrinks_to_the_simplest_network():
    assert sample("conv", 3, source="mat") == sample("conv", 3, source="mat")
    simplest = find(layer_specs("conv", source="mat"), lambda spec: True)
    assert simplest.attrs == {"format": "simplenn", "version": "7", "layers": [
        {"kind": "conv", "attrs": {"k": [1, 1], "filters": 1, "stride": [1, 1],
                                   "dilation": [1, 1], "pad": [0, 0, 0, 0], "groups": 1,
                                   "bias": True}}]}
    assert simplest.input_shapes == ((1, 1, 5, 5),)
    fixed = find(mat_specs("lstm", version="7.3"), lambda spec: True)
    assert (fixed.attrs["format"], fixed.attrs["version"]) == ("dlt", "7.3")
    with pytest.raises(ValueError, match="'lstm' has no simplenn writer"):
        find(mat_specs("lstm", "simplenn"), lambda spec: True)


def test_every_format_and_version_of_a_network_imports_to_the_reference(tmp_path):
    harness = Harness(known_issues=[])
    for fmt in ("simplenn", "dagnn", "dlt"):
        for version in ("7", "7.3"):
            spec = network_spec([CONV, ("bnorm", {"eps": 1e-3}), ("relu", {"leak": 0.1}), POOL],
                                input_shape=(2, 2, 6, 7), fmt=fmt, version=version, seed=9)
            result = harness.run(spec)
            assert [(leg.leg, leg.verdict) for leg in result.legs] == [
                ("mat>mat2torch", "pass")], result.failure_message()


def test_a_wrong_import_fails_with_its_first_diverging_layer():
    hm.register_layer_handler("relu", lambda layer: nn.Sigmoid())
    try:
        result = Harness(known_issues=[]).run(CHAIN)
    finally:
        hm.unregister_layer_handler("relu")
    (leg,) = result.failures
    assert (leg.leg, leg.stage, leg.category) == ("mat>mat2torch", "mat2torch",
                                                   "numeric_mismatch")
    assert leg.diagnosis["first_divergence"]["layer"] == "relu2"
    assert leg.diagnosis["growth"][0]["passed"]  # conv1 still matches
    message = result.failure_message()
    assert "first diverges from MATLAB's semantics at layer 2/3 relu2 (relu)" in message
    assert "this layer is imported wrongly" in message
    assert f"parity repro {CHAIN.case_id}" in message and '"source":"mat"' in message


def test_an_importer_error_is_a_leg_error_naming_the_layer():
    hm.register_layer_handler("relu", lambda layer: 3)
    try:
        result = Harness(known_issues=[]).run(CHAIN)
    finally:
        hm.unregister_layer_handler("relu")
    (leg,) = result.failures
    assert leg.verdict == "error" and leg.blame == "mat2torch"
    assert "layer 2 'relu2' (type 'relu')" in leg.message


def test_golden_cases_store_the_mat_file_and_replay_it(tmp_path):
    root = tmp_path / "golden"
    specs = corpus(1, kinds=["conv", "lstm"], source="mat")
    summary = update(root, specs, scope={"mat"})
    assert summary.written and len(summary.added) == len(specs) == 2
    store, problems = golden.verify(root)
    assert not problems
    harness = Harness(known_issues=[])
    for case_id in store.cases:
        case = golden.load_case(store, case_id)
        assert "model.mat" in store.cases[case_id] and not case.has_onnx
        provenance = json.loads((case.folder / "provenance.json").read_text())
        assert provenance["source"] == "mat" and provenance["mat_format"]
        assert set(provenance["versions"]) <= {"scipy", "h5py", "numpy"}
        result = harness.replay(case.spec, case.inputs, case.expected, case.stored_artifacts())
        assert [(leg.leg, leg.verdict) for leg in result.legs] == [("mat>mat2torch", "pass")]
    damaged = next(iter(store.cases))
    (root / golden.CASES / damaged / "model.mat").write_bytes(b"MATLAB 5.0 MAT-file")
    with pytest.raises(golden.GoldenError, match="model.mat"):
        golden.load_case(store, damaged, verify=False).stored_artifacts()


def test_replay_catches_an_importer_change(tmp_path):
    root = tmp_path / "golden"
    update(root, [CHAIN], scope={"mat"})
    case = golden.load_case(golden.read_manifest(root), CHAIN.case_id)
    hm.register_layer_handler("pool", lambda layer: nn.AvgPool2d(2))
    try:
        result = Harness(known_issues=[]).replay(case.spec, case.inputs, case.expected,
                                                 case.stored_artifacts())
    finally:
        hm.unregister_layer_handler("pool")
    assert [(leg.leg, leg.verdict) for leg in result.legs] == [("mat>mat2torch", "fail")]


def test_the_reference_follows_the_network_layer_by_layer():
    case = MatCase(CHAIN)
    x = case.matlab_inputs()[0]
    trace = case.trace(x)
    assert list(trace) == ["input", "conv1", "relu2", "pool3"]
    assert trace["relu2"].min() >= 0 and trace["pool3"].shape == (3, 3, 2, 1)
    np.testing.assert_array_equal(case.expected(x), trace["pool3"])


def test_the_kinds_table_in_the_docs_lists_every_kind_with_its_family_and_formats():
    from pathlib import Path

    from harness.sources.mat import kinds

    page = Path(__file__).resolve().parents[2] / "docs" / "sources-mat.md"
    rows = {}
    for line in page.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = (cells[1], cells[2], cells[3])
    want = {kind.name: (kind.family, ", ".join(kinds.get(kind.name).formats),
                        ", ".join(kinds.get(kind.name).takes))
            for kind in registry.kinds("mat")}
    assert rows == want


REPLAY = """
import sys
from pathlib import Path
from harness import golden
from harness.run.pipeline import Harness
store = golden.read_manifest(Path(sys.argv[1]))
for case_id in store.cases:
    case = golden.load_case(store, case_id)
    result = Harness(known_issues=[]).replay(case.spec, case.inputs, case.expected,
                                             case.stored_artifacts())
    assert [leg.verdict for leg in result.legs] == ["pass"], result.failure_message()
frameworks = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "onnx"))
print(len(store.cases), frameworks)
"""


def test_a_golden_mat_case_replays_without_tensorflow(tmp_path):
    import subprocess
    import sys

    root = tmp_path / "golden"
    update(root, [CHAIN], scope={"mat"})
    done = subprocess.run([sys.executable, "-c", REPLAY, str(root)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["1", "[]"], done.stdout


def _run_script(text: str, tmp_path, name: str):
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / name
    script.write_text(text)
    repo = str(Path(__file__).resolve().parents[2])
    scratch = tmp_path / f"{name}.tmp"  # the script's temporary folders, which it removes
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": repo, "TMPDIR": str(scratch)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=tmp_path)
    assert not list(scratch.iterdir()), f"{name} left {sorted(scratch.iterdir())} behind"
    return done


def test_a_script_reproduces_a_wrong_import_in_a_fresh_process(tmp_path, monkeypatch):
    """The importer exists only as parity code, so the script calls it as a plugin stage's
    script does; the run's plugin module (a wrong layer handler) comes along."""
    import sys

    from harness.repro_script import write_script

    plugin = tmp_path / "plugins" / "relu_as_sigmoid.py"
    plugin.parent.mkdir()
    plugin.write_text("from torch import nn\nimport harness.mat as hm\n\n"
                      "hm.register_layer_handler('relu', lambda layer: nn.Sigmoid())\n")
    monkeypatch.syspath_prepend(str(plugin.parent))
    import relu_as_sigmoid  # noqa: F401  (registers the wrong handler, as --parity-plugins)

    try:
        harness = Harness(known_issues=[])
        case = harness.run(CHAIN)
        assert case.failures
        text = write_script(harness, case, plugins=["relu_as_sigmoid"])
    finally:
        hm.unregister_layer_handler("relu")
        sys.modules.pop("relu_as_sigmoid", None)
    assert "import onnx\n" not in text and "import tensorflow" not in text
    assert "relu_as_sigmoid" in text and "model.mat" in text
    done = _run_script(text, tmp_path, "repro_mat.py")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "REPRODUCED: numeric_mismatch" in done.stdout

    right = Harness(known_issues=[])
    passing = right.run(CHAIN)
    assert not passing.failures
    done = _run_script(write_script(right, passing, leg_name="mat>mat2torch"), tmp_path,
                       "repro_mat_ok.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "does not reproduce" in done.stdout


@pytest.mark.parametrize("fmt", ["simplenn", "dagnn"])
def test_a_warm_run_keeps_the_mat_file_and_takes_the_importer_s_run(tmp_path, fmt):
    """The stage cache keeps a reading's .mat file as its bytes: a hit writes them into a
    folder of its own, and mat2torch's module and run hit on it."""
    from harness.run.stage_cache.cache import LazyArtifact, StageCache
    from tests.cache_runs import fresh_process, run_cached, verdicts

    spec = network_spec([CONV, ("relu", {"leak": 0.0}), POOL], input_shape=(1, 2, 6, 6),
                        fmt=fmt, seed=4)
    cold, cold_artifacts, cold_cache = run_cached(tmp_path, spec, "mat>mat2torch")
    warm, warm_artifacts, warm_cache = run_cached(tmp_path, spec, "mat>mat2torch")
    assert (cold_cache.log[0], warm_cache.log[0]) == (("reading mat", "miss"),
                                                      ("reading mat", "hit"))
    assert warm_cache.module_log == [("mat2torch", "hit")]
    assert warm_cache.run_log == [("run torch", "hit")]
    assert isinstance(warm_artifacts["mat>mat2torch"], LazyArtifact)
    kept, made = warm_artifacts["mat"], cold_artifacts["mat"]
    assert kept.model != made.model and kept.model.read_bytes() == made.model.read_bytes()
    assert hm.load_network(kept.model).format == f"matconvnet.{fmt}"
    assert {k: v for k, v in kept.meta.items() if k != "workdir"} == \
        {k: v for k, v in made.meta.items() if k != "workdir"}
    assert verdicts(warm) == verdicts(cold)
    fresh_process()  # a verified hit: written again, read again, the same
    cache = StageCache(tmp_path, verify=1.0)
    Harness("mat>mat2torch", cache=cache, known_issues=[]).run(spec)
    assert ("reading mat", "same") in cache.verify_log
    assert "differs" not in {outcome for _, outcome in cache.verify_log}
