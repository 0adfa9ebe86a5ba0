"""The mutation tool (harness/tools/mutants.py): the one-line faults it finds in the installed
onnxslim's passes, the copy it plants one in (site-packages untouched), and a planted fault
the gate kills through it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.tools import mutants

pytest.importorskip("onnxslim")


@pytest.fixture(scope="module")
def root():
    return mutants.package_root()


@pytest.fixture(scope="module")
def sites(root):
    return mutants.all_sites(root)


def _convadd_bias(sites):
    """FusionConvAdd's bias sum, its + made a -."""
    return next(s for s in sites if s.path.endswith("fusion/convadd.py")
                and s.operator == "arithmetic" and "inputs[2].values + node" in s.original)


def test_every_kind_of_fault_is_found_inside_the_passes(sites):
    assert {s.operator for s in sites} == set(mutants.OPERATORS)
    assert {s.function for s in sites} <= set(mutants.PASS_METHODS)
    assert all(s.path.startswith(mutants.PASS_FOLDERS) for s in sites)
    # a signature's default (rewrite(self, opset=11)) is no fault a pass makes
    assert not any(s.original == "11" and s.operator == "constant" for s in sites)


def test_the_draw_is_seeded_and_round_robin(sites):
    first, again = mutants.draw(sites, 12, 3), mutants.draw(sites, 12, 3)
    assert first == again
    assert mutants.draw(sites, 12, 4) != first
    assert [s.operator for s in first[:6]] == list(mutants.OPERATORS)


def test_a_draw_by_file_takes_one_fault_a_file_before_a_second(sites):
    files = {s.path for s in sites}
    drawn = mutants.draw(sites, len(files) + 1, 0, by="file")
    assert {s.path for s in drawn[:len(files)]} == files
    assert mutants.draw(sites, 5, 0, by="file") == drawn[:5]
    with pytest.raises(ValueError, match="draw by 'line'"):
        mutants.draw(sites, 5, 0, by="line")


def test_a_planted_copy_differs_from_the_installed_package_by_one_line(sites, root, tmp_path):
    site = _convadd_bias(sites)
    before = (root / site.path).read_text()
    diff = mutants.plant(site, root, tmp_path)
    planted = (tmp_path / "onnxslim" / site.path).read_text()
    assert (root / site.path).read_text() == before  # site-packages untouched
    changed = [(a, b) for a, b in zip(before.splitlines(), planted.splitlines()) if a != b]
    assert len(changed) == 1 and len(before.splitlines()) == len(planted.splitlines())
    assert "inputs[2].values - node" in changed[0][1]
    assert f"@@ -{site.line} +{site.line} @@" in diff and diff.count("\n+") == 2
    shown = subprocess.run(
        [sys.executable, "-c", "import onnxslim.core.pattern.fusion.convadd as m; print(m.__file__)"],
        env={"PYTHONPATH": str(tmp_path)}, capture_output=True, text=True, check=True)
    assert shown.stdout.strip().startswith(str(tmp_path))


def test_the_gate_kills_a_fault_planted_in_a_drawn_fusion_and_names_the_pass(sites, root):
    outcome = mutants.run_gate(_convadd_bias(sites), root, "test_op and ConvConst", 900)
    assert outcome.verdict == "killed", outcome
    assert "FusionConvAdd" in outcome.first_failure
    report = mutants.report([outcome], "python -m harness.tools.mutants")
    assert "kill rate: 1/1 = 100%" in report


def test_onnxsims_sites_are_on_the_python_lines_its_simplify_runs():
    """onnxsim's passes are C++: its sites are the lines of its Python (the simplify wrapper,
    the executor that computes folded constants) that simplify runs on the patterns kinds."""
    pytest.importorskip("onnxsim")
    root = mutants.package_root("onnxsim")
    run = mutants.executed_lines(mutants.TOOLS["onnxsim"], root)
    assert run.get("onnx_simplifier.py") and run.get("backend.py")
    found = mutants.all_sites(root, "onnxsim")
    assert found and {s.path for s in found} <= {"onnx_simplifier.py", "backend.py"}
    assert all(s.line in run[s.path] for s in found)
    assert len({(s.path, s.line, s.start, s.end, s.operator, s.replacement)
                for s in found}) == len(found)  # a nested function's site once


def test_onnxoptimizer_has_no_python_site_and_says_why():
    with pytest.raises(SystemExit, match="C\\+\\+"):
        mutants.package_root("onnxoptimizer")
