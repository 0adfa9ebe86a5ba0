"""One standalone script from an entry's own part and the shared skeleton.

An entry's hand-written script (``harness/known_issues.d/scripts/``) holds only what is
particular to it: the model, the inputs, the control case, the comparison. What every script
shares is written once, in the skeleton's modules (``harness/known_issues.d/skeleton/``): the
guard against a crash reading as REPRODUCED, the verdict and its exit codes, building ONNX
models, onnxruntime's reading, TFLiteConverter's and ONNX's node tests' runs; and the
switches parity's own onnx2tf stage calls onnx2tf with (``constant``).

A part imports from them as ``from skeleton.MODULE import NAME``; ``assemble`` writes the one
self-contained file a converter's maintainer runs: the part's docstring, the guard (before any
framework import), the imports the script uses, ``KNOWN_ISSUE``, the skeleton's definitions the
part uses (and those they use in turn, nothing else) and the part's own code. Like an
amalgamation, it is one namespace: a part does not redefine a name it takes from the skeleton.
Text only: nothing here runs a framework or the script.
"""

from __future__ import annotations

import ast
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SKELETON = Path(__file__).parents[1] / "known_issues.d" / "skeleton"
PACKAGE = "skeleton"  # what a part imports the skeleton's modules as
GUARD = "guard"  # the module every script starts with, whole
ISSUE_NAME = "KNOWN_ISSUE"  # the entry's id, written by the export
# A part's first line: why no generated script (``parity repro --script``) can show its bug.
# A comment above the docstring, so the assembled script leaves it out.
BY_HAND = "# By hand: "


class SkeletonError(ValueError):
    """A part or a skeleton module that cannot be assembled; the message says where."""


@dataclass(frozen=True)
class _Statement:
    text: str
    defines: frozenset[str]
    uses: frozenset[str]


@dataclass(frozen=True)
class _Module:
    docstring: str | None
    imports: tuple[ast.stmt, ...]  # the other imports, as written
    takes: tuple[tuple[str, tuple[str, ...]], ...]  # (skeleton module, names) it imports
    statements: tuple[_Statement, ...]
    code: str  # the text after the docstring and the imports, as written


def _names_used(node: ast.AST) -> set[str]:
    """The names a statement reads from the module (a function's own parameters and locals
    left out)."""
    used = _names_read(node)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        local = {arg.arg for arg in ast.walk(node.args) if isinstance(arg, ast.arg)}
        local |= {child.id for child in ast.walk(node)
                  if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store)}
        used -= local
    return used


def _names_read(node: ast.AST) -> set[str]:
    used = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            used.add(child.id)
        elif isinstance(child, ast.Attribute):
            base = child
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name):
                used.add(base.id)
    return used


