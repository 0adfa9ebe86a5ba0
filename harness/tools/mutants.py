"""How many one-line faults planted in a rewriter's passes the quick gate kills
(docs/rewriters.md#planted-faults). Not imported by the harness::

    python -m harness.tools.mutants [N] [--tool onnxslim|onnxsim] [--seed S]
                                    [--budget SECONDS] [--start I]
                                    [--select K | --full]
                                    [--json OUT] [--list]

``--tool onnxslim`` (the default): every fusion and elimination module of the installed
onnxslim (``onnxslim/core/pattern/``) is parsed, and each place in a pattern's ``rewrite`` or
``parameter_check`` where a realistic one-line fault can go is listed (``sites``).
``--tool onnxsim``: onnxsim's passes and constant folding are C++ (``onnxsim_cpp2py_export``);
its Python is the ``simplify`` wrapper and the executor that computes each folded constant
with onnxruntime (``PyModelExecutor.Run``, ``backend.run_model``), so the sites are those on
the lines of ``onnx_simplifier.py`` and ``backend.py`` that ``simplify`` runs on the simplest
example of every patterns kind (traced). onnxoptimizer's passes are C++ alone
(``onnxoptimizer/passes/*.h``, compiled into its extension): no site, said so. The kinds of
fault:

- ``constant``: an integer or float literal moved (n → n + 1, x → 2x, 0.0 → 1.0);
- ``sign``: a negative literal made positive (an axis -1 read as 1);
- ``operand-order``: the operands of a subtraction, division or matrix product swapped;
- ``arithmetic``: + and -, * and / exchanged;
- ``comparison``: ==/!=, </<=, >/>=, in/not in, is/is not exchanged;
- ``guard``: one condition of an ``and`` (``or``) taken as True (False), or an ``if`` that
  returns early never taken: a check the pass needs, dropped.

``N`` of them are drawn (seeded, round robin over the kinds of fault, so that each kind is
represented). Each mutant is planted in a copy of the package put first on the gate's
``PYTHONPATH`` (site-packages is never touched), and the gate runs in a folder of its own (a
fresh stage cache, since the cache keys the stage's output by its files)::

    parity gate --converter TOOL --suites onnx -- -k SELECTION -p no:xdist

The default selection is the ONNX op suite's ``test_op`` of the ``patterns`` family, the
graphs drawn for rewriters; ``--full`` runs the whole quick gate (about 5 minutes a mutant
here), ``--select`` any ``-k`` expression. A mutant is *killed* when the gate fails,
*survives* when it passes, is *stillborn* when the package no longer imports (left out of the
rate), and *timed out* past ``--timeout``. The report gives the kill rate and, per mutant,
its diff and the gate's first failure line: a survivor is a fault the gate misses, the
motif to draw next (or an equivalent mutant, which changes nothing a model can show).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from operator import attrgetter
from pathlib import Path

from harness.core import registry
from harness.core.frameworks import prepare_imports
from harness.core.strategies import sample
from harness.run.pipeline import Harness

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "onnxslim"
PASS_FOLDERS = ("core/pattern/fusion", "core/pattern/elimination")
PASS_METHODS = ("rewrite", "parameter_check")


@dataclass(frozen=True)
class Tool:
    """Where a converter's Python is: ``files`` (globs under the package) and the functions
    whose bodies are mutated, or None for every line its stage runs down ``leg`` on one
    example of each kind of ``source`` (of the ``family`` alone, where one is named)."""

    package: str
    files: tuple[str, ...]
    methods: tuple[str, ...] | None
    leg: str = ""
    source: str = "onnx"
    family: str | None = None


TOOLS = {
    "onnxslim": Tool("onnxslim", tuple(f"{folder}/*.py" for folder in PASS_FOLDERS),
                     PASS_METHODS),
    "onnxsim": Tool("onnxsim", ("onnx_simplifier.py", "backend.py"), None,
                    leg="onnx>onnxsim", family="patterns"),
    # the node converters and the graph walk that calls them (harness/tools/ci_kills.py)
    "onnx2torch": Tool("onnx2torch", ("converter.py", "node_converters/*.py", "utils/*.py"),
                       None, leg="onnx>onnx2torch"),
    # the graph walk, the attribute readers and the torch modules it builds per node
    "onnx2pytorch": Tool("onnx2pytorch", ("convert/*.py", "operations/*.py", "utils.py",
                                          "helpers.py"), None, leg="onnx>onnx2pytorch"),
    # the op handlers, the rewriters of TensorFlow's subgraphs and the ONNX optimizer
    "tf2onnx": Tool("tf2onnx", ("tfonnx.py", "onnx_opset/*.py", "rewriter/*.py",
                                "optimizer/*.py"), None, leg="keras>tf2onnx", source="keras"),
}
# the tools this script's gate (parity gate --converter TOOL --suites onnx) selects;
# harness.tools.ci_kills plants faults in the others, under the whole ci main job
REWRITERS = ("onnxslim", "onnxsim")
NOT_MUTABLE = {
    "onnxoptimizer": "onnxoptimizer's passes are C++ (onnxoptimizer/passes/*.h, compiled into "
                     "onnx_opt_cpp2py_export); a mutant needs that extension rebuilt against "
                     "onnx's and protobuf's C++ sources, which the wheel does not ship",
}
OPERATORS = ("constant", "sign", "operand-order", "arithmetic", "comparison", "guard")
SWAPPED_OPERANDS = (ast.Sub, ast.Div, ast.FloorDiv, ast.MatMult)
ARITHMETIC = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
COMPARISONS = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt,
               ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In,
               ast.Is: ast.IsNot, ast.IsNot: ast.Is}


@dataclass(frozen=True)
class Site:
    """One one-line fault: ``path`` (relative to the package), its line, the byte span of
    the expression on that line, and what replaces it."""

    path: str
    line: int
    start: int
    end: int
    original: str
    replacement: str
    operator: str
    function: str

    @property
    def name(self) -> str:
        return f"{self.path}:{self.line} {self.operator} {self.function}"


def _literal(node: ast.Constant) -> str | None:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):
        return repr(value + 1)
    return repr(value * 2 if value else 1.0)


def _replacements(node: ast.AST) -> list[tuple[str, ast.AST, str]]:
    """(operator, the node replaced, its replacement's source) for one node."""
    found: list[tuple[str, ast.AST, str]] = []
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
            and isinstance(node.operand, ast.Constant) and _literal(node.operand):
        found.append(("sign", node, ast.unparse(node.operand)))
    elif isinstance(node, ast.Constant) and _literal(node):
        found.append(("constant", node, _literal(node)))
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, SWAPPED_OPERANDS):
            found.append(("operand-order", node, ast.unparse(
                ast.BinOp(left=node.right, op=node.op, right=node.left))))
        if type(node.op) in ARITHMETIC:
            found.append(("arithmetic", node, ast.unparse(
                ast.BinOp(left=node.left, op=ARITHMETIC[type(node.op)](), right=node.right))))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARISONS:
        found.append(("comparison", node, ast.unparse(ast.Compare(
            left=node.left, ops=[COMPARISONS[type(node.ops[0])]()], comparators=node.comparators))))
    if isinstance(node, ast.BoolOp):
        dropped = "True" if isinstance(node.op, ast.And) else "False"
        found += [("guard", value, dropped) for value in node.values]
    if isinstance(node, ast.If) and node.body and isinstance(node.body[0], (ast.Return,
                                                                            ast.Continue)):
        found.append(("guard", node.test, "False"))
    return found


