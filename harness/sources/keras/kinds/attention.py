"""Attention: MultiHeadAttention, GroupQueryAttention, Attention and AdditiveAttention.

All take several tensors and call-time options (a causal mask, returning the attention
scores), so they are built inside a small wrapper layer that unpacks the model's inputs and
passes the call options. ``inputs`` picks the form: 1 self-attention (query = value = key),
2 cross-attention (query, value), 3 cross-attention with a separate key.
"""

from __future__ import annotations

from hypothesis import strategies as st

from harness.core.registry import LayerKind, Picker, register
from harness.runtimes.keras_custom import call_with_class
from harness.sources.keras.kinds._base import BATCH, BOOLS_FALSE_FIRST, BOOLS_TRUE_FIRST

# Arguments of the layer's call, not its constructor.
CALL_ARGS = ("use_causal_mask", "return_attention_scores")

def _split_call_args(attrs: dict) -> tuple[dict, dict]:
    call = {k: attrs.pop(k) for k in CALL_ARGS if k in attrs}
    return attrs, call


def _register_attention(name: str, layer_name: str, domains, draw, *, unpack: bool) -> None:
    """The kind of ``keras.layers.<name>``, built inside the wrapper layer that passes its call
    arguments (and unpacks the model's inputs into query, value, key where ``unpack``)."""

    def build(attrs: dict):
        import keras

        attrs, call = _split_call_args(attrs)
        inner = getattr(keras.layers, name)(**attrs, name=layer_name)
        return call_with_class()(inner, call, unpack=unpack, name=f"call_{layer_name}")

    register(LayerKind(name=name, family="attention", domains=domains, draw=draw, build=build,
                       doc="use_causal_mask and return_attention_scores are call arguments."))


MHA_DOMAINS = {
    "num_heads": [1, 2],
    "key_dim": [1, 2, 3, 4],
    "value_dim": [None, 1, 2, 3],
    "use_bias": BOOLS_TRUE_FIRST,
    "output_shape": [None, 1, 2, 3],
    "attention_axes": [None, [1], [2], [1, 2]],
    "use_causal_mask": BOOLS_FALSE_FIRST,
    "return_attention_scores": BOOLS_FALSE_FIRST,
    "inputs": [1, 2, 3],
    "rank": [3, 4],
    "channels": [1, 2, 3, 4],
    "batch": BATCH,
}


def _draw_mha(pick: Picker):
    batch, n_inputs, rank = pick("batch"), pick("inputs"), pick("rank")
    steps = lambda: [1 + pick.draw(st.integers(0, 3)) for _ in range(rank - 2)]  # noqa: E731
    query = (batch, *steps(), pick("channels"))
    shapes = [query]
    if n_inputs >= 2:
        value_steps = steps()
        shapes.append((batch, *value_steps, pick("channels")))
        if n_inputs == 3:
            shapes.append((batch, *value_steps, pick("channels")))
    axes = pick("attention_axes", [a for a in MHA_DOMAINS["attention_axes"]
                                   if a is None or max(a) <= rank - 2])
    if rank == 4 and axes is not None and len(axes) == 1:
        # The axes not attended over are batch-like: query and value must agree on them.
        other = 3 - axes[0]
        shapes = [s[:other] + (query[other],) + s[other + 1:] for s in shapes]
    attrs = {
        "num_heads": pick("num_heads"),
        "key_dim": pick("key_dim"),
        "value_dim": pick("value_dim"),
        "use_bias": pick("use_bias"),
        "output_shape": pick("output_shape"),
        "attention_axes": axes,
        # Keras builds the causal mask over the first sequence axis only.
        "use_causal_mask": pick("use_causal_mask") if rank == 3 else False,
        "return_attention_scores": pick("return_attention_scores"),
    }
    return attrs, shapes


_register_attention("MultiHeadAttention", "multi_head_attention", MHA_DOMAINS, _draw_mha,
                   unpack=True)

ATTENTION_DOMAINS = {
    "use_scale": BOOLS_FALSE_FIRST,
    "score_mode": ["dot", "concat"],
    "use_causal_mask": BOOLS_FALSE_FIRST,
    "return_attention_scores": BOOLS_FALSE_FIRST,
    "inputs": [2, 3],
    "channels": [1, 2, 3, 4],
    "batch": BATCH,
}


def _attention_draw(options: tuple[str, ...]):
    """The draw of Attention or AdditiveAttention: the inputs' shapes, then ``options``."""

    def draw(pick: Picker):
        shapes = _attention_shapes(pick)
        return {name: pick(name) for name in options}, shapes

    return draw


_register_attention("Attention", "attention", ATTENTION_DOMAINS,
                    _attention_draw(("use_scale", "score_mode", "use_causal_mask",
                                     "return_attention_scores")), unpack=False)


def _attention_shapes(pick: Picker) -> list[tuple[int, ...]]:
    """(query, value[, key]) of Attention and AdditiveAttention: a value and a key as long as
    each other, a query of its own length, one feature size."""
    batch, n_inputs, dim = pick("batch"), pick("inputs"), pick("channels")
    query_steps = 1 + pick.draw(st.integers(0, 4))
    value_steps = 1 + pick.draw(st.integers(0, 4))
    return [(batch, query_steps, dim)] + [(batch, value_steps, dim)] * (n_inputs - 1)


# AdditiveAttention's scale is one per feature, multiplied in before the rank-4 tanh of
# query + key, and on by default; it has no score_mode
ADDITIVE_ATTENTION_DOMAINS = {name: values for name, values in ATTENTION_DOMAINS.items()
                              if name != "score_mode"} | {"use_scale": BOOLS_TRUE_FIRST}
_register_attention("AdditiveAttention", "additive_attention", ADDITIVE_ATTENTION_DOMAINS,
                    _attention_draw(("use_scale", "use_causal_mask", "return_attention_scores")),
                    unpack=False)

GQA_DOMAINS = {
    "head_dim": [1, 2, 3, 4],
    "num_key_value_heads": [1, 2],
    "num_query_heads": [1, 2, 4],
    "use_bias": BOOLS_TRUE_FIRST,
    "use_gate": BOOLS_FALSE_FIRST,
    "sliding_window": [None, 1, 2],
    "use_causal_mask": BOOLS_FALSE_FIRST,
    "return_attention_scores": BOOLS_FALSE_FIRST,
    "inputs": [1, 2, 3],
    "channels": [1, 2, 3, 4],
    "batch": BATCH,
}


def _draw_group_query_attention(pick: Picker):
    batch, n_inputs = pick("batch"), pick("inputs")
    steps = lambda: 1 + pick.draw(st.integers(0, 4))  # noqa: E731
    shapes = [(batch, steps(), pick("channels"))]
    if n_inputs >= 2:
        value_steps = steps()
        shapes += [(batch, value_steps, pick("channels")) for _ in range(n_inputs - 1)]
    key_value_heads = pick("num_key_value_heads")
    attrs = {
        "head_dim": pick("head_dim"),
        # each key/value head serves num_query_heads / num_key_value_heads query heads
        "num_query_heads": pick("num_query_heads", [h for h in GQA_DOMAINS["num_query_heads"]
                                                     if h % key_value_heads == 0]),
        "num_key_value_heads": key_value_heads,
        "use_bias": pick("use_bias"),
        "use_gate": pick("use_gate"),
        "sliding_window": pick("sliding_window"),
        "use_causal_mask": pick("use_causal_mask"),
        "return_attention_scores": pick("return_attention_scores"),
    }
    return attrs, shapes


_register_attention("GroupQueryAttention", "group_query_attention", GQA_DOMAINS,
                    _draw_group_query_attention, unpack=True)