def _names_defined(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = (node.targets if isinstance(node, ast.Assign)
               else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
    return {name.id for target in targets for name in ast.walk(target)
            if isinstance(name, ast.Name)}


def _bound(node: ast.stmt) -> set[str]:
    """The names an import statement binds."""
    return {(alias.asname or alias.name).split(".")[0] for alias in node.names}


def _parse(text: str, where: str) -> _Module:
    try:
        tree = ast.parse(text, where)
    except SyntaxError as exc:
        raise SkeletonError(f"{where}: not Python ({exc.msg}, line {exc.lineno})") from exc
    lines = text.splitlines()
    body = list(tree.body)
    docstring = None
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        docstring = "\n".join(lines[body[0].lineno - 1:body[0].end_lineno])
        body = body[1:]
    imports, takes, statements = [], [], []
    start = tree.body[0].end_lineno if docstring is not None else 0  # lines already taken
    code_from = start
    for node in body:
        is_import = isinstance(node, (ast.Import, ast.ImportFrom))
        if is_import and statements:
            raise SkeletonError(f"{where}:{node.lineno}: an import after the code; the "
                                f"imports come first (the guard goes before them)")
        if is_import:
            code_from = node.end_lineno
        if isinstance(node, ast.Import) and any(
                alias.name.split(".")[0] == PACKAGE for alias in node.names):
            raise SkeletonError(f"{where}:{node.lineno}: import the skeleton's names as "
                                f"'from {PACKAGE}.MODULE import NAME'")
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE:
            module = (node.module or "").partition(".")[2]
            if not module or node.level:
                raise SkeletonError(f"{where}:{node.lineno}: import the skeleton's names as "
                                    f"'from {PACKAGE}.MODULE import NAME'")
            takes.append((module, tuple(alias.name for alias in node.names)))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
        else:
            # a statement with the comments written just above it
            first = node.lineno - 1
            if getattr(node, "decorator_list", None):
                first = node.decorator_list[0].lineno - 1
            while first > start and lines[first - 1].lstrip().startswith("#"):
                first -= 1
            chunk = "\n".join(lines[first:node.end_lineno])
            statements.append(_Statement(chunk, frozenset(_names_defined(node)),
                                         frozenset(_names_used(node))))
        start = node.end_lineno
    return _Module(docstring, tuple(imports), tuple(takes), tuple(statements),
                   "\n".join(lines[code_from:]).strip("\n"))


@cache
def _skeleton_module(name: str) -> _Module:
    path = SKELETON / f"{name}.py"
    if not path.is_file():
        raise SkeletonError(f"no skeleton module {PACKAGE}.{name} ({path})")
    return _parse(path.read_text(encoding="utf-8"), str(path))


# The order the skeleton's definitions are written in: what a script builds and reads first,
# the converters' calls after, the verdict last (a module not named here comes after these).
ORDER = ("guard", "onnx_build", "ort", "onnx2tf", "keras_tflite", "onnx_node_tests", "verdict")


def skeleton_modules() -> list[str]:
    found = {path.stem for path in SKELETON.glob("*.py")}
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def guard() -> tuple[tuple[str, ...], str]:
    """The guard's standard-library modules and its code (every script's, generated ones too)."""
    module = _skeleton_module(GUARD)
    names = tuple(sorted(name for node in module.imports for name in _bound(node)))
    return names, "\n" + module.code + "\n"


def _definitions() -> dict[str, tuple[str, _Statement]]:
    """Every name the skeleton defines: its module and statement."""
    found: dict[str, tuple[str, _Statement]] = {}
    for name in skeleton_modules():
        for statement in _skeleton_module(name).statements:
            for defined in statement.defines:
                if defined in found:
                    raise SkeletonError(f"{defined} is defined twice in the skeleton "
                                        f"({found[defined][0]}.py and {name}.py)")
                found[defined] = (name, statement)
    return found


def _import_lines(imports, skip: set[str]) -> list[list[str]]:
    """The import lines, merged and sorted as isort would: the standard library's, then the
    rest; in each ``import X`` lines first. ``imports``: (statement, the names used where it
    is taken from the skeleton, or None to keep every name it binds)."""
    plain: set[tuple[str, str | None]] = set()
    names: dict[str, set[tuple[str, str | None]]] = {}
    for node, uses in imports:
        for alias in node.names:
            bound = (alias.asname or alias.name).split(".")[0]
            if uses is not None and bound not in uses:
                continue
            if isinstance(node, ast.Import):
                if alias.name not in skip:
                    plain.add((alias.name, alias.asname))
            else:
                names.setdefault(node.module or "", set()).add((alias.name, alias.asname))

    def text(name, asname):
        return name if asname is None else f"{name} as {asname}"

    groups: list[list[str]] = [[], []]
    for module, asname in sorted(plain):
        groups[module.split(".")[0] not in sys.stdlib_module_names].append(
            f"import {text(module, asname)}")
    for module in sorted(names):
        groups[module.split(".")[0] not in sys.stdlib_module_names].append(
            f"from {module} import " + ", ".join(text(*n) for n in sorted(names[module])))
    return groups


def assemble(part: str, issue_id: str, where: str = "the part") -> str:
    """The self-contained script of ``part`` (an entry's own text) for entry ``issue_id``."""
    own = _parse(part, where)
    definitions = _definitions()
    needed: list[_Statement] = []
    wanted = [name for module, names in own.takes for name in names
              if _check_taken(module, name, definitions, where)]
    seen = set()
    while wanted:
        name = wanted.pop()
        if name in seen or name not in definitions or name == ISSUE_NAME:
            continue
        seen.add(name)
        module, statement = definitions[name]
        if module == GUARD:
            continue  # the guard is written whole
        if statement not in needed:
            needed.append(statement)
            wanted.extend(statement.uses)
    modules = skeleton_modules()
    needed.sort(key=lambda s: (modules.index(definitions[next(iter(s.defines))][0]),
                               _order_in_module(s, definitions)))
    clash = sorted(set().union(*(s.defines for s in needed))
                   & set().union(*(s.defines for s in own.statements)))
    if clash:
        raise SkeletonError(f"{where}: defines {', '.join(clash)}, which the skeleton's code it "
                            f"takes defines too (one script is one namespace): rename it")
    code = [s.text.strip("\n") for s in needed] + [own.code]
    used = set().union(*(s.uses for s in needed), *(s.uses for s in own.statements))
    guard_modules, guard_code = guard()
    imports = [(node, None) for node in own.imports]  # the part's own: all used
    for statement in needed:  # the skeleton's, as far as its definitions here use them
        module = _skeleton_module(definitions[next(iter(statement.defines))][0])
        imports += [(node, statement.uses) for node in module.imports]
    groups = _import_lines(imports, skip=set(guard_modules))
    head = "\n".join(f"import {name}" for name in guard_modules) + "\n" + guard_code.rstrip()
    imports_text = "\n\n".join("\n".join(group) for group in groups if group)
    if ISSUE_NAME in used:
        imports_text += f"\n\n{ISSUE_NAME} = {json.dumps(issue_id)}"
    blocks = [own.docstring, head, imports_text, *code]
    return "#!/usr/bin/env python3\n" + "\n\n\n".join(b for b in blocks if b) + "\n"


def _check_taken(module: str, name: str, definitions, where: str) -> bool:
    if module not in skeleton_modules():
        raise SkeletonError(f"{where}: no skeleton module {PACKAGE}.{module} (the modules: "
                            f"{', '.join(skeleton_modules())})")
    if definitions.get(name, (None,))[0] != module:
        raise SkeletonError(f"{where}: {PACKAGE}.{module} defines no {name}")
    return True


def _order_in_module(statement: _Statement, definitions) -> int:
    module = definitions[next(iter(statement.defines))][0]
    return _skeleton_module(module).statements.index(statement)


def constant(module: str, name: str):
    """The value of the skeleton's ``name = <literal>`` in ``module``: what parity's own code
    shares with the scripts (onnx2tf's switches) is written once, there."""
    for node in ast.parse((SKELETON / f"{module}.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and _names_defined(node) == {name}:
            return ast.literal_eval(node.value)
    raise SkeletonError(f"{PACKAGE}.{module} defines no constant {name}")


def used_by_parts(parts: list[str]) -> set[str]:
    """The skeleton's names that any of ``parts`` takes (a name no part takes is dead)."""
    return {name for part in parts for _, names in _parse(part, "part").takes for name in names}
