"""Classical-ML ONNX (the ``ai.onnx.ml`` domain, as skl2onnx writes scikit-learn models) end
to end, and non-float outputs compared exactly.

The models are written here with ``onnx.helper``, as skl2onnx writes them (no skl2onnx is
installed): a LinearClassifier with string labels and with int64 labels, one whose
probabilities go through ZipMap (a sequence of maps), a Scaler (a float output), and a
pipeline with a string input. ``parity check`` runs each: onnxruntime reads it (the
reference), the ``ort-optimized`` leg agrees with the comparison named, and onnx2torch and
onnx2pytorch refuse the ML ops as known issues. A stage that rewrites a class label shows the
exact comparison failing, and the HTML report escaping the label. Every ``ai.onnx.ml`` op
version is converted by both converters, and each refusal must be tagged by a known-issue
family.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
onnx = pytest.importorskip("onnx")
onnx2torch = pytest.importorskip("onnx2torch")
onnx2pytorch = pytest.importorskip("onnx2pytorch")

from onnx import TensorProto, defs, helper  # noqa: E402

from harness.check import CheckOptions, run_check  # noqa: E402
from harness.check.render import text as render_text  # noqa: E402
from harness.check.task import TaskTally  # noqa: E402
from harness.converters import Artifact, register, unregister  # noqa: E402
from harness.core import known_issues, yardstick  # noqa: E402
from harness.core.compare import Tolerance, compare, compare_outputs, worst_of  # noqa: E402
from tests.test_check_real_files_known import known_entry  # noqa: E402

ML = "ai.onnx.ml"
ML_OPSET = 3  # onnxruntime 1.31 runs ai.onnx.ml up to 5; skl2onnx writes 1 to 3
OPSETS = [helper.make_opsetid("", 17), helper.make_opsetid(ML, ML_OPSET)]
LABELS = ["cat", "dog", "eel"]
INT_LABELS = [3, 7, 9]
COEFFICIENTS = [0.5, -0.2, 0.1, 0.3, -0.4, 0.25, 0.1, 0.2, -0.3]
TOLERANCE = Tolerance(1e-4, 1e-3)
ONNX2TORCH_ENTRY = "onnx2torch-no-onnx-ml-domain"
ONNX2PYTORCH_ENTRY = "onnx2pytorch-no-onnx-ml-domain"


# -- the models, as skl2onnx writes them ------------------------------------------------------

def classifier(labels=LABELS, zipmap: bool = False):
    """LogisticRegression through skl2onnx: a LinearClassifier (label, probabilities), the
    probabilities as a ZipMap's list of {label: probability} where ``zipmap``."""
    strings = isinstance(labels[0], str)
    named = {"classlabels_strings" if strings else "classlabels_ints": list(labels)}
    probabilities = "probability_tensor" if zipmap else "probabilities"
    nodes = [helper.make_node("LinearClassifier", ["x"], ["label", probabilities], domain=ML,
                              coefficients=COEFFICIENTS, intercepts=[0.1, -0.1, 0.0],
                              post_transform="SOFTMAX", **named)]
    label_type = TensorProto.STRING if strings else TensorProto.INT64
    outputs = [helper.make_tensor_value_info("label", label_type, [None])]
    if zipmap:
        nodes.append(helper.make_node(
            "ZipMap", [probabilities], ["probabilities"], domain=ML,
            **{"classlabels_strings" if strings else "classlabels_int64s": list(labels)}))
        outputs.append(helper.make_value_info("probabilities", helper.make_sequence_type_proto(
            helper.make_map_type_proto(label_type,
                                       helper.make_tensor_type_proto(TensorProto.FLOAT, [])))))
    else:
        outputs.append(helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                                     [None, len(labels)]))
    graph = helper.make_graph(nodes, "logistic_regression",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
                              outputs)
    return helper.make_model(graph, opset_imports=OPSETS, ir_version=8,
                             producer_name="skl2onnx")


def scaler():
    """StandardScaler through skl2onnx: a Scaler, one float output."""
    node = helper.make_node("Scaler", ["x"], ["variable"], domain=ML, offset=[0.5, 1.0, -1.0],
                            scale=[2.0, 0.5, 1.5])
    graph = helper.make_graph([node], "standard_scaler",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
                              [helper.make_tensor_value_info("variable", TensorProto.FLOAT,
                                                             [None, 3])])
    return helper.make_model(graph, opset_imports=OPSETS, ir_version=8)