def sites_of(path: Path, package_root: Path, methods: tuple[str, ...] | None = PASS_METHODS,
             run: set[int] | None = None) -> list[Site]:
    """The one-line faults of one module: in the bodies of its functions named ``methods``
    (a pattern's rewrite and parameter_check), or of every function on the lines in ``run``."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    found: list[Site] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef) or (
                methods is not None and function.name not in methods):
            continue
        for node in (n for statement in function.body for n in ast.walk(statement)):
            for operator, target, replacement in _replacements(node):
                if target.lineno != target.end_lineno:
                    continue  # one line each
                if run is not None and target.lineno not in run:
                    continue
                line = lines[target.lineno - 1].encode()
                original = line[target.col_offset:target.end_col_offset].decode()
                if original == replacement:
                    continue
                found.append(Site(str(path.relative_to(package_root)), target.lineno,
                                  target.col_offset, target.end_col_offset, original,
                                  replacement, operator, function.name))
    # a nested function's sites once, under its own name (ast.walk reaches it last)
    return list({(s.line, s.start, s.end, s.operator, s.replacement): s
                 for s in found}.values())


def package_root(package: str = PACKAGE) -> Path:
    if package in NOT_MUTABLE:
        raise SystemExit(f"no Python site to mutate: {NOT_MUTABLE[package]}")
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{package} is not installed")
    return Path(spec.origin).parent


def all_sites(root: Path, tool: str = PACKAGE,
              run: dict[str, set[int]] | None = None) -> list[Site]:
    """The tool's sites; ``run``: its ``executed_lines``, where the caller traced them."""
    chosen = TOOLS[tool]
    if chosen.methods is not None:
        run = None
    elif run is None:
        run = executed_lines(chosen, root)
    return [site for pattern in chosen.files for path in sorted(root.glob(pattern))
            for site in sites_of(path, root, chosen.methods,
                                 None if run is None
                                 else run.get(str(path.relative_to(root)), set()))]


