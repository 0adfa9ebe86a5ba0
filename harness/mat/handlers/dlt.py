"""Handlers for Deep Learning Toolbox layer classes (the `parity.dlt/1` schema)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from harness.mat import modules
from harness.mat.handlers.params import (
    array,
    check_shape,
    fail,
    flat,
    floats,
    ints,
    scalar,
    tensor,
    vector,
    word,
)
from harness.mat.handlers.table import builtin
from harness.mat.layout import (
    conv_weight_to_torch,
    convt_weight_to_torch,
    grouped_conv_weight_to_torch,
)
from harness.mat.network import Layer


def _padding(layer: Layer) -> tuple[list[int], bool]:
    mode = word(layer, "PaddingMode", "manual")
    if mode == "same":
        return [0, 0, 0, 0], True
    return ints(layer, "PaddingSize", 4, default=0), False


def _pad_value(layer: Layer) -> float:
    value = layer.attrs.get("PaddingValue", 0.0)
    if isinstance(value, str):
        raise fail(layer, f"PaddingValue '{value}' is not supported (numeric values only)")
    return scalar(layer, "PaddingValue", 0.0)


def _filter_size(layer: Layer) -> list[int]:
    return ints(layer, "FilterSize", 2)


@builtin("ImageInputLayer", "FeatureInputLayer", "SequenceInputLayer")
def input_layer(layer: Layer) -> nn.Module:
    mode = word(layer, "Normalization", "none")
    if mode == "none":
        return nn.Identity()
    image = layer.type == "ImageInputLayer"

    def stat(key: str) -> np.ndarray:
        value = array(layer, key, 3 if image else 2)
        # Images: H×W×C (or 1×1×C) → C×H×W; features/sequences: C×1 → C (last axis).
        return value.transpose(2, 0, 1) if image else value.ravel(order="F")

    if mode == "zerocenter":
        shift, factor = stat("Mean"), np.ones(1)
    elif mode == "zscore":
        shift, factor = stat("Mean"), 1.0 / stat("StandardDeviation")
    elif mode == "rescale-zero-one":
        low, high = stat("Min"), stat("Max")
        shift, factor = low, 1.0 / (high - low)
    elif mode == "rescale-symmetric":
        low, high = stat("Min"), stat("Max")
        # 2(x − min)/(max − min) − 1 = (x − (max + min)/2) · 2/(max − min)
        shift, factor = (high + low) / 2, 2.0 / (high - low)
    else:
        raise fail(layer, f"Normalization '{mode}' is not supported")
    return modules.InputNormalization(tensor(shift), tensor(np.asarray(factor)), mode)


@builtin("Convolution2DLayer")
def convolution(layer: Layer) -> nn.Module:
    weights = array(layer, "Weights", 4)
    kh, kw = _filter_size(layer)
    channels = int(scalar(layer, "NumChannels", weights.shape[2]))
    filters = int(scalar(layer, "NumFilters", weights.shape[3]))
    check_shape(layer, "Weights", weights.shape, (kh, kw, channels, filters))
    bias = flat(layer, "Bias", filters, required=False)
    padding, same = _padding(layer)
    return modules.Conv2d(tensor(conv_weight_to_torch(weights)),
                          None if bias is None else tensor(bias),
                          stride=ints(layer, "Stride", 2, default=1), padding=padding,
                          dilation=ints(layer, "DilationFactor", 2, default=1), groups=1,
                          same=same, pad_value=_pad_value(layer))


@builtin("GroupedConvolution2DLayer")
def grouped_convolution(layer: Layer) -> nn.Module:
    weights = array(layer, "Weights", 5)
    kh, kw = _filter_size(layer)
    groups = int(scalar(layer, "NumGroups", weights.shape[4]))
    per_group = int(scalar(layer, "NumChannelsPerGroup", weights.shape[2]))
    filters = int(scalar(layer, "NumFiltersPerGroup", weights.shape[3]))
    check_shape(layer, "Weights", weights.shape, (kh, kw, per_group, filters, groups))
    bias = array(layer, "Bias", 4, required=False)
    if bias is not None:  # 1×1×Fpg×G; PyTorch's output channel is g·Fpg + f
        check_shape(layer, "Bias", bias.shape, (1, 1, filters, groups))
        bias = bias[0, 0].T.reshape(-1)
    padding, same = _padding(layer)
    return modules.Conv2d(tensor(grouped_conv_weight_to_torch(weights)),
                          None if bias is None else tensor(bias),
                          stride=ints(layer, "Stride", 2, default=1), padding=padding,
                          dilation=ints(layer, "DilationFactor", 2, default=1), groups=groups,
                          same=same, pad_value=_pad_value(layer))


@builtin("TransposedConvolution2DLayer")
def transposed_convolution(layer: Layer) -> nn.Module:
    weights = array(layer, "Weights", 4)  # kH×kW×Cout×Cin
    kh, kw = _filter_size(layer)
    channels = int(scalar(layer, "NumChannels", weights.shape[3]))
    filters = int(scalar(layer, "NumFilters", weights.shape[2]))
    check_shape(layer, "Weights", weights.shape, (kh, kw, filters, channels))
    bias = flat(layer, "Bias", filters, required=False)
    if word(layer, "CroppingMode", "manual") == "same":
        raise fail(layer, "CroppingMode 'same' is not supported; export the network after "
                          "assembly so that CroppingSize holds the actual cropping")
    crop = ints(layer, "CroppingSize", 4, default=0)
    return modules.ConvTranspose2d(tensor(convt_weight_to_torch(weights)),
                                   None if bias is None else tensor(bias),
                                   stride=ints(layer, "Stride", 2, default=1), crop=crop)


@builtin("FullyConnectedLayer")
def fully_connected(layer: Layer) -> nn.Module:
    weights = array(layer, "Weights", 2)
    outputs = int(scalar(layer, "OutputSize", weights.shape[0]))
    declared_inputs = layer.attrs.get("InputSize")
    inputs = weights.shape[1]
    if declared_inputs is not None and floats(layer, "InputSize", [inputs]) != [inputs]:
        inputs = int(scalar(layer, "InputSize"))
    check_shape(layer, "Weights", weights.shape, (outputs, inputs))
    bias = flat(layer, "Bias", outputs, required=False)
    module = modules.FullyConnected(inputs, outputs, bias=bias is not None)
    module.weight.data = tensor(weights)
    if bias is not None:
        module.bias.data = tensor(bias)
    return module


@builtin("BatchNormalizationLayer")
def batch_normalization(layer: Layer) -> nn.Module:
    mean = flat(layer, "TrainedMean")
    channels = int(scalar(layer, "NumChannels", mean.size))
    module = modules.BatchNorm(channels, eps=scalar(layer, "Epsilon", 1e-5))
    module.running_mean.data = tensor(flat(layer, "TrainedMean", channels))
    module.running_var.data = tensor(flat(layer, "TrainedVariance", channels))
    module.weight.data = tensor(flat(layer, "Scale", channels))
    module.bias.data = tensor(flat(layer, "Offset", channels))
    return module.eval()


@builtin("LayerNormalizationLayer")
def layer_normalization(layer: Layer) -> nn.Module:
    scale = flat(layer, "Scale")
    channels = int(scalar(layer, "NumChannels", scale.size))
    return modules.LayerNorm(tensor(flat(layer, "Scale", channels)),
                             tensor(flat(layer, "Offset", channels)),
                             eps=scalar(layer, "Epsilon", 1e-5))


@builtin("ReLULayer")
def relu(layer: Layer) -> nn.Module:
    return nn.ReLU()


@builtin("LeakyReLULayer")
def leaky_relu(layer: Layer) -> nn.Module:
    return nn.LeakyReLU(scalar(layer, "Scale", 0.01))


@builtin("ClippedReLULayer")
def clipped_relu(layer: Layer) -> nn.Module:
    return nn.Hardtanh(0.0, scalar(layer, "Ceiling"))


@builtin("ELULayer")
def elu(layer: Layer) -> nn.Module:
    return nn.ELU(scalar(layer, "Alpha", 1.0))


@builtin("TanhLayer")
def tanh(layer: Layer) -> nn.Module:
    return nn.Tanh()


@builtin("SigmoidLayer")
def sigmoid(layer: Layer) -> nn.Module:
    return nn.Sigmoid()


@builtin("SwishLayer")
def swish(layer: Layer) -> nn.Module:
    return nn.SiLU()


@builtin("GELULayer")
def gelu(layer: Layer) -> nn.Module:
    approximation = word(layer, "Approximation", "none")
    if approximation not in ("none", "tanh"):
        raise fail(layer, f"Approximation '{approximation}' is not supported")
    return nn.GELU(approximate=approximation)


@builtin("SoftmaxLayer")
def softmax(layer: Layer) -> nn.Module:
    return modules.Softmax()


@builtin("MaxPooling2DLayer", "AveragePooling2DLayer")
def pooling(layer: Layer) -> nn.Module:
    kernel = ints(layer, "PoolSize", 2)
    padding, same = _padding(layer)
    is_max = layer.type == "MaxPooling2DLayer"
    count_padding = False
    if not is_max:
        value = layer.attrs.get("PaddingValue", 0.0)
        # PaddingValue 0 averages the padded zeros in; 'mean' leaves them out.
        count_padding = not (isinstance(value, str) and value == "mean")
        if not count_padding and not isinstance(value, str):
            raise fail(layer, f"PaddingValue {value!r} must be 0 or 'mean'")
        if count_padding and scalar(layer, "PaddingValue", 0.0) != 0:
            raise fail(layer, "PaddingValue must be 0 or 'mean'")
    return modules.Pool2d("max" if is_max else "avg", kernel,
                          ints(layer, "Stride", 2, default=1), padding,
                          count_include_pad=count_padding, same=same)


@builtin("GlobalAveragePooling2DLayer")
def global_average_pooling(layer: Layer) -> nn.Module:
    return modules.GlobalPool2d("avg")


@builtin("GlobalMaxPooling2DLayer")
def global_max_pooling(layer: Layer) -> nn.Module:
    return modules.GlobalPool2d("max")


@builtin("DropoutLayer")
def dropout(layer: Layer) -> nn.Module:
    return nn.Dropout(scalar(layer, "Probability", 0.5))


@builtin("AdditionLayer")
def addition(layer: Layer) -> nn.Module:
    return modules.Sum()


@builtin("ConcatenationLayer")
def concatenation(layer: Layer) -> nn.Module:
    dim = int(scalar(layer, "Dim", 3))
    if dim != 3:
        raise fail(layer, f"concatenation along MATLAB dimension {dim} is not supported "
                          "(only 3, the channels)")
    return modules.ChannelConcat()


@builtin("DepthConcatenationLayer")
def depth_concatenation(layer: Layer) -> nn.Module:
    return modules.ChannelConcat()


@builtin("FlattenLayer")
def flatten(layer: Layer) -> nn.Module:
    return modules.Flatten()


@builtin("CrossChannelNormalizationLayer")
def cross_channel_normalization(layer: Layer) -> nn.Module:
    size = int(scalar(layer, "WindowChannelSize", 5))
    if size % 2 == 0:
        raise fail(layer, f"WindowChannelSize {size} is even; only odd windows are supported")
    # MATLAB divides Alpha by the window size; the module's alpha multiplies the plain sum.
    return modules.CrossChannelNorm(size, alpha=scalar(layer, "Alpha", 1e-4) / size,
                                    beta=scalar(layer, "Beta", 0.75), k=scalar(layer, "K", 2.0))


def _recurrent_common(layer: Layer, gates: int, directions: int) -> tuple:
    for key, expected in (("StateActivationFunction", "tanh"),
                          ("GateActivationFunction", "sigmoid")):
        if word(layer, key, expected) != expected:
            raise fail(layer, f"{key} '{word(layer, key)}' is not supported "
                              f"(only '{expected}')")
    recurrent = array(layer, "RecurrentWeights", 2)
    hidden = int(scalar(layer, "NumHiddenUnits", recurrent.shape[1]))
    input_weights = array(layer, "InputWeights", 2)
    check_shape(layer, "InputWeights", input_weights.shape,
                (directions * gates * hidden, input_weights.shape[1]))
    check_shape(layer, "RecurrentWeights", recurrent.shape,
                (directions * gates * hidden, hidden))
    mode = word(layer, "OutputMode", "sequence")
    if mode not in ("sequence", "last"):
        raise fail(layer, f"OutputMode '{mode}' is not supported")
    return input_weights, recurrent, hidden, mode == "last"


def _initial_state(layer: Layer, key: str, hidden: int, directions: int) -> torch.Tensor:
    value = flat(layer, key, directions * hidden, required=False)
    if value is None:
        return torch.zeros(directions, hidden)
    return tensor(value.reshape(directions, hidden))


def _lstm(layer: Layer, directions: int) -> nn.Module:
    input_weights, recurrent, hidden, last = _recurrent_common(layer, 4, directions)
    bias = flat(layer, "Bias", directions * 4 * hidden)
    lstm = nn.LSTM(input_weights.shape[1], hidden, batch_first=True,
                   bidirectional=directions == 2)
    rows = 4 * hidden
    for d, suffix in enumerate(["", "_reverse"][:directions]):
        # MATLAB's gate order [i f g o] is PyTorch's; MATLAB has one bias, so bias_hh = 0.
        getattr(lstm, f"weight_ih_l0{suffix}").data = tensor(input_weights[d * rows:(d + 1) * rows])
        getattr(lstm, f"weight_hh_l0{suffix}").data = tensor(recurrent[d * rows:(d + 1) * rows])
        getattr(lstm, f"bias_ih_l0{suffix}").data = tensor(bias[d * rows:(d + 1) * rows])
        getattr(lstm, f"bias_hh_l0{suffix}").data = torch.zeros(rows)
    return modules.LSTM(lstm, _initial_state(layer, "HiddenState", hidden, directions),
                        _initial_state(layer, "CellState", hidden, directions), last)


@builtin("LSTMLayer")
def lstm(layer: Layer) -> nn.Module:
    return _lstm(layer, 1)


@builtin("BiLSTMLayer")
def bilstm(layer: Layer) -> nn.Module:
    return _lstm(layer, 2)


@builtin("GRULayer")
def gru(layer: Layer) -> nn.Module:
    input_weights, recurrent, hidden, last = _recurrent_common(layer, 3, 1)
    mode = word(layer, "ResetGateMode", "after-multiplication")
    raw_bias = flat(layer, "Bias")
    if mode == "recurrent-bias-after-multiplication":
        bias = vector(layer, raw_bias, 6 * hidden, "Bias")
        bias_ih, bias_hh = bias[:3 * hidden], bias[3 * hidden:]
    elif mode in ("after-multiplication", "before-multiplication"):
        bias_ih = vector(layer, raw_bias, 3 * hidden, "Bias")
        bias_hh = np.zeros(3 * hidden)
    else:
        raise fail(layer, f"ResetGateMode '{mode}' is not supported")
    return modules.GRU(tensor(input_weights), tensor(recurrent), tensor(bias_ih),
                       tensor(bias_hh), _initial_state(layer, "HiddenState", hidden, 1)[0],
                       last=last, reset_before=mode == "before-multiplication")
