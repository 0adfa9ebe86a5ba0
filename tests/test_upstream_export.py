"""Upstream-ready reports (``parity issues export``): each known issue's folder holds a report
a converter's maintainer can paste and a script that, in a fresh Python process importing only
the stack at fault, prints the expected and actual outputs and says REPRODUCED (exit 1),
FIXED (exit 0), DIFFERENT (exit 2) or CANNOT RUN (exit 3: this machine cannot run the case;
tests/test_repro_guard.py)."""

import dataclasses
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from harness import upstream
from harness.cli import main
from harness.converters import onnx2tf_install
from harness.core import known_issues, skeleton
from harness.core.spec import LayerSpec
from harness.core.tolerance import TolerancePolicy

pytest.importorskip("onnx2torch")
pytest.importorskip("onnx2pytorch")

ROOT = Path(__file__).resolve().parents[1]
ISSUES = {issue.id: issue for issue in known_issues.load()}
# What a party's script may import beyond the standard library: its own stack, never parity.
STACKS = {
    # torchvision is onnx2torch's own dependency, and the order of its import is part of a bug
    "onnx2torch": {"numpy", "onnx", "onnxruntime", "torch", "torchvision", "onnx2torch"},
    "onnx2pytorch": {"numpy", "onnx", "onnxruntime", "torch", "onnx2pytorch"},
    "onnxruntime": {"numpy", "onnx", "onnxruntime"},
    # torch's own exporters, shown on a module a torch converter wrote
    "torch": {"numpy", "onnx", "onnxruntime", "torch", "onnx2torch", "onnx2pytorch"},
    "onnx": {"numpy", "onnx", "onnxruntime"},
    "tf2onnx": {"numpy", "onnx", "onnxruntime", "keras", "tensorflow", "tf2onnx"},
    "keras": {"numpy", "keras", "tensorflow", "torch"},
    "spec": {"numpy", "onnx", "onnxruntime", "torch"},  # an open question of the ONNX spec
    "onnxsim": {"numpy", "onnx", "onnxruntime", "onnxsim"},
    "onnxslim": {"numpy", "onnx", "onnxruntime", "onnxslim"},
    "onnxoptimizer": {"numpy", "onnx", "onnxruntime", "onnxoptimizer"},
    # TFLiteConverter, and LiteRT's reading of its flatbuffer
    "tensorflow": {"numpy", "keras", "tensorflow", "ai_edge_litert"},
    "litert": {"numpy", "keras", "tensorflow", "ai_edge_litert"},
    # onnx2tf's SavedModel run by TensorFlow, its TFLite file by LiteRT
    "onnx2tf": {"numpy", "onnx", "onnxruntime", "onnx2tf", "tensorflow", "ai_edge_litert"},
}
# One wrong-output entry per party, its script run in a fresh process (the slow test below
# runs every one).
SAMPLE_PARTIES = ("onnx2torch", "onnx2pytorch", "onnxruntime", "onnx", "tf2onnx", "onnx2tf")


@pytest.fixture(scope="module")
def exporter():
    from harness.core.frameworks import prepare_imports

    prepare_imports()
    return upstream.Exporter(TolerancePolicy.from_pyproject(ROOT / "pyproject.toml"))


def run_script(path: Path, cwd: Path) -> subprocess.CompletedProcess:
    # A fresh interpreter in an empty folder; the AST check is the guard against parity
    # imports (parity is installed in this environment). onnx2tf is importable as a user's
    # install makes it, where `parity install onnx2tf` put it.
    # Its temporary files go to a folder of its own, which the caller can check is left empty.
    env = onnx2tf_install.environment(onnx2tf_install.home())
    scratch = cwd / "script-tmp"
    scratch.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, str(path)], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**env, "TMPDIR": str(scratch)})


def stack_of(issue, party: str) -> set[str]:
    """What a script may import: its party's stack, and onnx2tf's where the entry is about
    onnx2tf's legs (a LiteRT or TensorFlow limitation met in the files onnx2tf writes)."""
    on_onnx2tf = any(glob.rsplit(">", 1)[-1] in ("onnx2tf", "onnx2tf-tflite")
                     for glob in issue.globs)
    return STACKS[party] | (STACKS["onnx2tf"] if on_onnx2tf else set())


