"""Random MATLAB networks for the conformance suite: Hypothesis strategies that draw a
framework-neutral spec (JSON-serialisable), the weights it implies (from its seed, in MATLAB
layout), its `.mat` variables in each format (SimpleNN, DagNN, parity.dlt/1), and its
expected output from `harness.mat.reference` (MATLAB semantics in NumPy).

An image spec is `{"input": [H, W, C], "batch": N, "seed": s, "merge": None | {...},
"layers": [{"kind": ..., attributes}]}`; `merge` puts two 3×3 convolutions on the input,
joined by a `sum` or a channel `concat` (DAG formats only), before `layers`. DLT specs also
hold `"normalization": None | {"mode": "zerocenter" | "zscore", "per": "pixel" | "channel"}`
(the image input layer's Normalization) and may use the DLT-only kinds `act` (ELU, clipped
ReLU, swish, GELU, tanh), `layernorm`, `gpool` (global average/max), `flatten`.

A feature spec (`feature_specs`, DLT only) draws FeatureInputLayer (with Normalization) →
FullyConnected → activation → LayerNormalization (over C) → FullyConnected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from harness.mat import reference as ref
from harness.mat.writer import StructArray, cell

SIMPLENN = "simplenn"
DAGNN = "dagnn"
DLT = "dlt"
FORMATS = (SIMPLENN, DAGNN, DLT)

# --- strategies ---------------------------------------------------------------------------


def _pad4(draw, limit: int) -> list[int]:
    return [draw(st.integers(0, limit)) for _ in range(4)]


@st.composite
def image_specs(draw, fmt: str) -> dict[str, Any]:
    height, width = draw(st.integers(5, 9)), draw(st.integers(5, 9))
    channels = draw(st.integers(1, 4))
    spec: dict[str, Any] = {
        "input": [height, width, channels],
        "batch": draw(st.integers(1, 2)),
        "seed": draw(st.integers(0, 2**31 - 1)),
        "merge": None,
        "layers": [],
    }
    if fmt != SIMPLENN and draw(st.booleans()):
        kind = draw(st.sampled_from(["sum", "concat"]))
        first = draw(st.integers(1, 4))
        second = first if kind == "sum" else draw(st.integers(1, 4))
        spec["merge"] = {"kind": kind, "filters": [first, second]}
        channels = first if kind == "sum" else first + second
    kinds = ["conv", "pool", "relu", "sigmoid", "lrn", "bnorm", "dropout", "convt"]
    if fmt == DLT:  # Deep Learning Toolbox only: activations and layer normalisation
        kinds += ["act", "layernorm"]
        spec["normalization"] = draw(st.one_of(st.none(), st.fixed_dictionaries({
            "mode": st.sampled_from(["zerocenter", "zscore"]),
            "per": st.sampled_from(["pixel", "channel"])})))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(kinds))
        layer = _draw_layer(draw, kind, fmt, height, width, channels)
        if layer is None:
            continue
        spec["layers"].append(layer)
        height, width, channels = output_size(layer, height, width, channels)
    if fmt == DLT:
        head = draw(st.sampled_from(["fc", "flatten", "gpool", "none"]))
        if head == "gpool":
            spec["layers"].append({"kind": "gpool",
                                   "method": draw(st.sampled_from(["avg", "max"]))})
        if head == "flatten":
            spec["layers"].append({"kind": "flatten"})
        if head == "fc" or (head != "none" and draw(st.booleans())):
            spec["layers"].append({"kind": "fc", "outputs": draw(st.integers(1, 5))})
        if draw(st.booleans()):
            spec["layers"].append({"kind": "softmax"})
    elif draw(st.booleans()):
        spec["layers"].append({"kind": "softmax"})
    return spec


def _draw_layer(draw, kind, fmt, height, width, channels) -> dict[str, Any] | None:
    if kind == "conv":
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        dilation = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
        pad = _pad4(draw, 2)
        if height + pad[0] + pad[1] < (kh - 1) * dilation[0] + 1 or \
                width + pad[2] + pad[3] < (kw - 1) * dilation[1] + 1:
            return None
        divisors = [g for g in range(1, channels + 1) if channels % g == 0]
        groups = draw(st.sampled_from(divisors))
        return {"kind": "conv", "k": [kh, kw], "filters": groups * draw(st.integers(1, 3)),
                "stride": [draw(st.integers(1, 2)), draw(st.integers(1, 2))],
                "dilation": dilation, "pad": pad, "groups": groups,
                "bias": draw(st.booleans())}
    if kind == "convt":
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        upsample = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
        crop = [draw(st.integers(0, max(0, (kh - 1) // 2))) for _ in range(2)] + \
               [draw(st.integers(0, max(0, (kw - 1) // 2))) for _ in range(2)]
        return {"kind": "convt", "k": [kh, kw], "filters": draw(st.integers(1, 3)),
                "upsample": upsample, "crop": crop}
    if kind == "pool":
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        pad = [draw(st.integers(0, kh - 1)), draw(st.integers(0, kh - 1)),
               draw(st.integers(0, kw - 1)), draw(st.integers(0, kw - 1))]
        if height + pad[0] + pad[1] < kh or width + pad[2] + pad[3] < kw:
            return None
        method = draw(st.sampled_from(["max", "avg"]))
        count_pad = fmt == DLT and method == "avg" and draw(st.booleans())
        return {"kind": "pool", "method": method, "k": [kh, kw],
                "stride": [draw(st.integers(1, 2)), draw(st.integers(1, 2))], "pad": pad,
                "count_pad": count_pad}
    if kind == "relu":
        return {"kind": "relu", "leak": draw(st.sampled_from([0.0, 0.1]))}
    if kind == "lrn":
        size = draw(st.sampled_from([1, 3, 5] if fmt == DLT else [1, 2, 3, 4, 5]))
        return {"kind": "lrn", "size": size, "kappa": draw(st.sampled_from([1.0, 2.0])),
                "alpha": draw(st.sampled_from([1e-4, 0.05])), "beta": 0.75}
    if kind == "bnorm":
        return {"kind": "bnorm", "eps": draw(st.sampled_from([1e-5, 1e-3]))}
    if kind == "layernorm":
        return {"kind": "layernorm", "eps": draw(st.sampled_from([1e-5, 1e-3]))}
    if kind == "act":
        return draw(activations())
    return {"kind": kind}


def activations() -> st.SearchStrategy[dict[str, Any]]:
    """A DLT activation layer: ELU (Alpha), clipped ReLU (Ceiling), swish, GELU (Approximation
    left out, i.e. MATLAB's default 'none', or given), tanh."""
    return st.one_of(
        st.builds(lambda a: {"kind": "act", "fn": "elu", "alpha": a},
                  st.sampled_from([1.0, 0.3, 2.0])),
        st.builds(lambda c: {"kind": "act", "fn": "clippedrelu", "ceiling": c},
                  st.sampled_from([0.5, 1.0, 6.0])),
        st.just({"kind": "act", "fn": "swish"}),
        st.builds(lambda a: {"kind": "act", "fn": "gelu", "approximation": a},
                  st.sampled_from([None, "none", "tanh"])),
        st.just({"kind": "act", "fn": "tanh"}),
    )


def output_size(layer: dict[str, Any], height: int, width: int, channels: int):
    kind = layer["kind"]
    if kind == "conv":
        (kh, kw), (sy, sx), (dy, dx), pad = layer["k"], layer["stride"], layer["dilation"], \
            layer["pad"]
        return ((height + pad[0] + pad[1] - (kh - 1) * dy - 1) // sy + 1,
                (width + pad[2] + pad[3] - (kw - 1) * dx - 1) // sx + 1, layer["filters"])
    if kind == "convt":
        (kh, kw), (uy, ux), crop = layer["k"], layer["upsample"], layer["crop"]
        return (uy * (height - 1) + kh - crop[0] - crop[1],
                ux * (width - 1) + kw - crop[2] - crop[3], layer["filters"])
    if kind == "pool":
        (kh, kw), (sy, sx), pad = layer["k"], layer["stride"], layer["pad"]
        return ((height + pad[0] + pad[1] - kh) // sy + 1,
                (width + pad[2] + pad[3] - kw) // sx + 1, channels)
    if kind == "gpool":
        return 1, 1, channels
    if kind == "flatten":  # H×W×C → (H·W·C) features, carried as 1×1×(H·W·C)
        return 1, 1, height * width * channels
    return height, width, channels


@st.composite
def sequence_specs(draw) -> dict[str, Any]:
    """A DLT sequence network: SequenceInputLayer → LSTM | BiLSTM | GRU → FullyConnected."""
    kind = draw(st.sampled_from(["lstm", "bilstm", "gru"]))
    return {
        "kind": kind,
        "features": draw(st.integers(1, 4)),
        "hidden": draw(st.integers(1, 4)),
        "steps": draw(st.integers(1, 5)),
        "batch": draw(st.integers(1, 2)),
        "output_mode": draw(st.sampled_from(["sequence", "last"])),
        "reset_gate_mode": draw(st.sampled_from(
            ["after-multiplication", "before-multiplication",
             "recurrent-bias-after-multiplication"])) if kind == "gru" else None,
        "initial_state": draw(st.booleans()),
        "outputs": draw(st.integers(1, 3)),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


@st.composite
def feature_specs(draw) -> dict[str, Any]:
    """A DLT feature network: FeatureInputLayer (Normalization 'none' | 'zerocenter' |
    'zscore', statistics stored C×1 or 1×C) → FullyConnected → activation →
    [LayerNormalization] → FullyConnected → [Softmax]."""
    return {
        "features": draw(st.integers(1, 5)),
        "hidden": draw(st.integers(1, 5)),
        "outputs": draw(st.integers(1, 3)),
        "batch": draw(st.integers(1, 3)),
        "normalization": draw(st.sampled_from(["none", "zerocenter", "zscore"])),
        "stats_row": draw(st.booleans()),
        "activation": draw(activations()),
        "layernorm": draw(st.booleans()),
        "eps": draw(st.sampled_from([1e-5, 1e-3])),
        "softmax": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


def feature_case(spec: dict[str, Any]):
    """(variables for a parity.dlt/1 file, input C×N, expected output O×N)."""
    rng = np.random.default_rng(spec["seed"])
    d, h, o = spec["features"], spec["hidden"], spec["outputs"]

    def normal(*shape, scale=0.5):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    stat_shape = (1, d) if spec["stats_row"] else (d, 1)
    mean = normal(*stat_shape, scale=1.0)
    std = (0.5 + 1.5 * rng.random(stat_shape)).astype(np.float32)
    w1, b1 = normal(h, d, scale=1.0), normal(h, 1)
    scale = (1.0 + normal(h, 1, scale=1.0)).astype(np.float32)
    offset = normal(h, 1)
    w2, b2 = normal(o, h, scale=1.0), normal(o, 1)
    x = rng.standard_normal((d, spec["batch"])).astype(np.float32)

    y = np.asarray(x, dtype=np.float64)
    mode = spec["normalization"]
    if mode != "none":
        y = ref.input_normalization(y, mode, mean, std)
    y = _activation(ref.fully_connected(y, w1, b1), spec["activation"])
    if spec["layernorm"]:
        y = ref.layernorm(y, scale, offset, spec["eps"])
    y = ref.fully_connected(y, w2, b2)
    if spec["softmax"]:
        y = ref.softmax_channels(y, axis=0)

    extra: dict[str, Any] = {}
    if mode != "none":
        extra["Mean"] = mean
    if mode == "zscore":
        extra["StandardDeviation"] = std
    layers = [_dlt_layer("features", "FeatureInputLayer", InputSize=_row([d]),
                         Normalization=mode, **extra),
              _dlt_layer("fc1", "FullyConnectedLayer", OutputSize=_row([h]),
                         InputSize=_row([d]), Weights=w1, Bias=b1),
              _dlt_activation("act", spec["activation"])]
    if spec["layernorm"]:
        layers.append(_dlt_layer("layernorm", "LayerNormalizationLayer",
                                 NumChannels=_row([h]), Scale=scale, Offset=offset,
                                 Epsilon=_row([spec["eps"]])))
    layers.append(_dlt_layer("fc2", "FullyConnectedLayer", OutputSize=_row([o]),
                             InputSize=_row([h]), Weights=w2, Bias=b2))
    if spec["softmax"]:
        layers.append(_dlt_layer("softmax", "SoftmaxLayer"))
    layers.append(_dlt_layer("out", "RegressionOutputLayer"))
    variables = {"format": "parity.dlt/1", "layers": cell(layers)}  # no connections: series
    return variables, x, y


# --- weights ------------------------------------------------------------------------------


def materialise(spec: dict[str, Any]) -> list[dict[str, np.ndarray]]:
    """Weights for the merge convs (first two entries when present) and every layer, in MATLAB
    layout, float32, derived from the spec's seed."""
    rng = np.random.default_rng(spec["seed"])
    height, width, channels = spec["input"]
    weights: list[dict[str, np.ndarray]] = []

    def normal(*shape, scale=0.5):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    if spec["merge"]:
        for filters in spec["merge"]["filters"]:
            weights.append({"w": normal(3, 3, channels, filters), "b": normal(filters)})
        merged = spec["merge"]["filters"]
        channels = merged[0] if spec["merge"]["kind"] == "sum" else sum(merged)
    for layer in spec["layers"]:
        kind = layer["kind"]
        if kind == "conv":
            kh, kw = layer["k"]
            weights.append({"w": normal(kh, kw, channels // layer["groups"], layer["filters"]),
                            "b": normal(layer["filters"]) if layer["bias"] else None})
        elif kind == "convt":
            kh, kw = layer["k"]
            weights.append({"w": normal(kh, kw, layer["filters"], channels),
                            "b": normal(layer["filters"])})
        elif kind == "bnorm":
            weights.append({"gain": normal(channels), "bias": normal(channels),
                            "mean": normal(channels),
                            "var": (0.5 + rng.random(channels)).astype(np.float32)})
        elif kind == "layernorm":  # per-channel Scale well away from 1 and from each other
            weights.append({"scale": (1.0 + normal(channels, scale=1.0)).astype(np.float32),
                            "offset": normal(channels)})
        elif kind == "fc":
            weights.append({"w": normal(layer["outputs"], height * width * channels),
                            "b": normal(layer["outputs"])})
        else:
            weights.append({})
        height, width, channels = output_size(layer, height, width, channels)
    return weights


def input_statistics(spec: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """Mean and StandardDeviation of a DLT image input layer with Normalization, H×W×C (per
    pixel) or 1×1×C (per channel), from the spec's seed (a stream of its own)."""
    norm = spec.get("normalization")
    if not norm:
        return None
    rng = np.random.default_rng(spec["seed"] + 2)
    height, width, channels = spec["input"]
    shape = (height, width, channels) if norm["per"] == "pixel" else (1, 1, channels)
    return {"mean": rng.standard_normal(shape).astype(np.float32),
            "std": (0.5 + 1.5 * rng.random(shape)).astype(np.float32)}


def input_batch(spec: dict[str, Any]) -> np.ndarray:
    """The input in MATLAB layout (H×W×C×N), with negative values so that −Inf max padding
    and zero padding differ."""
    rng = np.random.default_rng(spec["seed"] + 1)
    return rng.standard_normal(tuple(spec["input"]) + (spec["batch"],)).astype(np.float32)


# --- reference ----------------------------------------------------------------------------


def expected(spec: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """MATLAB's output for `x` (H×W×C×N): H×W×C×N, or O×N after a fully connected layer."""
    weights = list(materialise(spec))
    y = np.asarray(x, dtype=np.float64)
    stats = input_statistics(spec)
    if stats is not None:
        y = ref.input_normalization(y, spec["normalization"]["mode"], stats["mean"],
                                    stats["std"])
    if spec["merge"]:
        branches = [ref.conv(y, w["w"], w["b"], pad=(1, 1, 1, 1)) for w in weights[:2]]
        weights = weights[2:]
        y = branches[0] + branches[1] if spec["merge"]["kind"] == "sum" \
            else np.concatenate(branches, axis=2)
    for layer, w in zip(spec["layers"], weights, strict=True):
        kind = layer["kind"]
        if kind == "conv":
            y = ref.conv(y, w["w"], w["b"], layer["stride"], layer["pad"], layer["dilation"],
                         layer["groups"])
        elif kind == "convt":
            y = ref.convt(y, w["w"], w["b"], layer["upsample"], layer["crop"])
        elif kind == "pool":
            y = ref.pool(y, layer["method"], layer["k"], layer["stride"], layer["pad"],
                         layer["count_pad"])
        elif kind == "relu":
            y = ref.relu(y, layer["leak"])
        elif kind == "sigmoid":
            y = ref.sigmoid(y)
        elif kind == "softmax":
            y = ref.softmax_channels(y, axis=0 if y.ndim == 2 else 2)
        elif kind == "lrn":
            y = ref.lrn(y, layer["size"], layer["kappa"], layer["alpha"], layer["beta"])
        elif kind == "bnorm":
            y = ref.batchnorm(y, w["gain"], w["bias"], w["mean"],
                              np.sqrt(w["var"].astype(np.float64) + layer["eps"]))
        elif kind == "layernorm":
            y = ref.layernorm(y, w["scale"], w["offset"], layer["eps"])
        elif kind == "act":
            y = _activation(y, layer)
        elif kind == "gpool":
            y = ref.global_pool(y, layer["method"])
        elif kind == "flatten":
            y = ref.flatten(y)
        elif kind == "fc":
            y = ref.fully_connected(y if y.ndim == 2 else ref.flatten(y), w["w"], w["b"])
    return y


def _activation(y: np.ndarray, layer: dict[str, Any]) -> np.ndarray:
    fn = layer["fn"]
    if fn == "elu":
        return ref.elu(y, layer["alpha"])
    if fn == "clippedrelu":
        return ref.clipped_relu(y, layer["ceiling"])
    if fn == "swish":
        return ref.swish(y)
    if fn == "gelu":
        return ref.gelu(y, layer["approximation"] or "none")
    if fn == "tanh":
        return np.tanh(y)
    raise ValueError(f"no reference for activation {fn!r}")


# --- .mat variables per format ------------------------------------------------------------


def _row(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(1, -1)


def _matconvnet_fields(layer: dict[str, Any], w: dict[str, Any], eps_sigma=None):
    """(type, fields, weight arrays) in SimpleNN vocabulary."""
    kind = layer["kind"]
    if kind == "conv":
        arrays = [w["w"]] + ([w["b"].reshape(-1, 1)] if w["b"] is not None else [])
        return "conv", {"stride": _row(layer["stride"]), "pad": _row(layer["pad"]),
                        "dilate": _row(layer["dilation"])}, arrays
    if kind == "convt":
        return "convt", {"upsample": _row(layer["upsample"]), "crop": _row(layer["crop"]),
                         "numGroups": _row([1])}, [w["w"], w["b"].reshape(-1, 1)]
    if kind == "pool":
        return "pool", {"method": layer["method"], "pool": _row(layer["k"]),
                        "stride": _row(layer["stride"]), "pad": _row(layer["pad"])}, []
    if kind == "relu":
        return "relu", {"leak": _row([layer["leak"]])}, []
    if kind == "lrn":
        return "lrn", {"param": _row([layer["size"], layer["kappa"], layer["alpha"],
                                      layer["beta"]])}, []
    if kind == "bnorm":
        sigma = np.sqrt(w["var"].astype(np.float64) + layer["eps"]).astype(np.float32)
        moments = np.stack([w["mean"], sigma], axis=1)  # C×2 = [mean, sigma]
        return "bnorm", {"epsilon": _row([layer["eps"]])}, \
            [w["gain"].reshape(-1, 1), w["bias"].reshape(-1, 1), moments]
    if kind == "dropout":
        return "dropout", {"rate": _row([0.5])}, []
    return kind, {}, []


def to_simplenn(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["merge"]:
        raise ValueError("a SimpleNN network is a chain; it cannot hold a merge")
    items = []
    for i, (layer, w) in enumerate(zip(spec["layers"], materialise(spec), strict=True), 1):
        layer_type, fields, arrays = _matconvnet_fields(layer, w)
        item = {"type": layer_type, "name": f"{layer_type}{i}"}
        item.update(fields)
        item["weights"] = cell(arrays)
        items.append(item)
    # MatConvNet training nets end with a loss layer, which the importer must drop.
    items.append({"type": "softmaxloss", "name": "loss", "weights": cell([])})
    return {"net": {"layers": cell(items), "meta": {"inputSize": _row(spec["input"])}}}


def to_dagnn(spec: dict[str, Any]) -> dict[str, Any]:
    weights = materialise(spec)
    layers, params, var_names = [], [], ["input"]
    block_types = {"conv": "dagnn.Conv", "convt": "dagnn.ConvTranspose", "pool": "dagnn.Pooling",
                   "relu": "dagnn.ReLU", "sigmoid": "dagnn.Sigmoid", "softmax": "dagnn.SoftMax",
                   "lrn": "dagnn.LRN", "bnorm": "dagnn.BatchNorm", "dropout": "dagnn.DropOut",
                   "sum": "dagnn.Sum", "concat": "dagnn.Concat"}

    def add(name, layer_type, block, inputs, arrays):
        param_names = [f"{name}_p{k}" for k in range(1, len(arrays) + 1)]
        params.extend({"name": p, "value": a, "learningRate": _row([1])}
                      for p, a in zip(param_names, arrays, strict=True))
        if layer_type == "pool":
            block = dict(block)
            block["poolSize"] = block.pop("pool")
        layers.append({"name": name, "type": block_types[layer_type],
                       "inputs": cell(inputs), "outputs": cell([f"{name}_out"]),
                       "params": cell(param_names), "block": block})
        var_names.append(f"{name}_out")
        return f"{name}_out"

    current = "input"
    if spec["merge"]:
        branch_outputs = []
        for k, w in enumerate(weights[:2], start=1):
            branch_outputs.append(add(f"branch{k}", "conv",
                                      {"pad": _row([1, 1, 1, 1]), "stride": _row([1, 1]),
                                       "hasBias": np.array([[True]])},
                                      ["input"], [w["w"], w["b"].reshape(-1, 1)]))
        kind = spec["merge"]["kind"]
        current = add("merge", kind, {"dim": _row([3])} if kind == "concat" else {},
                      branch_outputs, [])
        weights = weights[2:]
    for i, (layer, w) in enumerate(zip(spec["layers"], weights, strict=True), 1):
        layer_type, fields, arrays = _matconvnet_fields(layer, w)
        if layer_type == "lrn":
            fields = {"param": fields["param"]}
        current = add(f"{layer_type}{i}", layer_type, fields, [current], arrays)
    layers.append({"name": "objective", "type": "dagnn.Loss", "inputs": cell([current, "label"]),
                   "outputs": cell(["objective"]), "params": cell([]),
                   "block": {"loss": "softmaxlog"}})
    var_names += ["label", "objective"]
    return {"net": {"layers": StructArray(layers), "params": StructArray(params, ["name", "value", "learningRate"]),
                    "vars": StructArray([{"name": v, "precious": np.array([[False]])}
                                         for v in var_names]),
                    "meta": {"inputSize": _row(spec["input"])}}}


def _dlt_layer(name: str, cls: str, **props) -> dict[str, Any]:
    item = {"Name": name, "Class": cls}
    item.update(props)
    return item


def to_dlt(spec: dict[str, Any]) -> dict[str, Any]:
    weights = materialise(spec)
    height, width, channels = spec["input"]
    stats = input_statistics(spec)
    if stats is None:
        layers = [_dlt_layer("input", "ImageInputLayer", InputSize=_row(spec["input"]),
                             Normalization="none")]
    else:
        mode = spec["normalization"]["mode"]
        extra = {"StandardDeviation": stats["std"]} if mode == "zscore" else {}
        layers = [_dlt_layer("input", "ImageInputLayer", InputSize=_row(spec["input"]),
                             Normalization=mode, Mean=stats["mean"], **extra)]
    connections: list[tuple[str, str]] = []
    current = "input"

    def add(item, sources):
        layers.append(item)
        for port, source in enumerate(sources, start=1):
            suffix = f"/in{port}" if len(sources) > 1 else ""
            connections.append((source, item["Name"] + suffix))
        return item["Name"]

    if spec["merge"]:
        names = []
        for k, w in enumerate(weights[:2], start=1):
            filters = w["w"].shape[3]
            names.append(add(_dlt_layer(
                f"branch{k}", "Convolution2DLayer", FilterSize=_row([3, 3]),
                NumChannels=_row([channels]), NumFilters=_row([filters]), Stride=_row([1, 1]),
                DilationFactor=_row([1, 1]), PaddingMode="manual",
                PaddingSize=_row([1, 1, 1, 1]), PaddingValue=_row([0]), Weights=w["w"],
                Bias=w["b"].reshape(1, 1, -1)), [current]))
        if spec["merge"]["kind"] == "sum":
            current = add(_dlt_layer("add", "AdditionLayer", NumInputs=_row([2])), names)
            channels = spec["merge"]["filters"][0]
        else:
            current = add(_dlt_layer("cat", "DepthConcatenationLayer", NumInputs=_row([2])),
                          names)
            channels = sum(spec["merge"]["filters"])
        weights = weights[2:]
    for i, (layer, w) in enumerate(zip(spec["layers"], weights, strict=True), 1):
        name = f"{layer['kind']}{i}"
        current = add(_dlt_item(name, layer, w, channels), [current])
        height, width, channels = output_size(layer, height, width, channels)
    add(_dlt_layer("regressionoutput", "RegressionOutputLayer"), [current])
    return {"format": "parity.dlt/1", "layers": cell(layers),
            "connections": _connections_cell(connections),
            "inputNames": cell(["input"]), "outputNames": cell(["regressionoutput"])}


def _connections_cell(connections: list[tuple[str, str]]) -> np.ndarray:
    out = np.empty((len(connections), 2), dtype=object)
    for k, (source, destination) in enumerate(connections):
        out[k, 0], out[k, 1] = source, destination
    return out


def _dlt_item(name: str, layer: dict[str, Any], w: dict[str, Any], channels: int):
    kind = layer["kind"]
    if kind == "conv":
        kh, kw = layer["k"]
        groups, filters = layer["groups"], layer["filters"]
        common = dict(FilterSize=_row([kh, kw]), Stride=_row(layer["stride"]),
                      DilationFactor=_row(layer["dilation"]), PaddingMode="manual",
                      PaddingSize=_row(layer["pad"]), PaddingValue=_row([0]))
        bias = w["b"] if w["b"] is not None else np.zeros(filters, np.float32)
        if groups == 1:
            return _dlt_layer(name, "Convolution2DLayer", NumChannels=_row([channels]),
                              NumFilters=_row([filters]), Weights=w["w"],
                              Bias=bias.reshape(1, 1, -1), **common)
        fpg = filters // groups
        # kH×kW×Cpg×F → kH×kW×Cpg×Fpg×G (filter g·Fpg + f is entry (f, g))
        grouped = w["w"].reshape(kh, kw, channels // groups, groups, fpg).transpose(0, 1, 2, 4, 3)
        return _dlt_layer(name, "GroupedConvolution2DLayer", NumGroups=_row([groups]),
                          NumChannelsPerGroup=_row([channels // groups]),
                          NumFiltersPerGroup=_row([fpg]), Weights=grouped,
                          Bias=bias.reshape(groups, fpg).T.reshape(1, 1, fpg, groups), **common)
    if kind == "convt":
        kh, kw = layer["k"]
        return _dlt_layer(name, "TransposedConvolution2DLayer", FilterSize=_row([kh, kw]),
                          NumChannels=_row([channels]), NumFilters=_row([layer["filters"]]),
                          Stride=_row(layer["upsample"]), CroppingMode="manual",
                          CroppingSize=_row(layer["crop"]), Weights=w["w"],
                          Bias=w["b"].reshape(1, 1, -1))
    if kind == "pool":
        common = dict(PoolSize=_row(layer["k"]), Stride=_row(layer["stride"]),
                      PaddingMode="manual", PaddingSize=_row(layer["pad"]))
        if layer["method"] == "max":
            return _dlt_layer(name, "MaxPooling2DLayer", **common)
        padding_value = _row([0]) if layer["count_pad"] else "mean"
        return _dlt_layer(name, "AveragePooling2DLayer", PaddingValue=padding_value, **common)
    if kind == "relu":
        if layer["leak"] == 0:
            return _dlt_layer(name, "ReLULayer")
        return _dlt_layer(name, "LeakyReLULayer", Scale=_row([layer["leak"]]))
    if kind == "sigmoid":
        return _dlt_layer(name, "SigmoidLayer")
    if kind == "softmax":
        return _dlt_layer(name, "SoftmaxLayer")
    if kind == "dropout":
        return _dlt_layer(name, "DropoutLayer", Probability=_row([0.5]))
    if kind == "lrn":  # MATLAB divides Alpha by the window size; MatConvNet does not
        return _dlt_layer(name, "CrossChannelNormalizationLayer",
                          WindowChannelSize=_row([layer["size"]]),
                          Alpha=_row([layer["alpha"] * layer["size"]]),
                          Beta=_row([layer["beta"]]), K=_row([layer["kappa"]]))
    if kind == "bnorm":
        return _dlt_layer(name, "BatchNormalizationLayer", NumChannels=_row([channels]),
                          TrainedMean=w["mean"].reshape(1, 1, -1),
                          TrainedVariance=w["var"].reshape(1, 1, -1),
                          Scale=w["gain"].reshape(1, 1, -1), Offset=w["bias"].reshape(1, 1, -1),
                          Epsilon=_row([layer["eps"]]))
    if kind == "fc":
        return _dlt_layer(name, "FullyConnectedLayer", OutputSize=_row([layer["outputs"]]),
                          InputSize=_row([w["w"].shape[1]]), Weights=w["w"],
                          Bias=w["b"].reshape(-1, 1))
    if kind == "layernorm":
        return _dlt_layer(name, "LayerNormalizationLayer", NumChannels=_row([channels]),
                          Scale=w["scale"].reshape(1, 1, -1),
                          Offset=w["offset"].reshape(1, 1, -1), Epsilon=_row([layer["eps"]]))
    if kind == "act":
        return _dlt_activation(name, layer)
    if kind == "gpool":
        cls = "GlobalMaxPooling2DLayer" if layer["method"] == "max" \
            else "GlobalAveragePooling2DLayer"
        return _dlt_layer(name, cls)
    if kind == "flatten":
        return _dlt_layer(name, "FlattenLayer")
    raise ValueError(f"no DLT layer for kind {kind!r}")


def _dlt_activation(name: str, layer: dict[str, Any]) -> dict[str, Any]:
    fn = layer["fn"]
    if fn == "elu":
        return _dlt_layer(name, "ELULayer", Alpha=_row([layer["alpha"]]))
    if fn == "clippedrelu":
        return _dlt_layer(name, "ClippedReLULayer", Ceiling=_row([layer["ceiling"]]))
    if fn == "swish":
        return _dlt_layer(name, "SwishLayer")
    if fn == "gelu":
        extra = {} if layer["approximation"] is None \
            else {"Approximation": layer["approximation"]}
        return _dlt_layer(name, "GELULayer", **extra)
    if fn == "tanh":
        return _dlt_layer(name, "TanhLayer")
    raise ValueError(f"no DLT layer for activation {fn!r}")


def to_format(spec: dict[str, Any], fmt: str) -> dict[str, Any]:
    return {SIMPLENN: to_simplenn, DAGNN: to_dagnn, DLT: to_dlt}[fmt](spec)


# --- sequence networks (DLT) --------------------------------------------------------------


def sequence_case(spec: dict[str, Any]):
    """(variables for a parity.dlt/1 file, input C×N×T, expected output in MATLAB layout)."""
    rng = np.random.default_rng(spec["seed"])
    d, h, kind = spec["features"], spec["hidden"], spec["kind"]
    gates = {"lstm": 4, "bilstm": 4, "gru": 3}[kind]
    directions = 2 if kind == "bilstm" else 1

    def normal(*shape):
        return (0.5 * rng.standard_normal(shape)).astype(np.float32)

    wi, wr = normal(directions * gates * h, d), normal(directions * gates * h, h)
    bias_rows = 6 * h if spec["reset_gate_mode"] == "recurrent-bias-after-multiplication" \
        else directions * gates * h
    bias = normal(bias_rows, 1)
    h0 = normal(directions * h, 1) if spec["initial_state"] else np.zeros((directions * h, 1),
                                                                          np.float32)
    c0 = normal(directions * h, 1) if spec["initial_state"] else np.zeros((directions * h, 1),
                                                                          np.float32)
    fc_w, fc_b = normal(spec["outputs"], directions * h), normal(spec["outputs"], 1)
    x = rng.standard_normal((d, spec["batch"], spec["steps"])).astype(np.float32)

    x64 = x.astype(np.float64)
    if kind == "gru":
        y = ref.gru(x64, wi, wr, bias, h0, spec["reset_gate_mode"])
    else:
        rows = gates * h
        parts = [ref.lstm(x64, wi[k * rows:(k + 1) * rows], wr[k * rows:(k + 1) * rows],
                          bias[k * rows:(k + 1) * rows], h0[k * h:(k + 1) * h],
                          c0[k * h:(k + 1) * h], reverse=k == 1) for k in range(directions)]
        y = np.concatenate(parts, axis=0)
    if spec["output_mode"] == "last":
        y = y[:, :, -1]
        out = fc_w @ y + fc_b
    else:
        out = np.einsum("oh,hnt->ont", fc_w, y) + fc_b.reshape(-1, 1, 1)

    cls = {"lstm": "LSTMLayer", "bilstm": "BiLSTMLayer", "gru": "GRULayer"}[kind]
    recurrent = _dlt_layer("rnn", cls, InputSize=_row([d]), NumHiddenUnits=_row([h]),
                           OutputMode=spec["output_mode"], StateActivationFunction="tanh",
                           GateActivationFunction="sigmoid", InputWeights=wi,
                           RecurrentWeights=wr, Bias=bias, HiddenState=h0)
    if kind != "gru":
        recurrent["CellState"] = c0
    else:
        recurrent["ResetGateMode"] = spec["reset_gate_mode"]
    layers = [_dlt_layer("seq", "SequenceInputLayer", InputSize=_row([d]),
                         Normalization="none"),
              recurrent,
              _dlt_layer("fc", "FullyConnectedLayer", OutputSize=_row([spec["outputs"]]),
                         Weights=fc_w, Bias=fc_b),
              _dlt_layer("out", "RegressionOutputLayer")]
    variables = {"format": "parity.dlt/1", "layers": cell(layers)}  # no connections: series
    return variables, x, out