CITIES = ["paris", "rome", "oslo"]


def with_a_string_column():
    """A pipeline over a numeric and a categorical column (StringTensorType): the city
    label-encoded, concatenated with the numbers, classified."""
    nodes = [
        helper.make_node("LabelEncoder", ["city"], ["code"], domain=ML, keys_strings=CITIES,
                         values_int64s=[0, 1, 2], default_int64=-1, name="city_encoder"),
        helper.make_node("Cast", ["code"], ["code_float"], to=TensorProto.FLOAT),
        helper.make_node("Concat", ["x", "code_float"], ["features"], axis=1),
        helper.make_node("LinearClassifier", ["features"], ["label", "probabilities"],
                         domain=ML, coefficients=COEFFICIENTS[:6], intercepts=[0.1, -0.1],
                         classlabels_strings=["no", "yes"], post_transform="LOGISTIC"),
    ]
    graph = helper.make_graph(
        nodes, "column_pipeline",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2]),
         helper.make_tensor_value_info("city", TensorProto.STRING, [None, 1])],
        [helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])])
    return helper.make_model(graph, opset_imports=OPSETS, ir_version=8)


def saved(model, path) -> str:
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return str(path)


def by_leg(outcome):
    return {row.leg: row for row in outcome.rows}


# -- exact comparisons ------------------------------------------------------------------------

def test_a_string_that_differs_fails_the_exact_comparison_naming_it():
    expected = np.array(["cat", "dog", "cat", "eel"], dtype=object)
    assert compare(expected.copy(), expected, TOLERANCE).passed
    actual = expected.copy()
    actual[2] = "dog"
    found = compare(actual, expected, TOLERANCE)
    assert not found.passed and found.category == "value_mismatch"
    assert found.metrics["comparison"] == "exact (string)"
    assert (found.metrics["mismatched"], found.metrics["total"]) == (1, 4)
    assert found.metrics["first_mismatch"] == {"index": [2], "actual": "'dog'",
                                               "expected": "'cat'"}
    assert "1 / 4 elements" in found.message and "'dog' vs 'cat'" in found.message
    # A str array (read from an .npz) is the same strings as onnxruntime's object array.
    assert compare(np.array(["cat", "dog", "cat", "eel"]), expected, TOLERANCE).passed


def test_an_integer_label_is_compared_exactly_and_a_float_beside_it_by_tolerance():
    labels = np.array([100000, 7, 9], dtype=np.int64)
    probabilities = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]], np.float32)
    off_by_one = labels.copy()
    off_by_one[0] += 1  # within atol + rtol * |100000| = 100: a tolerance would pass it
    found = compare(off_by_one, labels, TOLERANCE)
    assert not found.passed and found.category == "numeric_mismatch"
    assert found.metrics["comparison"] == "exact (int64)"
    assert found.metrics["first_mismatch"] == {"index": [0], "actual": "100001",
                                               "expected": "100000"}
    close = probabilities + np.float32(1e-6)
    both = compare_outputs([labels.copy(), close], [labels, probabilities], TOLERANCE)
    assert [c.passed for c in both] == [True, True]
    assert both[0].metrics["comparison"] == "exact (int64)"
    assert "comparison" not in both[1].metrics and both[1].metrics["max_abs"] > 0
    assert not worst_of([off_by_one, close], [labels, probabilities], TOLERANCE).passed


def test_a_boolean_output_is_compared_exactly():
    found = compare(np.array([True, False]), np.array([True, True]), TOLERANCE)
    assert (found.passed, found.metrics["comparison"]) == (False, "exact (bool)")


