"""tf2onnx's conversions, one model a case against one model for many cases (the issue
"The main job in 300 s" asks whether many small Keras cases converted in one tf2onnx call,
as independent branches of one model, would cost less than one call each).

Takes the ci profile's Keras covering cases (suites/layers/cover.json) of the kinds named,
builds each case's model as the Keras source does, and converts them with the ``tf2onnx``
stage (``tf2onnx.convert.from_keras``, as the suites call it) two or three ways, in a fresh
process each (tf2onnx keeps state per process), in turn:

- ``single``: one call per case, as the suites convert (tf2onnx's optimiser passes on the
  graph itself, converting again with tf2onnx's copies only where a pass raised:
  ``harness.converters.tf2onnx_passes``);
- ``batched``: the cases in groups of ``--batch``, each group one Keras model whose branches
  are the cases' models side by side (inputs and outputs of their own), one call a group;
- ``copies`` (with ``--copies``): one call per case as tf2onnx converts by default, each
  optimiser pass on a deep copy of the graph (``PARITY_TF2ONNX_COPIES=1``): what those copies
  cost.

Prints each run's CPU seconds in the conversions (``time.process_time``, the first call of a
process untimed: imports and first-call costs), per kind and in all, the ratios to
``single`` of the medians and the CPU model. Every way must give ONNX models with as many
outputs in all, or the benchmark stops: the batched models hold the same work.

With ``--profile``, one more run converts the cases one by one under cProfile and prints the
parts of ``from_keras``: tracing, op conversion, the ONNX optimizers and their copies of the
graph (made only with ``--copies``, which profiles that way). cProfile's cost per Python call makes that run slower, the more so in pure Python
such as ``copy.deepcopy``: its shares are the figure, and overstate those parts.

    python benchmarks/bench_tf2onnx_batch.py --rounds 2
    python benchmarks/bench_tf2onnx_batch.py --kinds GRU,LSTM,Bidirectional --profile --copies
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from harness.core.frameworks import TF2ONNX_CATCH_ERRORS, TF2ONNX_COPIES
from harness.core.machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KINDS = "Dense,Conv2D,Conv1DTranspose,LayerNormalization,LSTM,GRU,SimpleRNN,Bidirectional"

CHILD = r"""
import cProfile, json, pstats, sys, time
from collections import defaultdict
from pathlib import Path
from harness.core.frameworks import prepare_imports
prepare_imports()
import keras
import tensorflow as tf
from harness.converters import Artifact, ConvertOptions, get
from harness.core.spec import LayerSpec
from harness.sources.keras import KerasSource
mode, cover, kinds, per_kind, batch = sys.argv[1], Path(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4]), int(sys.argv[5])
profiling = mode == "profile"  # the single conversions, under cProfile
picked = defaultdict(list)
for entry in json.loads(cover.read_text())["cases"]:
    kind = entry["spec"]["kind"]
    if entry.get("ci") and kind in kinds and len(picked[kind]) < per_kind:
        picked[kind].append(LayerSpec.from_json(entry["spec"]))
source, stage = KerasSource(), get("tf2onnx")  # as the suites convert

def branches(artifacts):
    inputs, outputs = [], []
    for n, artifact in enumerate(artifacts):
        model = artifact.model
        model.name = f"case_{n}"  # a model's operations are named uniquely
        own = [keras.Input(t.shape[1:], dtype=t.dtype) for t in model.inputs]
        inputs += own
        outputs += tf.nest.flatten(model(own if len(own) > 1 else own[0]))
    return Artifact("keras", keras.Model(inputs, outputs), [f"input_{i}" for i in range(len(inputs))])

def convert(artifact):
    started = time.process_time()
    proto = stage.convert(artifact, ConvertOptions()).model
    return time.process_time() - started, len(proto.graph.output)

built = {kind: [source.build(spec) for spec in specs] for kind, specs in picked.items()}
convert(built[kinds[0]][0])  # imports and first-call costs, untimed
spent, outputs = {}, 0
profiler = cProfile.Profile() if profiling else None
if profiler:
    profiler.enable()
for kind, artifacts in built.items():
    if mode == "batched":
        calls = [branches(artifacts[i:i + batch]) for i in range(0, len(artifacts), batch)]
    else:
        calls = artifacts
    seconds = 0.0
    for artifact in calls:
        took, made = convert(artifact)
        seconds, outputs = seconds + took, outputs + made
    spent[kind] = round(seconds, 3)
