"""The README main job cold and warm: what the stage cache gives back when one converter changes.

Runs ``pytest SUITES -n 2 --hypothesis-profile ci`` (the README's main command) twice in
subprocesses, on the machine it runs on, sharing one cache folder:

- ``cold``: the folder empty, so every reading and conversion is made and stored;
- ``warm``: the same folder, with one converter's fingerprint changed as a new release would
  change it (``PARITY_CACHE_VERSION_OVERRIDE=onnx2torch=9.9``): that stage and the legs after
  it convert again, nothing before them.

Prints each run's wall time (start-up included), pytest's own figure and the CPU time of
pytest and its workers (steadier than wall time on a shared machine), warm/cold ratios,
the leg time by stage and step that each run's ``results.jsonl`` records, and then compares
the two runs' records, record for record, by case id and leg: verdict, failure category,
max |error| and known issue. The exit status is 1 when any record differs.

    python benchmarks/bench_main_job.py                                # the main job, ~5 min on 2 cores
    python benchmarks/bench_main_job.py --suites suites/golden -k "test_golden_case and Add"
    python benchmarks/bench_main_job.py --workers 0 --keep /tmp/bench  # one process; keep the folders
    python benchmarks/bench_main_job.py --floor                        # and a run where all hits

``--floor`` runs the warm job a third time (``hits``), the same override on the same folder:
every stage then hits, so its CPU is what the cache cannot save (start-up, collection,
Hypothesis drawing, pytest, the hits themselves, the report), and warm minus hits is the changed
converter's own work and that of the legs after it. Its records are compared with the cold
run's too.

``--against REF`` measures this tree's cold main job against commit REF's instead, both in
this script on this machine, alternating (REF, this tree, then this tree, REF, ...), each
run on an empty cache folder: the ratio of CPU and wall time of this tree to REF's (a ratio
holds across machines; an absolute time does not, so it is printed with the CPU model),
whether every kind REF's runs ran down a leg (source, kind, leg) still runs down it here (the
exit status is 1 when one does not), which records REF's runs made (record kind, case id,
leg) this tree's did not (a case id changes with its draw: the ci contract test says what
is still reached), and how many records' verdicts differ between the two trees' last runs.
REF runs from a git worktree of it, on this interpreter and its installed packages.

Both modes first print what TensorFlow runs on in a process with the runs' environment:
whether oneDNN is on (TensorFlow's default on a CPU with AVX-512) or off (without it, or
``TF_ENABLE_ONEDNN_OPTS=0``): the main job's CPU differs between them.

    python benchmarks/bench_main_job.py --against 2c17a277 --rounds 2

``--isa avx2`` keeps every library that chooses its kernels at run time off AVX-512 (torch,
oneDNN, MKL, numpy, OpenBLAS, XLA; TensorFlow without oneDNN), for a measure of a CPU
without AVX-512 on one that has it. onnxruntime has no such switch, and a core's speed is
the machine's: it is not that CPU.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.core.machine import cpu_model
from harness.runtimes.keras import cpu_state_text
from harness.tools.worktree import checked_out

ROOT = Path(__file__).resolve().parents[1]
OVERRIDE_ENV = "PARITY_CACHE_VERSION_OVERRIDE"  # harness.run.stage_cache.keys.OVERRIDE_ENV
DEFAULT_OVERRIDE = "onnx2torch=9.9"
# --isa avx2: what keeps each library that picks its kernels at run time off AVX-512, as on a
# CPU without it (the CPU issue #46 measures on). onnxruntime's MLAS has no such switch (it
# reads cpuid), so its kernels stay the machine's; TensorFlow's Eigen kernels are compiled
# for AVX alone whatever the CPU.
ISA_CAPS = {
    "avx2": {
        "TF_ENABLE_ONEDNN_OPTS": "0",  # TensorFlow's default on a CPU without AVX-512
        "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN in torch (and TensorFlow's, were it on)
        "ATEN_CPU_CAPABILITY": "avx2",  # torch's own kernels
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",  # MKL in torch
        # numpy's dispatch: 2.4's names, then earlier ones (unknown names are ignored)
        "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR AVX512F AVX512CD "
                                    "AVX512_SKX AVX512_CLX AVX512_CNL",
        "OPENBLAS_CORETYPE": "Haswell",  # numpy's and scipy's OpenBLAS
        "XLA_FLAGS": "--xla_cpu_max_isa=AVX2",  # the XLA reading's compiled kernels
    },
}
# What a process with those settings reports using.
ISA_PROBE = """
import torch, numpy
found = numpy._core._multiarray_umath.__cpu_features__
print("torch", torch.backends.cpu.get_cpu_capability(), "numpy AVX-512 dispatch",
      "on" if any(v for k, v in found.items() if k.startswith(("AVX512", "X86_V4"))
                  and k in numpy._core._multiarray_umath.__cpu_dispatch__) else "off")