def third_party_imports(text: str) -> set[str]:
    return {m for m in upstream.imported_modules(text) if m not in sys.stdlib_module_names}


def wrong_output_sample() -> list:
    chosen = []
    for party in SAMPLE_PARTIES:
        found = [issue for issue in upstream.select(ISSUES.values(), "wrong-output", party)
                 if upstream.minimal_specs(issue)]
        if found:
            chosen.append(found[0])
    return chosen


def onnx_entry(party: str, nature: str, message: str = "") -> object:
    """The first entry of that party and nature pinned by a single ONNX op (chosen by what
    it is, not by id: entries get merged and renamed)."""
    from onnx import defs

    for issue in upstream.select(ISSUES.values(), nature, party):
        specs = upstream.minimal_specs(issue)
        if len(specs) == 1 and specs[0].source == "onnx" and defs.has(specs[0].kind) \
                and message in (issue.message or ""):
            return issue
    pytest.skip(f"no {nature} entry of {party} pinned by one ONNX op")


# -- the entry's facts ---------------------------------------------------------------------

def entry(**fields):
    base = dict(id="onnx2torch-x", url="https://github.com/ENOT-AutoDL/onnx2torch/issues",
                reason="r.", legs="onnx>onnx2torch", kind=None, attrs={}, category=None,
                message=None, minimals=())
    return types.SimpleNamespace(**{**base, **fields})


def test_nature_and_party_are_the_entrys_own_fields():
    """An entry two converters share is reported to the first it names, and listed under
    either."""
    shared = next(issue for issue in ISSUES.values() if len(issue.parties) > 1)
    assert upstream.classify(shared) == (shared.nature, shared.parties[0])
    for party in shared.parties:
        assert shared in upstream.select(ISSUES.values(), shared.nature, party)


def test_every_minimal_spec_of_an_entry_is_scripted():
    several = next(issue for issue in ISSUES.values() if len(issue.minimals) > 1)
    assert upstream.minimal_specs(several) == list(several.minimals)


def test_a_report_exists_when_the_url_is_an_issue_or_a_pull_request():
    assert upstream.reported("https://github.com/onnx/onnx/issues/7805")
    assert upstream.reported("https://github.com/onnx/tensorflow-onnx/pull/2463")
    assert not upstream.reported("https://github.com/onnx/tensorflow-onnx/issues")
    assert not upstream.reported("https://github.com/ENOT-AutoDL/onnx2torch/blob/main/x.py")
    # a related report, where the reason says none of this case was found
    assert not upstream.reported("https://github.com/onnx/tensorflow-onnx/issues/1714",
                                 "Same family as #1714, no report of this case found.")


def test_the_title_is_one_line_naming_the_party_and_the_op_and_the_spec_is_cited():
    issue = onnx_entry("onnx2torch", "wrong-output")
    op = upstream.minimal_specs(issue)[0].kind
    title = upstream.title(issue, "onnx2torch")
    assert "\n" not in title and len(title) <= 140
    assert title.startswith(f"[onnx2torch] {op}")
    assert (f"ONNX operator spec, {op}: https://onnx.ai/onnx/operators/onnx__{op}.html"
            in upstream.spec_lines(issue))


def test_a_keras_case_cites_the_layers_documented_behaviour():
    issue = next(issue for issue in upstream.select(ISSUES.values(), party="tf2onnx")
                 if [spec.source for spec in upstream.minimal_specs(issue)] == ["keras"])
    kind = upstream.minimal_specs(issue)[0].kind
    lines = upstream.spec_lines(issue)
    assert any(line.endswith(f"tf/keras/layers/{kind}") for line in lines), lines


# -- the scripts, in fresh processes -------------------------------------------------------

