"""Synthetic results JSONL, shaped like docs/results.md, for the report's tests and timings.

Deterministic for a given seed. `make_records` draws a small Keras-only run for unit tests;
`ci_records` draws a run shaped after a real `pytest tests suites -n 2 --hypothesis-profile
ci` (about 11,800 results in 4,300 cases over Keras, MATLAB, ONNX and users' files, two xdist
shards that differ in one environment variable, 1 result in 6 an xfail of one of 160 known
issues with a traceback of real length, a handful of failures), and
`ci_records(previous=True)` the run before it, with some results changed.
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


def yardstick_records() -> tuple[list[dict], dict, dict]:
    """A small run where a passing leg and an xfail leg carry the yardstick metric that
    records will carry (issue #16): the source's own float64 rounding error, the leg's error,
    and their ratio. Returns the records, the passing one and the xfail one."""
    records = make_records(cases=3, seed=2)
    for r in records[1:]:
        r.update(verdict="pass", failure=None, known_issue=None)
    passing, held = records[1], records[-1]
    passing["metrics"]["yardstick"] = {"source_error": 2e-7, "leg_error": 6.2e-7, "ratio": 3.1}
    held.update(verdict="xfail", failure={"category": "numeric_mismatch", "message": "m"},
                known_issue={"id": "k", "url": "", "reason": "r"})
    held["metrics"] = dict(held["metrics"], yardstick={"source_error": 1e-7,
                                                       "leg_error": 4.2e-3, "ratio": 4321.5})
    return records, passing, held


# ---------------------------------------------------------------- a ci-sized run, every source
#
# Shaped after the results of a real `pytest tests suites -n 2 --hypothesis-profile ci`
# (11,800 records, 4,315 cases, 257 kinds): two thirds of the records are ONNX cases down
# three legs each, a quarter Keras cases down two, a few hundred MATLAB cases down one; 1 in 6
# results is an xfail of one of 170 known issues, most of them a converter's traceback of
# about a thousand characters; ONNX graph kinds and MATLAB networks carry specs of a kilobyte
# or two; a quarter of the cases are golden replays; a handful of failures.

CI_FAMILIES = {
    "keras": {
        "activations": ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU"],
        "attention": ["AdditiveAttention", "Attention", "MultiHeadAttention"],
        "conv": ["Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D",
                 "Conv3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
                 "SeparableConv2D"],
        "core": ["Activation", "Dense", "Dropout", "EinsumDense", "Identity", "Lambda"],
        "custom": ["CustomAffine", "CustomOps", "CustomScale"],
        "embedding": ["Embedding", "Masking"],
        "merging": ["Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply",
                    "Subtract"],
        "models": ["Functional", "Sequential"],
        "normalization": ["BatchNormalization", "GroupNormalization", "LayerNormalization",
                          "UnitNormalization"],
        "pooling": ["AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
                    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
                    "GlobalMaxPooling2D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D"],
        "preprocessing": ["CenterCrop", "Normalization", "Rescaling", "Resizing"],
        "recurrent": ["Bidirectional", "ConvLSTM2D", "GRU", "LSTM", "SimpleRNN"],
        "reshaping": ["Cropping1D", "Cropping2D", "Flatten", "Permute", "RepeatVector", "Reshape",
                      "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D"],
        "wrappers": ["TimeDistributed"],
        "applications": ["MobileNetV2"],
        "saved": ["SavedDense", "SavedConv2D"],
    },
    "mat": {
        "mat-activation/dlt": ["relu", "elu", "tanh", "sigmoid", "leakyrelu", "softmax"],
        "mat-activation/simplenn": ["relu_snn", "sigmoid_snn"],
        "mat-activation/dagnn": ["ReLU", "Sigmoid"],
        "mat-convolution/dlt": ["convolution2d", "groupedconv2d", "transposedconv2d"],
        "mat-convolution/simplenn": ["conv", "convt"],
        "mat-convolution/dagnn": ["Conv", "ConvTranspose"],
        "mat-normalization/dlt": ["batchnorm", "layernorm", "crosschannelnorm"],
        "mat-pooling/dlt": ["maxpool2d", "avgpool2d"],
        "mat-recurrent/dlt": ["lstm", "gru"],
        "mat-merge/dagnn": ["Concat", "Sum"],
    },
    "onnx": {
        "onnx-math": ["Abs", "Acos", "Acosh", "Add", "Asin", "Asinh", "Atan", "Atanh", "Ceil",
                      "Cos", "Cosh", "CumSum", "Det", "Div", "Erf", "Exp", "Floor", "Log",
                      "Max", "Mean", "Min", "Mod", "Mul", "Neg", "Pow", "Reciprocal", "Round",
                      "Sign", "Sin", "Sinh", "Sqrt", "Sub", "Sum", "Tan"],
        "onnx-reduce": ["ArgMax", "ArgMin", "ReduceL1", "ReduceL2", "ReduceLogSum",
                        "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd",
                        "ReduceSum", "ReduceSumSquare"],
        "onnx-logic": ["And", "BitShift", "BitwiseAnd", "BitwiseNot", "BitwiseOr", "BitwiseXor",
                       "Equal", "Greater", "GreaterOrEqual", "IsInf", "IsNaN", "Less",
                       "LessOrEqual", "Not", "Or", "Where", "Xor"],
        "onnx-activations": ["Celu", "Elu", "Gelu", "HardSigmoid", "HardSwish", "Hardmax",
                             "LeakyRelu", "LogSoftmax", "Mish", "PRelu", "Relu", "Selu",
                             "Sigmoid", "Softmax", "Softplus", "Softsign", "Tanh",
                             "ThresholdedRelu"],
        "onnx-reshaping": ["Concat", "DepthToSpace", "Expand", "Flatten", "Pad", "Reshape",
                           "SpaceToDepth", "Split", "Squeeze", "Tile", "Transpose", "Unsqueeze"],
        "onnx-graphs": ["ConvBnRelu", "FlattenGemm", "GemmChain", "MeanSubtraction",
                        "PixelShuffle", "SamePadConv", "FcAsConv", "ResizeBySizes",
                        "LegacyOpset7", "LegacyOpset9", "ResidualBlock", "SqueezeExcite"],
        "onnx-indexing": ["Compress", "Gather", "GatherElements", "GatherND", "OneHot",
                          "ScatterElements", "ScatterND", "Slice", "TopK", "Trilu", "Unique"],
        "onnx-pooling": ["AveragePool", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool",
                         "LpPool", "MaxPool", "MaxRoiPool", "MaxUnpool", "RoiAlign"],
        "onnx-normalization": ["BatchNormalization", "GroupNormalization",
                               "InstanceNormalization", "LayerNormalization", "LpNormalization",
                               "LRN", "MeanVarianceNormalization"],
        "onnx-shape": ["Cast", "CastLike", "ConstantOfShape", "Identity", "Shape", "Size"],
        "onnx-matmul": ["Einsum", "Gemm", "MatMul", "MatMulInteger"],
        "onnx-resize": ["GridSample", "Resize", "Upsample"],
        "onnx-conv": ["Col2Im", "Conv", "ConvInteger", "ConvTranspose", "DeformConv"],
        "onnx-recurrent": ["GRU", "LSTM", "RNN"],
        "onnx-core": ["Constant", "Dropout", "Range"],
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
    "onnx": ["onnx>onnx2pytorch", "onnx>ort-optimized"],
    "mat": [],
}
CI_OTHER_SHARE = {"keras": 0.1, "onnx": 1.0, "mat": 0.0}
"""How often a case also goes down the source's other paths: ONNX cases always do."""
CI_SAVED_PATHS = [
    "keras>keras-file>tf2onnx>onnx2torch",
    "keras>h5>tf2onnx",
    "keras>savedmodel>tf2onnx-savedmodel>onnx2torch",
]
CI_CASES = {"keras": 1405, "mat": 566, "onnx": 2344, "file": 3}
CI_GRAPH_FAMILIES = {"onnx-graphs", "models"}
"""Kinds whose spec nests a graph of layers or nodes (a kilobyte or two of JSON)."""
CI_DTYPES = ["float32"] * 6 + ["float16", "float64", "int64", "bool"]
CI_TOLERANCES = {
    "float32": {"atol": 1e-05, "rtol": 1e-05, "rule": "default float32"},
    "float16": {"atol": 0.001, "rtol": 0.001, "rule": "default float16"},
    "float64": {"atol": 1e-07, "rtol": 1e-07, "rule": "default float64"},
    "int64": {"atol": 0.0, "rtol": 0.0, "rule": "default int64"},
    "bool": {"atol": 0.0, "rtol": 0.0, "rule": "default bool"},
}
CI_APPLICATION_RULE = {
    "atol": 0.05, "rtol": 0.01,
    "rule": "rule[family=applications]: keras.applications with seeded random weights: dozens "
            "to hundreds of layers amplify\nfloat32 rounding. Keras' own MobileNetV2 output "
            "moves by 1.4e-3 when its input moves by 1e-7\n(relative), as much as every leg "
            "differs (max_abs 4e-4 to 1e-2 at outputs of O(1), every\npath); a real converter "
            "bug (a dropped bias, swapped BN statistics, a wrong padding) moves it by O(1).",
}
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
     {"LRN", "crosschannelnorm"}, "onnx2pytorch raised KeyError: 'LRN' ({node})"),
    ("mat2torch-dagnn-concat-dim", "https://github.com/vlfeat/matconvnet/issues/1000",
     "mat2torch", {"Concat"}, "mat2torch: the DagNN's Concat layer {node} concatenates along "
     "dimension 4, which the converter reads as the batch"),
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
CI_FAILURE_SHARE = 0.3
"""Of the legs a failure can hit, how many it does: a run with a handful of failures."""
TRACEBACK = (
    "\nTraceback (most recent call last):\n"
    '  File "/work/ci-clone/harness/pipeline.py", line 303, in _leg\n'
    "    artifact = converter.convert(parent, self.options)\n"
    "               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    '  File "/work/ci-clone/harness/converters/{stage}.py", line 27, in convert\n'
    "    module = {stage}.convert(artifact.model)\n"
    "             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    '  File "/work/ci-clone/.venv/lib/python3.11/site-packages/{stage}/converter.py", line 104, '
    "in convert\n"
    "    converter = get_converter(\n"
    "                ^^^^^^^^^^^^^^\n"
    '  File "/work/ci-clone/.venv/lib/python3.11/site-packages/{stage}/node_converters/'
    'registry.py", line 69, in get_converter\n'
    "    raise NotImplementedError(f'Converter is not implemented ({{description}})')\n"
    "NotImplementedError: {last}\n"
)
"""A converter's traceback as the pipeline records it: about a thousand characters."""
CI_NODE_NAMES = 2
"""Distinct node names a known issue's message names: about 500 distinct messages."""


