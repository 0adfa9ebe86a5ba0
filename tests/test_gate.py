"""``parity gate`` (docs/gate.md): the installed suites run from another directory, the golden
store handed over as a checked archive, the versions a team states, and the configuration
the gate ships kept equal to the repository's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from harness import cli, golden
from harness.core import known_issues
from harness.gate.paths import paths_through
from harness.golden import artifact

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
GATE = ROOT / "harness" / "gate"
# Three stored ONNX LeakyRelu cases: replayed with onnxruntime and torch alone.
LEAKY_RELU_CASES = ("1451e9095bb8bc93", "371b2e1e985cd6e5", "4990baae5e2ed685")


def test_the_shipped_policy_is_the_repositorys():
    shipped = tomllib.loads((GATE / "tolerance.toml").read_text())
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert shipped["tool"]["parity"] == ours["tool"]["parity"], (
        "harness/gate/tolerance.toml must copy pyproject.toml's [tool.parity.tolerance]")


def test_the_shipped_pytest_configuration_is_the_repositorys():
    import configparser

    ini = configparser.ConfigParser()
    ini.read(GATE / "pytest.ini")
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    for key in ("markers", "filterwarnings"):
        shipped = [line.strip() for line in ini["pytest"][key].splitlines() if line.strip()]
        assert shipped == ours[key], f"harness/gate/pytest.ini's {key}"


@pytest.fixture
def small_store(tmp_path) -> Path:
    """A store of three cases copied from the repository's, with its own manifest."""
    source = golden.read_manifest(ROOT / "golden")
    root = tmp_path / "store"
    for case_id in LEAKY_RELU_CASES:
        shutil.copytree(ROOT / "golden" / golden.CASES / case_id, root / golden.CASES / case_id)
    manifest = {"schema": golden.SCHEMA,
                "cases": {case_id: source.cases[case_id] for case_id in LEAKY_RELU_CASES}}
    (root / golden.MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return root


def test_pack_is_reproducible_and_unpack_verifies(small_store, tmp_path):
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    digest = artifact.pack(small_store, first)
    assert artifact.pack(small_store, second) == digest  # the same store, the same bytes
    assert artifact.checksum_file(first).read_text().split()[0] == digest
    unpacked = artifact.unpack(first, tmp_path / "unpacked")
    assert artifact.identity(unpacked) == artifact.identity(small_store)
    assert artifact.identity(unpacked)["cases"] == 3


def test_a_damaged_archive_is_refused(small_store, tmp_path):
    archive = tmp_path / "store.tar.gz"
    artifact.pack(small_store, archive)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(golden.GoldenError, match="is not the expected"):
        artifact.unpack(archive, tmp_path / "unpacked")
    assert not (tmp_path / "unpacked").exists()


def test_an_archive_whose_files_differ_from_its_manifest_is_refused(small_store, tmp_path):
    """The archive's checksum matches (it was rewritten with its sidecar) but a file inside
    is not the one the manifest lists: the manifest's checksums catch it."""
    victim = small_store / golden.CASES / LEAKY_RELU_CASES[0] / "expected.npz"
    victim.write_bytes(victim.read_bytes() + b"\0")
    archive = tmp_path / "store.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(small_store, arcname=artifact.TOP)
    digest = golden.sha256(archive)
    with pytest.raises(golden.GoldenError, match="checksum mismatch"):
        artifact.unpack(archive, tmp_path / "unpacked", digest)


def test_report_versions_names_the_store_and_the_known_issues(small_store, tmp_path, capsys,
                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    archive = tmp_path / "store.tar.gz"
    artifact.pack(small_store, archive)
    assert cli.main(["gate", "--golden", str(archive), "--report-versions"]) == 0
    out = capsys.readouterr().out
    manifest = golden.sha256(small_store / golden.MANIFEST)
    issues = known_issues.identity()
    assert f"golden store: manifest sha256 {manifest}, 3 cases" in out
    assert f"known issues: sha256 {issues['sha256']}, {issues['entries']} entries" in out
    assert issues["entries"] == len(known_issues.load())


@pytest.mark.parametrize("argv, said", [
    (["gate", "--golden", "nowhere.tar.gz", "--report-versions"], "nowhere.tar.gz: no such file"),
    (["gate", "--converter", "no-such-stage", "--report-versions"], None),
    (["gate", "--converter", "no-such-stage"], "no-such-stage"),
    (["gate", "--suites", "layers,nonesuch"], "--suites: no suite nonesuch"),
    (["gate", "--paths", "onnx>tf2onnx"], "takes 'keras' artifacts"),
    (["gate", "--shard", "3/2"], "--shard '3/2': I must be between 1 and N"),
    (["gate", "--plugins", "no_such_module_here"], "no_such_module_here"),
    (["gate", "--golden", "store.tar.gz", "--golden-sha256", golden.sha256(Path(__file__))],
     "not a store archive"),
])
def test_a_mistake_is_one_line(argv, said, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(__file__, tmp_path / "store.tar.gz")  # not an archive, whatever its checksum
    code = cli.main(argv)
    err = capsys.readouterr().err
    if said is None:  # --report-versions does not look at the paths
        assert code == 0
        return
    assert code == 2
    assert said in err and len(err.strip().splitlines()) == 1, err


def test_a_converter_is_gated_down_every_path_that_reaches_it():
    assert {"onnx>onnx2torch", "keras>tf2onnx>onnx2torch"} <= set(paths_through("onnx2torch"))
    assert all("onnx2torch" in path for path in paths_through("onnx2torch"))


def test_a_plugin_converter_is_appended_where_its_format_is_made():
    from harness import converters
    from harness.converters import Artifact

    class Identity:
        name, source, target, packages = "my-onnx-copy", "onnx", "onnx", ("onnx",)

        def convert(self, artifact, options):
            return Artifact("onnx", artifact.model, list(artifact.input_names))

    converters.register(Identity())
    try:
        found = paths_through("my-onnx-copy")
    finally:
        converters.unregister("my-onnx-copy")
    assert "onnx>my-onnx-copy" in found and "keras>tf2onnx>my-onnx-copy" in found


def _gate(folder: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "PARITY_GOLDEN"}
    return subprocess.run([sys.executable, "-m", "harness.cli", "gate", *args], cwd=folder,
                          env=environment, capture_output=True, text=True, timeout=600)


def test_the_gate_runs_from_an_empty_directory(small_store, tmp_path):
    """The installed suites, run from a folder that is not the repository: the reports land
    there, the run record names what judged it, and the golden replay skips without a store
    and replays the one handed over. The folder's own pytest settings and conftest.py, which
    would break any run they reached, stay out of it."""
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "conftest.py").write_text('raise RuntimeError("the team\'s conftest.py")\n')
    (folder / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = "--no-such-option"\n')
    archive = tmp_path / "store.tar.gz"
    artifact.pack(small_store, archive)

    done = _gate(folder, "--suites", "onnx,golden", "--", "-k", "LeakyRelu and not cover",
                 "-p", "no:randomly", "-rs")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "no golden store given" in done.stdout
    for name in ("parity.html", "results.jsonl", "junit.xml"):
        assert (folder / "reports" / name).is_file()
    records = [json.loads(line) for line in (folder / "reports/results.jsonl").open()]
    run = next(r for r in records if r.get("record") == "run")
    assert run["identities"]["golden"] is None
    assert run["identities"]["known_issues"] == known_issues.identity()
    tests = {r["test"] for r in records if r.get("test")}
    assert tests and all(t.startswith("onnx/test_ops.py::") for t in tests), tests

    replay = _gate(folder, "--suites", "golden", "--golden", str(archive), "--",
                   "-k", "test_golden_case", "-p", "no:randomly")
    assert replay.returncode == 0, replay.stdout[-3000:] + replay.stderr[-3000:]
    assert "3 passed" in replay.stdout
    records = [json.loads(line) for line in (folder / "reports/results.jsonl").open()]
    run = next(r for r in records if r.get("record") == "run")
    assert run["identities"]["golden"]["cases"] == 3
    manifest = golden.sha256(small_store / golden.MANIFEST)
    assert f"golden store {manifest[:12]} (3 cases)" in (folder / "reports/parity.html").read_text()
    assert (folder / ".parity-golden").is_dir()


def _drawn(results: Path, test: str) -> list[str]:
    records = [json.loads(line) for line in results.open()]
    return sorted({r["case_id"] for r in records if str(r.get("test", "")).endswith(test)})


def test_the_gate_draws_the_repository_s_corpus(tmp_path):
    """A parametrized suite test's derandomised draws are the same from the repository's root
    and from the gate in another folder: Hypothesis keys their seed by pytest's node id,
    which names the file from the run's root (the gate once drew another corpus, and met an
    int8 MaxPool the repository's ci corpus never held)."""
    kind = "MaxPool"
    test = f"test_op[{kind}]"
    repository = subprocess.run(
        [sys.executable, "-m", "pytest", f"suites/onnx/test_ops.py::{test}", "-p",
         "no:cacheprovider", "-p", "no:xdist", "--hypothesis-profile", "ci", "--parity-report",
         str(tmp_path / "repo")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert repository.returncode == 0, repository.stdout[-3000:]
    folder = tmp_path / "team"
    folder.mkdir()
    gated = _gate(folder, "--suites", "onnx", "--", "-k", f"test_op and {kind}", "-p",
                  "no:xdist")
    assert gated.returncode == 0, gated.stdout[-3000:] + gated.stderr[-3000:]
    drawn = _drawn(tmp_path / "repo/results.jsonl", test)
    assert len(drawn) >= 10  # the ci profile's twelve draws, less repeats
    assert _drawn(folder / "reports/results.jsonl", test) == drawn


def test_a_command_applies_parity_s_policy_where_the_project_declares_none(tmp_path):
    from harness.core.tolerance import TolerancePolicy
    from harness.gate import config

    def same(policy):
        return policy.defaults, policy.rules

    ours = same(TolerancePolicy.from_pyproject(ROOT / "pyproject.toml"))
    elsewhere = tmp_path / "pyproject.toml"
    elsewhere.write_text('[project]\nname = "team"\n')
    assert same(config.project_policy(elsewhere)) == ours
    assert same(config.project_policy(tmp_path / "missing.toml")) == ours
    elsewhere.write_text('[tool.parity.tolerance.float32]\natol = 0.5\nrtol = 0.5\n')
    declared = same(config.project_policy(elsewhere))
    assert declared == same(TolerancePolicy.from_pyproject(elsewhere)) and declared != ours


def test_a_gate_killed_by_a_signal_exits_as_a_shell_says_it(tmp_path):
    (tmp_path / "gate_killer.py").write_text(
        "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n")
    done = _gate(tmp_path, "--suites", "onnx", "--", "-p", "gate_killer")
    assert done.returncode == 128 + 15, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture
def served(tmp_path):
    """A folder served over HTTP on localhost, and its URL."""
    import functools
    import http.server
    import threading

    folder = tmp_path / "served"
    folder.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # the server's log would mix into the command's stderr
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_store_named_by_url_is_downloaded_and_checked(small_store, served, tmp_path, capsys,
                                                       monkeypatch):
    folder, url = served
    digest = artifact.pack(small_store, folder / "store.tar.gz")
    team = tmp_path / "team"
    team.mkdir()
    monkeypatch.chdir(team)
    argv = ["gate", "--golden", f"{url}/store.tar.gz", "--report-versions"]
    assert cli.main(argv) == 2  # no checksum stated
    assert "--golden-sha256" in capsys.readouterr().err
    assert cli.main([*argv, "--golden-sha256", digest]) == 0
    assert "3 cases" in capsys.readouterr().out
    assert cli.main([*argv, "--golden-sha256", "0" * 64]) == 2
    assert "is not the expected" in capsys.readouterr().err
    assert cli.main(["gate", "--golden", f"{url}/nowhere.tar.gz", "--golden-sha256", digest,
                     "--report-versions"]) == 2
    err = capsys.readouterr().err
    assert "cannot download it" in err and len(err.strip().splitlines()) == 1


def test_the_plugin_s_policy_is_the_project_s_or_parity_s(tmp_path):
    from types import SimpleNamespace

    from harness import plugin
    from harness.gate import config

    def chosen(rootpath, named=None):
        return plugin.policy_file(SimpleNamespace(
            rootpath=rootpath, getoption=lambda name: named))

    assert chosen(ROOT) == ROOT / "pyproject.toml"
    assert chosen(tmp_path) == config.TOLERANCE  # no pyproject.toml: parity's own
    (tmp_path / "pyproject.toml").write_text('[tool.parity.tolerance.float32]\natol = 0.5\n')
    assert chosen(tmp_path) == tmp_path / "pyproject.toml"
    assert chosen(tmp_path, named=str(config.TOLERANCE)) == config.TOLERANCE
    with pytest.raises(Exception, match="no such file"):
        chosen(tmp_path, named=str(tmp_path / "missing.toml"))
