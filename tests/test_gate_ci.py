"""The CI templates' steps (action.yml, ci-templates/, docs/gate.md), run here as the shell
they are: the gate on each shard of a matrix, the shard's results kept, then merged into one
report. Each template marks its steps with a ``# step: NAME`` comment; the block that
follows it is run with bash, with the variables the CI system would set. Installing is left
out (tests/test_gate_recipe.py installs from a wheel); the CI caches are the CI's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
GITHUB = ROOT / "ci-templates" / "github" / "parity-gate.yml"
GITLAB = ROOT / "ci-templates" / "gitlab" / "parity-gate.yml"
MARK = re.compile(r"^\s*# step: (?P<name>[\w-]+)\s*$")
SELECTION = {"GATE_SUITES": "onnx", "GATE_PYTEST_ARGS": "-k LeakyRelu -p no:randomly"}


def steps(path: Path) -> dict[str, str]:
    """The shell of each marked step: the literal block (``run: |`` or ``- |``) or the one
    command (``- cmd``, ``run: cmd``) on the line after the mark."""
    lines = path.read_text().splitlines()
    found = {}
    for number, line in enumerate(lines):
        mark = MARK.match(line)
        if not mark:
            continue
        head = lines[number + 1]
        if head.rstrip().endswith("|"):
            indent = len(head) - len(head.lstrip())
            body = []
            for following in lines[number + 2:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following)
            depth = min(len(b) - len(b.lstrip()) for b in body if b.strip())
            found[mark["name"]] = "\n".join(b[depth:] for b in body)
        else:
            found[mark["name"]] = re.sub(r"^\s*(- |run: )", "", head)
    return found


def bash(script: str, folder: Path, **variables: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PARITY_", "GATE_"))}
    environment.update(variables)
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=folder,
                          env=environment, capture_output=True, text=True, timeout=600)


def _ok(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _tests(results: Path) -> list[str]:
    return [json.loads(line)["test"] for line in results.open()
            if '"test"' in line and json.loads(line).get("test")]


def _check_merged(folder: Path, shards: list[list[str]]) -> None:
    ran = [set(s) for s in shards]
    assert all(ran), "a shard ran nothing: choose a selection both shards share"
    assert not ran[0] & ran[1], "a test ran in both shards"
    assert (folder / "reports" / "parity.html").is_file()
    cases = {case.get("classname", "") + "::" + case.get("name", "")
             for case in ET.parse(folder / "reports" / "junit.xml").iter("testcase")}
    assert len(cases) >= len(ran[0] | ran[1]) > 0


def test_the_steps_are_marked():
    assert set(steps(ACTION)) == {"install", "gate"}
    assert set(steps(GITHUB)) == {"merge"}
    assert set(steps(GITLAB)) == {"install", "gate", "keep", "merge"}


def test_the_github_action_and_workflow_steps(tmp_path):
    action, workflow = steps(ACTION), steps(GITHUB)
    shards = []
    for index in ("1", "2"):
        _ok(bash(action["gate"], tmp_path, GATE_CONVERTER="onnx2torch", GATE_GOLDEN="",
                 GATE_SHARD_INDEX=index, GATE_SHARD_COUNT="2", **SELECTION))
        shards.append(_tests(tmp_path / f"parity-results-{index}" / "results.jsonl"))
    _ok(bash(workflow["merge"], tmp_path))
    _check_merged(tmp_path, shards)


@pytest.mark.slow
def test_the_gitlab_steps(tmp_path):
    template = steps(GITLAB)
    shards = []
    for index in ("1", "2"):
        variables = dict(GATE_CONVERTER="onnx2torch", GATE_GOLDEN="", CI_NODE_INDEX=index,
                         CI_NODE_TOTAL="2", **SELECTION)
        _ok(bash(template["gate"], tmp_path, **variables))
        _ok(bash(template["keep"], tmp_path, **variables))
        shards.append(_tests(tmp_path / f"parity-results-{index}" / "results.jsonl"))
    _ok(bash(template["merge"], tmp_path))
    _check_merged(tmp_path, shards)


def test_a_failing_shard_fails_its_job_after_keeping_its_results(tmp_path):
    """The action's gate step records pytest's status and keeps the results whatever it is;
    the job's last step exits with it."""
    done = bash(steps(ACTION)["gate"], tmp_path, GATE_CONVERTER="", GATE_GOLDEN="",
                GATE_SHARD_INDEX="1", GATE_SHARD_COUNT="1", GATE_SUITES="onnx",
                GATE_PYTEST_ARGS="-k NoSuchTestAnywhere",
                GITHUB_OUTPUT=str(tmp_path / "outputs"))
    _ok(done)
    assert (tmp_path / "outputs").read_text().strip() == "status=5"  # pytest: nothing ran
    assert "exit ${{ steps.gate.outputs.status }}" in ACTION.read_text()


def test_the_pre_commit_hook_s_entry_is_a_gate_command():
    import shlex

    from harness.cli import build_parser

    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    (entry,) = re.findall(r"^\s*entry:\s*(.+)$", text, flags=re.M)
    words = shlex.split(entry)
    assert words[:2] == ["parity", "gate"]
    args = build_parser().parse_args([*words[1:], "--converter", "onnx2torch", "--", "-n", "2"])
    assert args.suites == "onnx" and args.converter == "onnx2torch"
    assert args.pytest_args == ["-n", "2"]
    assert "pass_filenames: false" in text
