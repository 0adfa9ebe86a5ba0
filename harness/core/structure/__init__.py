"""Structural checks that recognise a known issue by its cause, not by one wording of it.

A known-issue entry may name one (``structure = "NAME"`` in its TOML): a function of the ONNX
model the leg's stage was given (``received``) and the one it wrote (``produced``, None where
it wrote none) that says whether the root cause is there, whatever the failure's message.
One root cause produces many messages (onnxslim's squeeze of a fed-axes Squeeze is refused at
load as "Input rank must be >= 1" before a Softmax, as "'axis' must be in [-1 , 0]" with two
channels, as a buffer mismatch at run time); what the rewritten graph changed is the same.

One module per family of checks, as the sections of a known-issue file run: what a stage
changed (``stage_rewrites``), where a rewriter's bug can be (``rewriter_motifs``), a node
converter's (``node_converters``), a reading's (``readings``), a converter's rounding
(``rounding``); what they read of a model is in ``models``. The import list below is the
registry.

A check reads the models and nothing else; it returns False where it cannot tell (no
produced model, a model it cannot read), so the entry's message still decides there.
"""

from __future__ import annotations

from harness.core.structure.models import Check
from harness.core.structure.node_converters import (
    conv_transpose_output_shape,
    flatten_axis_at_an_end,
    gather_axis_negative,
    max_pool_ceil_mode,
    pool_ceil_mode_overhang_of_two,
    pool_same_stride_over_kernel,
    pool_window_of_padding_only,
    prelu_slope_read_as_channels,
    reduce_axes_with_a_negative,
    selu_constants_not_default,
    squeeze_axes_with_a_negative,
    unsqueeze_axes_with_a_negative,
)
from harness.core.structure.readings import (
    cast_to_float16_read_by_a_node,
    max_unpool_output_shape_not_inferred,
    resize_nearest_floor_on_a_whole_coordinate,
    shape_end_wraps_past_the_front,
)
from harness.core.structure.rewriter_motifs import (
    fed_shape_operand,
    resize_with_axes,
    slice_read_by_a_slice_without_steps,
    squeeze_of_squeeze_negative_axes,
    zero_pad_before_maxpool,
)
from harness.core.structure.rounding import epsilon_left_to_default, resize_scale_just_short
from harness.core.structure.stage_rewrites import (
    calls_a_local_function,
    constant_of_rank_three_over_space,
    conv_scale_not_per_channel,
    conv_weight_fed,
    det_of_rank_four_or_more,
    expand_fed_to_a_higher_rank,
    fed_input_dropped,
    fed_inputs_of_different_ranks,
    fed_operand_shape_invented,
    gather_drops_the_batch_on_channel_last,
    gathernd_past_the_batch_on_channel_last,
    graph_output_an_initializer,
    graph_output_reshaped_for_a_lost_squeeze,
    graph_outputs_not_whole_nodes,
    layer_norm_chain_misread,
    layer_norm_epsilon_first,
    lp_pool_not_euclidean_over_two_axes,
    matmul_bias_expands_output,
    matmul_bias_not_a_linear_bias,
    matmul_constant_first,
    max_unpool_of_more_than_one_channel,
    mvn_of_rank_two_off_the_batch,
    nms_score_threshold_given,
    nms_score_threshold_omitted,
    onehot_axis_inside_channel_last,
    onehot_negative_axis_kept_layout,
    outputs_inferred_otherwise,
    per_channel_constant_beside_a_unit_or_channel_sized_axis,
    reshape_of_reshape_copies_a_dim,
    shape_slice_out_of_range,
    slice_axes_fed,
    slice_with_a_negative_step,
    slice_with_a_step_not_one,
    split_into_one,
    square_input_after_the_batch,
    topk_fed_k_on_channel_last,
)

