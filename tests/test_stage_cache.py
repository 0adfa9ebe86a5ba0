"""Issue #26, the stage cache: a hit is the artifact and the verdicts a run without it gives;
a changed package version, option, input or editable package's code misses; a damaged entry
is a miss with a warning; ``--parity-cache none`` writes nothing.

Everything is real: tf2onnx on a one-Dense Keras model, onnxruntime on a one-Add ONNX
graph. A new run is a new process; here, a new ``StageCache`` on the same folder, with the
per-process package fingerprints forgotten (``fresh_process``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import textwrap
import warnings
from importlib.metadata import PathDistribution
from pathlib import Path

import pytest

from harness import converters
from harness.cli import main as parity_main
from harness.core import known_issues
from harness.core.spec import LayerSpec
from harness.core.structure.models import model_of
from harness.run.pipeline import Harness
from harness.run.stage_cache import keys
from harness.run.stage_cache.cache import (
    NO_CACHE,
    CacheWarning,
    LazyArtifact,
    open_cache,
)
from tests.cache_runs import fresh_process, run_cached, verdicts

pytest.importorskip("tf2onnx")
pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[1]
KERAS_PATHS = "keras>tf2onnx>ort-optimized"
DENSE = LayerSpec("Dense", {"units": 3}, ((2, 4),), seed=1)
ONNX_ADD = LayerSpec("Add", {}, ((2, 3), (2, 3)), seed=1, source="onnx")


def run(folder: Path, spec: LayerSpec = DENSE, paths: str = KERAS_PATHS, **kwargs):
    return run_cached(folder, spec, paths, **kwargs)


def onnx_bytes(artifacts, leg: str) -> bytes:
    return artifacts[leg].model.SerializeToString()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_hit_is_the_same_bytes_and_the_same_verdicts(tmp_path, dtype):
    spec = dataclasses.replace(DENSE, dtype=dtype)
    cold, cold_artifacts, cold_cache = run(tmp_path, spec)
    warm, warm_artifacts, warm_cache = run(tmp_path, spec)
    assert (cold_cache.hits, cold_cache.misses) == (0, 3)  # the reading, two stages
    assert (warm_cache.hits, warm_cache.misses) == (3, 0)
    assert onnx_bytes(warm_artifacts, "keras>tf2onnx") == onnx_bytes(cold_artifacts,
                                                                      "keras>tf2onnx")
    assert verdicts(warm) == verdicts(cold)
    assert {leg.verdict for leg in warm.legs} == {"pass"}
    source = warm_artifacts["keras"]
    assert isinstance(source, LazyArtifact) and "not built" in repr(source)  # no Keras at all


def test_an_onnx_source_reading_hits(tmp_path):
    paths = "onnx>ort-optimized"
    cold, cold_artifacts, _ = run(tmp_path, ONNX_ADD, paths)
    warm, warm_artifacts, warm_cache = run(tmp_path, ONNX_ADD, paths)
    assert (warm_cache.hits, warm_cache.misses) == (2, 0)
    assert onnx_bytes(warm_artifacts, "onnx") == onnx_bytes(cold_artifacts, "onnx")
    assert verdicts(warm) == verdicts(cold)


def test_a_known_issue_s_structural_check_leaves_a_cached_keras_source_unbuilt(tmp_path):
    """tf2onnx's short Resize is claimed where tf2onnx's model holds the short scale, read
    in the model the stage was given and in the one it wrote: the Keras source is not ONNX,
    and a hit must not build it (TensorFlow imported, the model built) to learn that."""
    resizing = LayerSpec("Resizing", {"height": 13, "width": 1, "interpolation": "bilinear",
                                      "data_format": "channels_last"}, ((1, 11, 1, 1),), seed=0)
    issues = known_issues.load()
    cold, _, _ = run(tmp_path, resizing, "keras>tf2onnx", known_issues=issues)
    warm, warm_artifacts, warm_cache = run(tmp_path, resizing, "keras>tf2onnx",
                                           known_issues=issues)
    assert warm_cache.misses == 0
    assert [(leg.known_issue or {}).get("id") for leg in warm.legs] == [
        "tf2onnx-resize-static-scales-short-output"]
    assert verdicts(warm) == verdicts(cold)
    assert "not built" in repr(warm_artifacts["keras"])


def test_the_known_issues_readings_of_onnx_do_not_build_a_source_of_another_format():
    """Matching a leg reads the ONNX nodes and model of the artifact the stage was given; a
    cached Keras reading is not ONNX, and asking it for its model would build it."""
    def build():
        raise AssertionError("the Keras source was built")

    keras_source = LazyArtifact("keras", ["input_0"], {}, build)
    assert known_issues.onnx_nodes(keras_source) == []
    assert known_issues.onnx_nodes(known_issues.Received(keras_source)) == []
    assert model_of(keras_source) is None
    assert "not built" in repr(keras_source)


def test_a_changed_version_option_or_input_misses(tmp_path, monkeypatch):
    cold, _, _ = run(tmp_path)
    # A new onnx2torch (not stored: a PyTorch module) leaves tf2onnx and the reading cached.
    monkeypatch.setenv(keys.OVERRIDE_ENV, "onnx2torch=9.9")
    _, _, cache = run(tmp_path, paths="keras>tf2onnx>onnx2torch")
    assert (cache.hits, cache.misses) == (2, 0)
    # A new tf2onnx: the Keras reading hits, tf2onnx misses.
    monkeypatch.setenv(keys.OVERRIDE_ENV, "tf2onnx=9.9")
    again, artifacts, cache = run(tmp_path)
    assert cache.log[:2] == [("reading keras", "hit"), ("tf2onnx", "miss")]
    assert verdicts(again) == verdicts(cold)
    assert "built" in repr(artifacts["keras"]) and "not built" not in repr(artifacts["keras"])
    monkeypatch.delenv(keys.OVERRIDE_ENV)
    # Another opset: tf2onnx misses, and ort-optimized on its other model.
    _, artifacts, cache = run(tmp_path, opset=13)
    assert cache.log == [("reading keras", "hit"), ("tf2onnx", "miss"),
                         ("ort-optimized", "miss")]
    assert artifacts["keras>tf2onnx"].model.opset_import[0].version == 13
    # Another input (seed): everything misses.
    _, _, cache = run(tmp_path, dataclasses.replace(DENSE, seed=2))
    assert (cache.hits, cache.misses) == (0, 3)


def test_a_damaged_entry_is_a_miss_with_a_warning(tmp_path):
    cold, _, _ = run(tmp_path)
    blobs = sorted((tmp_path / "v1" / "blobs").glob("*/*"))
    entries = sorted((tmp_path / "v1" / "entries").glob("*/*.json"))
    for blob in blobs:  # every blob cut in half
        blob.write_bytes(blob.read_bytes()[: blob.stat().st_size // 2])
    with pytest.warns(CacheWarning, match="damaged"):
        warm, _, cache = run(tmp_path)
    assert cache.log[:2] == [("reading keras", "miss"), ("tf2onnx", "miss")]
    assert verdicts(warm) == verdicts(cold)
    for entry in entries:  # now every entry cut short: not JSON
        entry.write_text(entry.read_text()[:20])
    with pytest.warns(CacheWarning, match="not valid JSON"):
        again, _, cache = run(tmp_path)
    assert (cache.hits, cache.misses) == (0, 3)
    assert verdicts(again) == verdicts(cold)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)  # rewritten whole: no warning now
        _, _, cache = run(tmp_path)
    assert (cache.hits, cache.misses) == (3, 0)


STAGE_MODULE = '''
from harness.converters import Artifact

from mystage.naming import DOC


class Documenting:
    """onnx -> onnx: the same graph with a doc string."""

    name = "documenting"
    source = "onnx"
    target = "onnx"
    packages = ("mystage",)

    def convert(self, artifact, options):
        import onnx

        model = onnx.ModelProto()
        model.CopyFrom(artifact.model)
        model.doc_string = DOC
        return Artifact("onnx", model, list(artifact.input_names))
'''


def editable_package(tmp_path: Path) -> Path:
    """``mystage`` 0.1 as pip installs a working tree (``pip install -e``): a dist-info
    whose direct_url.json says editable, pointing at the tree; returns the tree."""
    tree = tmp_path / "mystage-tree"
    (tree / "mystage").mkdir(parents=True)
    (tree / "mystage" / "__init__.py").write_text(STAGE_MODULE)
    (tree / "mystage" / "naming.py").write_text('DOC = "first"\n')
    site = tmp_path / "site"
    info = site / "mystage-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mystage\nVersion: 0.1\n")
    (info / "direct_url.json").write_text(json.dumps(
        {"url": tree.as_uri(), "dir_info": {"editable": True}}))
    (info / "RECORD").write_text("mystage-0.1.dist-info/METADATA,,\n")
    return tree


def test_an_editable_packages_code_change_misses(tmp_path, monkeypatch):
    tree = editable_package(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.syspath_prepend(str(tree))
    from mystage import Documenting

    converters.register(Documenting())
    try:
        folder = tmp_path / "cache"
        result, artifacts, cache = run(folder, ONNX_ADD, "onnx>documenting")
        assert (cache.hits, cache.misses) == (0, 2)
        assert artifacts["onnx>documenting"].model.doc_string == "first", result.legs
        _, _, cache = run(folder, ONNX_ADD, "onnx>documenting")
        assert (cache.hits, cache.misses) == (2, 0)
        before = keys.package_fingerprint("mystage")
        assert before.startswith("0.1+tree:")
        # The team edits a module the stage imports; the version stays 0.1.
        (tree / "mystage" / "naming.py").write_text('DOC = "second"\n')
        fresh_process()
        assert keys.package_fingerprint("mystage") not in (before, "0.1")
        _, _, cache = run(folder, ONNX_ADD, "onnx>documenting")
        assert (cache.hits, cache.misses) == (1, 1)  # the ONNX reading hits, the stage not
    finally:
        converters.unregister("documenting")
        for name in ("mystage", "mystage.naming"):
            sys.modules.pop(name, None)


def test_a_wheel_file_changed_after_installing_is_keyed_by_its_files(tmp_path):
    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    code = site / "pkg" / "__init__.py"
    code.write_text("X = 1\n")
    info = site / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
    (info / "RECORD").write_text(f"pkg/__init__.py,sha256=x,{code.stat().st_size}\n"
                                 "pkg-1.0.dist-info/RECORD,,\n")
    dist = PathDistribution(info)
    assert keys.modified_files_hash(dist) is None  # as installed: keyed by its version
    code.write_text("X = 22\n")
    assert keys.modified_files_hash(dist) is not None


def test_none_is_no_cache_and_a_folder_is_under_the_root(tmp_path):
    assert open_cache("none") is NO_CACHE and open_cache("None", tmp_path) is NO_CACHE
    assert open_cache(".parity-cache", tmp_path).folder == tmp_path / ".parity-cache"
    result = Harness(KERAS_PATHS, known_issues=[]).run(DENSE)
    assert {leg.verdict for leg in result.legs} == {"pass"}


SUITE = textwrap.dedent('''
    from harness.core.spec import LayerSpec


    def test_dense(parity):
        parity.check(LayerSpec("Dense", {"units": 3}, ((2, 4),), seed=1))
''')


def test_the_pytest_option(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest('pytest_plugins = ["harness.plugin"]\n')
    pytester.makepyfile(test_suite=SUITE)
    args = ("-p", "no:cacheprovider", "--parity-report", "none", "--parity-paths", KERAS_PATHS)
    pytester.runpytest_subprocess(*args, "--parity-cache", "none").assert_outcomes(passed=1)
    assert not (pytester.path / ".parity-cache").exists()
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)  # the default folder
    entries = list((pytester.path / ".parity-cache" / "v1" / "entries").glob("*/*.json"))
    assert sorted(json.loads(p.read_text())["kind"] for p in entries) == [
        "reading", "run", "run", "stage", "stage"]  # two onnxruntime runs


def test_cache_info_and_clear(tmp_path, capsys):
    run(tmp_path)
    assert parity_main(["cache", "info", "--dir", str(tmp_path)]) == 0
    assert "entries: 5 (1 reading, 2 run, 2 stage)" in capsys.readouterr().out
    assert parity_main(["cache", "clear", "--dir", str(tmp_path), "--older-than", "1"]) == 0
    assert "removed 0 entries" in capsys.readouterr().out
    assert parity_main(["cache", "clear", "--dir", str(tmp_path)]) == 0
    assert "removed 5 entries" in capsys.readouterr().out
    assert not list((tmp_path / "v1" / "blobs").glob("*/*"))