def executed_lines(tool: Tool, root: Path) -> dict[str, set[int]]:
    """{path relative to the package: its lines} of ``tool.files`` that the tool's stage runs
    on the first example of every kind of its corpus, traced in this process."""
    prepare_imports()
    files = {str(path) for pattern in tool.files for path in root.glob(pattern)}
    run: dict[str, set[int]] = {}

    def local(frame, event, _arg):
        if event == "line":
            name = str(Path(frame.f_code.co_filename).relative_to(root))
            run.setdefault(name, set()).add(frame.f_lineno)
        return local

    def calls(frame, _event, _arg):
        return local if frame.f_code.co_filename in files else None

    harness = Harness(tool.leg, known_issues=[])
    specs = [spec for kind in sorted(k.name for k in registry.kinds(tool.source)
                                     if tool.family in (None, k.family))
             for spec in sample(kind, 1, source=tool.source)]
    sys.settrace(calls)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the converters' own, on examples made to trace
            for spec in specs:
                harness.run(spec)
    finally:
        sys.settrace(None)
    return run


DRAWN_BY = ("operator", "file")


def draw(sites: list[Site], count: int, seed: int, by: str = "operator") -> list[Site]:
    """``count`` sites, seeded: round robin over the kinds of fault (``by="operator"``) or
    over the files, in a shuffled order (``by="file"``: a file with many lines, such as one
    optimizer pass, then holds no more of the draw than a small one), each group shuffled."""
    rng = random.Random(seed)
    if by == "operator":
        keys, key_of = list(OPERATORS), attrgetter("operator")
    elif by == "file":
        keys, key_of = sorted({s.path for s in sites}), attrgetter("path")
        rng.shuffle(keys)
    else:
        raise ValueError(f"draw by {by!r}: expected one of {', '.join(DRAWN_BY)}")
    groups: dict[str, list[Site]] = {key: [] for key in keys}
    for site in sites:
        groups[key_of(site)].append(site)
    for group in groups.values():
        rng.shuffle(group)
    chosen: list[Site] = []
    while len(chosen) < count and any(groups.values()):
        for key in keys:
            if groups[key] and len(chosen) < count:
                chosen.append(groups[key].pop())
    return chosen


def mutated_line(site: Site, root: Path) -> tuple[str, str]:
    lines = (root / site.path).read_text(encoding="utf-8").splitlines(keepends=True)
    line = lines[site.line - 1].encode()
    new = line[:site.start] + site.replacement.encode() + line[site.end:]
    return line.decode(), new.decode()


def plant(site: Site | None, root: Path, into: Path) -> str:
    """A copy of the package under ``into`` with ``site`` planted (none: a clean copy); its
    diff."""
    package = root.name
    copy = into / package
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("__pycache__"))
    if site is None:
        return ""
    target = copy / site.path
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    old, new = mutated_line(site, root)
    lines[site.line - 1] = new
    target.write_text("".join(lines), encoding="utf-8")
    return "".join(difflib.unified_diff([old], [new], f"a/{package}/{site.path}",
                                        f"b/{package}/{site.path}", n=0)).replace(
        "@@ -1 +1 @@", f"@@ -{site.line} +{site.line} @@")


def patterns_selection() -> str:
    """``-k`` for the ONNX op suite's test_op of every kind of the patterns family and its
    test_op_axis along the free batch, as the quick gate runs them: a sizes pass (onnxslim's
    FusionConcatReshape, EliminationReshapeAs) sees its Shape subgraph only where the batch
    is free; with every size fixed it is folded away first."""
    prepare_imports()
    kinds = sorted(k.name for k in registry.kinds("onnx") if k.family == "patterns")
    return ("(test_op[ or test_op_axis[) and ("
            + " or ".join(f"{kind}] or {kind}-free]" for kind in kinds) + ")")


