"""Synthetic results JSONL, shaped like docs/results.md, for the report's tests and timings.

Deterministic for a given seed. `make_records` draws a small Keras-only run for unit tests;
`ci_records` draws a run shaped like the report of `pytest suites/ -n 2 --hypothesis-profile
ci` (about 3,000 results over Keras, MATLAB, ONNX and users' files, two xdist shards that
differ in one environment variable, known issues on a few hundred legs, a handful of
failures), and `ci_records(previous=True)` the run before it, with some results changed.
Run as a script to produce a file to look at or to time:

    python tests/report/synthetic.py --cases 1000 -o reports/synthetic.jsonl
    python tests/report/synthetic.py --ci -o reports/ci.jsonl --previous reports/ci-old.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

KINDS = {
    "Conv2D": (
        "conv",
        {
            "filters": [1, 4, 8],
            "kernel_size": [[1, 1], [3, 3], [5, 5]],
            "padding": ["valid", "same"],
            "strides": [[1, 1], [2, 2]],
        },
    ),
    "DepthwiseConv2D": (
        "conv",
        {"kernel_size": [[3, 3]], "depth_multiplier": [1, 2], "padding": ["valid", "same"]},
    ),
    "Dense": (
        "core",
        {"units": [1, 7, 32], "use_bias": [True, False], "activation": ["linear", "relu", "tanh"]},
    ),
    "MaxPooling2D": ("pooling", {"pool_size": [[2, 2], [3, 3]], "padding": ["valid", "same"]}),
    "AveragePooling2D": ("pooling", {"pool_size": [[2, 2], [3, 3]], "padding": ["valid", "same"]}),
    "BatchNormalization": ("normalization", {"epsilon": [0.001, 1e-05], "center": [True, False]}),
    "LayerNormalization": ("normalization", {"epsilon": [0.001], "axis": [-1]}),
    "LSTM": ("recurrent", {"units": [2, 8], "return_sequences": [True, False]}),
    "GRU": ("recurrent", {"units": [2, 8], "reset_after": [True, False]}),
    "Softmax": ("activation", {"axis": [-1, 1]}),
    "Concatenate": ("merge", {"axis": [-1, 1]}),
    "Resizing": ("preprocessing", {"interpolation": ["nearest", "bilinear"]}),
}
PATHS = ["keras>tf2onnx>onnx2torch", "keras>tf2onnx>onnx2pytorch"]
VERSIONS = {
    "tensorflow": "2.17.0",
    "keras": "3.6.0",
    "tf2onnx": "1.16.1",
    "onnx": "1.17.0",
    "onnxruntime": "1.20.1",
    "torch": "2.5.1",
    "onnx2torch": "1.5.15",
    "onnx2pytorch": "0.5.1",
    "numpy": "2.1.3",
}


def domains() -> dict[str, dict[str, list[Any]]]:
    """The documented values of the synthetic kinds, one more than ever drawn for each."""
    documented = {kind: {a: [*v] for a, v in attrs.items()} for kind, (_, attrs) in KINDS.items()}
    documented["Conv2D"]["dilation_rate"] = [[1, 1], [2, 2]]
    documented["Dense"]["units"].append(1024)
    return documented


def run_record(run_id: str = "synthetic-run", shard: str = "main", **overrides: Any) -> dict:
    record = {
        "record": "run",
        "schema": "parity.run/1",
        "run_id": run_id,
        "shard": shard,
        "started": "2025-01-01T00:00:00Z",
        "host": "ci-runner-1",
        "platform": "Linux-6.1.0-x86_64-with-glibc2.36",
        "python": "3.11.2",
        "cpu": "AMD EPYC 7B13",
        "gpu": None,
        "device": "cpu",
        "versions": dict(VERSIONS),
        "opset": 17,
        "paths": PATHS,
        "hypothesis": {"profile": "ci", "seed": 1234, "derandomize": True, "max_examples": 100},
        "command": "pytest suites/ -n 4 --hypothesis-profile ci",
    }
    record.update(overrides)
    return record


def case_id_of(spec: dict) -> str:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _metrics(rng: random.Random, shape: list[int], scale: float) -> dict[str, Any]:
    total = 1
    for n in shape:
        total *= n
    max_abs = scale * rng.uniform(0.5, 3.0)
    mismatched = 0 if scale < 1e-5 else rng.randint(1, max(1, total // 10))
    # Most errors sit a few decades below the largest, as in a real comparison.
    top = min(11, max(0, int(math.log10(max_abs)) + 12))
    counts = [0] * 12
    for _ in range(total):
        counts[max(0, top - int(rng.expovariate(0.7)))] += 1
    return {
        "shape": shape,
        "expected_shape": shape,
        "dtype": "float32",
        "expected_dtype": "float32",
        "total": total,
        "mismatched": mismatched,
        "mismatch_fraction": mismatched / total,
        "max_abs": max_abs,
        "max_abs_index": [rng.randrange(n) for n in shape],
        "max_rel": max_abs * rng.uniform(1, 50),
        "max_rel_index": [rng.randrange(n) for n in shape],
        "max_ulp": int(max_abs / 1.2e-7),
        "required_atol": max_abs,
        "required_rtol": max_abs * 2,
        "nonfinite": {
            "expected_nan": 0,
            "actual_nan": 0,
            "expected_inf": 0,
            "actual_inf": 0,
            "mask_mismatch": 0,
        },
        "histogram": {"edges": [float(e) for e in range(-12, 1)], "counts": counts},
    }


def _result(rng: random.Random, case: dict, path: str, leg: str, verdict: str) -> dict[str, Any]:
    stage = leg.split(">")[-1]
    runner = "onnxruntime" if stage == "tf2onnx" else "torch"
    shape = case["spec"]["input_shapes"][0]
    failure = known = None
    metrics: dict[str, Any] | None = _metrics(rng, shape, 1e-7)
    if verdict == "fail":
        metrics = _metrics(rng, shape, 10 ** rng.uniform(-4, 0))
        failure = {
            "category": "numeric_mismatch",
            "message": f"max_abs {metrics['max_abs']:.3e} exceeds atol 1e-05",
        }
    elif verdict == "error":
        metrics = None
        failure = {
            "category": rng.choice(["conversion_error", "runtime_error"]),
            "message": f"{stage} failed: Unsupported op 'Foo' in node {case['kind']}_1\n"
            'Traceback (most recent call last):\n  File "convert.py", line 12\n',
        }
    elif verdict in ("xfail", "xpass"):
        known = {
            "id": "onnx2pytorch#42",
            "url": "https://github.com/example/onnx2pytorch/issues/42",
            "reason": "pads of asymmetric SAME padding dropped",
        }
        if verdict == "xfail":
            failure = {"category": "numeric_mismatch", "message": "asymmetric padding lost"}
            metrics = _metrics(rng, shape, 0.1)
    elif verdict == "skip":
        metrics = None
        failure = None
    return {
        "record": "result",
        "schema": "parity.result/1",
        "run_id": case["run_id"],
        "shard": case["shard"],
        "case_id": case["case_id"],
        "kind": case["kind"],
        "family": case["family"],
        "spec": case["spec"],
        "inputs": case["inputs"],
        "path": path,
        "leg": leg,
        "stage": stage,
        "runner": runner,
        "verdict": verdict,
        "failure": failure,
        "known_issue": known,
        "metrics": metrics,
        "outputs": [metrics] if metrics else [],
        "tolerance": {"atol": 1e-5, "rtol": 1e-5, "rule": "float32"},
        "device": "cpu",
        "timing": {"build": 0.004, "convert": 0.05, "run": 0.002, "compare": 0.0005},
        "test": f"suites/layers/test_{case['family']}.py::test_{case['kind'].lower()}",
        "hypothesis": {"profile": "ci", "seed": 1234},
        "repro": f"parity repro {case['case_id']}",
        "time": "2025-01-01T00:01:00Z",
    }


def _verdicts(rng: random.Random) -> list[str]:
    """Three legs per case; about 80% of cases pass, the rest fail in varied ways."""
    roll = rng.random()
    if roll < 0.80:
        return ["pass", "pass", "pass"]
    if roll < 0.90:
        return ["pass", "pass", "fail"]
    if roll < 0.94:
        return ["pass", "error", "pass"]
    if roll < 0.97:
        return ["pass", "pass", "xfail"]
    if roll < 0.98:
        return ["pass", "pass", "xpass"]
    return ["pass", "skip", "skip"]


def make_records(
    cases: int = 1000, seed: int = 0, run_id: str = "synthetic-run", shards: int = 1
) -> list[dict[str, Any]]:
    """A run record per shard, then about three result records per case."""
    rng = random.Random(seed)
    names = [f"gw{i}" for i in range(shards)] if shards > 1 else ["main"]
    records: list[dict[str, Any]] = [run_record(run_id, name) for name in names]
    kinds = sorted(KINDS)
    for i in range(cases):
        kind = kinds[i % len(kinds)]
        family, attrs = KINDS[kind]
        drawn = {name: rng.choice(values) for name, values in attrs.items()}
        shape = [1, rng.choice([4, 8]), rng.choice([4, 8]), rng.choice([1, 3])]
        spec = {
            "schema": "parity.spec/1",
            "kind": kind,
            "attrs": drawn,
            "input_shapes": [shape],
            "dtype": "float32",
            "seed": i,
        }
        case = {
            "kind": kind,
            "family": family,
            "spec": spec,
            "case_id": case_id_of(spec),
            "inputs": [{"shape": shape, "dtype": "float32"}],
            "run_id": run_id,
            "shard": names[i % len(names)],
        }
        # The ONNX leg is shared by both paths and recorded once, under the first.
        legs = [(PATHS[0], "keras>tf2onnx"), (PATHS[0], PATHS[0]), (PATHS[1], PATHS[1])]
        for (path, leg), verdict in zip(legs, _verdicts(rng), strict=True):
            records.append(_result(rng, case, path, leg, verdict))
    return records


# ---------------------------------------------------------------- a ci-sized run, every source

CI_FAMILIES = {
    "keras": {
        "activations": ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"],
        "attention": ["Attention", "MultiHeadAttention"],
        "conv": ["Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D",
                 "DepthwiseConv2D", "SeparableConv2D"],
        "core": ["Activation", "Dense", "Dropout"],
        "custom": ["CustomAffine", "CustomOps", "CustomScale"],
        "embedding": ["Embedding", "Masking"],
        "merging": ["Add", "Average", "Concatenate", "Dot", "Maximum", "Multiply"],
        "models": ["Functional", "Sequential"],
        "normalization": ["BatchNormalization", "GroupNormalization", "LayerNormalization"],
        "pooling": ["AveragePooling1D", "AveragePooling2D", "GlobalMaxPooling2D",
                    "MaxPooling2D"],
        "preprocessing": ["Normalization", "Rescaling", "Resizing"],
        "recurrent": ["Bidirectional", "GRU", "LSTM", "SimpleRNN"],
        "reshaping": ["Cropping2D", "Flatten", "Permute", "Reshape", "UpSampling2D",
                      "ZeroPadding2D"],
        "wrappers": ["TimeDistributed"],
        "applications": ["MobileNetV2"],
        "saved": ["SavedDense", "SavedConv2D"],
    },
    "mat": {
        "conv": ["MatConv", "MatConvTranspose"],
        "pooling": ["MatPool"],
        "normalization": ["MatBnorm", "MatLRN"],
        "activation": ["MatReLU", "MatSigmoid"],
        "dagnn": ["DagNN"],
    },
    "onnx": {
        "conv": ["Conv", "ConvTranspose"],
        "elementwise": ["Add", "Mul", "Elu", "HardSigmoid", "PRelu"],
        "normalization": ["BatchNormalization", "InstanceNormalization", "LRN"],
        "pooling": ["AveragePool", "MaxPool", "GlobalAveragePool"],
        "shape": ["Flatten", "Reshape", "Split", "Transpose"],
        "gemm": ["Gemm", "MatMul"],
    },
    "file": {
        "model": ["dncnn.mat", "classifier.h5", "superres.onnx"],
    },
}
CI_DEFAULT_PATHS = {
    "keras": "keras>tf2onnx>onnx2torch",
    "mat": "mat>mat2torch",
    "onnx": "onnx>onnx2torch",
}
CI_OTHER_PATHS = {
    "keras": ["keras>tf2onnx>onnx2pytorch", "keras>keras-onnx>onnx2torch"],
    "onnx": ["onnx>onnx2pytorch"],
    "mat": [],
}
CI_SAVED_PATHS = [
    "keras>keras-file>tf2onnx>onnx2torch",
    "keras>h5>tf2onnx",
    "keras>savedmodel>tf2onnx-savedmodel>onnx2torch",
]
CI_CASES = {"keras": 700, "mat": 120, "onnx": 190, "file": 3}
CI_ISSUES = [
    # id, url, stage, the kinds it hits, its message
    ("tf2onnx-xla-conv-partitioned-call", "https://github.com/onnx/tensorflow-onnx/issues/2099",
     "tf2onnx", {"Conv1D", "Conv3D", "SeparableConv2D"},
     "onnxruntime raised LoadError: onnxruntime cannot load the model: InvalidGraph: "
     "[ONNXRuntimeError] : 10 : INVALID_GRAPH : StatefulPartitionedCall {node}"),
    ("tf2onnx-gelu-erfc", "https://github.com/onnx/tensorflow-onnx/pull/2463", "tf2onnx",
     {"Dense", "Activation"},
     "onnxruntime raised LoadError: This is an invalid model. In Node, (\"{node}/Gelu/Erfc\", "
     "Erfc, \"\", -1) : Operator Erfc not registered"),
    ("onnx2torch-asymmetric-avgpool", "https://github.com/ENOT-AutoDL/onnx2torch/issues/172",
     "onnx2torch", {"AveragePooling1D", "AveragePooling2D", "AveragePool"},
     "onnx2torch raised NotImplementedError: AvgPool with non symmetrical padding is not "
     "implemented ({node})"),
    ("onnx2torch-global-max-pool", "https://github.com/ENOT-AutoDL/onnx2torch/issues/150",
     "onnx2torch", {"GlobalMaxPooling2D"},
     "onnx2torch raised NotImplementedError: Converter is not implemented "
     "(OperationDescription(domain='', operation_type='GlobalMaxPool', version=1))"),
    ("onnx2torch-loop", "https://github.com/ENOT-AutoDL/onnx2torch/blob/main/operators.md",
     "onnx2torch", {"LSTM", "GRU", "SimpleRNN", "Bidirectional"},
     "onnx2torch raised NotImplementedError: Converter is not implemented "
     "(OperationDescription(domain='', operation_type='Loop', version=16))"),
    ("onnx2torch-resize-cubic-coeff", "https://github.com/ENOT-AutoDL/onnx2torch/issues/180",
     "onnx2torch", {"Resizing", "UpSampling2D"},
     "max_abs 1.2e-01 exceeds atol 1e-05 at {node}"),
    ("onnx2pytorch-lrn", "https://github.com/Talmaj/onnx2pytorch/issues/51", "onnx2pytorch",
     {"LRN", "MatLRN"}, "onnx2pytorch raised KeyError: 'LRN' ({node})"),
    ("mat2torch-dagnn-loss-layer", "https://github.com/vlfeat/matconvnet/issues/1000",
     "mat2torch", {"DagNN"}, "mat2torch: the DagNN's loss layer {node} needs a label input"),
    ("onnxruntime-cubic-resize-downscale-nhwc", "https://github.com/microsoft/onnxruntime/issues/"
     "19520", "tf2onnx", {"Resizing"}, "max_abs 3.1e-02 exceeds atol 1e-02 at {node}"),
]
CI_FAILURES = [
    ("onnx2torch", {"Conv2DTranspose", "ConvTranspose"}, "numeric_mismatch",
     "max_abs {value:.3e} exceeds atol 1e-05 (output_padding dropped at {node})"),
    ("onnx2pytorch", {"InstanceNormalization"}, "conversion_error",
     "onnx2pytorch raised TypeError: __init__() got an unexpected keyword argument "
     "'track_running_stats' ({node})"),
    ("tf2onnx", {"Embedding"}, "runtime_error",
     "onnxruntime raised InvalidArgument: indices element out of data bounds, idx=17 must be "
     "within the inclusive range [-16,15] ({node})"),
]
TRACEBACK = (
    "\nTraceback (most recent call last):\n  File \"harness/pipeline.py\", line 291, in _leg\n"
    "    artifact = converter.convert(parent, self.options)\n  File \"harness/converters/"
    "{stage}.py\", line 17, in convert\n    module = convert(artifact.model)\n"
)


def _ci_metrics(rng: random.Random, shape: list[int], scale: float) -> dict[str, Any]:
    metrics = _metrics(rng, shape, scale)
    lo = math.floor(math.log10(max(metrics["max_abs"], 1e-12))) - 2
    # The comparator's 12 bins, evenly spaced in log10 and rounded to 3 decimals.
    metrics["histogram"] = {
        "edges": [round(lo + i / 4, 3) for i in range(13)],
        "counts": metrics["histogram"]["counts"],
        "exact": rng.randrange(0, 5),
    }
    return metrics


def _ci_case(rng: random.Random, source: str, family: str, kind: str, i: int) -> dict[str, Any]:
    rank = rng.choice([3, 4, 4, 5])
    shape = [1, *[rng.choice([2, 3, 4, 8]) for _ in range(rank - 2)], rng.choice([1, 3])]
    attrs: dict[str, Any] = {"units": rng.choice([1, 4, 16])} if kind == "Dense" else {
        "padding": rng.choice(["valid", "same"]),
        "activation": rng.choice(["linear", "relu", "gelu", "tanh"]),
        "size": rng.choice([1, 2, 3]),
    }
    spec: dict[str, Any] = {"schema": "parity.spec/1", "kind": kind, "attrs": attrs,
                            "input_shapes": [shape], "dtype": "float32", "seed": i}
    if source != "keras":
        spec["source"] = source
    return {"source": source, "family": family, "kind": kind, "spec": spec,
            "case_id": case_id_of(spec), "inputs": [{"shape": shape, "dtype": "float32"}]}


def _ci_legs(rng: random.Random, case: dict[str, Any]) -> list[tuple[str, str]]:
    source, family = case["source"], case["family"]
    if source == "file":
        path = {"dncnn.mat": "mat>mat2torch", "classifier.h5": "keras>tf2onnx>onnx2torch",
                "superres.onnx": "onnx>onnx2torch"}[case["kind"]]
        paths = [path]
    elif family == "saved":
        paths = CI_SAVED_PATHS
    else:
        paths = [CI_DEFAULT_PATHS[source]]
        paths += [p for p in CI_OTHER_PATHS[source] if rng.random() < 0.5]
    legs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in paths:
        stages = path.split(">")
        for n in range(2, len(stages) + 1):
            leg = ">".join(stages[:n])
            if leg not in seen:  # a leg shared by two paths runs once, under the first
                seen.add(leg)
                legs.append((path, leg))
    return legs


def _ci_result(rng: random.Random, case: dict[str, Any], path: str, leg: str, run_id: str,
               shard: str, test: str) -> dict[str, Any]:
    record = _result(rng, {**case, "run_id": run_id, "shard": shard}, path, leg, "pass")
    stage = leg.rsplit(">", 1)[-1]
    node = f"n{rng.randrange(12):02d}_{case['kind'].lower()}"
    record.update(source=case["source"], test=test, blame=None, note=None, diagnosis=None,
                  runner="onnxruntime" if stage.startswith(("tf2onnx", "keras-onnx")) else "torch",
                  tolerance={"atol": 1e-5, "rtol": 1e-5, "rule": "default float32"},
                  hypothesis={"profile": "ci", "seed": None, "derandomize": True,
                              "max_examples": 10})
    record["metrics"] = _ci_metrics(rng, case["spec"]["input_shapes"][0], 1e-7)
    for issue_id, url, issue_stage, kinds, message in CI_ISSUES:
        if case["kind"] in kinds and (issue_stage in leg.split(">")) and rng.random() < 0.7:
            inherited = "" if stage == issue_stage else f"(inherited from {leg}) "
            record.update(
                verdict="xfail", blame=issue_stage, metrics=None,
                known_issue={"id": issue_id, "url": url, "reason": f"{issue_id}: see upstream."},
                failure={"category": "unsupported_op",
                         "message": inherited + message.format(node=node)
                         + TRACEBACK.format(stage=issue_stage)},
            )
            return record
    for fail_stage, kinds, category, message in CI_FAILURES:
        if case["kind"] in kinds and stage == fail_stage and rng.random() < 0.3:
            value = 10 ** rng.uniform(-3, 0)
            record.update(
                verdict="fail" if category == "numeric_mismatch" else "error", blame=stage,
                failure={"category": category, "message": message.format(value=value, node=node)
                         + (TRACEBACK.format(stage=stage) if category != "numeric_mismatch"
                            else "")},
            )
            if category == "numeric_mismatch":
                record["metrics"] = _ci_metrics(rng, case["spec"]["input_shapes"][0], value)
            else:
                record["metrics"] = None
            return record
    if rng.random() < 0.01:
        record.update(verdict="skip", metrics=None,
                      failure={"category": "upstream_error", "message": "not run: upstream leg"})
    return record


def ci_records(seed: int = 0, previous: bool = False) -> list[dict[str, Any]]:
    """About 3,000 results of every source over two xdist shards, as a ci run writes them.

    With `previous`, the run before: the same cases (the ci profile derandomizes), where a
    few of today's failures passed, a few of its failures pass today, and one known issue
    held legs that it no longer does.
    """
    rng = random.Random(seed)
    run_id = "ci-previous" if previous else "ci-run"
    shards = ("gw0", "gw1")
    records: list[dict[str, Any]] = []
    for n, shard in enumerate(shards):
        run = run_record(run_id, shard, paths=[CI_DEFAULT_PATHS["keras"], *CI_OTHER_PATHS["keras"]],
                         environment={"TF_ENABLE_ONEDNN_OPTS": None,
                                      "TF_CPP_MIN_LOG_LEVEL": str(2 + n),
                                      "CUDA_VISIBLE_DEVICES": None},
                         command="pytest suites/ -n 2 --hypothesis-profile ci")
        records.append(run)
    i = 0
    for source, count in CI_CASES.items():
        families = CI_FAMILIES[source]
        pairs = [(f, k) for f, kinds in families.items() for k in kinds]
        for j in range(count):
            family, kind = pairs[j % len(pairs)]
            case = _ci_case(rng, source, family, kind, i)
            test = f"suites/{source}/test_{family}.py::test_{kind.lower()}"
            shard = shards[i % 2]
            for path, leg in _ci_legs(rng, case):
                records.append(_ci_result(rng, case, path, leg, run_id, shard, test))
            i += 1
    if previous:
        _age(records, random.Random(seed + 1))
    return records


def _age(records: list[dict[str, Any]], rng: random.Random) -> None:
    """Turn today's run into the run before it: what changed, changed the other way."""
    results = [r for r in records if r["record"] == "result"]
    failing = [r for r in results if r["verdict"] in ("fail", "error")]
    for record in failing[: len(failing) // 3]:  # new failures today
        record.update(verdict="pass", failure=None, blame=None)
    passing = [r for r in results if r["verdict"] == "pass" and r["source"] == "keras"]
    for record in rng.sample(passing, 4):  # fixed today
        record.update(verdict="fail", blame=record["stage"],
                      failure={"category": "numeric_mismatch",
                               "message": "max_abs 4.1e-03 exceeds atol 1e-05"})
    for record in [r for r in passing if r["kind"] == "Softmax"][:3]:  # stopped reproducing
        record.update(verdict="xfail",
                      known_issue={"id": "tf2onnx-softmax-axis",
                                   "url": "https://github.com/onnx/tensorflow-onnx/issues/2310",
                                   "reason": "Softmax over a non-last axis transposed twice."},
                      failure={"category": "numeric_mismatch", "message": "max_abs 0.5"})


def write_jsonl(path: str | Path, records: list[dict[str, Any]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ci", action="store_true", help="a ci-sized run of every source")
    parser.add_argument("--previous", metavar="PATH", help="with --ci: also the run before it")
    parser.add_argument("-o", "--output", default="reports/synthetic.jsonl")
    args = parser.parse_args(argv)
    if args.ci:
        write_jsonl(args.output, ci_records(args.seed))
        if args.previous:
            write_jsonl(args.previous, ci_records(args.seed, previous=True))
            print(args.previous)
    else:
        write_jsonl(args.output, make_records(args.cases, args.seed))
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