CHECKS: dict[str, Check] = {
    "shape-slice-out-of-range": shape_slice_out_of_range,
    "fed-operand-shape-invented": fed_operand_shape_invented,
    "fed-input-dropped": fed_input_dropped,
    "matmul-constant-first": matmul_constant_first,
    "split-into-one": split_into_one,
    "graph-outputs-not-whole-nodes": graph_outputs_not_whole_nodes,
    "layer-norm-chain-misread": layer_norm_chain_misread,
    "layer-norm-epsilon-first": layer_norm_epsilon_first,
    "nms-score-threshold-omitted": nms_score_threshold_omitted,
    "nms-score-threshold-given": nms_score_threshold_given,
    "onehot-axis-inside-channel-last": onehot_axis_inside_channel_last,
    "conv-scale-not-per-channel": conv_scale_not_per_channel,
    "onehot-negative-axis-kept-layout": onehot_negative_axis_kept_layout,
    "topk-fed-k-on-channel-last": topk_fed_k_on_channel_last,
    "gather-drops-the-batch-on-channel-last": gather_drops_the_batch_on_channel_last,
    "gathernd-past-the-batch-on-channel-last": gathernd_past_the_batch_on_channel_last,
    "graph-output-an-initializer": graph_output_an_initializer,
    "calls-a-local-function": calls_a_local_function,
    "graph-output-reshaped-for-a-lost-squeeze": graph_output_reshaped_for_a_lost_squeeze,
    "pool-same-stride-over-kernel": pool_same_stride_over_kernel,
    "slice-with-a-negative-step": slice_with_a_negative_step,
    "slice-with-a-step-not-one": slice_with_a_step_not_one,
    "slice-read-by-a-slice-without-steps": slice_read_by_a_slice_without_steps,
    "det-of-rank-four-or-more": det_of_rank_four_or_more,
    "square-input-after-the-batch": square_input_after_the_batch,
    "slice-axes-fed": slice_axes_fed,
    "conv-weight-fed": conv_weight_fed,
    "expand-fed-to-a-higher-rank": expand_fed_to_a_higher_rank,
    "fed-inputs-of-different-ranks": fed_inputs_of_different_ranks,
    "max-unpool-of-more-than-one-channel": max_unpool_of_more_than_one_channel,
    "constant-of-rank-three-over-space": constant_of_rank_three_over_space,
    "per-channel-constant-beside-a-unit-or-channel-sized-axis": per_channel_constant_beside_a_unit_or_channel_sized_axis,
    "lp-pool-not-euclidean-over-two-axes": lp_pool_not_euclidean_over_two_axes,
    "mvn-of-rank-two-off-the-batch": mvn_of_rank_two_off_the_batch,
    "outputs-inferred-otherwise": outputs_inferred_otherwise,
    "matmul-bias-expands-output": matmul_bias_expands_output,
    "matmul-bias-not-a-linear-bias": matmul_bias_not_a_linear_bias,
    "reshape-of-reshape-copies-a-dim": reshape_of_reshape_copies_a_dim,
    "fed-shape-operand": fed_shape_operand,
    "squeeze-of-squeeze-negative-axes": squeeze_of_squeeze_negative_axes,
    "zero-pad-before-maxpool": zero_pad_before_maxpool,
    "resize-with-axes": resize_with_axes,
    "reduce-axes-with-a-negative": reduce_axes_with_a_negative,
    "squeeze-axes-with-a-negative": squeeze_axes_with_a_negative,
    "unsqueeze-axes-with-a-negative": unsqueeze_axes_with_a_negative,
    "flatten-axis-at-an-end": flatten_axis_at_an_end,
    "gather-axis-negative": gather_axis_negative,
    "max-pool-ceil-mode": max_pool_ceil_mode,
    "conv-transpose-output-shape": conv_transpose_output_shape,
    "selu-constants-not-default": selu_constants_not_default,
    "prelu-slope-read-as-channels": prelu_slope_read_as_channels,
    "pool-window-of-padding-only": pool_window_of_padding_only,
    "pool-ceil-mode-overhang-of-two": pool_ceil_mode_overhang_of_two,
    "resize-nearest-floor-on-a-whole-coordinate": resize_nearest_floor_on_a_whole_coordinate,
    "shape-end-wraps-past-the-front": shape_end_wraps_past_the_front,
    "cast-to-float16-read-by-a-node": cast_to_float16_read_by_a_node,
    "epsilon-left-to-default": epsilon_left_to_default,
    "resize-scale-just-short": resize_scale_just_short,
    "max-unpool-output-shape-not-inferred": max_unpool_output_shape_not_inferred,
}


def holds(name: str, received, produced) -> bool:
    return CHECKS[name](received, produced)