"""
# Whether TensorFlow runs its kernels through oneDNN, in a process with the runs' environment:
# on by default where the CPU has AVX-512, off where it has not (issue #46's CPU), and the
# main job's CPU differs between the two (docs/benchmarks.md). torch first, as the suites
# import them.
TENSORFLOW_PROBE = """
import json, torch, torchvision, tensorflow
from harness.runtimes.keras import tensorflow_cpu
print(json.dumps(tensorflow_cpu()))
"""
# What a record's verdict is made of; everything else (run id, time, timing) may differ.
COMPARED = ("verdict", "category", "max_abs", "known_issue")
# pytest's last line: "==== 12 passed, 1 xfailed in 34.56s ====".
PYTEST_SECONDS = re.compile(r"\bin ([0-9.]+)s\b")
PYTEST_COUNTS = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected)")


def importing_from(root: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` with ``root`` first on PYTHONPATH: a run imports that tree's harness."""
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))}


def main_job(suites: list[str], selection: str | None, workers: int, cache: Path,
             reports: Path, override: str | None, extra: list[str], root: Path = ROOT) -> dict:
    """One run of the main command in a subprocess: wall seconds, pytest's seconds, counts."""
    command = [sys.executable, "-m", "pytest", *suites, "-n", str(workers),
               "--hypothesis-profile", "ci", "-p", "no:cacheprovider",
               "--parity-cache", str(cache), "--parity-report", str(reports), *extra]
    if selection:
        command += ["-k", selection]
    env = importing_from(root, {k: v for k, v in os.environ.items() if k != OVERRIDE_ENV})
    if override:
        env[OVERRIDE_ENV] = override
    started, cpu_before = time.perf_counter(), children_cpu()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu_before
    last = next((line for line in reversed(done.stdout.splitlines()) if line.startswith("=")),
                "")
    if done.returncode not in (0, 1) or not (reports / "results.jsonl").is_file():
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n"
                           f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    seconds = PYTEST_SECONDS.search(last)
    return {"command": " ".join(command[1:]), "override": override, "wall_s": round(wall, 1),
            "pytest_s": float(seconds.group(1)) if seconds else None, "cpu_s": round(cpu, 1),
            "outcome": {what: int(n) for n, what in PYTEST_COUNTS.findall(last)},
            "exit": done.returncode, "durations": durations(done.stdout)}


def isa_seen() -> str:
    """What a process started now reports using (torch's kernels, numpy's dispatch)."""
    done = subprocess.run([sys.executable, "-c", ISA_PROBE], capture_output=True, text=True)
    return done.stdout.strip() or done.stderr.strip()[-300:]


def tensorflow_seen() -> dict | None:
    """What TensorFlow runs on in a process started now with this environment (CPU, AVX-512,
    ``TF_ENABLE_ONEDNN_OPTS``, oneDNN on or off); None where TensorFlow is not installed."""
    done = subprocess.run([sys.executable, "-c", TENSORFLOW_PROBE], capture_output=True,
                          text=True, env=importing_from(ROOT, dict(os.environ)), cwd=ROOT)
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if done.returncode == 0 and lines else None


def print_tensorflow(state: dict | None) -> None:
    if state is None:
        print("tensorflow in each run: not installed", flush=True)
        return
    print(f"tensorflow in each run: {cpu_state_text(state)}", flush=True)
    if state.get("onednn") and state.get("avx512f"):
        print("  a CPU without AVX-512 runs TensorFlow without oneDNN (issue #46's CPU): "
              "TF_ENABLE_ONEDNN_OPTS=0 or --isa avx2 measures it so here", flush=True)


def children_cpu() -> float:
    """User and system CPU seconds of the finished child processes (pytest, its workers):
    on a machine others share, a steadier figure than wall time."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def durations(stdout: str) -> list[str]:
    """pytest's ``--durations`` lines, where it printed them."""
    return [line for line in stdout.splitlines()
            if re.match(r"^\d+\.\d+s (call|setup|teardown) ", line)]