parts = {}
if profiler:
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    def cumulative(file, name, caller=None):
        for (path, _, function), (_, _, _, total, callers) in stats.items():
            if path.endswith(file) and function == name:
                if caller is None:
                    return total
                return sum(c[3] for (cpath, _, cfunction), c in callers.items()
                           if cpath.endswith(caller[0]) and cfunction == caller[1])
        return 0.0
    optimizer = ("tf2onnx/optimizer/__init__.py", "optimize_graph")
    parts = {"from_keras": cumulative("tf2onnx/convert.py", "from_keras"),
             "tracing and freezing (tf_loader.from_trackable)": cumulative("tf2onnx/tf_loader.py", "from_trackable"),
             "TensorFlow ops to ONNX (tfonnx.process_tf_graph)": cumulative("tf2onnx/tfonnx.py", "process_tf_graph"),
             "ONNX optimizers (optimizer.optimize_graph)": cumulative(*optimizer),
             "  of which copy.deepcopy of the graph": cumulative("copy.py", "deepcopy", optimizer)}
print(json.dumps({"cpu_s": spent, "cases": {k: len(v) for k, v in built.items()},
                  "onnx_outputs": outputs, "profile": parts}))
"""


def run(mode: str, args) -> dict:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    env.pop(TF2ONNX_CATCH_ERRORS, None)
    env.pop(TF2ONNX_COPIES, None)
    if mode == "copies" or (mode == "profile" and args.copies):
        env[TF2ONNX_COPIES] = "1"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "single" if mode == "copies" else mode, str(args.cover),
         args.kinds, str(args.per_kind), str(args.batch)],
        cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the {mode} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--kinds", default=DEFAULT_KINDS)
    parser.add_argument("--per-kind", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--copies", action="store_true",
                        help="also convert one by one as tf2onnx does by default, each "
                             "optimiser pass on a copy of the graph (PARITY_TF2ONNX_COPIES=1); "
                             "--profile then profiles that way")
    parser.add_argument("--profile", action="store_true",
                        help="profile the single conversions: where tf2onnx's CPU goes")
    parser.add_argument("--cover", type=Path, default=ROOT / "suites" / "layers" / "cover.json")
    args = parser.parse_args(argv)
    covered = {entry["spec"]["kind"] for entry in json.loads(args.cover.read_text())["cases"]
               if entry.get("ci")}
    lacking = [kind for kind in args.kinds.split(",") if kind not in covered]
    if lacking:
        raise SystemExit(f"{args.cover} has no ci covering case of {', '.join(lacking)}")
    modes = ["single", "batched", *(["copies"] if args.copies else [])]
    runs: dict[str, list[dict]] = {mode: [] for mode in modes}
    for n in range(args.rounds):
        for mode in modes[n % len(modes):] + modes[:n % len(modes)]:  # each round its own order
            result = run(mode, args)
            runs[mode].append(result)
            print(f"  {mode:8s} cpu {sum(result['cpu_s'].values()):7.2f} s  "
                  f"{sum(result['cases'].values())} cases", flush=True)
    cases = runs["single"][0]["cases"]
    outputs = {r["onnx_outputs"] for results in runs.values() for r in results}
    if len(outputs) != 1:  # the batched models must hold the same work as the single ones
        raise SystemExit(f"the runs' ONNX models have different numbers of outputs: {outputs}")
    median = {mode: {kind: statistics.median(r["cpu_s"][kind] for r in results)
                     for kind in cases} for mode, results in runs.items()}
    others = modes[1:]
    print(f"{'kind':<20} {'cases':>5} " + " ".join(f"{mode + ' s':>10}" for mode in modes)
          + " " + " ".join(f"{mode + ' ratio':>14}" for mode in others))
    for kind, count in cases.items():
        seconds = [median[mode][kind] for mode in modes]
        print(f"{kind:<20} {count:5d} " + " ".join(f"{s:10.3f}" for s in seconds) + " "
              + " ".join(f"{s / seconds[0]:14.3f}" for s in seconds[1:]))
    if args.profile:
        profile = run("profile", args)["profile"]
        whole = profile["from_keras"]
        print(f"where the single conversions' CPU went, a run under cProfile ({whole:.1f} s):")
        for part, seconds in profile.items():
            print(f"  {part:<50} {seconds:7.2f} s {100 * seconds / whole:5.1f}%")
    total = {mode: sum(by_kind.values()) for mode, by_kind in median.items()}
    for mode in others:
        print(f"{mode} / single: cpu {total[mode] / total['single']:.3f} "
              f"({total[mode]:.1f} s / {total['single']:.1f} s"
              + (f", groups of {args.batch}" if mode == "batched" else "") + f") on {cpu_model()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
