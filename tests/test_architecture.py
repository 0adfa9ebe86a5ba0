"""The architecture's contracts (docs/architecture.md), over the package's own source.

`lint-imports` (the contracts in pyproject.toml) checks the layers and the sources'
independence. What it cannot see is checked here over the AST: where an import is made
(inside a function or at module level), and cycles counted with those made inside functions.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "harness"

# The frameworks whose import costs seconds and pins a process (TensorFlow's, torch's
# threads): only the modules that are a framework's own import them at module level.
FRAMEWORKS = frozenset({"tensorflow", "keras", "tf_keras", "torch", "torchvision",
                        "onnxruntime", "tf2onnx", "onnx2torch", "onnx2pytorch"})
FRAMEWORK_OWN = ("harness/runtimes/", "harness/converters/", "harness/mat/")
# Imported inside a function only where the import is a third-party framework's: never the
# package itself (that hides a cycle or a layer climbed), the standard library or NumPy.
NEVER_INSIDE_FUNCTIONS = frozenset({"harness", "numpy"}) | frozenset(sys.stdlib_module_names)


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if not all(part.isidentifier() for part in path.relative_to(ROOT).parent.parts):
            continue  # data beside the modules: known_issues.d/scripts/ are standalone scripts
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(path: Path) -> Iterator[tuple[ast.stmt, bool, list[str]]]:
    """Each import statement of ``path``: (node, inside a function, absolute module names)."""
    tree = ast.parse(path.read_text(), str(path))

    def walk(node: ast.AST, inside: bool, type_checking: bool):
        for child in ast.iter_child_nodes(node):
            in_function = inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            guarded = type_checking or (isinstance(child, ast.If)
                                        and "TYPE_CHECKING" in ast.unparse(child.test))
            if isinstance(child, ast.Import) and not guarded:
                yield child, in_function, [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and not guarded:
                assert child.level == 0, f"{path}:{child.lineno}: a relative import"
                yield child, in_function, [
                    f"{child.module}.{alias.name}" for alias in child.names] or [child.module]
            yield from walk(child, in_function, guarded)

    yield from walk(tree, False, False)


def owner(name: str, known: dict[str, Path]) -> str | None:
    """The package module ``name`` (a module, or a name imported from one) belongs to; a
    name a lazy package looks up in one of its modules (its ``PUBLIC`` map, as
    ``harness.check`` and ``harness.mat`` keep it) belongs to that module."""
    package, _, attribute = name.rpartition(".")
    if package in known and attribute in lazy_names(known[package]):
        return lazy_names(known[package])[attribute]
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def lazy_names(path: Path) -> dict[str, str]:
    """{name: module} of a package that imports nothing and looks its names up on first use
    (a module-level ``PUBLIC = {...}`` dict literal beside a ``__getattr__``, as
    ``harness.core.lazy.lazy_names`` makes it)."""
    if path.name != "__init__.py":
        return {}
    if path not in _LAZY:
        tree = ast.parse(path.read_text(), str(path))
        found: dict[str, str] = {}
        if any((isinstance(node, ast.FunctionDef) and node.name == "__getattr__")
               or (isinstance(node, ast.Assign)
                   and any(isinstance(t, ast.Name) and t.id == "__getattr__"
                           for t in node.targets))
               for node in tree.body):
            for node in tree.body:
                if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                        and any(isinstance(t, ast.Name) and t.id == "PUBLIC"
                                for t in node.targets)):
                    found = ast.literal_eval(node.value)
        _LAZY[path] = found
    return _LAZY[path]


_LAZY: dict[Path, dict[str, str]] = {}


def framework_loading(known: dict[str, Path]) -> set[str]:
    """The package modules whose import loads a framework: one imports it at module level,
    or imports such a module at module level."""
    # Importing a module imports its packages first (harness.mat.cli loads harness.mat).
    top_level: dict[str, set[str]] = {
        name: {name.rsplit(".", depth)[0] for depth in range(1, name.count("."))} & set(known)
        for name in known}
    loading = set()
    for name, path in known.items():
        for _, inside, targets in imports(path):
            if inside:
                continue
            if targets[0].split(".")[0] in FRAMEWORKS:
                loading.add(name)
            for target in targets:
                module = owner(target, known)
                if module is not None and module != name:
                    top_level[name].add(module)
    grew = True
    while grew:
        grew = False
        for name, targets in top_level.items():
            if name not in loading and targets & loading:
                loading.add(name)
                grew = True
    return loading


def test_imports_inside_functions_are_for_frameworks_only():
    """A function may defer a framework's import, or that of a package module that loads one
    (the .mat importer loads torch): never another package module, which at module level
    would cost nothing or show a cycle; never the standard library or NumPy."""
    known = modules()
    loading = framework_loading(known)
    found = []
    for _, path in sorted(known.items()):
        for node, inside, targets in imports(path):
            top = targets[0].split(".")[0]
            if not inside or top not in NEVER_INSIDE_FUNCTIONS:
                continue
            if top == "harness" and all(owner(t, known) in loading for t in targets):
                continue
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, ("imports inside functions that belong at module level (a cycle or a "
                       "climbed layer if they cannot be moved):\n" + "\n".join(found))


def test_a_deferred_import_of_a_framework_loading_module_is_told_apart():
    loading = framework_loading(modules())
    assert "harness.mat.builder" in loading and "harness.runtimes.worker" not in loading
    assert "harness.mat.formats" in loading  # through the handlers it registers
    # A lazy package loads nothing itself; its names are their modules'.
    known = modules()
    assert "harness.mat" not in loading and "harness.mat.cli" not in loading
    assert owner("harness.mat.to_torch", known) == "harness.mat.api" in loading
    assert owner("harness.check.run_check", known) == "harness.check.run"
    assert "harness.core.spec" not in loading and "harness.cli" not in loading


def test_only_a_frameworks_own_modules_import_it_at_module_level():
    found = []
    for _, path in sorted(modules().items()):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(FRAMEWORK_OWN):
            continue
        for node, inside, targets in imports(path):
            if not inside and targets[0].split(".")[0] in FRAMEWORKS:
                found.append(f"{relative}:{node.lineno}: {ast.unparse(node)}")
    assert not found, ("module-level framework imports outside "
                       f"{', '.join(FRAMEWORK_OWN)}:\n" + "\n".join(found))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for _, _, targets in imports(path):
            for target in targets:
                module = owner(target, known)
                if module is not None and module != name:
                    graph[name].add(module)
    return graph


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_the_package_modules_counting_those_inside_functions():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_import_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint_imports is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    run = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in run.stdout