@pytest.mark.parametrize("issue", wrong_output_sample(), ids=lambda issue: issue.id)
def test_a_wrong_output_entrys_script_reproduces_with_its_partys_stack_alone(
        issue, exporter, tmp_path):
    if issue.parties[0] == "onnx2tf" and onnx2tf_install.record() is None:
        pytest.skip(f"onnx2tf: {onnx2tf_install.INSTALL_HINT}")
    if issue.outside_versions() is not None:  # a release that fixed it: nothing to reproduce
        pytest.skip(f"{issue.id} holds for {issue.versions}: {issue.outside_versions()}")
    report, folder = exporter.export(issue, tmp_path / "out")
    assert report.scripts, report.why_no_script
    text = (folder / "repro.py").read_text()
    assert third_party_imports(text) <= STACKS[report.party], report.party
    if issue.parties[0] == "onnx2tf":  # it says what ran onnx2tf's files: TensorFlow, LiteRT
        assert "PyTorch module" not in text and "onnx2tf's" in text
    done = run_script(folder / "repro.py", tmp_path)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    verdict = done.stdout.splitlines()[-1]
    assert verdict.startswith(f"REPRODUCED: known issue {issue.id}: "), verdict
    if verdict.split(": ")[2].split()[0] in upstream.COMPARISON_CATEGORIES:
        assert "output 0 expected (" in done.stdout and "output 0 actual (" in done.stdout
    page = (folder / "report.md").read_text()
    assert page.startswith(f"# {report.title}\n")
    facts = json.loads((folder / "entry.json").read_text())
    assert facts["id"] == issue.id and facts["nature"] == "wrong-output"
    versions = facts["scripts"][0]["versions"]
    assert set(versions) >= ({"numpy", "onnxruntime"} if report.party != "onnx" else {"onnx"})
    assert all(f"- {name} {version}" in page for name, version in versions.items())