@dataclass
class Outcome:
    site: str
    operator: str
    verdict: str
    seconds: float
    diff: str
    first_failure: str


# A pytest plugin for the gate: the ci profile without shrinking (the first failing example
# kills the mutant; a shrunk one only costs time), loaded with -p before the profile is. It
# keeps the profile's name: the suites choose their ci samples, covering cases and drawn
# cases by it (harness.cover_corpus.current_profile), so a renamed copy would be another gate.
NO_SHRINK_PLUGIN = "parity_mutants_profile"
NO_SHRINK_PROFILE = "ci"
NO_SHRINK_SOURCE = f'''"""The ci profile without shrinking (harness/tools/mutants.py)."""
from hypothesis import Phase, settings

import harness.plugin  # noqa: F401  (registers the ci profile)

settings.register_profile("{NO_SHRINK_PROFILE}", settings.get_profile("{NO_SHRINK_PROFILE}"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
'''
FAILED_LINE = re.compile(r"^(FAILED|ERROR) .*$", re.MULTILINE)
# what a gate run must not inherit: another golden store, another cache version
IGNORED_ENVIRONMENT = ("PARITY_GOLDEN", "PARITY_CACHE_VERSION_OVERRIDE")


def planted(site: Site | None, root: Path, scratch: Path,
            tree: Path = ROOT) -> tuple[dict[str, str], str]:
    """A copy of the package with ``site`` planted (none: clean) and the no-shrink plugin in
    ``scratch/site-packages``; the environment that imports them first, then ``tree``'s
    harness; the diff. The folder is named as pip's: a harness that tells a converter's
    frames by where pip puts them (4d1e7d32's diagnoses did) must see the copy's as the
    installed package's."""
    site_dir = scratch / "site-packages"
    site_dir.mkdir()
    diff = plant(site, root, site_dir)
    (site_dir / f"{NO_SHRINK_PLUGIN}.py").write_text(NO_SHRINK_SOURCE)
    environment = {k: v for k, v in os.environ.items() if k not in IGNORED_ENVIRONMENT}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(site_dir), str(tree), *filter(None, [environment.get("PYTHONPATH")])])
    return environment, diff


def unimportable(package: str, environment: dict[str, str], cwd: Path) -> str | None:
    """The last line of the error with which the planted package fails to import, or None."""
    probe = subprocess.run([sys.executable, "-c", f"import {package}"], env=environment,
                           cwd=cwd, capture_output=True, text=True)
    if not probe.returncode:
        return None
    return (probe.stderr.strip().splitlines() or [f"exit {probe.returncode}"])[-1]


def judged(done: subprocess.CompletedProcess, package: str) -> tuple[str, str]:
    """(verdict, the first failure line) of a finished gate run: killed where it failed."""
    failures = FAILED_LINE.findall(done.stdout)
    named = re.search(rf"{package} pass whose absence makes the model pass: [^\n]*",
                      done.stdout)
    first = FAILED_LINE.search(done.stdout)
    text = first.group(0) if first else (done.stdout.strip().splitlines()[-1:] or [""])[0]
    if named:
        text += f" ({named.group(0)})"
    verdict = "survived" if done.returncode == 0 else "killed"
    if done.returncode not in (0, 1) and not failures:
        verdict = f"gate exit {done.returncode}"
    return verdict, text[:400]


