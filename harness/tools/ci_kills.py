"""How many one-line faults planted in a converter the ci main job kills, this tree beside a
named commit's (issue #46: the ci gate may run other cases, but its kill rate must not drop;
docs/coverage.md#faults-planted-in-a-converter). Not imported by the harness::

    python -m harness.tools.ci_kills [N] --tool onnx2torch|onnx2pytorch|tf2onnx
                                     [--against REF]
                                     [--seed S] [--by operator|file] [--folder DIR]
                                     [--budget SECONDS]
                                     [--start I] [--json OUT] [--list]

The faults are ``harness.tools.mutants``' (a literal moved, a sign, operands swapped, + and -
exchanged, a comparison turned, a guard dropped) on the lines the converter's stage runs on
the first example of every kind of its source: a line no model reaches is a fault no gate
can show. ``N`` are drawn, seeded, round robin over the kinds of fault (``--by file``: over
the files, so one large pass holds no more of the draw than a small one).

Each tree (this one, and REF's in a git worktree) runs its own main job, the README's
``pytest suites/ -n 2 --hypothesis-profile ci``, with the copy of the package first on
``PYTHONPATH`` (site-packages is never written), Hypothesis' shrinking off (the profile keeps
its name: the suites choose their ci cases by it) and ``-x``. Each tree first runs on a clean
copy, on a stage cache folder of its own: the run must pass, and it fills the cache. A
mutant's copy hashes apart from the clean one, so its run converts again where the package's
stages are and runs the legs after them; everything before them hits. A mutant is *killed*
by a tree whose run fails, *survives* one whose run passes, is *stillborn* where the package
no longer imports (left out of the rates). The report gives each tree's kill rate over the
same mutants, and every mutant one tree kills and the other does not, with its diff.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.tools import mutants
from harness.tools.worktree import checked_out

ROOT = mutants.ROOT
CONVERTERS = ("onnx2torch", "onnx2pytorch", "tf2onnx")
SUITES = ("suites/",)
WORKERS = 2
HEAD = "this tree"


@dataclass
class Run:
    verdict: str
    seconds: float
    first_failure: str = ""


@dataclass
class Mutant:
    site: str
    operator: str
    diff: str
    runs: dict[str, Run] = field(default_factory=dict)


def main_job(site: mutants.Site | None, root: Path, tree: Path, cache: Path, timeout: float,
             suites: tuple[str, ...] = SUITES, selection: str | None = None,
             workers: int = WORKERS) -> tuple[Run, str]:
    """``tree``'s ci main job (of ``suites``, ``-k selection``) over a copy of the package
    with ``site`` planted (none: the clean copy), stopping at its first failure; the run and
    the diff."""
    package = root.name
    with tempfile.TemporaryDirectory(prefix="parity-ci-kill-") as scratch:
        environment, diff = mutants.planted(site, root, Path(scratch), tree)
        error = mutants.unimportable(package, environment, Path(scratch))
        if error is not None:
            return Run("stillborn", 0.0, error), diff
        command = [sys.executable, "-m", "pytest", *suites, "--hypothesis-profile",
                   mutants.NO_SHRINK_PROFILE, "-x", "-p", mutants.NO_SHRINK_PLUGIN,
                   "-p", "no:cacheprovider", "--parity-cache", str(cache),
                   "--parity-report", str(Path(scratch) / "report")]
        command += ["-n", str(workers)] if workers else ["-p", "no:xdist"]
        if selection:
            command += ["-k", selection]
        started = time.monotonic()
        try:
            done = subprocess.run(command, cwd=tree, env=environment, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Run("timed out", time.monotonic() - started), diff
        verdict, first = mutants.judged(done, package)
        return Run(verdict, round(time.monotonic() - started, 1), first), diff


def rates(outcomes: list[Mutant], trees: list[str]) -> dict[str, tuple[int, int]]:
    """{tree: (killed, killed + survived)} over the mutants every tree judged."""
    judged = [m for m in outcomes
              if all(m.runs.get(t) and m.runs[t].verdict in ("killed", "survived")
                     for t in trees)]
    return {t: (sum(m.runs[t].verdict == "killed" for m in judged), len(judged))
            for t in trees}


def report(outcomes: list[Mutant], trees: list[str], command: str) -> str:
    lines = [command, ""]
    for tree, (killed, total) in rates(outcomes, trees).items():
        share = f"{killed / total:.0%}" if total else "n/a"
        lines.append(f"{tree}: killed {killed}/{total} = {share}")
    lines += ["", "| mutant | fault | " + " | ".join(trees) + " |",
              "|---|---|" + "---|" * len(trees)]
    for m in outcomes:
        cells = [f"{m.runs[t].verdict} ({m.runs[t].seconds:.0f} s)" if t in m.runs else "-"
                 for t in trees]
        lines.append(f"| `{m.site}` | {m.operator} | " + " | ".join(cells) + " |")
    apart = [m for m in outcomes if len({m.runs[t].verdict for t in trees if t in m.runs}) > 1]
    lines += ["", f"judged apart: {len(apart)}"]
    for m in apart:
        lines += ["", m.diff.rstrip()]
        lines += [f"  {t}: {m.runs[t].verdict}: {m.runs[t].first_failure}" for t in trees
                  if t in m.runs]
    survivors = [m for m in outcomes
                 if m not in apart and all(r.verdict == "survived" for r in m.runs.values())]
    lines += ["", f"survived everywhere: {len(survivors)}"]
    lines += [m.diff.rstrip() for m in survivors]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.tools.ci_kills")
    parser.add_argument("count", nargs="?", type=int, default=12)
    parser.add_argument("--tool", required=True, choices=CONVERTERS)
    parser.add_argument("--against", default=None, metavar="REF",
                        help="a commit whose ci main job is judged beside this tree's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--by", default="operator", choices=mutants.DRAWN_BY,
                        help="draw round robin over the kinds of fault or over the files")
    parser.add_argument("--suites", nargs="+", default=list(SUITES),
                        help="what the job runs (default: the README's main job, suites/)")
    parser.add_argument("-k", dest="selection", default=None, help="the job's -k")
    parser.add_argument("--workers", type=int, default=WORKERS,
                        help="pytest-xdist workers (0: one process)")
    parser.add_argument("--folder", default=None,
                        help="where each tree's stage cache is kept (default: a new one); "
                             "a kept folder saves the clean runs' conversions next time")
    parser.add_argument("--budget", type=float, default=3 * 3600.0,
                        help="seconds: no mutant is started past it")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds a run")
    parser.add_argument("--start", type=int, default=0,
                        help="run the drawn mutants from this index on")
    parser.add_argument("--json", default=None)
    parser.add_argument("--list", action="store_true", help="list the drawn mutants only")
    args = parser.parse_args(argv)
    root = mutants.package_root(args.tool)
    sites = mutants.all_sites(root, args.tool)
    chosen = mutants.draw(sites, args.count, args.seed, args.by)
    print(f"{len(sites)} one-line faults on the lines {args.tool} runs ({root}); "
          f"{len(chosen)} drawn (seed {args.seed})", flush=True)
    if args.list:
        for site in chosen:
            old, new = mutants.mutated_line(site, root)
            print(f"{site.name}: {old.strip()}  →  {new.strip()}")
        return 0
    folder = Path(args.folder or tempfile.mkdtemp(prefix="parity-ci-kills-"))
    command = " ".join(["python -m harness.tools.ci_kills",
                        *(argv if argv is not None else sys.argv[1:])])
    job = (tuple(args.suites), args.selection, args.workers)
    started = time.monotonic()
    with checked_out(args.against) if args.against else contextlib.nullcontext() as ref_tree:
        trees = {HEAD: ROOT} | ({args.against: ref_tree} if args.against else {})
        for name, tree in trees.items():
            cache = folder / _slug(name)
            clean, _ = main_job(None, root, tree, cache, args.timeout, *job)
            print(f"[clean] {name}: {clean.verdict} {clean.seconds:.0f} s", flush=True)
            if clean.verdict != "survived":
                print(f"{name}'s main job fails on the clean copy, so no kill means anything: "
                      f"{clean.first_failure}")
                return 2
        outcomes: list[Mutant] = []
        for index, site in mutants.scheduled(chosen, args.start, started, args.budget):
            mutant = Mutant(site.name, site.operator, "")
            for name, tree in trees.items():
                run, mutant.diff = main_job(site, root, tree, folder / _slug(name),
                                            args.timeout, *job)
                mutant.runs[name] = run
                if run.verdict == "stillborn":
                    break
            outcomes.append(mutant)
            print(f"[{index + 1}/{len(chosen)}] " + "  ".join(
                f"{name}: {run.verdict} {run.seconds:.0f} s" for name, run in mutant.runs.items())
                + f"  {site.name}", flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps([asdict(m) for m in outcomes], indent=1))
        print(report(outcomes, list(trees), command))
    if not args.folder:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def _slug(name: str) -> str:
    return "head" if name == HEAD else f"ref-{name}"


if __name__ == "__main__":
    sys.exit(main())
