"""``harness.core.registry.sampled_from``: Picker keeps one strategy per distinct list of plain
values, and a corpus drawn with the kept strategies is the corpus drawn without them."""

from __future__ import annotations

from hypothesis import find, settings
from hypothesis import strategies as st

from harness.core import registry
from harness.core.registry import sampled_from
from harness.core.strategies import sample


def drawn_from(strategy):
    """The strategy's simplest value (the first of a sampled list)."""
    return find(strategy, lambda _: True, settings=settings(database=None))


def test_equal_lists_of_plain_values_share_one_strategy() -> None:
    assert sampled_from(["same", (1, 2), None]) is sampled_from(["same", (1, 2), None])
    assert sampled_from([1, 2]) is not sampled_from([1, 3])


def test_values_that_compare_equal_across_types_or_signs_do_not_share() -> None:
    """1 == 1.0 == True and 0.0 == -0.0: a shared strategy would draw the other value."""
    drawn = {repr(drawn_from(sampled_from([value]))) for value in (1, 1.0, True)}
    assert drawn == {"1", "1.0", "True"}
    assert repr(drawn_from(sampled_from([-0.0]))) == "-0.0"
    assert repr(drawn_from(sampled_from([0.0]))) == "0.0"
    assert sampled_from([(1,)]) is not sampled_from([(True,)])


def test_values_that_may_change_are_never_kept() -> None:
    inner = [1, 2]
    first = sampled_from([inner, [3]])
    assert sampled_from([inner, [3]]) is not first
    assert sampled_from([{"a": 1}]) is not sampled_from([{"a": 1}])


def test_the_kept_strategies_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(registry, "_SAMPLED", {})
    monkeypatch.setattr(registry, "_SAMPLED_KEPT", 3)
    for value in range(10):
        sampled_from([value, "bounded"])
    assert len(registry._SAMPLED) == 3
    assert drawn_from(sampled_from([9, "bounded"])) in (9, "bounded")


# Kinds whose draws go through Picker many times: ONNX ops in their forms, Keras layers with
# many attributes, a drawn ONNX graph.
KINDS = [("onnx", "Conv"), ("onnx", "Resize"), ("onnx", "Slice"), ("keras", "Conv2D"),
         ("keras", "LSTM")]


def test_a_corpus_is_drawn_the_same_with_the_strategies_kept_as_without(monkeypatch) -> None:
    def drawn() -> list[str]:
        return [spec.case_id for source, kind in KINDS
                for spec in sample(kind, 8, source=source)]

    kept = drawn()
    monkeypatch.setattr(registry, "sampled_from", lambda values: st.sampled_from(values))
    assert drawn() == kept