def _op_issues() -> list[tuple[str, str, str, set[str], str, bool]]:
    """Known issues of the ONNX and Keras kinds past CI_ISSUES, about 160 of them: a converter
    with no converter for an op, or one that converts it wrong (numeric, with metrics)."""
    issues = []
    named = {kind for _, _, _, kinds, _ in CI_ISSUES for kind in kinds}
    onnx = [k for kinds in CI_FAMILIES["onnx"].values() for k in kinds if k not in named]
    for i, op in enumerate(onnx):
        if i % 5 == 4:
            continue  # every fifth op converts cleanly
        stage = "onnx2torch" if i % 2 else "onnx2pytorch"
        repository = ("ENOT-AutoDL/onnx2torch" if stage == "onnx2torch"
                      else "Talmaj/onnx2pytorch")
        numeric = i % 7 == 3
        message = (f"max_abs {{value:.3e}} exceeds atol 1e-05 at {{node}}: {op} rounds half "
                   "away from zero" if numeric else
                   f"{stage} raised NotImplementedError: Converter is not implemented "
                   f"(OperationDescription(domain='', operation_type='{op}', version={{version}})) "
                   "at {node}")
        issues.append((f"{stage}-{op.lower()}", f"https://github.com/{repository}/issues/"
                       f"{100 + i}", stage, {op}, message, numeric))
    keras = [k for kinds in CI_FAMILIES["keras"].values() for k in kinds if k not in named]
    for i, kind in enumerate(keras[::2]):
        issues.append((f"tf2onnx-{kind.lower()}-opset", "https://github.com/onnx/"
                       f"tensorflow-onnx/issues/{2200 + i}", "tf2onnx", {kind},
                       f"tf2onnx raised ValueError: {kind} at {{node}} needs opset 18 for its "
                       "axes input; the model was exported with opset 17", False))
    return issues


