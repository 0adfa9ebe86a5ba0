"""The ci gate's kill rate of faults planted in a converter (harness/tools/ci_kills.py): the
faults are on lines the converter runs, a planted fault fails the ci job where a case shows
it and the clean copy passes the same job, and the report counts both trees over the same
mutants."""

from __future__ import annotations

import fnmatch
import time

import pytest

from harness.tools import ci_kills, mutants

pytest.importorskip("onnx2torch")


@pytest.fixture(scope="module")
def root():
    return mutants.package_root("onnx2torch")


@pytest.fixture(scope="module")
def run_lines(root):
    return mutants.executed_lines(mutants.TOOLS["onnx2torch"], root)


@pytest.fixture(scope="module")
def sites(root, run_lines):
    return mutants.all_sites(root, "onnx2torch", run_lines)


def _conv_rank(sites):
    """Conv's spatial rank read as the weight's rank + 2, not - 2."""
    return next(s for s in sites if s.path == "node_converters/conv.py"
                and s.operator == "arithmetic" and s.original == "len(weights.shape) - 2")


def test_onnx2torchs_faults_are_on_lines_its_stage_runs(sites, run_lines, root):
    tool = mutants.TOOLS["onnx2torch"]
    assert {s.operator for s in sites} == set(mutants.OPERATORS)
    assert all(any(fnmatch.fnmatch(s.path, g) for g in tool.files) for s in sites)
    assert all(s.line in run_lines[s.path] for s in sites)
    # a module no example runs (a converter of an op no kind draws) has no fault to plant
    files = {str(p.relative_to(root)) for g in tool.files for p in root.glob(g)}
    unrun = files - run_lines.keys()
    assert unrun and "node_converters/gemm.py" in run_lines
    assert not {s.path for s in sites} & unrun


def test_the_ci_job_kills_a_planted_fault_and_passes_the_clean_copy(sites, root, tmp_path):
    job = dict(suites=("suites/onnx/test_ops.py",), selection="test_op[Conv]", workers=0)
    clean, diff = ci_kills.main_job(None, root, ci_kills.ROOT, tmp_path / "cache", 900, **job)
    assert clean.verdict == "survived", clean
    assert diff == ""
    planted, diff = ci_kills.main_job(_conv_rank(sites), root, ci_kills.ROOT,
                                      tmp_path / "cache", 900, **job)
    assert planted.verdict == "killed", planted
    assert "test_op[Conv]" in planted.first_failure
    assert "-    spatial_rank = len(weights.shape) - 2" in diff
    assert "+    spatial_rank = len(weights.shape) + 2" in diff


def _mutant(site, **verdicts):
    mutant = ci_kills.Mutant(site, "guard", f"--- {site}\n")
    mutant.runs = {tree: ci_kills.Run(v, 1.0, f"FAILED {site}" if v == "killed" else "")
                   for tree, v in verdicts.items()}
    return mutant


def test_the_rates_count_both_trees_over_the_mutants_both_judged():
    trees = ["this tree", "4d1e7d32"]
    outcomes = [_mutant("a.py:1", **{"this tree": "killed", "4d1e7d32": "killed"}),
                _mutant("b.py:2", **{"this tree": "killed", "4d1e7d32": "survived"}),
                _mutant("c.py:3", **{"this tree": "survived", "4d1e7d32": "survived"}),
                _mutant("d.py:4", **{"this tree": "stillborn"}),
                _mutant("e.py:5", **{"this tree": "killed", "4d1e7d32": "timed out"})]
    assert ci_kills.rates(outcomes, trees) == {"this tree": (2, 3), "4d1e7d32": (1, 3)}
    text = ci_kills.report(outcomes, trees, "python -m harness.tools.ci_kills")
    assert "this tree: killed 2/3 = 67%" in text and "4d1e7d32: killed 1/3 = 33%" in text
    apart = text.split("judged apart: ")[1].split("survived everywhere")[0]
    assert apart.startswith("2") and "b.py:2" in apart and "e.py:5" in apart
    assert "a.py:1" not in apart and "c.py:3" not in apart
    assert "survived everywhere: 1\n--- c.py:3" in text


def test_the_schedule_starts_where_told_and_stops_when_the_budget_is_spent(sites, capsys):
    chosen = mutants.draw(sites, 4, 0)
    assert [i for i, _ in mutants.scheduled(chosen, 2, time.monotonic(), 3600)] == [2, 3]
    assert list(mutants.scheduled(chosen, 0, time.monotonic() - 10, 5)) == []
    assert "budget spent: 4 mutants not run" in capsys.readouterr().out