def test_sequences_and_maps_keep_their_structure_exactly_and_floats_within_tolerance():
    expected = [{"cat": 0.375, "dog": 0.25}, {"cat": 0.5, "dog": 0.5}]
    close = [{"cat": 0.375 + 1e-6, "dog": 0.25}, {"cat": 0.5, "dog": 0.5}]
    found = compare(close, expected, TOLERANCE)
    assert found.passed
    assert found.metrics["comparison"] == (
        "exact (sequence of maps; float values within tolerance)")
    assert found.metrics["values_max_abs"] == pytest.approx(1e-6)
    # np.asarray of ZipMap's output (an object array of dicts) is the same list.
    assert compare(np.asarray(close), expected, TOLERANCE).passed
    far = [{"cat": 0.375, "dog": 0.25}, {"cat": 0.5, "dog": 0.75}]
    found = compare(far, expected, TOLERANCE)
    assert not found.passed and found.category == "numeric_mismatch"
    assert found.metrics["first_mismatch"]["at"].startswith("[1]['dog']: off by 0.25")
    renamed = [{"cat": 0.375, "eel": 0.25}, {"cat": 0.5, "dog": 0.5}]
    found = compare(renamed, expected, TOLERANCE)
    assert found.category == "value_mismatch" and "missing ['dog']" in found.message
    assert compare(expected[:1], expected, TOLERANCE).category == "shape_mismatch"
    tensors = [np.zeros(3, np.float32), np.ones(2, np.float32)]
    assert compare([t.copy() for t in tensors], tensors, TOLERANCE).metrics["comparison"] == (
        "exact (sequence of tensors; float values within tolerance)")
    found = compare(np.zeros((2, 2), np.float32), expected, TOLERANCE)
    assert found.category == "dtype_mismatch" and "where the reference has a sequence" in (
        found.message)


def test_task_agreement_counts_float_outputs_only():
    probabilities = np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.9, 0.1]], np.float32)
    labels = np.array(["b", "a", "b", "a"], dtype=object)
    # A sequence of ten-element vectors would stack into a 2x10 "classifier"; it is no task.
    sequence = [np.arange(10, dtype=np.float32), np.arange(10, dtype=np.float32)[::-1].copy()]
    tally = TaskTally()
    tally.add([labels, probabilities, sequence], [labels, probabilities, sequence], [])
    assert tally.to_json() == {"top1": 1.0, "top1_rows": 4}


def test_a_float64_reading_that_fails_is_a_sentence_not_an_exception():
    said = yardstick.unavailable("Keras 3", TypeError("'str' object is not callable"))
    assert "TypeError" not in said and "'str'" not in said
    assert said.startswith("no float64 reading through Keras 3: the model could not be rebuilt")
    with pytest.raises(yardstick.NotFloat64) as raised:
        yardstick.checked([np.zeros(2, np.int64)], "the model")
    assert "not floats (int64" in str(raised.value)
    assert yardstick.unavailable("Keras 3", raised.value).endswith("does not widen")


# -- parity check on classical-ML files -------------------------------------------------------

@pytest.mark.parametrize("build, comparison", [
    (lambda: classifier(), "exact (string), tolerance"),
    (lambda: classifier(INT_LABELS), "exact (int64), tolerance"),
    (lambda: classifier(zipmap=True),
     "exact (string), exact (sequence of maps; float values within tolerance)"),
    (scaler, "tolerance"),
], ids=["string-labels", "int64-labels", "zipmap", "scaler"])
def test_onnxruntime_agrees_and_the_torch_converters_refuse_as_known_issues(tmp_path, build,
                                                                             comparison):
    outcome = run_check(CheckOptions(model=saved(build(), tmp_path / "model.onnx"),
                                     report=None))
    rows = by_leg(outcome)
    rewriters = ("onnx>onnxsim", "onnx>onnxslim", "onnx>onnxoptimizer")
    assert set(rows) == {"onnx>onnx2torch", "onnx>onnx2pytorch", "onnx>ort-optimized",
                         *rewriters}
    for leg in rewriters:  # the ONNX rewriters keep the model, but onnxslim a ZipMap's type
        if leg == "onnx>onnxslim" and "sequence of maps" in comparison:
            assert rows[leg].known_issue["id"] == "onnxslim-zipmap-sequence-of-maps-type"
        else:
            assert rows[leg].verdict == "agrees" and rows[leg].comparison == comparison, leg
    optimized = rows["onnx>ort-optimized"]
    assert optimized.verdict == "agrees" and optimized.comparison == comparison
    if comparison == "tolerance":  # the scaler's float outputs: a float64 reading
        assert optimized.yardstick_missing is None
    else:  # a label's string or int64 is compared exactly: nothing to widen
        assert optimized.yardstick_missing.endswith("does not widen")
    for leg, entry in (("onnx>onnx2torch", ONNX2TORCH_ENTRY),
                       ("onnx>onnx2pytorch", ONNX2PYTORCH_ENTRY)):
        assert rows[leg].verdict == "unsupported", rows[leg].message
        assert (rows[leg].known_issue or {}).get("id") == entry
    # Known refusals are legs that do not agree (docs/check.md, Exit status): 1, not 3 or 4.
    assert outcome.exit_code == 1
    assert "(ai.onnx.ml 3)" in " ".join(outcome.notes)
    document = json.loads(json.dumps(outcome.to_json(), allow_nan=False))
    (leg,) = [leg for leg in document["legs"] if leg["leg"] == "onnx>ort-optimized"]
    assert leg["comparison"] == comparison
    table = render_text(outcome)
    assert "unsupported (known)" in table
    if comparison.startswith("exact"):
        assert leg["exact"]["mismatched"] == 0 and leg["exact"]["total"] > 0
        assert " exact" in next(line for line in table.splitlines()
                                if line.startswith("onnx>ort-optimized"))