def _reason(issue_id: str, stage: str) -> str:
    return (f"{issue_id}: {stage} converts this op only for the attributes its own tests use; "
            "the drawn attributes take a code path that raises or rounds differently. Pinned "
            "as a strict xfail with its minimal spec; found by parity, reported upstream, no "
            "fix released (checked 2026-11-22). Remove the entry when the pinned version "
            "converts the spec: the xpass will say so.")


def _ci_metrics(rng: random.Random, shape: list[int], scale: float) -> dict[str, Any]:
    """A comparison's metrics, drawn without walking the elements (a run has 12,000)."""
    total = 1
    for n in shape:
        total *= n
    max_abs = scale * rng.uniform(0.5, 3.0)
    lo = math.floor(math.log10(max(max_abs, 1e-12))) - 2
    top = rng.randrange(8, 12)
    counts = [0] * 12
    left = total
    for b in range(top, -1, -1):  # most errors a few decades below the largest
        counts[b] = left // 3 if b else left
        left -= counts[b]
    exact = rng.randrange(0, max(1, total // 4))
    mismatched = 0 if scale < 1e-5 else rng.randint(1, max(1, total // 10))
    return {
        "shape": shape,
        "expected_shape": shape,
        "dtype": "float32",
        "expected_dtype": "float32",
        "atol": 1e-5,
        "rtol": 1e-5,
        "nonfinite": {"expected_nan": 0, "actual_nan": 0, "expected_inf": 0, "actual_inf": 0,
                      "mask_mismatch": 0},
        "total": total,
        "max_abs": max_abs,
        "max_abs_index": [rng.randrange(n) for n in shape],
        "max_rel": max_abs * rng.uniform(1, 50),
        "max_rel_index": [rng.randrange(n) for n in shape],
        "required_atol": max_abs * rng.uniform(0.1, 1),
        "required_rtol": 0.0,
        "max_ulp": float(int(max_abs / 1.2e-7)),
        "mismatched": mismatched,
        "mismatch_fraction": mismatched / total,
        # The comparator's 12 bins, evenly spaced in log10 and rounded to 3 decimals.
        "histogram": {"edges": [round(lo + i / 3, 3) for i in range(13)], "counts": counts,
                      "exact": exact},
    }


def _graph(rng: random.Random, source: str) -> list[dict[str, Any]]:
    """The nested layers of a MATLAB network or the nodes of an ONNX graph kind."""
    if source == "mat":
        return [{"kind": rng.choice(["conv", "relu", "bnorm", "pool"]),
                 "attrs": {"stride": [1, 1], "pad": [rng.randrange(2)] * 4,
                           "size": [3, 3, rng.choice([1, 3]), rng.choice([4, 8])]}}
                for _ in range(rng.randrange(2, 5))]
    ops = ["Shape", "Cast", "Split", "Div", "Ceil", "Sub", "Mul", "Add", "Max", "Floor",
           "Concat", "Pad", "Conv", "BatchNormalization", "Relu", "Gemm", "Reshape"]
    nodes: list[dict[str, Any]] = []
    for i in range(rng.randrange(8, 18)):
        inputs: list[Any] = [i - 1 if i else "input_0"]
        if rng.random() < 0.5:
            inputs.append({"const": [round(rng.uniform(0, 4), 1)] * 2, "dtype": "float32"})
        nodes.append({"kind": rng.choice(ops), "attrs": {"opset": 17}, "inputs": inputs})
    return nodes


def _ci_case(rng: random.Random, source: str, family: str, kind: str, i: int) -> dict[str, Any]:
    rank = rng.choice([2, 3, 4, 4, 5])
    shape = [rng.choice([1, 2, 3])] + [rng.choice([2, 3, 4, 5, 8, 9]) for _ in range(rank - 1)]
    dtype = "float32" if source == "keras" else rng.choice(CI_DTYPES)
    attrs: dict[str, Any]
    if kind == "Dense":
        attrs = {"units": rng.choice([1, 4, 16]), "use_bias": rng.random() < 0.5,
                 "activation": rng.choice(["linear", "relu", "gelu", "tanh"])}
    elif source == "onnx":
        attrs = {"opset": rng.choice([13, 17, 18, 21]), "axis": rng.randrange(-rank, rank)}
        if rng.random() < 0.5:
            attrs["keepdims"] = rng.randrange(2)
    else:
        attrs = {
            "padding": rng.choice(["valid", "same"]),
            "activation": rng.choice(["linear", "relu", "gelu", "tanh"]),
            "size": rng.choice([1, 2, 3]),
            "data_format": "channels_last",
            "strides": [rng.choice([1, 2])] * max(1, rank - 2),
        }
    if family in CI_GRAPH_FAMILIES or source == "mat":
        attrs["layers" if source in ("mat", "keras") else "nodes"] = _graph(rng, source)
        if source == "mat":
            attrs.update(format=family.rsplit("/", 1)[-1], version="7")
    spec: dict[str, Any] = {"schema": "parity.spec/1", "kind": kind, "attrs": attrs,
                            "input_shapes": [shape], "dtype": dtype, "seed": rng.randrange(10_000)}
    if source != "keras":
        spec["source"] = source
    return {"source": source, "family": family, "kind": kind, "spec": spec, "dtype": dtype,
            "case_id": case_id_of(spec), "inputs": [{"shape": shape, "dtype": dtype}]}


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
        paths += [p for p in CI_OTHER_PATHS[source] if rng.random() < CI_OTHER_SHARE[source]]
    legs: list[tuple[str, str]] = []
    if source == "onnx" and rng.random() < 0.3:  # the source checked against its evaluator
        legs.append((paths[0], "onnx"))
    seen: set[str] = set()
    for path in paths:
        stages = path.split(">")
        for n in range(2, len(stages) + 1):
            leg = ">".join(stages[:n])
            if leg not in seen:  # a leg shared by two paths runs once, under the first
                seen.add(leg)
                legs.append((path, leg))
    return legs


_STAGE_RUNNERS = {"tf2onnx": "onnxruntime", "keras-onnx": "onnxruntime", "h5": "keras",
                  "keras-file": "keras", "savedmodel": "savedmodel", "onnx": "onnx",
                  "ort-optimized": "onnxruntime", "tf2onnx-savedmodel": "onnxruntime"}
_NOTE = ("matches the source's own output, which differs from the reference reading: the "
         "converter reproduced the source's graph")


def _ci_result(rng: random.Random, case: dict[str, Any], path: str, leg: str, run_id: str,
               shard: str, issues: list[tuple], golden: bool, minute: int) -> dict[str, Any]:
    stage = leg.rsplit(">", 1)[-1]
    shape = case["spec"]["input_shapes"][0]
    case_id = case["case_id"]
    test = (f"suites/golden/test_golden.py::test_golden_case[{case_id}]" if golden else
            f"suites/{case['source']}/test_{case['family'].split('/')[0]}.py::"
            f"test_{case['kind'].lower()}")
    tolerance = (CI_APPLICATION_RULE if case["family"] == "applications"
                 else CI_TOLERANCES[case["dtype"]])
    record: dict[str, Any] = {
        "record": "result", "schema": "parity.result/1", "run_id": run_id, "shard": shard,
        "case_id": case_id, "source": case["source"], "kind": case["kind"],
        "family": case["family"], "spec": case["spec"], "inputs": case["inputs"],
        "device": "cpu", "test": test,
        "hypothesis": None if golden else {"profile": "ci", "seed": None, "derandomize": True,
                                           "max_examples": 12},
        "repro": f"parity repro {case_id}", "time": f"2026-11-22T18:{minute // 60:02d}:"
                                                    f"{minute % 60:02d}+00:00",
        "path": path, "leg": leg, "stage": stage, "blame": None, "note": None,
        "diagnosis": None, "runner": _STAGE_RUNNERS.get(stage, "torch"), "verdict": "pass",
        "failure": None, "known_issue": None,
        "metrics": _ci_metrics(rng, shape, 1e-7), "outputs": [],
        "tolerance": tolerance,
        "timing": {"build": 0.004, "convert": round(rng.uniform(0.01, 0.3), 4), "run": 0.002,
                   "compare": 0.0005},
    }
    if golden:
        record["golden"] = {"provenance": {
            "created": "2026-11-21T23:50:23+00:00", "device": "cpu", "opset": 17, "seed": 0,
            "source": case["source"], "source_leg": leg,
            "versions": {"keras": "3.15.1", "numpy": "2.4.6", "onnx": "1.23.2",
                         "tensorflow": "2.21.0", "tf2onnx": "1.17.0"}}, "drift": {}}
    if rng.random() < 0.025:
        record["outputs"] = [_ci_metrics(rng, shape, 1e-7) for _ in range(rng.choice([2, 3]))]
    if case["source"] == "onnx" and rng.random() < 0.03:
        record["note"] = _NOTE
    node = f"n{rng.randrange(CI_NODE_NAMES):02d}_{case['kind'].lower()}"
    for issue_id, url, issue_stage, kinds, message, numeric in issues:
        if case["kind"] in kinds and issue_stage in leg.split(">") and rng.random() < 0.55:
            inherited = "" if stage == issue_stage else f"(inherited from {leg}) "
            first = message.format(node=node, value=10 ** rng.uniform(-3, 0),
                                   version=case["spec"]["attrs"].get("opset", 17))
            record.update(
                verdict="xfail", blame=issue_stage,
                known_issue={"id": issue_id, "url": url, "reason": _reason(issue_id, stage)},
                failure={"category": "numeric_mismatch" if numeric else "unsupported_op",
                         "message": inherited + first + ("" if numeric else TRACEBACK.format(
                             stage=issue_stage, last=first.split(": ", 1)[-1]))},
            )
            if not numeric:
                record["metrics"] = None
            return record
    for fail_stage, kinds, category, message in CI_FAILURES:
        if case["kind"] in kinds and stage == fail_stage and rng.random() < CI_FAILURE_SHARE:
            value = 10 ** rng.uniform(-3, 0)
            first = message.format(value=value, node=node)
            record.update(
                verdict="fail" if category == "numeric_mismatch" else "error", blame=stage,
                failure={"category": category, "message": first + (
                    TRACEBACK.format(stage=stage, last=first.split(": ", 1)[-1])
                    if category != "numeric_mismatch" else "")},
            )
            record["metrics"] = (_ci_metrics(rng, shape, value) if category == "numeric_mismatch"
                                 else None)
            return record
    if rng.random() < 0.001:
        record.update(verdict="skip", metrics=None,
                      failure={"category": "upstream_error",
                               "message": f"not run: an earlier stage of {path} failed"})
    return record


def ci_records(seed: int = 0, previous: bool = False) -> list[dict[str, Any]]:
    """About 12,000 results of every source over two xdist shards, as a ci run writes them.

    With `previous`, the run before: the same cases (the ci profile derandomizes), where four
    of today's failures passed, four of its failures pass today, and one known issue held legs
    that it no longer does.
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
                         command="pytest tests suites -n 2 --hypothesis-profile ci")
        records.append(run)
    issues = [(*issue, "max_abs" in issue[4]) for issue in CI_ISSUES] + _op_issues()
    i = 0
    for source, count in CI_CASES.items():
        families = CI_FAMILIES[source]
        pairs = [(f, k) for f, kinds in families.items() for k in kinds]
        for j in range(count):
            family, kind = pairs[j % len(pairs)]
            case = _ci_case(rng, source, family, kind, i)
            shard = shards[i % 2]
            golden = source != "file" and rng.random() < 0.25
            for path, leg in _ci_legs(rng, case):
                records.append(_ci_result(rng, case, path, leg, run_id, shard, issues, golden,
                                          i * 60 // sum(CI_CASES.values())))
            i += 1
    if previous:
        _age(records, random.Random(seed + 1))
    return records


def ci_domains() -> dict[str, dict[str, list[Any]]]:
    """Documented values of the ci run's kinds, as the layer registry declares them."""
    documented: dict[str, dict[str, list[Any]]] = {}
    for source, families in CI_FAMILIES.items():
        for kinds in families.values():
            for kind in kinds:
                label = kind if source == "keras" else f"{source}:{kind}"
                documented[label] = (
                    {"opset": [13, 17, 18, 21], "keepdims": [0, 1]} if source == "onnx" else
                    {"padding": ["valid", "same", "causal"], "size": [1, 2, 3, 4]})
    documented["Conv4D"] = {"padding": ["valid", "same"]}  # a kind no case ran
    return documented


def _age(records: list[dict[str, Any]], rng: random.Random) -> None:
    """Turn today's run into the run before it: what changed, changed the other way."""
    results = [r for r in records if r["record"] == "result"]
    failing = [r for r in results if r["verdict"] in ("fail", "error")]
    for record in failing[:4]:  # new failures today
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
