"""Where the ci contract's draw-code branches went when the draw code was refactored.

The contract (``harness.tools.ci_contract``, docs/coverage.md#the-ci-contract) names a branch
by its file and lines (``harness/sources/keras/kinds/conv.py:92->94``), so a refactor that
moves a branch, or folds two copies of it into one helper, reads as a lost branch. This tool
measures, on an earlier tree and on this one, which ci corpus tests reach each branch, and
maps each branch the earlier tree names and this one does not to its twins: branches only
this tree names, from a line of the same text (the same condition), reaching a line of the
same text or leaving the condition the same way (into its body, past it, out of the
function), that every test which reached the earlier branch still reaches. A branch without
a twin has no entry, and the contract still reports it lost.

    python -m harness.tools.branch_moves REV     # writes tests/ci_contract/moved.json

The earlier tree is checked out in a temporary git worktree and measured with its own draw
code (this file runs there as a script, over that tree's ``harness``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import coverage

from harness.tools import ci_contract
from harness.tools import draw_cover as dc

ROOT = Path(__file__).resolve().parents[2]


def _line(path: Path, number: int) -> str:
    if number <= 0:
        return "(exit)"
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[number - 1].strip() if number <= len(lines) else ""


def measure(root: Path) -> dict[str, dict[str, Any]]:
    """Per draw-code branch the ci corpus reaches in the tree ``root`` (the one whose
    ``harness`` is imported): the tests that reach it and the text of its two ends."""
    found: dict[str, dict[str, Any]] = {}
    for source, (suite, _cover) in ci_contract.SUITES.items():
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            dc.record_corpus(source, suite, "ci", folder)
            include = [str(dc.ROOT / pattern) for pattern in dc.SOURCES[source].files]
            cov = coverage.Coverage(branch=True, include=include,
                                    data_file=str(folder / "ci.coverage"))
            cov.load()
            data = cov.get_data()
            tests = [c for c in data.measured_contexts() if c]
            every = dc.executed_arcs(data, tests)
            branches = dc.Branches(cov, sorted({path for path, _a, _b in every}), every)
            for test in tests:
                for path, start, end in branches.of(dc.executed_arcs(data, [test])):
                    name = f"{os.path.relpath(path, root)}:{start}->{end}"
                    entry = found.setdefault(name, {
                        "text": [_line(Path(path), start), _line(Path(path), end)],
                        "tests": set()})
                    entry["tests"].add(test)
    return {name: {"text": entry["text"], "tests": sorted(entry["tests"])}
            for name, entry in sorted(found.items())}


def _direction(name: str) -> str:
    """How a branch arc leaves its line: into the next line (a body entered), out of the
    function, or a jump past the body."""
    start, end = (int(n) for n in name.rsplit(":", 1)[1].split("->"))
    return "next" if end == start + 1 else "exit" if end < 0 else "jump"


def _same_branch(name: str, entry: dict[str, Any], other_name: str,
                 other: dict[str, Any]) -> bool:
    """The same condition taken the same way: the same text on the branch line, and the
    same statement reached, or the same way out where the code after the condition was
    rewritten (a helper returns what its caller went on to build)."""
    if entry["text"][0] != other["text"][0]:
        return False
    return entry["text"][1] == other["text"][1] or _direction(name) == _direction(other_name)


def twins(before: dict[str, dict[str, Any]],
          after: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """For each branch ``before`` names and ``after`` does not: the branches only ``after``
    names that are the same branch (``_same_branch``) and that every test reaching it reaches. Branches
    without one are left out (the contract reports them lost)."""
    fresh = {name: entry for name, entry in after.items() if name not in before}
    moves = {}
    for name, entry in before.items():
        if name in after:
            continue
        reached = set(entry["tests"])
        found = sorted(new for new, other in fresh.items()
                       if _same_branch(name, entry, new, other)
                       and reached <= set(other["tests"]))
        if found:
            moves[name] = found
    return moves


def _measured_at(rev: str) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), rev],
                       cwd=ROOT, check=True)
        try:
            out = Path(tmp) / "measured.json"
            env = {**os.environ, "PYTHONPATH": str(tree)}
            subprocess.run([sys.executable, __file__, "--measure", str(out)], cwd=tree,
                           env=env, check=True)
            return json.loads(out.read_text(encoding="utf-8"))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           check=False)


def merged(path: Path, rev: str, moves: dict[str, list[str]]) -> dict[str, Any]:
    """The moves record at ``path`` with ``moves`` from ``rev`` added: the earlier moves are
    kept (a twin that moved again is followed through them), and so are the revisions they
    came from."""
    earlier = json.loads(path.read_text(encoding="utf-8")).get("from") if path.exists() else None
    return {"schema": ci_contract.MOVES_SCHEMA,
            "from": f"{earlier}, then {rev}" if earlier else rev,
            "moves": dict(sorted({**ci_contract.read_moves(path), **moves}.items()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", help="the earlier tree (a git revision)")
    parser.add_argument("--out", type=Path,
                        help="where the moves go (default tests/ci_contract/moved.json)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure is not None:  # run inside the earlier tree
        args.measure.write_text(json.dumps(measure(Path.cwd())), encoding="utf-8")
        return 0
    if args.rev is None:
        parser.error("name the earlier tree's revision")
    # Read only here: inside the earlier tree, ci_contract is that tree's.
    out = args.out or ci_contract.MOVED
    before, after = _measured_at(args.rev), measure(ROOT)
    moves = twins(before, after)
    gone = sorted(set(before) - set(after))
    record = merged(out, args.rev, moves)
    out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(gone)} branches of {args.rev} this tree no longer names: {len(moves)} moved, "
          f"{len(gone) - len(moves)} without a twin")
    for name in gone:
        print(f"  {name} -> {', '.join(moves.get(name, ['(none)']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
