"""Hypothesis strategies for layer specs.

``layer_specs("Conv2D")`` draws a consistent configuration of that kind (attributes and
input shapes, simplest first) together with a weight seed and a few input values drawn by
``hypothesis.extra.numpy``, kept in the spec as sparse overrides so that a case is
reproducible from its spec alone and shrinks to the plain seeded data.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harness.core import axes, free_dims, registry
from harness.core.dtypes import array_dtype
from harness.core.inputs import INPUT_BOUND, int_bounds
from harness.core.registry import Picker
from harness.core.spec import LayerSpec

OVERRIDE_BOUND = 2 * INPUT_BOUND
MAX_OVERRIDES = 4


_switched_off = 0  # how many ``without_local_constants`` blocks are open (they nest)
_cache_without_locals = None  # Hypothesis' cache of permitted constants, for draws without


@contextlib.contextmanager
def without_local_constants() -> Iterator[None]:
    """Hypothesis draws as if no local module had literals, inside this block only.

    Hypothesis (6.13x+) sometimes draws a number or string found as a literal in any *local*
    module imported so far. Here the local modules are this harness, whose literals
    (tolerances, bounds) mean nothing as layer inputs, and they made derandomised draws
    depend on which modules happened to be imported and on every edit of them: the golden
    corpus drifted between ``parity golden update`` and a plain script, and a derandomised
    run changed its later examples once a failure imported the diagnostics. Hypothesis' own
    built-in constants (edge-case floats and integers) are kept. Every spec draw
    (``layer_specs``, ``sample``) runs in this block; outside it Hypothesis is untouched.
    """
    global _switched_off, _cache_without_locals
    try:
        from hypothesis.internal.conjecture import providers

        provider = providers.HypothesisProvider
        local_constants = provider.__dict__["_local_constants"]
        cache = providers.CONSTANTS_CACHE
    except (ImportError, AttributeError, KeyError):  # pragma: no cover - no local constants
        yield
        return
    if _switched_off:
        yield
        return
    nothing_local = providers.Constants()
    if _cache_without_locals is None:
        _cache_without_locals = type(cache)(cache.max_size)
    # A property wins over the value a test case's provider may have cached already; the
    # permitted constants are cached apart, so that neither kind of draw sees the other's.
    provider._local_constants = property(lambda _self: nothing_local)
    providers.CONSTANTS_CACHE = _cache_without_locals
    _switched_off += 1
    try:
        yield
    finally:
        _switched_off -= 1
        provider._local_constants = local_constants
        providers.CONSTANTS_CACHE = cache


seeds = st.integers(min_value=0, max_value=2**16 - 1)


@st.composite
def input_overrides(draw, shape: tuple[int, ...], dtype: str = "float32"):
    """Sparse values over an input: a few bounded, finite elements, the rest left unset."""
    size = math.prod(shape)
    if size == 0:
        return ()
    elements = st.floats(
        -OVERRIDE_BOUND,
        OVERRIDE_BOUND,
        width=np.dtype(dtype).itemsize * 8,
        allow_nan=False,
        allow_subnormal=False,
    )
    values = draw(hnp.arrays(dtype, st.integers(0, min(MAX_OVERRIDES, size)), elements=elements))
    where = draw(
        st.lists(st.integers(0, size - 1), min_size=len(values), max_size=len(values), unique=True)
    )
    return tuple(zip(where, values.tolist()))


@st.composite
def int_overrides(draw, shape: tuple[int, ...], bound: int):
    """Sparse values over an integer input: a few valid indices in [0, bound)."""
    size = math.prod(shape)
    if size == 0:
        return ()
    count = draw(st.integers(0, min(MAX_OVERRIDES, size)))
    where = draw(st.lists(st.integers(0, size - 1), min_size=count, max_size=count, unique=True))
    return tuple((i, float(draw(st.integers(0, bound - 1)))) for i in where)


# Kinds whose inputs need more than sparse noise (Masking needs whole time steps equal to its
# mask value): kind -> fn(attrs, shapes, dtype) returning a strategy of per-input overrides.
InputsFn = Callable[[dict[str, Any], list[tuple[int, ...]], str], Any]
_INPUT_STRATEGIES: dict[tuple[str, str], InputsFn] = {}


def register_inputs(kind: str, fn: InputsFn, source: str = registry.KERAS) -> InputsFn:
    """Registers the input-override strategy of ``kind`` (used by its family file)."""
    _INPUT_STRATEGIES[(source, kind)] = fn
    return fn


def overrides_for(kind: str, attrs: dict[str, Any], shapes, dtype: str = "float32",
                  source: str = registry.KERAS):
    """The strategy of a case's input overrides: the kind's own, or sparse values per input
    (valid indices for integer inputs)."""
    registry.get(kind, source)  # loads the families, which register their input strategies
    shapes = [tuple(s) for s in shapes]
    if (source, kind) in _INPUT_STRATEGIES:
        return _INPUT_STRATEGIES[(source, kind)](attrs, shapes, dtype)
    return sparse_overrides(int_bounds(attrs), shapes, dtype, attrs.get("input_dtypes"))


@st.composite
def sparse_overrides(draw, bounds: list[int | None], shapes, dtype: str,
                     input_dtypes: list[str | None] | None = None):
    """Per input: valid indices for an index input (``bounds``), small integers for an
    integer or boolean input, bounded floats otherwise; an input's dtype is its entry in
    ``input_dtypes`` or the case's."""
    drawn = []
    for i, shape in enumerate(shapes):
        bound = bounds[i] if i < len(bounds) else None
        own = input_dtypes[i] if input_dtypes and i < len(input_dtypes) else None
        kind = np.dtype(own or dtype).kind
        if bound is not None:
            drawn.append(draw(int_overrides(shape, bound)))
        elif kind in "iub":
            drawn.append(draw(small_int_overrides(shape, boolean=kind == "b",
                                                  unsigned=kind == "u")))
        else:
            drawn.append(draw(input_overrides(shape, own or dtype)))
    return tuple(drawn)