def result_records(reports: Path) -> list[dict]:
    with open(reports / "results.jsonl", encoding="utf-8") as lines:
        return [r for r in map(json.loads, lines) if r.get("record") == "result"]


def verdict_of(record: dict) -> tuple:
    """The part of a record the cache must not change."""
    failure = record.get("failure") or {}
    known = record.get("known_issue") or {}
    return (record.get("verdict"), failure.get("category"),
            (record.get("metrics") or {}).get("max_abs"), known.get("id"))


def compare(cold: list[dict], warm: list[dict], shown: int = 5) -> dict:
    """Record for record by (case id, leg); a case run by several tests (a golden replay of a
    drawn case) holds several records under one key, compared as a multiset. Returns the
    counts and the first differences."""
    def grouped(records):
        groups: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
        for record in records:
            groups[(record["case_id"], record["leg"])][verdict_of(record)] += 1
        return groups

    before, after = grouped(cold), grouped(warm)
    differing, examples = 0, []
    for key in sorted(before.keys() | after.keys()):
        only_cold, only_warm = before[key] - after[key], after[key] - before[key]
        count = max(sum(only_cold.values()), sum(only_warm.values()))
        if count:
            differing += count
            if len(examples) < shown:
                examples.append({"case_id": key[0], "leg": key[1],
                                 "cold": sorted(only_cold, key=repr),
                                 "warm": sorted(only_warm, key=repr)})
    return {"cold_records": len(cold), "warm_records": len(warm), "differing": differing,
            "examples": examples}


def time_by_stage(records: list[dict]) -> dict[str, dict[str, float]]:
    """Seconds each stage's legs spent converting and running, and the sources' readings
    (``build``, once per case), as the records hold them."""
    spent: dict[str, dict[str, float]] = collections.defaultdict(
        lambda: collections.defaultdict(float))
    cases_seen = set()
    for record in records:
        timing = record.get("timing") or {}
        for step in ("convert", "run", "compare"):
            if step in timing:
                spent[record["stage"]][step] += timing[step]
        case = (record.get("test"), record["case_id"])
        if "build" in timing and case not in cases_seen:
            cases_seen.add(case)
            spent[f"reading {record['source']}"]["build"] += timing["build"]
    return {stage: dict(steps) for stage, steps in spent.items()}


def print_breakdown(cold: dict, warm: dict, top: int) -> None:
    stages = sorted(cold.keys() | warm.keys(),
                    key=lambda s: -sum(warm.get(s, {}).values()))[:top]
    print(f"  {'leg time by stage (s, all workers)':<36} {'cold':>8} {'warm':>8}  steps (warm)")
    for stage in stages:
        steps = warm.get(stage, {})
        print(f"  {stage:<36} {sum(cold.get(stage, {}).values()):8.1f} "
              f"{sum(steps.values()):8.1f}  " +
              ", ".join(f"{k} {v:.1f}" for k, v in sorted(steps.items())))


def print_examples(examples: list[dict], before: str, after: str) -> None:
    """``compare``'s first differences: a record's verdict in the first run, in the second."""
    for example in examples:
        print(f"    {example['case_id']} {example['leg']}: {before} {example['cold']} "
              f"{after} {example['warm']}")


def kind_legs(records: list[dict]) -> set[tuple[str, str, str]]:
    """Every (source, kind, leg) a run's result records went down: what the ci contract's
    "every kind down every leg it ran down" compares, whatever the cases' ids."""
    return {(str(r.get("source")), str(r.get("kind")), str(r.get("leg"))) for r in records}


def record_keys(reports: Path) -> collections.Counter:
    """Every record of a run by what it is about: (record kind, case id, leg), counted."""
    keys: collections.Counter = collections.Counter()
    with open(reports / "results.jsonl", encoding="utf-8") as lines:
        for record in map(json.loads, lines):
            keys[(record.get("record"), record.get("case_id"), record.get("leg"))] += 1
    return keys


