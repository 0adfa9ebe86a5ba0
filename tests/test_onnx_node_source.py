"""The onnx-node source: ONNX's own backend node test cases as parity cases (its reading and
reference, the paths it goes down, the cases it leaves out and why, the index it lists them
from, the golden store), on the real onnx, onnxruntime, onnx2torch and onnx2pytorch."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness import converters, golden, sources
from harness.core import known_issues
from harness.core.spec import LayerSpec
from harness.core.tolerance import TolerancePolicy
from harness.run.pipeline import Harness
from harness.sources import SourceError
from harness.sources.onnx_node import (
    EXPECTED_READING,
    case_names,
    left_out_reason,
    spec_for,
)
from harness.sources.onnx_node.cases import INDEX_FILE, arrays, generate, index, installed_onnx
from harness.sources.onnx_node.left_out import REASONS
from tests.fakes import onnx_rewrite

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "onnx-node"
DOCS = ROOT / "docs" / "onnx-node-tests.md"


def read(name):
    return sources.get(SOURCE).read(spec_for(name), policy=TolerancePolicy(), device="cpu")


def test_a_case_reads_to_its_model_and_inputs_with_onnxs_expected_outputs_as_reference():
    reading = read("test_relu")
    case = generate("test_relu")
    (x,), (expected,) = arrays(case.data_sets[0][0]), arrays(case.data_sets[0][1])
    assert reading.artifact.format == "onnx" and reading.artifact.input_names == ["x"]
    assert reading.artifact.model.graph.node[0].op_type == "Relu"
    np.testing.assert_array_equal(reading.inputs[0], x)
    # onnxruntime meets the expected outputs, so its reading is the reference (here exactly).
    np.testing.assert_array_equal(reading.reference[0], expected)
    np.testing.assert_array_equal(reading.reference[0], np.maximum(x, 0))
    assert reading.native is None and reading.reading is None
    spec = spec_for("test_relu")
    # Its node as a drawn graph holds one: the known issues about an op, an attribute or a
    # form (harness.sources.onnx.forms) match it as they match a drawn case.
    assert (spec.kind, spec.source, spec.dtype) == ("test_relu", SOURCE, "float32")
    assert spec.attrs == {"op": "Relu", "opset": 14,
                          "nodes": [{"kind": "Relu", "attrs": {"opset": 14}}]}
    assert spec.input_shapes == ((3, 4, 5),)


def test_where_onnxruntime_does_not_meet_the_expected_outputs_they_are_the_reference():
    reading = read("test_maxunpool_export_with_output_shape")
    expected = arrays(generate("test_maxunpool_export_with_output_shape").data_sets[0][1])
    np.testing.assert_array_equal(reading.reference[0], expected[0])
    assert reading.native is not None and reading.reading == EXPECTED_READING
    assert np.abs(reading.native[0] - expected[0]).max() == 8.0


def test_a_wrong_converter_output_fails_its_leg_and_the_known_issue_tags_it():
    spec = spec_for("test_cumsum_1d")
    bare = Harness("onnx>onnx2torch", known_issues=[]).run(spec)
    (leg,) = bare.legs
    assert (leg.leg, leg.verdict, leg.category) == ("onnx>onnx2torch", "fail", "numeric_mismatch")
    assert leg.metrics["max_abs"] == 14.0  # a reverse cumsum of [1..5]: 15 where 1 is right
    (tagged,) = Harness("onnx>onnx2torch").run(spec).legs
    assert tagged.verdict == "xfail"
    assert tagged.known_issue["id"] == "onnx2torch-cumsum-omitted-reverse"
    # The same op with reverse written out converts right and passes.
    (right,) = Harness("onnx>onnx2torch").run(spec_for("test_cumsum_1d_reverse")).legs
    assert right.verdict == "pass"


def test_a_case_goes_down_the_onnx_sources_paths_and_a_plugin_named_from_onnx():
    spec = spec_for("test_relu")
    paths = Harness().resolve(spec).paths
    assert [p.name for p in paths] == list(sources.get("onnx").default_paths)
    assert sources.get(SOURCE).default_paths == sources.get("onnx").default_paths

    def rename(model) -> None:  # a stand-in for a user's stage
        model.graph.name = "renamed"

    converters.register(onnx_rewrite("onnx-renamed", rename))
    try:
        result = Harness("onnx>onnx-renamed").run(spec)
    finally:
        converters.unregister("onnx-renamed")
    assert [(leg.leg, leg.verdict) for leg in result.legs] == [("onnx>onnx-renamed", "pass")]


def test_the_left_out_cases_are_named_with_their_reasons():
    left_out = set(case_names(left_out=True))
    expected = {"test_bernoulli": "random", "test_adam": "training",
                "test_training_dropout": "dropout-training",
                "test_identity_sequence": "sequence", "test_identity_opt": "optional",
                "test_equal_string": "string", "test_cast_FLOAT_to_FLOAT8E4M3FN": "ml-dtypes"}
    for name, reason in expected.items():
        assert name in left_out and left_out_reason(name) == REASONS[reason]
    # Dropout in training mode at ratio 0 is deterministic: it runs.
    assert "test_training_dropout_zero_ratio" in case_names()
    assert not left_out & set(case_names())
    assert len(left_out) + len(case_names()) == len(index())
    with pytest.raises(SourceError, match="test_bernoulli is left out: draws random numbers"):
        read("test_bernoulli")


def test_the_docs_page_counts_the_left_out_cases_by_reason():
    """docs/onnx-node-tests.md's table of what is left out, against the index."""
    page = DOCS.read_text(encoding="utf-8")
    counts = {}
    for entry in index().values():
        if entry.left_out:
            counts[entry.left_out] = counts.get(entry.left_out, 0) + 1
    for reason, count in counts.items():
        assert re.search(rf"^\| `{re.escape(reason)}` \| {count} \|", page, re.M), reason
    total, left = len(index()), sum(counts.values())
    assert f"Of the {total} cases onnx {installed_onnx()} generates, parity runs {total - left} " \
           f"and leaves out {left}" in " ".join(page.split())


