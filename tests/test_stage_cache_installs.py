"""The stage cache cannot be fooled by how a package is installed: a package's fingerprint is
the code Python imports for it, so a changed converter at an unchanged version misses in
every way a team tests one, and an unchanged reinstall still hits.

Everything is real: a tiny setuptools project (``tinypkg`` 0.1, whose ``core.SLOPE`` a test
changes at the same size and version), installed with pip (``--target``, editable into a
throw-away venv), fingerprinted in a subprocess with that environment, as a new run would;
a ``Harness`` on a real ONNX graph through a stage that declares ``tinypkg``; and a planted
cache entry that ``--parity-cache-verify`` catches.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness import converters
from harness.core.spec import LayerSpec
from harness.run.pipeline import Harness
from harness.run.stage_cache import keys, packages
from harness.run.stage_cache.arrays import pack, unpack
from harness.run.stage_cache.cache import CacheMismatch, StageCache, open_cache
from harness.run.stage_cache.store import Store
from harness.run.stage_cache.verify import VERIFY_ENV, fraction, model_difference, sampled
from tests.cache_runs import fresh_process, run_cached
from tests.fakes import Stage

pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[1]
ADD = LayerSpec("Add", {}, ((2, 3), (2, 3)), seed=1, source="onnx")
PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "tinypkg"
version = "0.1"

[tool.setuptools]
packages = ["tinypkg"]

[tool.setuptools.package-data]
tinypkg = ["*.so"]
"""
EXTENSION = "_speed.cpython-311-x86_64-linux-gnu.so"  # fingerprinted, never loaded
# What a subprocess prints: tinypkg's fingerprint, as the process it describes sees it.
FINGERPRINT = """\
import sys
sys.path.append({root!r})  # the harness, behind everything the test puts in front
{before}
from harness.run.stage_cache.keys import package_fingerprint
print(package_fingerprint("tinypkg"))
"""


# -- a tiny package, installed for real -----------------------------------------------------
def project(folder: Path, slope: str = "1.5", extension: bytes = b"\x7fELF-one") -> Path:
    """A checkout of tinypkg 0.1; ``slope`` and ``extension`` the same size in every test,
    so that only content tells the versions apart."""
    (folder / "tinypkg").mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / "tinypkg" / "__init__.py").write_text("from tinypkg.core import SLOPE, slope\n")
    (folder / "tinypkg" / "core.py").write_text(
        f"SLOPE = {slope}\n\n\ndef slope(x):\n    return x * SLOPE\n")
    (folder / "tinypkg" / EXTENSION).write_bytes(extension)
    return folder


def pip_install(*args, python: str = sys.executable) -> None:
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--disable-pip-version-check", *map(str, args)],
                   check=True, capture_output=True, cwd=args[-1])


def install_target(tree: Path, target: Path) -> Path:
    """``pip install --target DIR .`` (``--upgrade`` replaces what is there)."""
    pip_install("--target", target, "--upgrade", tree)
    return target


