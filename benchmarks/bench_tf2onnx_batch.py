"""tf2onnx's conversions, one model a case against one model for many cases (the issue
"The main job in 300 s" asks whether many small Keras cases converted in one tf2onnx call,
as independent branches of one model, would cost less than one call each).

Takes the ci profile's Keras covering cases (suites/layers/cover.json) of the kinds named,
builds each case's model as the Keras source does, and converts them with
``tf2onnx.convert.from_keras`` two ways, in a fresh process each (tf2onnx keeps state per
process), alternating:

- ``single``: one call per case, as the suites convert;
- ``batched``: the cases in groups of ``--batch``, each group one Keras model whose branches
  are the cases' models side by side (inputs and outputs of their own), one call a group.

Prints each run's CPU seconds in the conversions (``time.process_time``, the first call of a
process untimed: imports and first-call costs), per kind and in all, the ratio
batched/single of the medians and the CPU model. Both ways must give ONNX models with as many
outputs in all, or the benchmark stops: the batched models hold the same work.

    python benchmarks/bench_tf2onnx_batch.py --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from harness.core.machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KINDS = "Dense,Conv2D,Conv1DTranspose,LayerNormalization,LSTM,GRU,SimpleRNN,Bidirectional"

CHILD = r"""
import json, sys, time
from collections import defaultdict
from pathlib import Path
from harness.core.frameworks import prepare_imports
prepare_imports()
import keras
import tensorflow as tf
import tf2onnx
from harness.core.spec import LayerSpec
from harness.sources.keras import KerasSource
mode, cover, kinds, per_kind, batch = sys.argv[1], Path(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4]), int(sys.argv[5])
picked = defaultdict(list)
for entry in json.loads(cover.read_text())["cases"]:
    kind = entry["spec"]["kind"]
    if entry.get("ci") and kind in kinds and len(picked[kind]) < per_kind:
        picked[kind].append(LayerSpec.from_json(entry["spec"]))
source = KerasSource()

def branches(models):
    inputs, outputs = [], []
    for n, model in enumerate(models):
        model.name = f"case_{n}"  # a model's operations are named uniquely
        own = [keras.Input(t.shape[1:], dtype=t.dtype) for t in model.inputs]
        inputs += own
        outputs += tf.nest.flatten(model(own if len(own) > 1 else own[0]))
    return keras.Model(inputs, outputs)

def convert(model):
    signature = [tf.TensorSpec((None, *t.shape[1:]), t.dtype, name=f"input_{i}")
                 for i, t in enumerate(model.inputs)]
    started = time.process_time()
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=17)
    spent = time.process_time() - started
    outputs[0] += len(proto.graph.output)
    return spent

outputs = [0]

models = {kind: [source.build(spec).model for spec in specs] for kind, specs in picked.items()}
convert(models[kinds[0]][0])  # imports and first-call costs, untimed
outputs[0] = 0
spent = {}
for kind, built in models.items():
    groups = [[m] for m in built] if mode == "single" else [built[i:i + batch] for i in range(0, len(built), batch)]
    spent[kind] = round(sum(convert(group[0] if mode == "single" else branches(group)) for group in groups), 3)
print(json.dumps({"cpu_s": spent, "cases": {k: len(v) for k, v in models.items()},
                  "onnx_outputs": outputs[0]}))
"""


def run(mode: str, args) -> dict:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(args.cover), args.kinds, str(args.per_kind),
         str(args.batch)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the {mode} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--kinds", default=DEFAULT_KINDS)
    parser.add_argument("--per-kind", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--cover", type=Path, default=ROOT / "suites" / "layers" / "cover.json")
    args = parser.parse_args(argv)
    covered = {entry["spec"]["kind"] for entry in json.loads(args.cover.read_text())["cases"]
               if entry.get("ci")}
    lacking = [kind for kind in args.kinds.split(",") if kind not in covered]
    if lacking:
        raise SystemExit(f"{args.cover} has no ci covering case of {', '.join(lacking)}")
    runs: dict[str, list[dict]] = {"single": [], "batched": []}
    for n in range(args.rounds):
        for mode in (("single", "batched") if n % 2 == 0 else ("batched", "single")):
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
    print(f"{'kind':<20} {'cases':>5} {'single s':>9} {'batched s':>9} {'ratio':>6}")
    for kind, count in cases.items():
        single, batched = median["single"][kind], median["batched"][kind]
        print(f"{kind:<20} {count:5d} {single:9.3f} {batched:9.3f} {batched / single:6.3f}")
    total = {mode: sum(by_kind.values()) for mode, by_kind in median.items()}
    print(f"batched / single: cpu {total['batched'] / total['single']:.3f} "
          f"({total['batched']:.1f} s / {total['single']:.1f} s, groups of {args.batch}) on "
          f"{cpu_model()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