def test_a_spec_from_another_onnx_version_or_an_unknown_case_is_a_clear_source_error():
    spec = replace(spec_for("test_relu"), attrs={**spec_for("test_relu").attrs, "opset": 6})
    with pytest.raises(SourceError, match=r"not the case onnx .* generates .*opset=14"):
        sources.get(SOURCE).read(spec, policy=TolerancePolicy())
    unknown = replace(spec_for("test_relu"), kind="test_no_such_case")
    (leg,) = Harness().run(unknown).legs
    assert (leg.verdict, leg.category) == ("error", "source_error")
    assert "has no node test case 'test_no_such_case'" in leg.message


def test_generating_a_case_leaves_numpys_global_seed_alone():
    np.random.seed(1234)
    before = np.random.get_state()[1].copy()
    generate("test_hardmax_example")
    assert np.array_equal(np.random.get_state()[1], before)


def test_a_case_is_stored_in_onnxs_backend_test_layout_and_replays(tmp_path):
    spec = spec_for("test_cumsum_2d_axis_1")
    reading = read("test_cumsum_2d_axis_1")
    root = tmp_path / "golden"
    files = golden.write_case(root, reading, spec, {"source": SOURCE})
    golden.write_manifest(root, {spec.case_id: files})
    assert {"model.onnx", "test_data_set_0/input_0.pb", "test_data_set_0/output_0.pb"} <= set(files)
    case = golden.load_case(golden.read_manifest(root), spec.case_id)
    assert set(case.stored_artifacts()) == {"onnx"}
    result = case.replay(Harness())
    verdicts = {leg.leg: (leg.verdict, (leg.known_issue or {}).get("id")) for leg in result.legs}
    assert verdicts == {"onnx>onnx2torch": ("xfail", "onnx2torch-cumsum-omitted-reverse"),
                        "onnx>onnx2pytorch": ("pass", None),
                        "onnx>ort-optimized": ("pass", None)}


