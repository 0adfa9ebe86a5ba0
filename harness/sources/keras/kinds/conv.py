"""Convolutions: Conv1D/2D/3D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose."""

from __future__ import annotations

from harness.core.registry import LayerKind, Picker, register
from harness.sources.keras.kinds._base import (
    BATCH,
    BOOLS_TRUE_FIRST,
    DATA_FORMATS,
    FUSED_ACTIVATIONS,
    channel_shape,
    draw_spatial,
    per_axis,
    register_per_rank,
)

CONV_DOMAINS = {
    "filters": [1, 2, 3, 4],
    "kernel_size": [1, 2, 3],
    "strides": [1, 2, 3],
    "padding": ["valid", "same"],
    "dilation_rate": [1, 2],
    "groups": [1, 2],
    "use_bias": BOOLS_TRUE_FIRST,
    "activation": FUSED_ACTIVATIONS,
    "data_format": DATA_FORMATS,
    "channels": [1, 2, 3],
    "batch": BATCH,
}


def _strides_and_dilation(pick: Picker, rank: int) -> tuple[list[int], list[int]]:
    """Keras rejects strides > 1 together with dilation > 1 in the same layer."""
    strides = per_axis(pick, "strides", rank)
    dilation = [1] * rank if max(strides) > 1 else per_axis(pick, "dilation_rate", rank)
    return strides, dilation


def _biased_case(pick: Picker, attrs: dict, spatial: list[int], data_format: str):
    """A convolution's case from its own attributes: use_bias, activation and data_format
    after them (drawn in that order), and its input's shape."""
    attrs = {**attrs, "use_bias": pick("use_bias"), "activation": pick("activation"),
             "data_format": data_format}
    return attrs, [channel_shape(pick("batch"), spatial, pick("channels"), data_format)]


def _draw_conv(rank: int, paddings: list[str]):
    def draw(pick: Picker):
        kernel = per_axis(pick, "kernel_size", rank)
        strides, dilation = _strides_and_dilation(pick, rank)
        padding = pick("padding", paddings)
        groups = pick("groups")
        filters = pick("filters") * groups
        channels = pick("channels") * groups
        data_format = "channels_last" if padding == "causal" else pick("data_format")
        effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
        spatial = draw_spatial(pick, effective)
        attrs = {
            "filters": filters,
            "kernel_size": kernel,
            "strides": strides,
            "padding": padding,
            "dilation_rate": dilation,
            "groups": groups,
            "use_bias": pick("use_bias"),
            "activation": pick("activation"),
            "data_format": data_format,
        }
        return attrs, [channel_shape(pick("batch"), spatial, channels, data_format)]

    return draw


for _rank, _paddings in ((1, ["valid", "same", "causal"]), (2, ["valid", "same"]), (3, ["valid", "same"])):
    _name = f"Conv{_rank}D"
    register(
        LayerKind(
            name=_name,
            family="conv",
            domains={**CONV_DOMAINS, "padding": _paddings},
            draw=_draw_conv(_rank, _paddings),
        )
    )

DEPTHWISE_DOMAINS = {
    **{k: CONV_DOMAINS[k] for k in ("kernel_size", "strides", "padding", "dilation_rate")},
    "depth_multiplier": [1, 2, 3],
    "use_bias": BOOLS_TRUE_FIRST,
    "activation": FUSED_ACTIVATIONS,
    "data_format": DATA_FORMATS,
    "channels": [1, 2, 3, 4],
    "batch": BATCH,
}


def _draw_depthwise_like(rank: int, separable: bool):
    """Depthwise convolutions, and separable ones which add a pointwise conv with ``filters``."""

    def draw(pick: Picker):
        kernel = per_axis(pick, "kernel_size", rank)
        if rank == 2 and not separable:
            # DepthwiseConv2D, unlike the other kinds, accepts strides and dilation together.
            strides = per_axis(pick, "strides", rank)
            dilation = per_axis(pick, "dilation_rate", rank)
        else:
            strides, dilation = _strides_and_dilation(pick, rank)
        data_format = pick("data_format")
        spatial = draw_spatial(pick, [(k - 1) * d + 1 for k, d in zip(kernel, dilation)])
        attrs = {
            **({"filters": pick("filters")} if separable else {}),
            "kernel_size": kernel,
            "strides": strides,
            "padding": pick("padding"),
            "depth_multiplier": pick("depth_multiplier"),
            "dilation_rate": dilation,
        }
        return _biased_case(pick, attrs, spatial, data_format)

    return draw


# Keras 3 accepts padding="causal" for Conv1D only, not for the depthwise/separable kinds.
for _rank in (1, 2):
    register(
        LayerKind(
            name=f"DepthwiseConv{_rank}D",
            family="conv",
            domains=DEPTHWISE_DOMAINS,
            draw=_draw_depthwise_like(_rank, separable=False),
        )
    )
    register(
        LayerKind(
            name=f"SeparableConv{_rank}D",
            family="conv",
            domains={**DEPTHWISE_DOMAINS, "filters": CONV_DOMAINS["filters"]},
            draw=_draw_depthwise_like(_rank, separable=True),
        )
    )

TRANSPOSE_DOMAINS = {
    **{k: v for k, v in CONV_DOMAINS.items() if k != "groups"},
    "output_padding": [None, 0, 1, 2],
}


def _transpose_minimum(kernel: list[int], dilation: list[int], padding: str,
                       output_padding: list[int] | None) -> list[int]:
    """The least input length per axis whose output is not empty. With padding='same' and an
    explicit output_padding, Keras asks for (in - 1) * stride + k - 2 * (k // 2) +
    output_padding (k the dilated kernel): 0 for an even k, output_padding 0 and an input of
    length 1, a zero-size output (Keras gives (1, 0, 1) for Conv1DTranspose(1, 2, strides=2)
    on (1, 1, 1)) that no leg can be judged on. At longer inputs the same layer is ill-formed,
    refused by TensorFlow: keras-conv-transpose-same-output-padding-length pins that."""
    if padding != "same" or output_padding is None:
        return [1] * len(kernel)
    return [2 if ((k - 1) * d + 1) % 2 == 0 and p == 0 else 1
            for k, d, p in zip(kernel, dilation, output_padding)]


def _draw_transpose(rank: int):
    def draw(pick: Picker):
        kernel = per_axis(pick, "kernel_size", rank)
        strides, dilation = _strides_and_dilation(pick, rank)
        padding = pick("padding")
        # Keras requires output_padding < stride on every axis; None lets Keras infer it.
        output_padding = pick("output_padding")
        if output_padding is not None:
            output_padding = [
                pick("output_padding", [p for p in TRANSPOSE_DOMAINS["output_padding"][1:] if p < s])
                for s in strides
            ]
        data_format = pick("data_format")
        spatial = draw_spatial(pick, [1] * rank, slack=4 if rank < 3 else 2)
        # raised, not drawn from the minimum up: every other draw keeps its sizes
        spatial = [max(size, least) for size, least in
                   zip(spatial, _transpose_minimum(kernel, dilation, padding, output_padding))]
        attrs = {
            "filters": pick("filters"),
            "kernel_size": kernel,
            "strides": strides,
            "padding": padding,
            "output_padding": output_padding,
            "dilation_rate": dilation,
        }
        return _biased_case(pick, attrs, spatial, data_format)

    return draw


register_per_rank("Conv{rank}DTranspose", "conv", TRANSPOSE_DOMAINS, _draw_transpose)