def test_onnxruntimes_own_leg_alone_exits_0(tmp_path):
    outcome = run_check(CheckOptions(model=saved(classifier(), tmp_path / "logistic.onnx"),
                                     paths="onnx>ort-optimized", report=None))
    (row,) = outcome.rows
    assert (row.verdict, row.exact["mismatched"], outcome.exit_code) == ("agrees", 0, 0)
    assert row.error_text() == "exact, 0"
    assert row.task == {"top1": 1.0, "top1_rows": 5}  # the probabilities, 4 rows then 1


HOSTILE = "<img src=x onerror=alert(1)>"


class Relabel:
    """A converter that renames the second class: its labels differ where that class wins."""
    name = "onnx-ml-relabel-test"
    source, target = "onnx", "onnx"
    packages = ("onnx",)

    def convert(self, artifact: Artifact, options) -> Artifact:
        model = onnx.ModelProto()
        model.CopyFrom(artifact.model)
        for node in model.graph.node:
            for attribute in node.attribute:
                if attribute.name == "classlabels_strings":
                    attribute.strings[1] = HOSTILE.encode()
        return Artifact("onnx", model, list(artifact.input_names), dict(artifact.meta))


@pytest.fixture
def relabel():
    register(Relabel())
    yield Relabel.name
    unregister(Relabel.name)


def test_a_label_that_differs_fails_and_the_report_escapes_it(tmp_path, relabel):
    model = saved(classifier(zipmap=True), tmp_path / "zipmap.onnx")
    reports = tmp_path / "reports"
    outcome = run_check(CheckOptions(model=model, paths=f"onnx>{relabel}",
                                     report=str(reports)))
    (row,) = outcome.rows
    assert row.verdict == "differs" and row.category == "value_mismatch"
    assert row.comparison.startswith("exact (string)")
    assert 0 < row.exact["mismatched"] < row.exact["total"]
    assert row.error_text() == f"{row.exact['mismatched']}/{row.exact['total']} differ"
    assert "vs 'dog' (expected)" in row.message and HOSTILE in row.message
    assert outcome.exit_code == 1
    json.dumps(outcome.to_json(), allow_nan=False)
    records = [json.loads(line) for line in (reports / "results.jsonl").read_text().splitlines()]
    assert any(HOSTILE in json.dumps(record) for record in records)
    page = (reports / "parity.html").read_text()
    assert HOSTILE not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_pin_and_script_refuse_what_an_npz_without_pickle_cannot_hold(tmp_path, relabel):
    """A golden case and a script embed the case in .npz files read without pickle: strings
    as onnxruntime returns them and ZipMap's maps cannot go there, and saying so beats a case
    whose replay cannot load."""
    from harness.check import CheckError

    model = saved(classifier(zipmap=True), tmp_path / "zipmap.onnx")
    with pytest.raises(CheckError, match="the golden store cannot keep this case yet: the "
                                         "case holds sequence of maps and string values"):
        run_check(CheckOptions(model=model, paths="onnx>ort-optimized", report=None,
                               pin="zipmap", golden=str(tmp_path / "golden")))
    assert not (tmp_path / "golden" / "cases").exists() or not any(
        (tmp_path / "golden" / "cases").iterdir())
    outcome = run_check(CheckOptions(model=model, paths=f"onnx>{relabel}", report=None,
                                     script=str(tmp_path / "repro.py")))
    assert outcome.script is None and not (tmp_path / "repro.py").exists()
    assert any(problem.startswith("no script written: the case cannot be embedded")
               for problem in outcome.problems)