def test_the_index_is_the_installed_onnxs_for_the_modules_it_lists():
    """Generated module by module, two modules' cases are those the index lists (the whole
    index against a fresh build: test_the_index_is_the_installed_onnxs_in_full)."""
    data = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    assert data["onnx"] == installed_onnx(), (
        "index.json was written for another onnx: python -m harness.sources.onnx_node --write")
    for module in ("cumsum", "relu"):
        listed = {name for name, entry in data["cases"].items() if entry["module"] == module}
        for name in listed:
            case = generate(name)
            assert case.name == name
            given = arrays(case.data_sets[0][0])
            assert spec_for(name).input_shapes == tuple(tuple(x.shape) for x in given)
    assert "test_cumsum_1d" in data["cases"] and "test_relu" in data["cases"]


def test_an_index_built_for_another_onnx_is_kept_for_later_processes(tmp_path, monkeypatch):
    """Where index.json is another onnx's, the index is built once (in another interpreter) and
    kept in the temporary folder, per user and onnx: a later process reads it there. A kept
    file of another onnx version is built again."""
    from harness.sources.onnx_node import cases

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(cases, "INDEX_FILE", tmp_path / "shipped-for-another-onnx.json")
    builds = []
    shipped = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    one = {"onnx": installed_onnx(), "cases": {"test_relu": shipped["cases"]["test_relu"]}}
    monkeypatch.setattr(cases, "_built_elsewhere", lambda: builds.append(1) or one)
    assert cases._kept_index() == one and len(builds) == 1
    kept = cases._kept_index_path()
    assert kept.parent == tmp_path and json.loads(kept.read_text()) == one
    assert cases._kept_index() == one and len(builds) == 1  # read, not built again
    kept.write_text(json.dumps({"onnx": "0.0.1", "cases": {}}))
    assert cases._kept_index() == one and len(builds) == 2
    kept.write_text("{truncated")
    assert cases._kept_index() == one and len(builds) == 3
    kept.write_text(json.dumps({"onnx": installed_onnx()}))  # no cases
    assert cases._kept_index() == one and len(builds) == 4


DIGESTS = """
import hashlib, importlib, json, random, sys

import numpy as np

from harness.sources.onnx_node import cases


def digest(case):
    parts = [case.model.SerializeToString(), repr((case.rtol, case.atol)).encode()]

    def add(value):
        if isinstance(value, np.ndarray):
            parts.append(f"{value.dtype}{value.shape}".encode())
            parts.append(repr(value.tolist()).encode() if value.dtype == object
                         else value.tobytes())
        elif isinstance(value, (list, tuple)):
            parts.append(b"[")
            for item in value:
                add(item)
            parts.append(b"]")
        else:
            parts.append(repr(value).encode())

    for inputs, outputs in case.data_sets:
        add(cases.arrays(inputs))
        add(cases.arrays(outputs))
    return hashlib.sha256(b"|".join(parts)).hexdigest()


way, modules = sys.argv[1], sys.argv[2:]
listed = [name for name, entry in cases.index().items() if not modules or entry.module in modules]
if way == "onnx":  # onnx's own: every module imported whole, every export called
    import onnx.backend.test.case.node as node
    with cases._generating():
        for module in sorted({cases.index()[name].module for name in listed}):
            importlib.import_module(f"{cases.NODE_PACKAGE}.{module}")
    made = {case.name: case for case in node._NodeTestCases}
    found = {name: digest(made[name]) for name in listed}
else:  # one case at a time, in an order that asks for a module's later cases first
    random.Random(0).shuffle(listed)
    found = {name: digest(cases.generate(name)) for name in listed}
print(json.dumps(found))
"""


def _digests(way: str, modules: list[str]) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", DIGESTS, way, *modules], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


# Modules of many cases and exports (AveragePool's twenty, Attention's 186), one whose
# exports write cases of two ops (CastLike's, Cast too), and one of a single export.
SAMPLED_MODULES = ["averagepool", "attention", "castlike", "cumsum", "relu"]