SMALL_INT_BOUND = 8


@st.composite
def small_int_overrides(draw, shape: tuple[int, ...], boolean: bool = False,
                        unsigned: bool = False):
    """Sparse values over an integer (or boolean) input: a few small integers, 0 first."""
    size = math.prod(shape)
    if size == 0:
        return ()
    count = draw(st.integers(0, min(MAX_OVERRIDES, size)))
    where = draw(st.lists(st.integers(0, size - 1), min_size=count, max_size=count, unique=True))
    low, high = (0, 1) if boolean else (0 if unsigned else -SMALL_INT_BOUND, SMALL_INT_BOUND)
    values = [float(draw(st.integers(low, high))) for _ in where]
    return tuple(zip(where, values))


@st.composite
def layer_specs(draw, kind: str, dtype: str | None = None,
                source: str = registry.KERAS, axis: str | None = None) -> LayerSpec:
    """A spec of ``kind`` in ``source``. A kind whose draw returns ``(attrs, shapes, dtype)``
    draws its own dtype (ONNX ops take several); otherwise ``dtype`` (float32 by default).

    ``axis`` (one of ``harness.core.axes.admitted(kind).names``) draws the case along that axis:
    a dtype name builds it in that dtype, ``free`` declares its batch free (``free-spatial``,
    ``free-time``: those dimensions too) and adds the further sizes its legs run at.
    """
    layer_kind = registry.get(kind, source)
    if axis is not None and axis not in axes.admitted(layer_kind).names:
        raise ValueError(f"{source}:{kind} is not drawn along axis {axis!r}; it admits "
                         f"{axes.admitted(layer_kind).describe()}")
    dtype_axis = axis if axis is not None and axes.freed_by(axis) is None else None
    with without_local_constants():
        drawn = layer_kind.draw(Picker(draw, layer_kind.domains, dtype=dtype_axis))
        attrs, shapes = drawn[0], drawn[1]
        if len(drawn) > 2:  # the kind draws its own dtype, forced to the axis' (Picker.dtype)
            dtype = drawn[2]
            if dtype_axis is not None and dtype != dtype_axis:
                draw(st.nothing())  # a form of the kind that fixes another dtype: draw again
        else:
            dtype = dtype_axis or dtype or "float32"
        free, more = (), ()
        if (dim := axes.freed_by(axis or "")) is not None:
            # A configuration that needs this dimension fixed (an unrolled RNN's time, a
            # PReLU slope per position) still runs with a free batch.
            applicable = free_dims.applicable(layer_kind, attrs, shapes, dtype)
            if not applicable:  # an ONNX op working along its batch (a reduction over axis
                draw(st.nothing())  # 0, a Concat along it): draw another configuration
            forced = (dim,) if dim in applicable else ("batch",)
            free, more = draw(free_dims.draw_free(layer_kind, attrs, shapes, dims=forced,
                                                  dtype=dtype))
        overrides = draw(overrides_for(kind, attrs, shapes, array_dtype(dtype), source))
        seed = draw(seeds)
    return LayerSpec(
        kind=kind,
        attrs=attrs,
        input_shapes=tuple(tuple(s) for s in shapes),
        dtype=dtype,
        seed=seed,
        input_overrides=overrides,
        source=source,
        free_dims=free,
        more_shapes=more,
    )



_layer_specs = layer_specs  # for ``sample``, whose own name shadows it


def sample(kind: str, n: int, dtype: str | None = None,
           source: str = registry.KERAS, axis: str | None = None) -> list[LayerSpec]:
    """``n`` specs of ``kind``, the same on every run and machine (Hypothesis, derandomised).

    For corpora and benchmarks, where a fixed, varied set of cases is wanted outside a test.
    """
    drawn: list[LayerSpec] = []
    # Hypothesis derives a derandomised run's seed from the test function's source, decorators
    # included: ``collect`` keeps its text as it was before axes existed, so that every corpus
    # drawn then (the golden store, the benchmarks) draws the same cases now.
    layer_specs = functools.partial(_layer_specs, axis=axis)

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(layer_specs(kind, dtype, source))
    def collect(spec: LayerSpec) -> None:
        drawn.append(spec)

    with without_local_constants():
        collect()
    unique = {spec.case_id: spec for spec in drawn}
    return list(unique.values())[:n]