def test_a_string_column_is_drawn_from_the_categories_its_encoder_knows(tmp_path):
    """Drawn from LabelEncoder's keys and one city it does not know (its default): refused
    before, with the keys named."""
    from harness.sources.file import case_inputs, file_specs
    from harness.sources.file.vocabularies import OUT_OF_VOCABULARY

    model = saved(with_a_string_column(), tmp_path / "pipeline.onnx")
    drawn = dict(zip(["x", "city"], case_inputs(file_specs(model)[0])))
    assert set(drawn["city"].reshape(-1)) <= {*CITIES, OUT_OF_VOCABULARY}
    assert len(set(drawn["city"].reshape(-1)) & set(CITIES)) >= 2
    outcome = run_check(CheckOptions(model=model, report=None))
    rows = by_leg(outcome)
    assert rows["onnx>ort-optimized"].verdict == "agrees"
    assert rows["onnx>ort-optimized"].comparison == "exact (string), tolerance"
    assert ("city: drawn from the vocabulary of LabelEncoder 'city_encoder' ('paris', 'rome', "
            "'oslo')") in " ".join(outcome.notes)


def test_a_lower_cased_column_is_drawn_from_the_categories_behind_its_normaliser(tmp_path,
                                                                                  capsys):
    """skl2onnx lower-cases a text column (StringNormalizer) before its encoder: the
    categories are read past it. onnxruntime lower-cases by the system locale en_US.UTF-8; a
    machine without it (a slim image's C locales) cannot run the model at all, which
    ``parity check`` says (exit 3), naming the locale, rather than refusing the file."""
    import locale

    from harness.cli import main
    from harness.sources.file import case_inputs, file_specs

    pipeline = with_a_string_column()
    # StringNormalizer reads a column of rank 1: flattened first, as skl2onnx writes it.
    pipeline.graph.initializer.extend([
        onnx.numpy_helper.from_array(np.array([-1], np.int64), "flat"),
        onnx.numpy_helper.from_array(np.array([-1, 1], np.int64), "column")])
    pipeline.graph.node[0].input[0] = "lower_column"
    nodes = [helper.make_node("Reshape", ["city", "flat"], ["city_flat"]),
             helper.make_node("StringNormalizer", ["city_flat"], ["lower"],
                              case_change_action="LOWER"),
             helper.make_node("Reshape", ["lower", "column"], ["lower_column"]),
             *pipeline.graph.node]
    del pipeline.graph.node[:]
    pipeline.graph.node.extend(nodes)
    model = saved(pipeline, tmp_path / "pipeline.onnx")
    drawn = dict(zip(["x", "city"], case_inputs(file_specs(model)[0])))
    assert len(set(drawn["city"].reshape(-1)) & set(CITIES)) >= 2

    try:
        locale.setlocale(locale.LC_CTYPE, "en_US.UTF-8")
        has_locale = True
    except locale.Error:
        has_locale = False
    finally:
        locale.setlocale(locale.LC_CTYPE, "")
    code = main(["check", model, "--report", "none", "-q", "--paths", "onnx>ort-optimized"])
    said = capsys.readouterr().err
    if has_locale:
        assert code == 0, said
    else:
        assert code == 3, said
        assert "cannot run here" in said and "StringNormalizer needs the system locale " \
            "en_US.UTF-8, which this machine lacks" in said, said


