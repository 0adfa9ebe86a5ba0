"""Issue #6, done when: a pytest run with a fault injected into one layer of a multi-layer
model in one converter reports that layer and that stage; ``parity repro`` reproduces every
failure in that run's results in a fresh process, and each failing leg's standalone script
shows the same error in another.

Everything is real: a pytest session (pytester, in a subprocess) over Keras, tf2onnx,
onnxruntime and onnx2torch, with the faulty converters that tests/layer_faults.py registers
as a ``--parity-plugins`` module; ``parity repro`` and the scripts run as fresh interpreters.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("onnx2torch")

from tests.test_diagnostics import LAYER_NAMES, STACK_SPEC  # noqa: E402 (after the skips)
from tests.test_repro_script import imported_modules  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "tests.layer_faults"
# The middle layer broken in the Keras->ONNX stage, the last one in the ONNX->PyTorch stage.
PATHS = "keras>tf2onnx-fault-middle>onnx2torch,keras>tf2onnx>onnx2torch-fault-last"
FAILING = {  # leg: (the stage it is blamed on, the layer that stage broke)
    "keras>tf2onnx-fault-middle": ("tf2onnx-fault-middle", "n03_batch_normalization"),
    "keras>tf2onnx-fault-middle>onnx2torch": ("tf2onnx-fault-middle", "n03_batch_normalization"),
    "keras>tf2onnx>onnx2torch-fault-last": ("onnx2torch-fault-last", "n07_dense"),
}
# What a plugin stage's script imports: the frameworks, and parity's converter protocol.
PLUGIN_SCRIPT_IMPORTS = {  # re and traceback: the guard against a crash reading as REPRODUCED
    "keras": {"base64", "importlib", "io", "json", "os", "re", "sys", "traceback", "harness",
              "keras", "numpy", "onnxruntime"},
    "onnx": {"base64", "importlib", "io", "os", "re", "sys", "traceback", "harness", "numpy",
             "onnx", "onnxruntime", "torch"},
}

CONFTEST = 'pytest_plugins = ["harness.plugin"]\n'
SUITE = f'''
import json

from harness.core.spec import LayerSpec

STACK_SPEC = LayerSpec.from_json(json.loads({json.dumps(STACK_SPEC.to_json())!r}))


def test_the_stack(parity):
    parity.check(STACK_SPEC)
'''


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One real pytest session over the eight-layer stack down the two faulty paths; returns
    its folder and its result records."""
    folder = tmp_path_factory.mktemp("fault_run")
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_stack.py").write_text(SUITE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--parity-plugins", PLUGIN, "--parity-paths", PATHS, "test_stack.py"],
        cwd=folder, capture_output=True, text=True, timeout=600,
        env=_env(PYTHONPATH=str(ROOT)),  # `tests` is importable, as from the repository
    )
    assert done.returncode == 1, done.stdout + done.stderr  # the one test fails
    assert "1 failed" in done.stdout, done.stdout
    records = [json.loads(line) for line in
               (folder / "reports" / "results.jsonl").read_text().splitlines() if line.strip()]
    return folder, records


def _legs(records):
    return {r["leg"]: r for r in records if r["record"] == "result"}


def test_the_run_blames_the_broken_layer_and_stage_and_the_report_names_them(run):
    folder, records = run
    legs = _legs(records)
    failing = {name: r for name, r in legs.items() if r["verdict"] in ("fail", "error")}
    assert set(failing) == set(FAILING)
    assert legs["keras>tf2onnx"]["verdict"] == "pass"
    for name, (stage, layer) in FAILING.items():
        record = failing[name]
        assert record["failure"]["category"] == "numeric_mismatch"
        assert record["blame"] == stage
        assert record["diagnosis"]["first_divergence"]["layer"] == layer
        assert record["diagnosis"]["stage"] == stage
    [run_record] = [r for r in records if r["record"] == "run"]
    assert f"--parity-plugins {PLUGIN}" in run_record["command"]

    html = (folder / "reports" / "parity.html").read_text()
    for stage, layer in set(FAILING.values()):
        number = LAYER_NAMES.index(layer) + 1
        assert f"first diverges at layer {number}/8 {layer}" in html
        assert f"introduced by stage {stage}" in html


def _repro_lines(stdout: str) -> dict[str, dict]:
    """``parity repro``'s leg lines: verdict, leg, category, max_abs."""
    found = {}
    for line in stdout.splitlines():
        match = re.match(r"\s+(pass|fail|error|xfail|xpass|skip)\s+(\S+)\s+(\w*)\s*"
                         r"(?:max_abs=(\S+))?", line)
        if match:
            verdict, leg, category, max_abs = match.groups()
            found[leg] = {"verdict": verdict, "category": category or None,
                          "max_abs": None if max_abs is None else float(max_abs)}
    return found