def test_a_refusals_script_reproduces_the_refusal_message(exporter, tmp_path):
    issue = onnx_entry("onnx2torch", "refusal", "operation_type=")
    _, folder = exporter.export(issue, tmp_path)
    done = run_script(folder / "repro.py", tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    op = upstream.minimal_specs(issue)[0].kind
    assert f"operation_type='{op}'" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("REPRODUCED: ")


def test_an_entry_whose_case_passes_says_fixed(exporter, tmp_path):
    passing = LayerSpec("Relu", {"opset": 17}, ((1, 3),), source="onnx", seed=1)
    issue = dataclasses.replace(onnx_entry("onnx2torch", "wrong-output"), minimals=(passing,))
    report, folder = exporter.export(issue, tmp_path)
    assert report.scripts[0].seen == "pass"
    done = run_script(folder / "repro.py", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith(f"FIXED: known issue {issue.id}")


def test_a_failure_other_than_the_entrys_says_different(exporter, tmp_path):
    refusal = onnx_entry("onnx2torch", "refusal", "operation_type=")
    op = upstream.minimal_specs(refusal)[0].kind
    issue = dataclasses.replace(refusal, message=f"{op}|no such text")
    _, folder = exporter.export(issue, tmp_path)
    text = (folder / "repro.py").read_text().replace(
        f"BUG_MESSAGE = '{op}|no such text'", "BUG_MESSAGE = 'no such text'")
    (folder / "repro.py").write_text(text)
    done = run_script(folder / "repro.py", tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("DIFFERENT: it fails (conversion_error)")


def test_an_entry_with_no_minimal_spec_gets_a_report_saying_why_there_is_no_script(
        exporter, tmp_path):
    issue = dataclasses.replace(onnx_entry("onnx2torch", "wrong-output"), minimals=())
    report, folder = exporter.export(issue, tmp_path)
    assert not report.scripts and not list(folder.glob("repro*.py"))
    assert "No standalone script: the entry has no minimal spec" in (
        folder / "report.md").read_text()


# -- the command ---------------------------------------------------------------------------

def test_the_command_writes_a_folder_per_entry(tmp_path, capsys):
    assert main(["issues", "export", "onnxruntime-col2im-not-2d", "-o", str(tmp_path)]) == 0
    folder = tmp_path / "onnxruntime-col2im-not-2d"
    assert {p.name for p in folder.iterdir()} == {"report.md", "entry.json", "repro.py"}
    assert "wrote 1 reports" in capsys.readouterr().out


def test_an_unknown_id_is_one_line(tmp_path, capsys):
    assert main(["issues", "export", "no-such-entry", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no known issue 'no-such-entry'" in err


def test_the_list_filters_by_nature_and_party(capsys):
    assert main(["issues", "list", "--kind", "wrong-output", "--party", "onnxruntime"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = upstream.select(ISSUES.values(), "wrong-output", "onnxruntime")
    assert lines[-1] == f"{len(expected)} entries" and len(expected) >= 1
    assert all(" wrong-output " in line and " onnxruntime " in line for line in lines[:-1])


# -- an entry's own, hand-written script ------------------------------------------------------

HAND_WRITTEN = [issue for issue in ISSUES.values() if issue.script]


@pytest.mark.parametrize("issue", HAND_WRITTEN, ids=lambda issue: issue.id)
def test_an_entrys_own_script_is_exported_as_repro_py(issue, exporter, tmp_path):
    """Its own part assembled with the shared skeleton, importing its party's stack alone,
    ending in the generated scripts' verdicts (it runs, with every other script, in the slow
    test below)."""
    report, folder = exporter.export(issue, tmp_path)
    part = (known_issues.MORE_FILES / issue.script).read_text()
    own = skeleton.assemble(part, issue.id)
    assert (folder / "repro.py").read_text() == own and not report.why_no_script
    assert "skeleton" not in upstream.imported_modules(own)
    assert {p.name for p in folder.iterdir()} == {"report.md", "entry.json", "repro.py"}
    assert third_party_imports(own) <= stack_of(issue, report.party), report.party
    says = "\ndef say(verdict, text):" in own  # the skeleton's verdict, codes in its EXIT
    for verdict, code in (("REPRODUCED", 1), ("FIXED", 0), ("DIFFERENT", 2)):
        assert (f'"{verdict}": {code}' in own if says
                else f'print(f"{verdict}: ' in own and f"(exit {code})" in own)
    assert all(mark in own for mark in upstream.HAND_WRITTEN_GUARD)  # CANNOT RUN, exit 3
    facts = json.loads((folder / "entry.json").read_text())["scripts"]
    assert [script["hand_written"] for script in facts] == [
        f"harness/known_issues.d/{issue.script}"]
    assert f"parity's harness/known_issues.d/{issue.script}" in (folder / "report.md").read_text()


def test_an_entrys_script_that_imports_parity_is_not_exported(exporter, tmp_path, monkeypatch):
    (tmp_path / "own.py").write_text("from harness.core import spec\nprint('REPRODUCED')\n")
    monkeypatch.setattr(upstream, "MORE_FILES", tmp_path)
    issue = dataclasses.replace(HAND_WRITTEN[0], script="own.py")
    report, folder = exporter.export(issue, tmp_path / "out")
    assert not report.scripts and not list(folder.glob("repro*.py"))
    assert "No standalone script: " + f"{issue.id}: its script own.py imports parity" in (
        folder / "report.md").read_text()


def test_an_entrys_script_must_exist(tmp_path):
    path = tmp_path / "issues.toml"
    path.write_text("[[issue]]\nid = 'a'\nurl = 'u'\nreason = 'r'\nlegs = '*'\n"
                    "nature = 'wrong-output'\nparty = 'tf2onnx'\n"
                    "script = 'scripts/no-such-script.py'\n")
    with pytest.raises(known_issues.KnownIssueFileError,
                       match=r"issue\[0\] \(a\): script = 'scripts/no-such-script.py' names "
                             r"no file under .*known_issues.d"):
        known_issues.load(path)


@pytest.mark.slow
def test_every_wrong_output_entrys_script_prints_reproduced(tmp_path):
    """``parity issues export --all --kind wrong-output``: every script, each in a fresh
    process, prints REPRODUCED on the pinned stack."""
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "harness.cli", "issues", "export", "--all",
                           "--kind", "wrong-output", "-o", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    chosen = upstream.select(ISSUES.values(), "wrong-output")
    assert {p.name for p in out.iterdir()} == {issue.id for issue in chosen}
    # every entry has its scripts: its own hand-written one, else one per minimal spec
    without = {issue.id: json.loads((out / issue.id / "entry.json").read_text())["why_no_script"]
               for issue in chosen
               if len(list((out / issue.id).glob("repro*.py")))
               != (1 if issue.script else len(upstream.minimal_specs(issue))) or not
               list((out / issue.id).glob("repro*.py"))}
    assert not without, without
    not_reproduced = {}
    for script in sorted(out.glob("*/repro*.py")):
        ran = run_script(script, tmp_path)
        last = (ran.stdout.strip().splitlines() or [ran.stderr[-300:]])[-1]
        if ran.returncode != 1 or not last.startswith("REPRODUCED"):
            not_reproduced[script.parent.name] = last
    assert not not_reproduced, not_reproduced


# A Keras case whose reference is a channels_first convolution's channels_last twin (TensorFlow
# without oneDNN refuses the convolution itself), and an ONNX -> PyTorch one.
REPRESENTATIVE = ("tf2onnx-conv1d-transpose-channels-first-output-length", "onnx2torch-topk-ties")


@pytest.mark.slow
def test_representative_scripts_keep_their_exit_codes_with_and_without_onednn(exporter,
                                                                             tmp_path):
    """Each script, under TF_ENABLE_ONEDNN_OPTS=0 and =1, ends in a verdict line whose code
    it exits with (REPRODUCED 1, FIXED 0, DIFFERENT 2, CANNOT RUN 3): never a crash's 1. On
    this stack both reproduce under both settings: the channels_first script computes its
    reference through the twin, which TensorFlow runs with oneDNN or without."""
    pytest.importorskip("tf2onnx")
    from harness.tools.run_repros import run_one, scripts_under

    for issue_id in REPRESENTATIVE:
        exporter.export(ISSUES[issue_id], tmp_path / "out")
    scripts = scripts_under(tmp_path / "out")
    assert len(scripts) == 1 + len(upstream.minimal_specs(ISSUES[REPRESENTATIVE[0]]))
    ran = [run_one(script, onednn, timeout=600) for script in scripts for onednn in ("0", "1")]
    broken = [(r.script.parent.name, r.script.name, r.onednn, r.returncode, r.last)
              for r in ran if not r.holds or r.verdict != "REPRODUCED"]
    assert not broken, broken


@pytest.mark.parametrize(("message", "kept"), [
    # a converter's own words: the script prints them too
    ("onnx2torch raised NotImplementedError: Converter is not implemented "
     "(operation_type='Col2Im')", True),
    ("onnxruntime raised LoadError: onnxruntime cannot load the model: Fail: Col2Im", True),
    # parity's runner's words: the script's onnxruntime says it otherwise
    ("onnxruntime raised RunError: Col2Im takes 3 inputs, the case has 1", False),
])
def test_an_entrys_message_decides_the_verdict_only_on_the_exceptions_own_words(message,
                                                                                 kept):
    from harness.run.pipeline import LegResult

    leg = LegResult("p", "onnx>onnx2torch", "onnx2torch", "torch", "xfail",
                    "conversion_error", message)
    issue = entry(message="Col2Im")
    assert upstream._exception_pattern(issue, leg) == ("Col2Im" if kept else None)


# -- the side paths' stages: the ONNX rewriters and Keras -> TFLite ---------------------------

# A real entry per new party, its hand-written script set aside so that the export generates
# one from the entry's minimal case (the entries keep their own scripts: this is the exporter's
# check, not theirs).
GENERATED = {
    "onnxsim": "onnxsim-reduce-noop-with-empty-axes",  # the output's shape
    "onnxslim": "onnxslim-fed-shape-input-dropped",  # a fed input dropped
    "onnxoptimizer": "onnxoptimizer-fuse-pad-into-maxpool-zero-pad",  # the numbers
    "tensorflow": "tflite-pool3d-no-builtin",  # TFLiteConverter's refusal, two specs
    "onnx2tf": "onnx2tf-clip-min-above-max",  # the numbers, on the SavedModel's leg
}


def generated(issue_id: str, **changes):
    return dataclasses.replace(ISSUES[issue_id], script=None, **changes)


@pytest.mark.parametrize("party", GENERATED)
def test_a_side_path_stages_entry_gets_a_generated_script_that_reproduces(party, exporter,
                                                                          tmp_path):
    """The script builds the minimal case, runs the stage as parity's does (the rewriter,
    then onnxruntime with optimisations off; TFLiteConverter, then LiteRT's signature runner),
    imports the party's stack alone, carries the guard and prints REPRODUCED, exit 1."""
    if party == "tensorflow":
        pytest.importorskip("ai_edge_litert")
    if party == "onnx2tf":  # imported from its own folder (parity install onnx2tf)
        from harness.converters import available

        if party not in available():
            pytest.skip("onnx2tf is not installed: parity install onnx2tf")
    else:
        pytest.importorskip(party if party != "tensorflow" else "tensorflow")
    issue = generated(GENERATED[party])
    report, folder = exporter.export(issue, tmp_path / "out")
    assert report.party == party and not report.why_no_script, report.why_no_script
    assert len(report.scripts) == len(upstream.minimal_specs(issue))
    for script in report.scripts:
        text = (folder / script.name).read_text()
        assert third_party_imports(text) <= STACKS[party], third_party_imports(text)
        assert "harness" not in upstream.imported_modules(text)
        assert "sys.excepthook = _uncaught" in text and "CANNOT_RUN = 3" in text
        assert script.stage in (issue.legs if isinstance(issue.legs, str)
                                else " ".join(issue.legs))
        done = run_script(folder / script.name, tmp_path)
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
        verdict = done.stdout.splitlines()[-1]
        assert verdict.startswith(f"REPRODUCED: known issue {issue.id}: "), verdict
        left = [p.name for p in (tmp_path / "script-tmp").iterdir() if p.is_dir()]
        assert not left, f"the script left its scratch folders {left}"
    facts = json.loads((folder / "entry.json").read_text())
    # TFLite's reports go to LiteRT's tracker, whatever party the entry names
    assert facts["tracker"] == upstream.TRACKERS["litert" if party == "tensorflow" else party]
    assert set(facts["scripts"][0]["versions"]) >= {"numpy"}
    if party == "onnx2tf":  # inputs fed channel-last, outputs mapped back, as parity's stage
        assert "def channel_last(x):" in text and "def in_onnx_layout(" in text
        assert "onnx2tf against the reference:" in done.stdout
    if party in ("onnxoptimizer", "onnxsim"):  # the wrong outputs are shown
        assert "output 0 expected (the source's reference, embedded)" in done.stdout
        assert f"on {party}'s rewritten model" in done.stdout


def test_a_tflite_script_of_the_savedmodel_route_runs_the_signature_by_name(exporter,
                                                                            tmp_path):
    """keras>savedmodel>tflite-savedmodel, a two-input Subtract (the order matters): the script
    exports the SavedModel with Keras' model.export, converts it, runs LiteRT's
    serving_default runner with the inputs by the signature's names and compares with Keras;
    on this stack they agree: FIXED, exit 0."""
    pytest.importorskip("ai_edge_litert")
    spec = LayerSpec("Subtract", {}, ((2, 3), (2, 3)), seed=1)
    issue = generated("tflite-pool3d-no-builtin", legs=("keras>savedmodel>tflite-savedmodel",),
                      minimals=(spec,), kind=None, category="numeric_mismatch", message=None)
    report, folder = exporter.export(issue, tmp_path / "out")
    (script,) = report.scripts
    assert (script.leg, script.stage) == ("keras>savedmodel>tflite-savedmodel",
                                          "tflite-savedmodel")
    text = (folder / "repro.py").read_text()
    assert "model.export(folder" in text and 'get_signature_runner(SIGNATURE)' in text
    assert third_party_imports(text) <= STACKS["tensorflow"]
    done = run_script(folder / "repro.py", tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "output 0 actual (the LiteRT interpreter on tflite-savedmodel's flatbuffer)" in (
        done.stdout)
    assert done.stdout.splitlines()[-1].startswith(f"FIXED: known issue {issue.id}")
    # The SavedModel's folder goes with the script (TensorFlow's autograph files are its own).
    left = [p.name for p in (tmp_path / "script-tmp").iterdir() if p.name.startswith("repro-")]
    assert not left, f"the script left {left} behind"


def test_every_onnx2tf_wrong_output_entry_exports_generated_scripts():
    """A wrong output on onnx2tf's legs is shown by the script of its minimal case, as parity
    ran it; an entry's own script is for what no generated one can show."""
    own = [issue.id for issue in upstream.select(ISSUES.values(), "wrong-output", "onnx2tf")
           if issue.script]
    assert not own, f"onnx2tf wrong-output entries with a script of their own: {own}"
    assert all(upstream.minimal_specs(issue)
               for issue in upstream.select(ISSUES.values(), "wrong-output", "onnx2tf"))


def test_parity_repro_script_writes_a_rewriters_script(tmp_path):
    """``parity repro --script`` for a rewriter's leg: the same standalone template (no
    parity import), ending in the reproducer's own REPRODUCED line."""
    pytest.importorskip("onnxoptimizer")
    from harness.repro_script import write_script
    from harness.run.pipeline import Harness

    spec = upstream.minimal_specs(ISSUES["onnxoptimizer-fuse-pad-into-maxpool-zero-pad"])[0]
    harness = Harness("onnx>onnxoptimizer")
    text = write_script(harness, harness.run(spec), leg_name="onnx>onnxoptimizer")
    assert third_party_imports(text) <= STACKS["onnxoptimizer"]
    assert "stage onnxoptimizer (ONNX -> ONNX, a rewriter)" in text
    (tmp_path / "repro.py").write_text(text)
    done = run_script(tmp_path / "repro.py", tmp_path)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.splitlines()[-1].startswith("REPRODUCED: numeric_mismatch: output 0")


def test_every_party_has_a_tracker_and_a_stack():
    """Every party an entry names, and the placeholders of stages being built (onnx2tf), has
    the tracker its report points at; the candidate paths skip stages this install lacks."""
    parties = {party for issue in ISSUES.values() for party in issue.parties}
    assert parties - {"parity"} <= set(upstream.TRACKERS)
    assert {"onnxsim", "onnxslim", "onnxoptimizer", "onnx2tf", "litert"} <= set(STACKS)
    assert upstream.TRACKERS["onnx2tf"] == "https://github.com/PINTO0309/onnx2tf/issues"
    # an entry of TensorFlow's on TFLite legs only goes to LiteRT's tracker, another to its own
    assert upstream.tracker(ISSUES["tflite-rnn-tensorlist-dynamic-batch"], "tensorflow") == (
        "https://github.com/google-ai-edge/LiteRT/issues")
    assert upstream.tracker(entry(globs=("keras>tf2onnx",)), "tensorflow") == (
        upstream.TRACKERS["tensorflow"])
    spec = upstream.minimal_specs(ISSUES["onnxsim-reduce-noop-with-empty-axes"])[0]
    onnx2tf = types.SimpleNamespace(id="onnx2tf-x", legs="onnx>onnx2tf",
                                    covers_leg=lambda leg: leg == "onnx>onnx2tf")
    from harness.converters import available

    if "onnx2tf" not in available():
        with pytest.raises(upstream.ExportError, match="none of the paths"):
            upstream._paths_for(onnx2tf, spec)
    sim = types.SimpleNamespace(id="onnxsim-x", legs="*>onnxsim",
                                covers_leg=lambda leg: leg.endswith(">onnxsim"))
    assert upstream._paths_for(sim, spec) == ["onnx>onnxsim"]
