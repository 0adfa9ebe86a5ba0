"""harness.converters.tf2onnx_passes: tf2onnx's optimiser passes on the graph itself, and
tf2onnx's own default (a copy of the graph per pass, a raising pass skipped) wherever that
could differ."""

from __future__ import annotations

import os

import numpy as np
import pytest

from harness.core.frameworks import TF2ONNX_CATCH_ERRORS, TF2ONNX_COPIES, prepare_imports
from suites.installed import require

require("tensorflow", "tf2onnx", "onnxruntime",
        reason="tf2onnx converts a Keras model; onnxruntime runs it")
prepare_imports()

from harness.converters import ConvertOptions, get  # noqa: E402
from harness.converters import tf2onnx_passes as passes  # noqa: E402
from harness.core.spec import LayerSpec  # noqa: E402
from harness.runtimes import runner_for  # noqa: E402
from harness.sources.keras import KerasSource  # noqa: E402

SPEC = LayerSpec(kind="Dense", attrs={"units": 3, "activation": "relu"},
                 input_shapes=((2, 4),), dtype="float32", seed=3)


@pytest.fixture
def default_environment(monkeypatch):
    monkeypatch.delenv(TF2ONNX_CATCH_ERRORS, raising=False)
    monkeypatch.delenv(TF2ONNX_COPIES, raising=False)


@pytest.fixture
def switches(monkeypatch):
    """The ``catch_errors`` each of tf2onnx's ``optimize_graph`` calls was given, and the
    variable tf2onnx read, as tf2onnx's convert module calls it (watched there, so that
    tf2onnx's own ``optimize_graph`` stays the compared one)."""
    from types import SimpleNamespace

    from tf2onnx import convert as tf2onnx_convert
    from tf2onnx import optimizer

    seen: list[tuple[bool, str | None]] = []

    def watched(graph, catch_errors=True, optimizers=None):
        seen.append((catch_errors, os.environ.get(TF2ONNX_CATCH_ERRORS)))
        return optimizer.optimize_graph(graph, catch_errors, optimizers=optimizers)

    monkeypatch.setattr(tf2onnx_convert, "optimizer", SimpleNamespace(optimize_graph=watched))
    return seen


def convert(spec=SPEC):
    artifact = KerasSource().build(spec)
    return artifact, get("tf2onnx").convert(artifact, ConvertOptions())


def outputs(onnx_artifact, inputs):
    return runner_for("onnx", "cpu", 1).run(onnx_artifact, inputs)


def test_the_installed_tf2onnx_is_one_whose_two_ways_were_compared(default_environment):
    """Else every conversion silently pays for the copies again: a new tf2onnx's
    optimize_graph wants comparing (docs/benchmarks.md, "tf2onnx's graph copies") and its
    hash in COMPARED."""
    assert passes.optimize_graph_hash() in passes.COMPARED
    assert passes.without_copies()


def test_the_stage_runs_tf2onnx_s_passes_without_copies_and_leaves_no_trace(
        default_environment, switches):
    convert()
    assert switches == [(False, passes.WITHOUT_COPIES)]
    assert TF2ONNX_CATCH_ERRORS not in os.environ


@pytest.mark.parametrize("variable, value", [(TF2ONNX_COPIES, "1"),
                                             (TF2ONNX_CATCH_ERRORS, "TRUE")])
def test_a_user_s_switch_is_tf2onnx_s_default_way_or_their_own(
        default_environment, switches, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    assert not passes.without_copies()
    convert()
    # One conversion, with tf2onnx reading what the user set (tf2onnx 1.17 reads any value of
    # its own variable as "no copies": its convert.py compares the variable's name with "TRUE").
    assert [told for _, told in switches] == [os.environ.get(TF2ONNX_CATCH_ERRORS)]
    if variable == TF2ONNX_COPIES:
        assert switches == [(True, None)]
    assert os.environ[variable] == value


def test_an_edited_optimize_graph_is_run_as_tf2onnx_runs_it(default_environment, monkeypatch):
    from tf2onnx import optimizer

    real = optimizer.optimize_graph

    def edited(graph, catch_errors=True, optimizers=None):  # e.g. a fault injected into it
        return real(graph, catch_errors, optimizers=optimizers)

    assert passes.without_copies()  # the installed one, hashed first
    monkeypatch.setattr(optimizer, "optimize_graph", edited)
    assert passes.optimize_graph_hash() not in passes.COMPARED
    assert not passes.without_copies()


def test_a_pass_that_raises_is_skipped_as_tf2onnx_skips_it_on_its_copies(
        default_environment, switches, monkeypatch):
    """A pass that breaks the graph, then raises: on the graph itself the conversion
    fails, so it is converted again the default way, where the broken copy is dropped."""
    from tf2onnx import optimizer

    calls = []

    class BreaksThenRaises:
        graph_been_opt = False

        def optimize(self, graph, iteration):
            calls.append(iteration)
            for node in graph.get_nodes():
                if node.type == "Relu":
                    node.type = "Sigmoid"  # what a pass that raised must not leave behind
            raise RuntimeError("a pass that fails")

    monkeypatch.setitem(optimizer._optimizers, "BreaksThenRaises", BreaksThenRaises)
    artifact, onnx_artifact = convert()
    assert [catch for catch, _ in switches] == [False, True]
    assert len(calls) >= 2
    ops = {node.op_type for node in onnx_artifact.model.graph.node}
    assert "Relu" in ops and "Sigmoid" not in ops
    inputs = [np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)]
    expected = artifact.model(inputs[0]).numpy()
    np.testing.assert_allclose(outputs(onnx_artifact, inputs)[0], expected, rtol=1e-5, atol=1e-6)


def test_an_error_outside_the_passes_is_raised_once_without_converting_again(
        default_environment, switches):
    attempts = []

    def fails():
        attempts.append(os.environ.get(TF2ONNX_CATCH_ERRORS))
        raise ValueError("Unsupported ops: Counter({'Erfc': 1})")

    with pytest.raises(ValueError, match="Erfc"):
        passes.converting(fails)
    assert attempts == [passes.WITHOUT_COPIES]
    assert TF2ONNX_CATCH_ERRORS not in os.environ


def test_conversions_in_threads_each_read_the_way_they_were_meant_to(default_environment):
    """Another thread's conversion waits while one runs with tf2onnx's variable set, so it
    never mistakes parity's setting for a user's (and runs without the fallback)."""
    import threading

    told = []
    inside = threading.Event()

    def first():
        inside.set()
        threading.Event().wait(0.2)
        told.append(("first", os.environ.get(TF2ONNX_CATCH_ERRORS), passes.without_copies()))

    def second():
        told.append(("second", os.environ.get(TF2ONNX_CATCH_ERRORS), passes.without_copies()))

    one = threading.Thread(target=passes.converting, args=(first,))
    one.start()
    inside.wait(5)
    two = threading.Thread(target=passes.converting, args=(second,))
    two.start()
    one.join(5)
    two.join(5)
    assert told == [("first", passes.WITHOUT_COPIES, False),
                    ("second", passes.WITHOUT_COPIES, False)]
    assert TF2ONNX_CATCH_ERRORS not in os.environ
