"""The axes a case is drawn along: admission, drawing, and the spec fields they fill."""

import pytest

from harness.core import axes, registry
from harness.core.spec import LayerSpec, SpecError
from harness.core.strategies import sample
from harness.golden.update import corpus


def test_a_plain_draw_is_unchanged_by_the_axes():
    plain = sample("Dense", 3)
    assert all(spec.dtype == "float32" and not spec.free_dims and not spec.more_shapes
               for spec in plain)
    assert all("free_dims" not in spec.to_json() and "more_shapes" not in spec.to_json()
               for spec in plain)


@pytest.mark.parametrize("axis", axes.admitted(registry.get("Conv2D")).dtypes)
def test_a_dtype_axis_draws_the_case_in_that_dtype(axis):
    drawn = sample("Conv2D", 3, axis=axis)
    assert drawn and all(spec.dtype == axis for spec in drawn)


def test_the_free_axis_declares_free_dimensions_and_further_sizes():
    for spec in sample("Conv2D", 4, axis=axes.FREE):
        assert spec.free_dims and set(spec.free_dims) <= set(axes.FREE_DIMS)
        assert spec.more_shapes and all(shapes != spec.input_shapes
                                        for shapes in spec.more_shapes)
        assert LayerSpec.from_json(spec.to_json()) == spec
        assert spec.all_shapes[0] == spec.input_shapes


def test_an_axis_a_kind_does_not_admit_is_a_clear_error():
    application = next(k for k in registry.kinds() if k.tags & registry.WHOLE_MODELS)
    with pytest.raises(ValueError, match=f"{application.name} is not drawn along axis"):
        sample(application.name, 1, axis="float16")


def test_more_shapes_must_give_every_input_a_shape():
    with pytest.raises(SpecError, match=r"more_shapes\[0\]: 1 input shapes, the case has 2"):
        LayerSpec("Add", {}, ((1, 2), (1, 2)), more_shapes=(((3, 2),),))


def test_the_golden_corpus_gains_a_case_per_admitted_axis():
    plain = corpus(1, ["Dense"])
    with_axes = corpus(1, ["Dense"], per_axis=1)
    extra = [spec for spec in with_axes if spec not in plain]
    admitted = axes.admitted(registry.get("Dense"))
    assert {spec.dtype for spec in extra if spec.dtype != "float32"} == set(admitted.dtypes)
    assert any(spec.free_dims for spec in extra) == bool(admitted.free_dims)


def test_the_golden_store_holds_the_corpus_drawn_today():
    """Hypothesis seeds a derandomised draw from the drawing function's source text, so an
    edit there redraws every corpus: the golden store's cases, axes included, must be the
    cases ``corpus`` draws today (``parity golden update`` regenerates them)."""
    from harness import golden

    stored = set(golden.read_manifest(golden.default_root()).cases)
    for kind in ("Dense", "Conv2D", "LSTM"):
        drawn = {spec.case_id for spec in corpus(8, [kind], per_axis=1)}
        assert drawn <= stored, kind
    for kind in ("Relu", "Gemm", "ConvBnRelu", "MatMul"):
        drawn = {spec.case_id for spec in corpus(3, [kind], source="onnx", per_axis=1)}
        assert drawn <= stored, kind


def _declared(source: str, **declared) -> registry.LayerKind:
    return registry.LayerKind(name="Declared", family="core", domains={},
                              draw=lambda pick: ({}, [(1, 2)]), source=source, **declared)


def test_a_kind_declares_its_axes_in_its_own_registration():
    """What a kind admits comes from its source's rules (harness.core.admission), narrowed by
    its own registration: a new kind is one file, no central table to edit."""
    assert axes.admitted(_declared("keras")) == axes.Axes(
        ("float16", "float64", "mixed_float16"), ("batch",))
    assert axes.admitted(_declared("keras", dtypes=("float16",),
                                   free_dims=("batch", "spatial"))) == axes.Axes(
        ("float16",), ("batch", "spatial"))
    assert axes.admitted(_declared("onnx")) == axes.Axes(("float16", "float64"), ("batch",))
    assert axes.admitted(_declared("onnx", dtypes=("int64",), free_dims=())) == axes.Axes()
    # a source that registers no rules admits no axis
    assert axes.admitted(_declared("mat", dtypes=("float16",))) == axes.Axes()