def fingerprint(cwd: Path, *, pythonpath=(), before: str = "",
                python: str = sys.executable) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", keys.OVERRIDE_ENV, VERIFY_ENV)}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(map(str, pythonpath))
    script = FINGERPRINT.format(root=str(ROOT), before=before)
    done = subprocess.run([python, "-c", script], env=env, cwd=cwd, capture_output=True,
                          text=True, check=True)
    return done.stdout.split()[-1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """tinypkg 0.1, slope 1.5, as ``pip install --target`` leaves it (a site folder)."""
    folder = tmp_path_factory.mktemp("installed")
    return install_target(project(folder / "tree"), folder / "site")


def copied(site: Path, folder: Path) -> Path:
    return Path(shutil.copytree(site, folder, symlinks=True))


# -- each way of installing a changed tinypkg misses ----------------------------------------
def test_pip_install_of_a_changed_tree_at_the_same_version_misses(tmp_path, installed):
    site = copied(installed, tmp_path / "site")
    first = fingerprint(tmp_path, pythonpath=[site])
    assert first.startswith("0.1+code:")
    tree = project(tmp_path / "tree")
    install_target(tree, site)  # the same code again: a hit
    assert fingerprint(tmp_path, pythonpath=[site]) == first
    install_target(project(tree, slope="2.5"), site)
    changed = fingerprint(tmp_path, pythonpath=[site])
    assert changed not in (first, "0.1")
    # A new compiled extension, the same size, at the same version.
    install_target(project(tree, slope="2.5", extension=b"\x7fELF-two"), site)
    assert fingerprint(tmp_path, pythonpath=[site]) not in (first, changed)


def test_an_installed_file_changed_or_added_after_installing_misses(tmp_path, installed):
    site = copied(installed, tmp_path / "site")
    record = next(site.glob("tinypkg-*.dist-info")) / "RECORD"
    installed_at_ns = 1_700_000_000_123_456_789  # a fine-grained time, as ext4's or tmpfs's
    os.utime(record, ns=(installed_at_ns, installed_at_ns))
    first = fingerprint(tmp_path, pythonpath=[site])
    changed = site / "tinypkg" / EXTENSION
    changed.write_bytes(b"\x7fELF-two")  # same size as RECORD's
    a_moment_later_ns = installed_at_ns + 250_000_000
    os.utime(changed, ns=(a_moment_later_ns, a_moment_later_ns))
    extension = fingerprint(tmp_path, pythonpath=[site])
    assert extension != first
    (site / "tinypkg" / "extra.py").write_text("HELPER = 1\n")  # RECORD does not list it
    added = fingerprint(tmp_path, pythonpath=[site])
    assert added not in (first, extension)
    (site / "tinypkg" / "extra.py").write_text("HELPER = 2\n")
    assert fingerprint(tmp_path, pythonpath=[site]) not in (first, extension, added)


@pytest.mark.parametrize("how", ["PYTHONPATH", "sys.path.insert"])
def test_a_checkout_in_front_of_the_installed_copy_is_what_counts(tmp_path, installed, how):
    checkout = project(tmp_path / "checkout")  # the same code as the installed copy

    def seen() -> str:
        if how == "PYTHONPATH":
            return fingerprint(tmp_path, pythonpath=[checkout, installed])
        return fingerprint(tmp_path, pythonpath=[installed],
                           before=f"sys.path.insert(0, {str(checkout)!r})")

    installed_only = fingerprint(tmp_path, pythonpath=[installed])
    same = seen()
    assert same == installed_only  # the same files under the same names: a hit
    project(checkout, slope="2.5")
    assert seen() not in (installed_only, "0.1")
    # The installed copy's fingerprint is its own again without the checkout.
    assert fingerprint(tmp_path, pythonpath=[installed]) == installed_only


def test_a_package_imported_from_a_folder_its_record_does_not_list(tmp_path, installed):
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(installed / "tinypkg", elsewhere / "tinypkg")  # no dist-info there
    path = [elsewhere, installed]  # metadata from the installed copy, code from elsewhere
    first = fingerprint(tmp_path, pythonpath=path)
    project(tmp_path / "tree", slope="2.5")
    shutil.copy(tmp_path / "tree" / "tinypkg" / "core.py", elsewhere / "tinypkg" / "core.py")
    assert fingerprint(tmp_path, pythonpath=path) not in (first, "0.1")


@pytest.mark.parametrize("mode", ["strict", "compat"])
def test_an_editable_install_misses_on_an_edit(tmp_path, mode):
    """setuptools' finder hook (a mapping to the tree in a meta-path finder its ``.pth``
    installs) and its compat mode (the tree's folder in a ``.pth``)."""
    tree = project(tmp_path / "tree")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    # pip, setuptools and numpy from this project's environment, behind the venv's own.
    (site / "outer.pth").write_text(str(Path(np.__file__).parents[1]) + "\n")
    python = str(venv / "bin" / "python")
    mode_setting = [] if mode == "strict" else ["--config-settings", "editable_mode=compat"]
    pip_install(*mode_setting, "--editable", tree, python=python)
    assert (list(site.glob("__editable__*finder.py")) != []) == (mode == "strict")
    first = fingerprint(tmp_path, python=python)
    assert first.startswith("0.1+tree:")
    assert fingerprint(tmp_path, python=python) == first  # nothing changed: a hit
    project(tree, slope="2.5")
    assert fingerprint(tmp_path, python=python) not in (first, "0.1")


def test_importing_a_package_that_extends_its_path_keeps_its_fingerprint(tmp_path):
    """tensorflow's ``__path__`` gains keras' folder when imported: a fingerprint taken
    before the import (a run's first key) and after it (an isolation worker's) agree."""
    checkout = project(tmp_path / "checkout")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "more.py").write_text("MORE = 1\n")
    init = checkout / "tinypkg" / "__init__.py"
    init.write_text(init.read_text() + f"__path__.append({str(tmp_path / 'other')!r})\n")
    before = fingerprint(tmp_path, pythonpath=[checkout])
    assert before.startswith("unversioned+code:")  # importable, not installed
    assert fingerprint(tmp_path, pythonpath=[checkout], before="import tinypkg") == before