def test_a_case_generated_alone_is_the_case_onnx_generates():
    """generate() calls a module's export functions only up to the case asked for; each case
    is byte for byte the one onnx's own generation (every export, at import) makes: the model,
    every data set, rtol and atol. Asked for in shuffled order, so that a module's later case
    comes first and an earlier one is then found among those already made."""
    ours = _digests("alone", SAMPLED_MODULES)
    listed = [name for name, entry in index().items() if entry.module in SAMPLED_MODULES]
    assert sorted(ours) == sorted(listed) and ours == _digests("onnx", SAMPLED_MODULES)


@pytest.mark.slow
def test_every_case_generated_alone_is_the_case_onnx_generates():
    ours = _digests("alone", [])
    assert len(ours) == len(index()) and ours == _digests("onnx", [])


@pytest.mark.slow
def test_the_index_is_the_installed_onnxs_in_full():
    """Every case of collect_testcases(), built afresh in another interpreter (10 s of CPU),
    is the index's, with the same module, types and reason to leave it out."""
    built = subprocess.run([sys.executable, "-m", "harness.sources.onnx_node", "--print"],
                           capture_output=True, text=True, check=True, cwd=ROOT)
    fresh = json.loads(built.stdout)
    assert fresh == json.loads(INDEX_FILE.read_text(encoding="utf-8")), (
        "index.json is stale: python -m harness.sources.onnx_node --write")
    assert len(fresh["cases"]) == 1884 or fresh["onnx"] != "1.23.2"


def test_an_entry_naming_the_op_tags_the_node_test_and_a_drawn_onnx_case_alike():
    """onnx2pytorch-resize-half-pixel-symmetric names Resize and its mode, not the node tests'
    names: a drawn ONNX Resize in that mode is the same bug, and a Resize in another mode is
    not."""
    issues = known_issues.load()
    entry = "onnx2pytorch-resize-half-pixel-symmetric"
    node_test = next(i for i in issues if i.id == entry).minimal
    drawn = LayerSpec("Resize", {"coordinate_transformation_mode": "half_pixel_symmetric",
                                 "mode": "linear", "opset": 19},
                      input_shapes=((1, 1, 2, 4),), source="onnx")
    other_mode = LayerSpec("Resize", {**drawn.attrs, "coordinate_transformation_mode": "half_pixel"},
                           input_shapes=((1, 1, 2, 4),), source="onnx")
    tagged = lambda spec, leg: entry in [i.id for i in known_issues.candidates(issues, spec, leg)]  # noqa: E731
    assert tagged(node_test, "onnx>onnx2pytorch")
    assert tagged(drawn, "onnx>onnx2pytorch")
    assert not tagged(other_mode, "onnx>onnx2pytorch")
    assert not tagged(drawn, "onnx>onnx2torch")


@pytest.mark.parametrize("name", ["test_relu", "test_maxunpool_export_with_output_shape"])
def test_a_warm_run_reads_a_case_from_the_stage_cache_as_the_cold_run_read_it(
        tmp_path, monkeypatch, name):
    """A node test is a file of the installed onnx: its reading is kept, the expected
    outputs as the reference where onnxruntime does not meet them, and a new onnx misses."""
    from harness.run.stage_cache import keys
    from tests.cache_runs import run_cached, verdicts

    cold, cold_artifacts, cold_cache = run_cached(tmp_path, spec_for(name), "onnx>ort-optimized")
    warm, warm_artifacts, warm_cache = run_cached(tmp_path, spec_for(name), "onnx>ort-optimized")
    assert (cold_cache.log[0], warm_cache.log[0]) == (("reading onnx-node", "miss"),
                                                      ("reading onnx-node", "hit"))
    assert verdicts(warm) == verdicts(cold)
    kept, made = warm_artifacts["onnx"], cold_artifacts["onnx"]  # a node test starts at onnx
    assert kept.model.SerializeToString() == made.model.SerializeToString()
    with_onnx = tmp_path / "another-onnx"
    run_cached(with_onnx, spec_for(name), "onnx>ort-optimized")
    monkeypatch.setenv(keys.OVERRIDE_ENV, "onnx=9.9")
    _, _, cache = run_cached(with_onnx, spec_for(name), "onnx>ort-optimized")
    assert cache.log[0] == ("reading onnx-node", "miss")