def against(ref: str, rounds: int, suites: list[str], selection: str | None, workers: int,
            folder: Path) -> dict:
    """This tree's cold main job against REF's, alternating, each on an empty cache."""
    runs: dict[str, list[dict]] = {"ref": [], "head": []}
    keys: dict[str, collections.Counter] = {"ref": collections.Counter(),
                                            "head": collections.Counter()}
    reached: dict[str, set] = {"ref": set(), "head": set()}
    results: dict[str, list[dict]] = {}  # each side's last run's result records
    with checked_out(ref) as tree:
        for round_ in range(rounds):
            order = ("ref", "head") if round_ % 2 == 0 else ("head", "ref")
            for side in order:
                name = f"{side}-{round_}"
                run = main_job(suites, selection, workers, folder / f"{name}-cache",
                               folder / name, None, [], root=tree if side == "ref" else ROOT)
                print(f"  {name:<7} wall {run['wall_s']:7.1f} s   cpu {run['cpu_s']:7.1f} s",
                      flush=True)
                runs[side].append(run)
                keys[side] |= record_keys(folder / name)
                results[side] = result_records(folder / name)
                reached[side] |= kind_legs(results[side])
                shutil.rmtree(folder / f"{name}-cache", ignore_errors=True)
    missing = keys["ref"] - keys["head"]
    lost = reached["ref"] - reached["head"]
    median = lambda side, what: statistics.median(r[what] for r in runs[side])  # noqa: E731
    return {"ref": ref, "cpu_model": cpu_model(), "rounds": rounds, "runs": runs,
            # verdict for verdict, by case id and leg (REF's as "cold", this tree's as "warm")
            "verdicts": compare(results["ref"], results["head"]),
            "ratio_cpu": ratio(median("head", "cpu_s"), median("ref", "cpu_s")),
            "ratio_wall": ratio(median("head", "wall_s"), median("ref", "wall_s")),
            "records": {"ref": sum(keys["ref"].values()), "head": sum(keys["head"].values()),
                        "missing": sum(missing.values()),
                        "missing_examples": [list(k) for k in sorted(missing, key=repr)[:5]]},
            "kind_legs": {"ref": len(reached["ref"]), "head": len(reached["head"]),
                          "lost": [list(k) for k in sorted(lost)]}}