def run_gate(site: Site | None, root: Path, selection: str | None, timeout: float,
             cache: Path | None = None) -> Outcome:
    """The gate over a copy of the package with ``site`` planted (none: the clean copy, the
    baseline), in a folder of its own. ``cache``: a stage cache shared by the runs, which
    is safe since the cache keys onnxslim's output by the files imported (each mutant's
    copy hashes apart) and saves every run after the first the source's readings."""
    name, operator = (site.name, site.operator) if site else ("clean copy", "none")
    package = root.name
    with tempfile.TemporaryDirectory(prefix="parity-mutant-") as scratch:
        folder = Path(scratch) / "run"
        folder.mkdir()
        environment, diff = planted(site, root, Path(scratch))
        started = time.monotonic()
        error = unimportable(package, environment, folder)
        if error is not None:
            return Outcome(name, operator, "stillborn", 0.0, diff, error)
        command = [sys.executable, "-m", "harness.cli", "gate", "--converter", package,
                   "--suites", "onnx"]
        pytest_args = ["-x", "-p", NO_SHRINK_PLUGIN, "--hypothesis-profile", NO_SHRINK_PROFILE]
        if selection is not None:
            pytest_args += ["-k", selection, "-p", "no:xdist"]
        if cache is not None:
            pytest_args += ["--parity-cache", str(cache)]
        command += ["--", *pytest_args]
        try:
            done = subprocess.run(command, cwd=folder, env=environment, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Outcome(name, operator, "timed out",
                           time.monotonic() - started, diff, "")
        verdict, text = judged(done, package)
        return Outcome(name, operator, verdict, time.monotonic() - started, diff, text)


def scheduled(chosen: list[Site], start: int, started: float,
              budget: float) -> Iterator[tuple[int, Site]]:
    """(index, site) of the drawn mutants from ``start`` on, until ``budget`` seconds have
    passed since ``started`` (``time.monotonic()``), saying how many were not run."""
    for index, site in enumerate(chosen):
        if index < start:
            continue
        if time.monotonic() - started > budget:
            print(f"budget spent: {len(chosen) - index} mutants not run", flush=True)
            return
        yield index, site


def report(outcomes: list[Outcome], command: str) -> str:
    killed = sum(o.verdict == "killed" for o in outcomes)
    survived = sum(o.verdict == "survived" for o in outcomes)
    rate = killed / (killed + survived) if killed + survived else float("nan")
    lines = [f"{command}", "",
             f"kill rate: {killed}/{killed + survived} = {rate:.0%} "
             f"(stillborn {sum(o.verdict == 'stillborn' for o in outcomes)}, other "
             f"{len(outcomes) - killed - survived - sum(o.verdict == 'stillborn' for o in outcomes)})",
             "", "| mutant | fault | verdict | s | gate's first failure |", "|---|---|---|---|---|"]
    for o in outcomes:
        lines.append(f"| `{o.site}` | {o.operator} | {o.verdict} | {o.seconds:.0f} "
                     f"| {o.first_failure.replace('|', '/')} |")
    lines += ["", "survivors' diffs:", ""]
    lines += [o.diff for o in outcomes if o.verdict == "survived"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.tools.mutants")
    parser.add_argument("count", nargs="?", type=int, default=25)
    parser.add_argument("--tool", default=PACKAGE, choices=[*REWRITERS, *NOT_MUTABLE],
                        help="the rewriter whose passes are mutated (default onnxslim)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--by", default="operator", choices=DRAWN_BY,
                        help="draw round robin over the kinds of fault or over the files")
    parser.add_argument("--budget", type=float, default=3600.0,
                        help="seconds: no mutant is started past it")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a gate run")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--select", default=None, help="the gate's -k (default: patterns)")
    group.add_argument("--full", action="store_true", help="the whole quick gate")
    parser.add_argument("--cache", default=None,
                        help="the stage cache the runs share (default: one for this run)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--list", action="store_true", help="list the drawn mutants only")
    parser.add_argument("--start", type=int, default=0,
                        help="run the drawn mutants from this index on (0: all), to go on "
                             "where a run's budget stopped")
    args = parser.parse_args(argv)
    root = package_root(args.tool)
    sites = all_sites(root, args.tool)
    chosen = draw(sites, args.count, args.seed, args.by)
    print(f"{len(sites)} one-line faults in {args.tool}'s passes ({root}); {len(chosen)} drawn "
          f"(seed {args.seed})", flush=True)
    if args.list:
        for site in chosen:
            old, new = mutated_line(site, root)
            print(f"{site.name}: {old.strip()}  →  {new.strip()}")
        return 0
    selection = None if args.full else (args.select or patterns_selection())
    started, outcomes = time.monotonic(), []
    cache = Path(args.cache or tempfile.mkdtemp(prefix="parity-mutants-cache-"))
    baseline = run_gate(None, root, selection, args.timeout, cache)
    print(f"[clean] {baseline.verdict:9} {baseline.seconds:5.0f} s", flush=True)
    if baseline.verdict != "survived":
        print(f"the gate fails on the clean copy: no kill means anything "
              f"({baseline.first_failure})")
        return 2
    for index, site in scheduled(chosen, args.start, started, args.budget):
        outcome = run_gate(site, root, selection, args.timeout, cache)
        outcomes.append(outcome)
        print(f"[{index + 1}/{len(chosen)}] {outcome.verdict:9} {outcome.seconds:5.0f} s "
              f"{site.name}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    command = " ".join(["python -m harness.tools.mutants", *(argv if argv is not None
                                                                else sys.argv[1:])])
    print(report(outcomes, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