def test_parity_repro_and_its_scripts_reproduce_every_failure_in_fresh_processes(run,
                                                                                tmp_path):
    folder, records = run
    legs = _legs(records)
    results = folder / "reports" / "results.jsonl"
    [case_id] = {r["case_id"] for r in legs.values()}
    ran: dict[str, subprocess.CompletedProcess] = {}  # script text: its run
    for number, name in enumerate(sorted(FAILING)):
        script = tmp_path / f"repro_{number}.py"
        if number == 0:
            # As the report says it (`parity repro CASE_ID`), from the run's folder: the
            # results and the plugin modules are the run's (its recorded command's).
            command = ["repro", case_id, "--script", str(script), "--leg", name]
            cwd, env = folder, _env(PYTHONPATH=str(ROOT))
        else:
            command = ["repro", case_id, "--results", str(results), "--plugins", PLUGIN,
                       "--script", str(script), "--leg", name]
            cwd, env = ROOT, _env()
        done = subprocess.run([sys.executable, "-m", "harness.cli", *command], cwd=cwd,
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 1, done.stdout + done.stderr
        origin = "the --parity-plugins of the run's recorded command" if number == 0 \
            else "--plugins"
        assert f"plugins: {PLUGIN} (from {origin})" in done.stdout
        # The same verdicts, categories and errors as the run, leg by leg.
        again = _repro_lines(done.stdout)
        assert set(again) == set(legs), done.stdout
        for leg_name, record in legs.items():
            assert again[leg_name]["verdict"] == record["verdict"], leg_name
            if leg_name in FAILING:
                assert again[leg_name]["category"] == record["failure"]["category"]
                assert again[leg_name]["max_abs"] == pytest.approx(
                    record["metrics"]["max_abs"], rel=1e-5), leg_name

        # The script starts at the stage the leg is blamed on: its leg is that stage's.
        stage, _ = FAILING[name]
        target = next(leg for leg, r in legs.items() if r["stage"] == stage)
        assert (f"wrote {script}: a standalone reproducer of leg {target} (stage {stage})"
                in done.stdout), done.stdout
        text = script.read_text()
        source = "keras" if stage.startswith("tf2onnx") else "onnx"
        assert imported_modules(text) == PLUGIN_SCRIPT_IMPORTS[source]
        assert {n.module for n in ast.walk(ast.parse(text)) if isinstance(n, ast.ImportFrom)
                } == {"harness.core.frameworks", "harness.converters"}
        assert f"PLUGINS = [{PLUGIN!r}]" in text and f"STAGE = {stage!r}" in text

        if text not in ran:
            # A fresh interpreter elsewhere, without PYTHONPATH: the script finds the plugin
            # module where it was imported from when the script was written.
            ran[text] = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_env(),
                                       capture_output=True, text=True, timeout=600)
        shown = ran[text]
        assert shown.returncode == 1, shown.stdout + shown.stderr
        expected = legs[target]
        found = re.search(r"REPRODUCED: (\w+): output 0: max_abs=(\S+) at (\(.*?\)) ",
                          shown.stdout)
        assert found, shown.stdout + shown.stderr
        assert found.group(1) == expected["failure"]["category"]
        assert float(found.group(2)) == pytest.approx(expected["metrics"]["max_abs"], rel=1e-5)
        assert found.group(3) == str(tuple(expected["metrics"]["max_abs_index"]))
        if source == "onnx":  # the ONNX model the faulty stage starts from is right
            assert "onnxruntime on the ONNX model the stage starts from, output 0: ok:" in \
                shown.stdout
            unloadable = tmp_path / "unloadable.py"
            unloadable.write_text(text.replace(f"PLUGINS = [{PLUGIN!r}]",
                                               "PLUGINS = ['tests.no_such_plugin']"))

    # A script whose plugin module is gone says so, and does not claim a reproduction.
    gone = subprocess.run([sys.executable, str(unloadable)], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert gone.returncode == 3, gone.stdout + gone.stderr
    assert ("cannot load stage onnx2torch-fault-last: ModuleNotFoundError: No module named "
            "'tests.no_such_plugin'") in gone.stdout
    assert gone.stdout.splitlines()[-1] == (
        "CANNOT RUN: loading stage onnx2torch-fault-last (ModuleNotFoundError: No module named "
        "'tests.no_such_plugin') (exit 3)")
    assert "REPRODUCED" not in gone.stdout
