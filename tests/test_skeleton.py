"""An entry's script is its own part plus the shared skeleton (harness.core.skeleton).

The assembled script is what `parity issues export` writes as repro.py: one file, the guard
before any framework import, the skeleton's definitions the part uses and nothing else, never
an import of parity or of the skeleton. The slow export test (test_upstream_export.py) runs
every assembled script; here the assembly itself is checked, and tiny parts run for real.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import pytest

from harness.core import known_issues, repro_pieces, skeleton
from harness.core.skeleton import SkeletonError

PARTS = {issue.id: known_issues.MORE_FILES / issue.script
         for issue in known_issues.load() if issue.script}


def part(code: str) -> str:
    return '"""A part."""\n\n' + textwrap.dedent(code)


def run(tmp_path, text: str) -> subprocess.CompletedProcess:
    (tmp_path / "repro.py").write_text(text)
    return subprocess.run([sys.executable, str(tmp_path / "repro.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def top_level_imports(text: str) -> list[tuple[int, str]]:
    return [(node.lineno, alias.name if isinstance(node, ast.Import) else node.module)
            for node in ast.parse(text).body if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names]


def test_the_generated_scripts_carry_the_skeletons_guard():
    modules, code = skeleton.guard()
    assert (modules, code) == (repro_pieces.GUARD_MODULES, repro_pieces.GUARD_CODE)
    assert f"CANNOT_RUN = {repro_pieces.CANNOT_RUN}  #" in code


def test_a_part_gets_what_it_takes_and_what_that_uses_and_nothing_else():
    text = skeleton.assemble(part("""
        import numpy as np

        from skeleton.onnx_build import model
        from skeleton.ort import onnxruntime
        from skeleton.verdict import say

        say("REPRODUCED", str(onnxruntime(model([], [], []), {})))
        print(np.pi)
        """), "onnx-x")
    defined = {node.name for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)}
    # onnxruntime's own call comes along (the session, optimisations off)
    assert {"model", "onnxruntime", "session_of", "say"} <= defined
    assert not defined & {"const", "arrays", "node_tests_verdict", "keras_to_tflite"}
    assert 'KNOWN_ISSUE = "onnx-x"' in text
    modules = [module for _, module in top_level_imports(text)]
    assert "skeleton" not in {m.split(".")[0] for m in modules}
    assert not {"keras", "tensorflow"} & set(modules)  # only the TFLite helpers need them
    assert {"onnxruntime", "onnx", "numpy"} <= set(modules)
    assert len(modules) == len(set(modules))  # merged, once each


def test_the_guard_comes_before_the_first_framework_import_of_every_entrys_script():
    for issue_id, path in PARTS.items():
        text = skeleton.assemble(path.read_text(), issue_id, str(path))
        hook = text.index("sys.excepthook = _uncaught")
        guard_end = text[:hook].count("\n") + 1
        late = [(line, module) for line, module in top_level_imports(text)
                if module.split(".")[0] not in sys.stdlib_module_names and line < guard_end]
        assert not late, f"{issue_id}: imported before the guard: {late}"
        compile(text, f"{issue_id}/repro.py", "exec")


def test_every_skeleton_definition_serves_some_entrys_script():
    used = set()
    for issue_id, path in PARTS.items():
        tree = ast.parse(skeleton.assemble(path.read_text(), issue_id, str(path)))
        used |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    for module in skeleton.skeleton_modules():
        if module == skeleton.GUARD:
            continue
        tree = ast.parse((skeleton.SKELETON / f"{module}.py").read_text())
        dead = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)} - used
        assert not dead, f"skeleton/{module}.py: no entry's script uses {sorted(dead)}"


def test_an_assembled_part_says_its_verdict_with_its_exit_code(tmp_path):
    done = run(tmp_path, skeleton.assemble(part("""
        from skeleton.verdict import say

        say("REPRODUCED", "two is not three")
        """), "x-two"))
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "REPRODUCED: known issue x-two: two is not three (exit 1)"


def test_an_assembled_parts_crash_cannot_read_as_reproduced(tmp_path):
    done = run(tmp_path, skeleton.assemble(part("""
        import sys

        from skeleton.guard import guarded, step


        def main():
            return {}["missing"]


        step("reading the case")
        sys.exit(guarded(main))
        """), "x-crash"))
    assert done.returncode == 3
    assert done.stdout.splitlines()[-1] == (
        "CANNOT RUN: reading the case (KeyError: 'missing') (exit 3)")


def test_an_import_that_fails_cannot_read_as_reproduced(tmp_path):
    done = run(tmp_path, skeleton.assemble(part("""
        import no_such_framework_here  # noqa: F401

        from skeleton.verdict import say

        say("REPRODUCED", "never")
        """), "x-import"))
    assert done.returncode == 3
    assert done.stdout.splitlines()[-1].startswith(
        "CANNOT RUN: importing the frameworks (ModuleNotFoundError: ")


@pytest.mark.parametrize(("code", "says"), [
    ("from skeleton.onnx2tf import no_such_helper\n", "skeleton.onnx2tf defines no no_such_helper"),
    ("from skeleton.nowhere import x\n", "no skeleton module skeleton.nowhere"),
    ("import skeleton\n", "'from skeleton.MODULE import NAME'"),
    ("x = 1\nimport os\n", "an import after the code"),
    ("def broken(:\n", "not Python"),
])
def test_a_part_the_skeleton_cannot_assemble_is_named_with_what_is_wrong(code, says):
    with pytest.raises(SkeletonError, match="own.py") as raised:
        skeleton.assemble(code, "x", "own.py")
    assert says in str(raised.value)


def test_a_part_that_redefines_what_the_skeletons_code_uses_is_refused():
    """One script is one namespace: the part's own session_of() would replace the one
    onnxruntime() calls."""
    with pytest.raises(SkeletonError, match=r"own.py: defines session_of, which the skeleton"):
        skeleton.assemble(part("""
            from skeleton.ort import onnxruntime


            def session_of(model):
                return None


            onnxruntime(None, {})
            """), "x", "own.py")


HAND_WRITTEN = sorted(skeleton.SKELETON.parent.joinpath("scripts").glob("*.py"))


@pytest.mark.parametrize("path", HAND_WRITTEN, ids=lambda path: path.stem)
def test_every_hand_written_script_says_first_why_no_generated_script_shows_its_bug(path):
    """``parity repro --script`` writes every leg parity runs: a script by hand is for a bug
    no generated one shows, and its first line says why (``# By hand: ...``)."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(skeleton.BY_HAND), (
        f"{path.name}: its first line must say why no generated script can show its bug, "
        f"as '{skeleton.BY_HAND}<why>'; where a generated one can, delete the script and the "
        f"entry's script field")
    assert len(first.removeprefix(skeleton.BY_HAND).split()) >= 6, f"{path.name}: {first}"
    for issue_id in [i for i, part in PARTS.items() if part.resolve() == path.resolve()]:
        # the line is for parity's maintainers: the exported repro.py leaves it out
        assert skeleton.BY_HAND not in skeleton.assemble(path.read_text(encoding="utf-8"),
                                                         issue_id, str(path))