def test_string_inputs_are_refused_with_what_inputs_must_hold_and_then_checked(tmp_path):
    from harness.check import CheckError

    pipeline = with_a_string_column()
    # The node reading the column knows no categories (a one-way Split: the column itself,
    # which the search for categories does not look past, as it looks past a reshape).
    pipeline.graph.node.insert(0, helper.make_node("Split", ["city"], ["city_copy"], axis=1))
    pipeline.graph.node[1].input[0] = "city_copy"
    model = saved(pipeline, tmp_path / "pipeline.onnx")
    with pytest.raises(CheckError) as refused:
        run_check(CheckOptions(model=model, report=None))
    said = str(refused.value)
    assert "input 'city' takes strings, which parity does not draw" in said
    assert "--inputs FILE.npz" in said and "'city' ?x1 str" in said
    data = tmp_path / "rows.npz"
    np.savez(data, x=np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32),
             city=np.array([["paris"], ["rome"], ["oslo"], ["lima"]]))
    outcome = run_check(CheckOptions(model=model, inputs=str(data), report=None))
    rows = by_leg(outcome)
    assert rows["onnx>ort-optimized"].verdict == "agrees"
    assert rows["onnx>ort-optimized"].comparison == "exact (string), tolerance"
    assert (rows["onnx>onnx2torch"].known_issue or {}).get("id") == ONNX2TORCH_ENTRY


def test_a_boolean_input_is_drawn_as_a_mask(tmp_path):
    """Drawn by its declared dtype: fair coins, where it was refused as "not numeric"."""
    from harness.sources.file.case import case_inputs

    where = helper.make_graph(
        [helper.make_node("Where", ["mask", "x", "y"], ["z"])], "where",
        [helper.make_tensor_value_info("mask", TensorProto.BOOL, [None, 3]),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [None, 3])])
    model = saved(helper.make_model(where, opset_imports=OPSETS[:1], ir_version=8),
                  tmp_path / "where.onnx")
    outcome = run_check(CheckOptions(model=model, paths="onnx>ort-optimized", report=None))
    assert outcome.rows[0].verdict == "agrees"
    mask = case_inputs(outcome.cases[0].spec)[0]
    assert mask.dtype == np.bool_ and 0 < mask.sum() < mask.size


# -- the converters' refusals are known issues ------------------------------------------------

def ml_op_versions() -> list[tuple[str, int]]:
    return sorted({(schema.name, schema.since_version)
                   for schema in defs.get_all_schemas_with_history() if schema.domain == ML})


def one_ml_node(op: str, version: int):
    schema = defs.get_schema(op, version, ML)
    inputs = [f"in{i}" for i in range(max(schema.min_input, 1))]
    outputs = [f"out{i}" for i in range(max(schema.min_output, 1))]
    graph = helper.make_graph(
        [helper.make_node(op, inputs, outputs, domain=ML)], f"{op}_{version}",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in inputs],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs])
    return helper.make_model(graph, ir_version=8, opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid(ML, version)])


def refusal(convert, model) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # onnx2pytorch: "imports domains not understood"
        try:
            convert(model)
        except Exception as exc:  # noqa: BLE001 (whatever it raises is matched below)
            return f"{type(exc).__name__}: {exc}"
    pytest.fail(f"{convert} converted {model.graph.name}: remove or narrow its entry")


CONVERTERS = (("onnx>onnx2torch", onnx2torch.convert, ONNX2TORCH_ENTRY),
              ("onnx>onnx2pytorch", onnx2pytorch.ConvertModel, ONNX2PYTORCH_ENTRY))


def test_every_ml_op_version_the_converters_refuse_is_a_known_issue():
    issues = known_issues.load()
    versions = ml_op_versions()
    assert ("LinearClassifier", 1) in versions and ("ZipMap", 1) in versions
    untagged = []
    for op, version in versions:
        model = one_ml_node(op, version)
        for leg, convert, entry in CONVERTERS:
            if known_entry(issues, model, refusal(convert, model), leg) != entry:
                untagged.append(f"{leg}: {op}-{version}")
    assert not untagged, f"refused with no known-issue entry: {untagged}"
    # A model of ML ops alone (no default domain imported): onnx2pytorch refuses it whole.
    alone = one_ml_node("Scaler", 1)
    del alone.opset_import[0]
    for leg, convert, entry in CONVERTERS:
        assert known_entry(issues, alone, refusal(convert, alone), leg) == entry, leg


def test_without_the_ml_entries_the_refusals_go_untagged():
    """The test above can fail: drop the entries, and a LinearClassifier goes untagged."""
    issues = [i for i in known_issues.load() if i.id not in (ONNX2TORCH_ENTRY,
                                                             ONNX2PYTORCH_ENTRY)]
    model = one_ml_node("LinearClassifier", 1)
    for leg, convert, _ in CONVERTERS:
        assert known_entry(issues, model, refusal(convert, model), leg) is None