def ratio(warm, cold) -> float | None:
    return round(warm / cold, 3) if warm is not None and cold else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="+", default=["suites/"],
                        help="what pytest runs (default: %(default)s)")
    parser.add_argument("-k", dest="selection", default=None, help="pytest's -k selection")
    parser.add_argument("--workers", type=int, default=2,
                        help="pytest-xdist workers, 0 for one process (default: %(default)s)")
    parser.add_argument("--override", default=DEFAULT_OVERRIDE,
                        help=f"{OVERRIDE_ENV} of the warm run (default: %(default)s)")
    parser.add_argument("--durations", type=int, default=0, metavar="N",
                        help="print the warm run's N slowest test phases (pytest --durations)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="keep the cache and both runs' reports in DIR (a kept one is emptied first)")
    parser.add_argument("--warm-only", action="store_true",
                        help="with --keep: run the warm job again on the cold run DIR kept "
                             "(the same code: a change to the harness misses everything)")
    parser.add_argument("--floor", action="store_true",
                        help="run the warm job a third time, every stage hitting: the CPU the "
                             "cache cannot save")
    parser.add_argument("--top", type=int, default=8, help="stages shown in the breakdown")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--against", metavar="REF", default=None,
                        help="measure this tree's cold main job against commit REF's, "
                             "alternating, instead of cold against warm")
    parser.add_argument("--rounds", type=int, default=2,
                        help="with --against: cold runs of each side (default: %(default)s)")
    parser.add_argument("--isa", choices=sorted(ISA_CAPS), default=None,
                        help="keep the libraries that choose kernels at run time to this "
                             "instruction set (onnxruntime's are not kept)")
    args = parser.parse_args(argv)
    isa = {"kept_to": args.isa, "seen": None}
    if args.isa:
        os.environ.update(ISA_CAPS[args.isa])
        isa["seen"] = isa_seen()
        print(f"instruction set kept to {args.isa}: "
              f"{' '.join(f'{k}={v!r}' for k, v in ISA_CAPS[args.isa].items())}")
        print(f"  {isa['seen']}", flush=True)
    tensorflow = tensorflow_seen()
    print_tensorflow(tensorflow)

    if args.against:
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            print(f"main job cold: this tree against {args.against}, {args.rounds} round(s), "
                  f"on {cpu_model()} ({os.cpu_count()} CPUs)", flush=True)
            figures = against(args.against, args.rounds, args.suites, args.selection,
                              args.workers, folder) | {"isa": isa, "tensorflow": tensorflow}
        compared = figures["records"]
        print(f"  this tree / {args.against}: cpu {figures['ratio_cpu']}, wall "
              f"{figures['ratio_wall']} (medians)")
        reached = figures["kind_legs"]
        print(f"  kinds and legs: {args.against} {reached['ref']}, this tree {reached['head']}, "
              f"lost here {len(reached['lost'])} (by source, kind and leg)")
        for lost in reached["lost"][:20]:
            print(f"    lost: {' '.join(lost)}")
        print(f"  records: {args.against} {compared['ref']}, this tree {compared['head']}, "
              f"not made here {compared['missing']} (by record kind, case id and leg; a case "
              "id changes with its draw, so the ci contract test says what is still reached)")
        for example in compared["missing_examples"]:
            print(f"    not made here: {example}")
        verdicts = figures["verdicts"]
        print(f"  verdicts differing: {verdicts['differing']} (by case id and leg: "
              f"{', '.join(COMPARED)}; a fix between the trees changes some)")
        print_examples(verdicts["examples"], args.against, "this tree")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return 1 if reached["lost"] else 0

    if args.warm_only and args.keep is None:
        parser.error("--warm-only needs --keep DIR, the folder of a cold run")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        cache = folder / "cache"
        extra = [f"--durations={args.durations}"] if args.durations else []
        if args.warm_only:
            cold = json.loads((folder / "cold.json").read_text())
            shutil.rmtree(folder / "warm", ignore_errors=True)
        else:
            if args.keep is not None and folder.exists() and any(folder.iterdir()) and \
                    not (folder / "cold.json").exists():
                parser.error(f"--keep {folder}: not empty and not a folder this benchmark kept")
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            cold = main_job(args.suites, args.selection, args.workers, cache, folder / "cold",
                            None, [])
            (folder / "cold.json").write_text(json.dumps(cold))
        runs = {"cold": cold,
                "warm": main_job(args.suites, args.selection, args.workers, cache,
                                 folder / "warm", args.override, extra)}
        if args.floor:
            shutil.rmtree(folder / "hits", ignore_errors=True)
            runs["hits"] = main_job(args.suites, args.selection, args.workers, cache,
                                    folder / "hits", args.override, [])
        records = {name: result_records(folder / name) for name in runs}
    # each later run's records against the cold run's
    compared = {name: compare(records["cold"], records[name]) for name in runs if name != "cold"}
    figures = {**runs, "isa": isa, "tensorflow": tensorflow,
               "ratio_wall": ratio(runs["warm"]["wall_s"], runs["cold"]["wall_s"]),
               "ratio_pytest": ratio(runs["warm"]["pytest_s"], runs["cold"]["pytest_s"]),
               "ratio_cpu": ratio(runs["warm"]["cpu_s"], runs["cold"]["cpu_s"]),
               "records": compared["warm"],
               "time_by_stage": {name: time_by_stage(records[name])
                                 for name in ("cold", "warm")}}
    if args.floor:
        figures["ratio_cpu_hits"] = ratio(runs["hits"]["cpu_s"], runs["cold"]["cpu_s"])
        figures["records_hits"] = compared["hits"]

    suites = " ".join(args.suites) if len(args.suites) <= 4 else f"<{len(args.suites)} test ids>"
    print(f"main job: pytest {suites} -n {args.workers} --hypothesis-profile ci"
          + (f" -k {args.selection!r}" if args.selection else ""))
    for name, run in runs.items():
        outcome = ", ".join(f"{n} {what}" for what, n in run["outcome"].items())
        override = f" ({OVERRIDE_ENV}={run['override']})" if run["override"] else ""
        print(f"  {name:<5} wall {run['wall_s']:7.1f} s   pytest {run['pytest_s']:7.1f} s   "
              f"cpu {run['cpu_s']:7.1f} s   {outcome}{override}")
    print(f"  warm/cold: wall {figures['ratio_wall']}, pytest {figures['ratio_pytest']}, "
          f"cpu {figures['ratio_cpu']}")
    if args.floor:
        rework = round(runs["warm"]["cpu_s"] - runs["hits"]["cpu_s"], 1)
        print(f"  hits/cold: cpu {figures['ratio_cpu_hits']} (every stage hits: what the cache "
              f"cannot save); warm - hits: {rework} s of CPU, the changed converter's own "
              f"work and the legs after it")
    print_breakdown(*figures["time_by_stage"].values(), args.top)
    for name, against_cold in compared.items():
        print(f"  records: cold {against_cold['cold_records']}, {name} "
              f"{against_cold['warm_records']}, differing {against_cold['differing']} "
              f"(by case id and leg: {', '.join(COMPARED)})")
        print_examples(against_cold["examples"], "cold", name)
    for line in runs["warm"]["durations"]:
        print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if any(against_cold["differing"] for against_cold in compared.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