def test_a_package_neither_installed_nor_importable_is_absent(tmp_path):
    assert fingerprint(tmp_path) == "absent"
    assert fingerprint(tmp_path) == "absent"


# -- the cache: a changed package's stage misses ------------------------------------------
def sloped(artifact):
    """ONNX in, the same graph out, with tinypkg's slope in its doc string."""
    import onnx
    import tinypkg

    model = onnx.ModelProto()
    model.CopyFrom(artifact.model)
    model.doc_string = f"slope {tinypkg.SLOPE}"
    return converters.Artifact("onnx", model, list(artifact.input_names))


@pytest.fixture
def tinypkg_stage(tmp_path, installed, monkeypatch):
    """A stage declaring tinypkg, importable from a copy of the installed site folder."""
    site = copied(installed, tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    converters.register(Stage("sloped", "onnx", "onnx", sloped, packages=("tinypkg",)))
    yield site
    converters.unregister("sloped")
    for name in ("tinypkg", "tinypkg.core"):
        sys.modules.pop(name, None)


def test_a_harness_misses_on_a_reinstalled_changed_package(tmp_path, tinypkg_stage):
    folder = tmp_path / "cache"
    _, artifacts, cache = run_cached(folder, ADD, "onnx>sloped")
    assert cache.log == [("reading onnx", "miss"), ("sloped", "miss")]
    assert artifacts["onnx>sloped"].model.doc_string == "slope 1.5"
    _, _, cache = run_cached(folder, ADD, "onnx>sloped")
    assert cache.log == [("reading onnx", "hit"), ("sloped", "hit")]
    install_target(project(tmp_path / "tree", slope="2.5"), tinypkg_stage)
    for name in ("tinypkg", "tinypkg.core"):  # a new process imports the new code
        sys.modules.pop(name, None)
    result, artifacts, cache = run_cached(folder, ADD, "onnx>sloped")
    assert cache.log == [("reading onnx", "hit"), ("sloped", "miss")]
    assert artifacts["onnx>sloped"].model.doc_string == "slope 2.5", result.legs


# -- --parity-cache-verify ------------------------------------------------------------------
def entries(folder: Path, kind: str) -> list[Path]:
    return [path for path in sorted((folder / "v1" / "entries").glob("*/*.json"))
            if json.loads(path.read_text())["kind"] == kind]


def plant_other_numbers(folder: Path) -> Path:
    """Rewrites the run entry's outputs with other numbers: well-formed, blob and hash
    consistent, under the same key; returns the entry."""
    (entry_path,) = entries(folder, "run")
    entry = json.loads(entry_path.read_text())
    store = Store(folder)
    arrays = unpack(store.blob(entry_path.stem, entry["arrays"]))
    planted = pack({name: value + 1 for name, value in arrays.items()})
    store.put(entry_path.stem, {**entry, "arrays": Store.blob_hash(planted)}, [planted])
    return entry_path


def test_verify_fails_loudly_on_a_planted_run_and_removes_it(tmp_path):
    paths = "onnx>ort-optimized"
    cold, _, _ = run_cached(tmp_path, ADD, paths)
    assert {leg.verdict for leg in cold.legs} == {"pass"}
    planted = plant_other_numbers(tmp_path)
    # Unverified, the planted numbers are what the leg is judged on.
    fooled, _, _ = run_cached(tmp_path, ADD, paths)
    assert {leg.verdict for leg in fooled.legs} == {"fail"}
    fresh_process()
    cache = StageCache(tmp_path, verify=1.0)
    with pytest.raises(CacheMismatch) as raised:
        Harness(paths, cache=cache, known_issues=[]).run(ADD)
    message = str(raised.value)
    assert "run onnxruntime" in message and planted.stem in message
    assert "output 0: 6 of 6 values differ (max abs diff 1)" in message
    assert cache.verify_log == [("reading onnx", "same"), ("ort-optimized", "same"),
                                ("run onnxruntime", "differs")]
    assert not planted.exists()
    # The next run makes the run again, and verified hits pass.
    again, _, _ = run_cached(tmp_path, ADD, paths)
    assert [leg.verdict for leg in again.legs] == [leg.verdict for leg in cold.legs]


SUITE = textwrap.dedent('''
    from harness.core.spec import LayerSpec


    def test_add(parity):
        parity.check(LayerSpec("Add", {}, ((2, 3), (2, 3)), seed=1, source="onnx"))
''')


def test_the_verify_option_fails_the_test(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv(VERIFY_ENV, raising=False)
    pytester.makeconftest('pytest_plugins = ["harness.plugin"]\n')
    pytester.makepyfile(test_suite=SUITE)
    args = ("-p", "no:cacheprovider", "--parity-report", "none", "--parity-paths",
            "onnx>ort-optimized", "--parity-cache", "cache")  # in the test's root
    run_cached(pytester.path / "cache", ADD, "onnx>ort-optimized")  # the same keys as pytest's
    planted = plant_other_numbers(pytester.path / "cache")
    result = pytester.runpytest_subprocess(*args, "--parity-cache-verify", "1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*CacheMismatch: parity cache: the cached run onnxruntime "
                                 f"differs from a cold run*key {planted.stem}*"])
    assert not planted.exists()


def test_the_sample_is_drawn_by_key_and_seed():
    drawn = [f"{i:064x}" for i in range(400)]
    half = [key for key in drawn if sampled(key, 0.5)]
    assert 140 < len(half) < 260
    assert half == [key for key in drawn if sampled(key, 0.5)]  # a rerun checks the same
    assert half != [key for key in drawn if sampled(key, 0.5, seed=1)]
    assert not any(sampled(key, 0.0) for key in drawn)
    assert all(sampled(key, 1.0) for key in drawn)


def test_the_environment_variable_and_bad_fractions(tmp_path, monkeypatch):
    assert open_cache(tmp_path).verify == 0.0
    monkeypatch.setenv(VERIFY_ENV, "0.25")
    assert open_cache(tmp_path).verify == 0.25
    assert open_cache(tmp_path, verify=1).verify == 1.0  # the option wins
    monkeypatch.setenv(VERIFY_ENV, "1.5")
    with pytest.raises(ValueError, match=VERIFY_ENV):
        open_cache(tmp_path)
    for bad in ("2", "-0.1", "some"):  # what --parity-cache-verify refuses
        with pytest.raises(ValueError):
            fraction(bad)


def test_onnx_models_are_compared_names_aside():
    """tf2onnx numbers free dimensions per process (``unk__6``, then ``unk__11``): the same
    graph under other names is the same model; another operator is not."""
    from onnx import TensorProto, helper

    def model(dim: str, op: str = "Relu", value: str = "y"):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [dim, 3])
        y = helper.make_tensor_value_info(value, TensorProto.FLOAT, [dim, 3])
        node = helper.make_node(op, ["x"], [value], name=f"{op}__{dim}")
        return helper.make_model(helper.make_graph([node], "g", [x], [y]))

    assert model_difference(model("unk__6"), model("unk__11", value="z")) is None
    assert "node 0 (Relu 'Relu__unk__6' in the entry's model, Sigmoid" in model_difference(
        model("unk__6"), model("unk__6", "Sigmoid"))


# -- hashing each file once ---------------------------------------------------------------
def test_file_hashes_are_kept_by_stat_between_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(packages, "RACY_S", -1.0)  # a file written now may be kept
    tree = project(tmp_path / "tree")
    roots = {"tinypkg": [str(tree / "tinypkg")]}
    memo = tmp_path / "file-hashes"
    first = packages.HashMemo()
    monkeypatch.setattr(packages, "MEMO", first)
    first.persist_in(memo)
    value = packages.code_hash(roots, {})
    assert first.hashed == 3 and list(memo.glob("*.json"))
    second = packages.HashMemo()  # a new process, the same cache folder
    monkeypatch.setattr(packages, "MEMO", second)
    second.persist_in(memo)
    assert packages.code_hash(roots, {}) == value and second.hashed == 0
    core = tree / "tinypkg" / "core.py"
    core.write_text(core.read_text().replace("1.5", "2.5"))  # that file alone is hashed again
    assert packages.code_hash(roots, {}) != value and second.hashed == 1
