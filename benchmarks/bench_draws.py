"""What drawing the ci corpus costs: every kind's ci examples, drawn as the suites draw them
(suites/onnx/test_ops.py, suites/layers/test_layers.py: the kind's test and one test per axis
it admits, under the ci profile), with nothing built, converted or run.

Beside it, the bare engine: Hypothesis running the same tests for the same number of
examples, each drawing one integer. The ratio says what parity's draw code costs beyond
Hypothesis' own work per example. Each side runs in a new process (imports untimed) and
prints its CPU seconds, ms per spec and a digest of the drawn case ids: two trees that print
the same digest draw the same corpus. ``--against REF`` draws REF's tree too (a git worktree,
on this interpreter and its packages), alternating with this one.

    python benchmarks/bench_draws.py [--sources onnx,keras] [--rounds 2] [--against REF]
    python benchmarks/bench_draws.py --sources onnx --limit 5   # a quick check
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from harness.core.machine import cpu_model
from harness.tools.worktree import checked_out

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("onnx", "keras")
CHILD = """
import hashlib, json, sys, time
from harness.core.frameworks import prepare_imports
prepare_imports()
import harness.plugin  # registers the profiles
from hypothesis import HealthCheck, given, settings, strategies as st
from harness.core import axes, registry
from harness.core.strategies import layer_specs

settings.load_profile("ci")
sources, bare = sys.argv[1].split(","), sys.argv[2] == "bare"
limit = int(sys.argv[3]) or None  # the first N kinds of each source
drawn = []

def draw_all(kind, source, axis, examples):
    strategy = st.integers() if bare else layer_specs(kind, source=source, axis=axis)

    @settings(max_examples=examples, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test(data):
        value = data.draw(strategy, label="spec")
        drawn.append(str(value) if bare else value.case_id)

    test()

tests = [(kind, source, axis, examples)
         for source in sources for kind in registry.names(source=source)[:limit]
         for axis, examples in [(None, settings().max_examples)] + [
             (axis, max(1, settings().max_examples // 12))
             for axis in axes.admitted(registry.get(kind, source)).names]]
draw_all(*tests[0][:3], 1)  # Hypothesis' first test pays its own warm-up: untimed, either side
drawn.clear()
started = time.process_time()
for test in tests:
    draw_all(*test)
took = time.process_time() - started
print(json.dumps({"tests": len(tests), "specs": len(drawn), "cpu_s": took,
                  "digest": hashlib.sha256("\\n".join(drawn).encode()).hexdigest()[:16]}))
"""


def draw(tree: Path, sources: str, bare: bool, limit: int = 0) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", CHILD, sources, "bare" if bare else "draws",
                           str(limit)],
                          cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"drawing in {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def summary(runs: list[dict]) -> dict:
    digests = {run["digest"] for run in runs}
    return {"specs": runs[0]["specs"], "tests": runs[0]["tests"],
            "cpu_s": round(statistics.median(run["cpu_s"] for run in runs), 3),
            "digest": digests.pop() if len(digests) == 1 else "differs between rounds"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument("--limit", type=int, default=0,
                        help="the first N kinds of each source (a quick check); 0: all")
    parser.add_argument("--rounds", type=int, default=1, help="median of N processes a side")
    parser.add_argument("--against", metavar="REF", help="a commit to draw the same way")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        trees = {"this tree": ROOT}
        if args.against:
            trees[args.against] = stack.enter_context(checked_out(args.against))
        runs = {name: [] for name in trees} | {"bare": []}
        for _ in range(args.rounds):
            runs["bare"].append(draw(ROOT, args.sources, True, args.limit))
            for name, tree in trees.items():
                runs[name].append(draw(tree, args.sources, False, args.limit))
    figures = {"cpu": cpu_model(), "sources": args.sources, "rounds": args.rounds,
               **{name: summary(done) for name, done in runs.items()}}
    bare = figures["bare"]
    print(f"ci corpus draws ({args.sources}; {cpu_model()}; median of {args.rounds}):")
    print(f"  bare engine   {bare['cpu_s']:7.2f} s CPU  {bare['specs']} examples in "
          f"{bare['tests']} tests ({1000 * bare['cpu_s'] / bare['specs']:.2f} ms each)")
    for name in trees:
        ours = figures[name]
        ratio = ours["cpu_s"] / bare["cpu_s"]
        figures[name]["ratio_to_bare"] = round(ratio, 3)
        print(f"  {name:<13} {ours['cpu_s']:7.2f} s CPU  {ours['specs']} specs "
              f"({1000 * ours['cpu_s'] / ours['specs']:.2f} ms each, {ratio:.2f}x the bare "
              f"engine)  corpus {ours['digest']}")
    if args.against:
        ours, theirs = figures["this tree"], figures[args.against]
        same = ours["digest"] == theirs["digest"]
        figures["same_corpus"] = same
        print(f"  this tree / {args.against}: {ours['cpu_s'] / theirs['cpu_s']:.3f} of the CPU; "
              + ("the same corpus" if same else "a different corpus"))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
