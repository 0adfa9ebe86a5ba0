"""Cases per second of the core path, in-process, in an isolated worker and under pytest.

One fixed, derandomised corpus (``harness.core.strategies.sample``, as in bench_core.py) of
``keras>tf2onnx>onnx2torch`` cases, measured five ways in the same run:

- ``bare``: bench_core's bare script (tf2onnx, onnxruntime, onnx2torch called directly);
- ``harness``: ``Harness.run`` plus the result records, in this process;
- ``isolated``: ``IsolatedHarness.run`` (one persistent worker, ``--parity-isolate``'s engine),
  plus the records, once the worker is warm; its start-up is reported on its own;
- ``pytest -n 1``, ``pytest -n 2`` (and ``pytest -n 1 --parity-isolate``): a generated test
  file parametrised over the corpus, run end to end (interpreter start, imports, collection,
  the reports), wall clock.

The in-process rounds alternate so that drift in the machine's speed hits every mode alike;
the ratios are the bare script's rate over each mode's. The harness' own per-case time is
split into build (Keras model and reference), convert, run and compare.

    python benchmarks/bench_workers.py [--per-kind 1] [--rounds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from harness.core.frameworks import prepare_imports

prepare_imports()

sys.path.insert(0, str(Path(__file__).parent))

from bench_core import bare_case, harness_case  # noqa: E402
from rates import write_figures  # noqa: E402

from harness.core import registry  # noqa: E402
from harness.core.strategies import sample  # noqa: E402
from harness.results import ResultWriter  # noqa: E402
from harness.run.isolation import IsolatedHarness  # noqa: E402
from harness.run.pipeline import Harness  # noqa: E402

PATH = "keras>tf2onnx>onnx2torch"
ROOT = Path(__file__).resolve().parents[1]

CORPUS_TEST = textwrap.dedent('''
    import json
    from pathlib import Path

    import pytest

    from harness.run.pipeline import SourceError
    from harness.core.spec import LayerSpec

    SPECS = [LayerSpec.from_json(s) for s in
             json.loads((Path(__file__).parent / "corpus.json").read_text())]


    @pytest.mark.parametrize("spec", SPECS, ids=[s.case_id for s in SPECS])
    def test_case(parity, spec):
        try:
            parity.run(spec)  # recorded; known converter bugs are not this benchmark's concern
        except SourceError:
            pass
''')


def run_cases(harness, writer: ResultWriter, specs, split: dict[str, float] | None = None):
    for spec in specs:
        case = harness_case(harness, writer, spec)
        if case is not None and split is not None:
            split["build"] = split.get("build", 0.0) + case.timing.get("build", 0.0)
            for leg in case.legs:
                for step, seconds in leg.timing.items():
                    split[step] = split.get(step, 0.0) + seconds


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def pytest_run(folder: Path, specs, extra: list[str]) -> dict[str, float]:
    """One pytest session over the corpus, end to end; returns wall seconds and cases/s."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--parity-report", str(folder / "reports"), "--parity-paths", PATH, *extra,
               str(folder / "test_corpus.py")]
    t = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return {"wall_s": round(wall, 2), "cases_per_s": round(len(specs) / wall, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=1, help="cases per layer kind")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the in-process modes")
    parser.add_argument("--no-pytest", action="store_true", help="skip the pytest sessions")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()

    kinds = registry.names(without=registry.WHOLE_MODELS)  # the core path: layers
    specs = [spec for kind in kinds for spec in sample(kind, args.per_kind)]
    figures: dict[str, object] = {"cases": len(specs), "rounds": args.rounds, "path": PATH}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        writer = ResultWriter(folder / "bench.jsonl")
        harness = Harness(PATH)

        isolated = IsolatedHarness(PATH, pyproject=ROOT / "pyproject.toml")
        t = time.perf_counter()
        isolated.start()
        # While the worker imports its frameworks, this process warms its own: the first
        # case of each kind pays for tracing and lazy imports in every mode alike.
        warm = specs[: len(kinds)]
        for spec in warm:
            bare_case(spec)
        run_cases(harness, writer, warm)
        isolated._wait_ready()
        figures["worker_ready_s"] = round(time.perf_counter() - t, 2)
        figures["worker_imports_s"] = isolated.info["startup_s"]
        t = time.perf_counter()
        run_cases(isolated, writer, warm)
        figures["isolated_warm_up_s"] = round(time.perf_counter() - t, 2)

        rates: dict[str, list[float]] = {"bare": [], "harness": [], "isolated": []}
        split: dict[str, float] = {}
        for _ in range(args.rounds):
            rates["bare"].append(len(specs) / timed(lambda: [bare_case(s) for s in specs]))
            rates["harness"].append(len(specs) / timed(lambda: run_cases(harness, writer, specs,
                                                                         split)))
            rates["isolated"].append(len(specs) / timed(lambda: run_cases(isolated, writer, specs)))
        isolated.close()
        writer.close()
        for mode, values in rates.items():
            figures[f"{mode}_cases_per_s"] = round(statistics.median(values), 3)
            figures[f"{mode}_rounds"] = [round(v, 3) for v in values]
        total = sum(split.values())
        figures["harness_split"] = {k: round(v / total, 3) for k, v in sorted(split.items())}

        if not args.no_pytest:
            (folder / "corpus.json").write_text(json.dumps([s.to_json() for s in specs]))
            (folder / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
            (folder / "test_corpus.py").write_text(CORPUS_TEST)
            for name, extra in [("pytest -n 1", ["-n", "1"]), ("pytest -n 2", ["-n", "2"]),
                                ("pytest -n 1 --parity-isolate", ["-n", "1", "--parity-isolate"])]:
                figures[name] = pytest_run(folder, specs, extra)

    bare = figures["bare_cases_per_s"]
    print(f"{len(specs)} cases ({args.per_kind} per kind), {PATH}; in-process modes: median of "
          f"{args.rounds} rounds")
    print(f"  worker ready after       : {figures['worker_ready_s']:7.2f} s "
          f"(imports in the worker {figures['worker_imports_s']} s; first-case warm-up "
          f"{figures['isolated_warm_up_s']} s)")
    rows = [("bare conversions", bare), ("harness in-process", figures["harness_cases_per_s"]),
            ("harness isolated (1 worker)", figures["isolated_cases_per_s"])]
    rows += [(name, figures[name]["cases_per_s"]) for name in figures
             if name.startswith("pytest")]
    for name, rate in rows:
        wall = next((f" ({figures[name]['wall_s']} s end to end)" for _ in [0]
                     if isinstance(figures.get(name), dict)), "")
        print(f"  {name:<30}: {rate:7.2f} cases/s  {bare / rate:6.2f}x bare's time{wall}")
    print("  harness time per case     : " + ", ".join(
        f"{k} {100 * v:.0f}%" for k, v in figures["harness_split"].items()))
    write_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
