"""The covering cases: what the ci corpus reaches of the draw code, measured, and the draws
that reach the rest (harness.tools.draw_cover)."""

import json
from pathlib import Path

import pytest

from harness.core import registry
from harness.core.spec import LayerSpec
from harness.report.coverage import reach, reach_text

ROOT = Path(__file__).resolve().parents[1]
COVERED = sorted(ROOT.glob("suites/*/cover.json"))


@pytest.fixture(scope="module")
def split_cover():
    pytest.importorskip("coverage")
    pytest.importorskip("onnxruntime")
    from harness.tools import draw_cover

    return draw_cover.measure("onnx", "suites/onnx/test_ops.py", "ci", examples=8,
                              kinds=["Split"])


def measured_branches(tmp_path: Path, code: str, *calls):
    """(the Branches of ``code`` written as drawing.py, its executed arcs, its path) after
    calling its ``draw`` with each of ``calls`` under coverage.py in branch mode."""
    coverage = pytest.importorskip("coverage")
    from harness.tools.draw_cover import Branches, executed_arcs

    source = tmp_path / "drawing.py"
    source.write_text(code, encoding="utf-8")
    cov = coverage.Coverage(branch=True, include=[str(source)], data_file=None)
    cov.start()
    try:
        namespace: dict = {}
        exec(compile(code, str(source), "exec"), namespace)
        for value in calls:
            namespace["draw"](value)
    finally:
        cov.stop()
    executed = executed_arcs(cov.get_data())
    return Branches(cov, [str(source)], executed), executed, str(source)


def test_covering_cases_reach_what_the_corpus_misses(split_cover):
    from harness.tools.draw_cover import spec_pairs

    figures = split_cover["figures"]
    pairs, branches = figures["pairs"], figures["branches"]
    assert pairs["admitted"] > 0 and branches["total"] > 0
    assert pairs["corpus"] <= pairs["with_cover"] <= pairs["admitted"]
    assert branches["corpus"] <= branches["with_cover"] <= branches["total"]
    kind = registry.get("Split", "onnx")
    chosen = [(case["axis"], LayerSpec.from_json(case["spec"])) for case in split_cover["cases"]]
    assert chosen and all(spec.kind == "Split" for _axis, spec in chosen)
    # Every covering case holds a pair no other covering case or the corpus does, or a branch
    # (greedy cover: a case that adds nothing is never kept).
    per_case = [spec_pairs(kind, spec.to_json(), axis) for axis, spec in chosen]
    assert pairs["with_cover"] - pairs["corpus"] <= len(set().union(*per_case))
    row = figures["per_kind"]["Split"]
    assert row["with_cover"] == pairs["with_cover"] and row["admitted"] == pairs["admitted"]


def test_axis_of_a_suite_test():
    from harness.tools.draw_cover import PLAIN, axis_of_test

    assert axis_of_test("suites/onnx/test_ops.py::test_op_axis[Conv-float16]") == "float16"
    assert axis_of_test("suites/layers/test_layers.py::test_layer_axis[Conv2D-free-spatial]") \
        == "free-spatial"
    assert axis_of_test("suites/onnx/test_ops.py::test_op[Conv]") == PLAIN


@pytest.mark.parametrize("path", COVERED, ids=[p.parent.name for p in COVERED])
def test_checked_in_cover_holds_valid_cases_and_its_promise(path):
    """Each checked-in cover file holds specs of registered kinds, and the figures it states
    are those of its cases (the suite runs them: suites/<source>/test_cover.py)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    kinds = set(registry.names(source=data["source"]))
    for case in data["cases"]:
        spec = LayerSpec.from_json(case["spec"])
        assert spec.kind in kinds and spec.source == data["source"]
    pairs = data["figures"]["pairs"]
    per_kind = data["figures"]["per_kind"]
    assert sum(row["admitted"] for row in per_kind.values()) == pairs["admitted"]
    assert sum(row["with_cover"] for row in per_kind.values()) == pairs["with_cover"]
    # The promise: the covering cases reach 95% of the pairs, where the source's cover aims
    # at them, and 95% of the draw code's branches (what is left is listed with a reason).
    line = reach_text({**data["figures"], "cases": len(data["cases"]), "profile": data["profile"],
                       "goal": data["goal"]})
    assert data["figures"]["branches"]["with_cover_percent"] >= 95.0, line
    if data["goal"] == "branches and pairs":
        assert pairs["with_cover_percent"] >= 95.0, line
    assert all(entry.get("reason") for entry in data["unreached"])
    if "ci_goal" in data:  # the ci profile runs part of the cover: each kind to its goal
        ci = data["figures"]["ci_cover"]
        assert ci["branches_percent"] >= 95.0 and data["ci_goal"] >= 95.0, line
        below = {kind: row for kind, row in per_kind.items()
                 if row["ci_cover"] < data["ci_goal"] / 100.0 * row["admitted"]}
        assert not below, below
        assert ci["cases"] == sum(bool(case["ci"]) for case in data["cases"])


@pytest.mark.parametrize("path", COVERED, ids=[p.parent.name for p in COVERED])
def test_the_golden_store_holds_a_case_for_every_reached_branch(path):
    """The branches the ci corpus and the cover reach that the golden store's drawn corpus
    does not are each held by a covering case the store keeps (``parity golden update``
    draws them beside its corpus)."""
    from harness import golden
    from harness.golden.update import branch_cases

    data = json.loads(path.read_text(encoding="utf-8"))
    figures = data["golden_figures"]
    # A branch no case of the store can hold (its every draw refused by the source, which
    # gives no expected outputs) is listed with why.
    assert figures["with_golden_branch_cases"] + len(figures["not_held"]) \
        == figures["branches_reached"], figures
    assert all(entry["reason"] for entry in figures["not_held"])
    stored = set(golden.read_manifest(golden.default_root()).cases)
    wanted = {spec.case_id for spec in branch_cases(data["source"], path.parents[1])}
    assert len(wanted) == len(data["golden_branch_cases"])
    assert wanted <= stored, sorted(wanted - stored)


def test_reach_is_shown_by_layers_and_the_report(tmp_path, capsys):
    (tmp_path / "onnx").mkdir()
    figures = {"branches": {"total": 10, "corpus": 8, "corpus_percent": 80.0, "with_cover": 10,
                            "with_cover_percent": 100.0},
               "pairs": {"admitted": 4, "corpus": 2, "corpus_percent": 50.0, "with_cover": 4,
                         "with_cover_percent": 100.0},
               "per_kind": {"Relu": {"admitted": 4, "corpus": 2, "with_cover": 4}}}
    (tmp_path / "onnx" / "cover.json").write_text(json.dumps(
        {"source": "onnx", "profile": "ci", "figures": figures, "cases": [{}, {}],
         "unreached": []}))
    (tmp_path / "keras").mkdir()
    (tmp_path / "keras" / "cover.json").write_text("{truncated")
    measured = reach(tmp_path)
    assert list(measured) == ["onnx"]  # a damaged file measures nothing
    line = reach_text(measured["onnx"])
    assert "80.0% by the ci corpus" in line and "100.0% with its 2 covering cases" in line
    assert "pairs 50.0% (100.0%)" in line


def test_a_relation_between_values_shows_in_the_output_shapes():
    """Split by num_outputs over an axis the count does not divide is no branch and no value
    of its own; its unequal parts are a pair the cover reaches."""
    pytest.importorskip("onnx")
    from harness.tools.draw_cover import SHAPES, shape_relation, spec_pairs

    split = registry.get("Split", "onnx")

    def spec(length):
        return {"attrs": {"axis": 0, "num_outputs": 2, "opset": 18, "outputs": 2},
                "input_shapes": [[length]], "dtype": "float32"}

    assert shape_relation(split, spec(5)) == "unequal outputs"
    assert shape_relation(split, spec(4)) == "other"
    assert ("Split", SHAPES, "unequal outputs", "float16") in spec_pairs(split, spec(5),
                                                                       "float16")
    relu = registry.get("Relu", "onnx")
    assert shape_relation(relu, {"attrs": {"opset": 17}, "input_shapes": [[4, 2]]}) == \
        "as input"
    assert shape_relation(registry.get("Dense"), spec(5)) is None  # a Keras kind: none


def test_a_matlab_case_holds_its_own_layer_and_network_values_on_its_format():
    """A MATLAB case's pairs: its own layer's attributes (not a lead-in's or a follower's),
    the network's version, input layout and sizes and its followers, on its file format."""
    from harness.sources.mat.case import network_spec
    from harness.tools.draw_cover import SOURCES, spec_pairs

    spec = network_spec([("relu", {"leak": 0.1}), ("dropout", {"rate": 0.5})],
                        input_shape=(2, 3, 5, 6), fmt="dagnn", version="7.3").to_json()
    pairs = spec_pairs(registry.get("relu", "mat"), spec, SOURCES["mat"].axis_of({"spec": spec}))
    assert pairs == {("relu", attr, value, "dagnn") for attr, value in [
        ("leak", "0.1"), ("version", '"7.3"'), ("layout", '"image"'), ("height", "5"),
        ("width", "6"), ("followers", "1")]}
    dropout = spec_pairs(registry.get("dropout", "mat"), spec, "dagnn")
    assert ("dropout", "rate", "0.5", "dagnn") in dropout
    assert ("dropout", "followers", "0", "dagnn") in dropout


def test_the_greedy_cover_takes_branches_first_and_keeps_to_its_budget():
    from harness.tools.draw_cover import Draw, greedy_cover, pairs_curve

    def draw(name, arcs=(), pairs=()):
        return Draw(name, "float32", {}, set(arcs), set(pairs))

    many_pairs = draw("pairs", pairs=[("K", "a", str(v), "float32") for v in range(5)])
    one_branch = draw("branch", arcs=[("f.py", 3, 4)])
    both = draw("both", arcs=[("f.py", 3, 4)], pairs=[("K", "a", "0", "float32")])
    chosen = greedy_cover([many_pairs, one_branch, both], set(), set())
    assert [d.kind for d in chosen] == ["both", "pairs"]  # the branch first, then the pairs
    assert [d.kind for d in greedy_cover([many_pairs, one_branch], set(), set(),
                                         limit=1)] == ["branch"]
    admitted = many_pairs.pairs
    assert pairs_curve(chosen, set(), admitted) == {"2": 100.0}


def test_a_branch_the_source_marks_is_listed_with_its_reason(tmp_path):
    """A guard no draw takes (``# pragma: no branch``, coverage.py's mark) is not counted;
    the cover lists it with the reason written beside the pragma."""
    branches, _, source = measured_branches(
        tmp_path,
        "def draw(pick):\n"
        "    if pick is None:  # pragma: no branch (a caller's error)\n"
        "        raise ValueError(pick)\n"
        "    if pick:\n"
        "        return 1\n"
        "    return 0\n", 1)
    assert branches.possible == {(source, 4, 5), (source, 4, 6)}
    assert branches.marked == {(source, 2, 3): "marked not a draw path in the source: "
                                                    "a caller's error"}


def test_the_ci_profile_runs_the_ci_part_and_a_larger_one_all(tmp_path):
    from harness.cover_corpus import CI_EXAMPLES, cases_by_kind, profile_runs_ci_part
    from harness.plugin import PROFILES

    assert PROFILES["ci"]["max_examples"] == CI_EXAMPLES
    specs = [{"kind": "ReLU", "attrs": {}, "input_shapes": [[1, n]], "seed": 0}
             for n in (1, 2, 3)]
    marked = tmp_path / "cover.json"
    marked.write_text(json.dumps({"cases": [
        {"kind": "ReLU", "axis": "float32", "spec": spec, "rank": n, "ci": n != 2}
        for n, spec in enumerate(specs, start=1)]}))
    ranked = tmp_path / "ranked.json"  # a file written before the ci mark: the first ci_cases
    ranked.write_text(json.dumps({"ci_cases": 1, "cases": [
        {"kind": "ReLU", "axis": "float32", "spec": spec, "rank": n}
        for n, spec in enumerate(specs, start=1)]}))
    for profile, marked_runs, ranked_runs in (("dev", 2, 1), ("ci", 2, 1), ("nightly", 3, 3)):
        ci_only = profile_runs_ci_part(PROFILES[profile]["max_examples"])
        assert len(cases_by_kind(marked, ci_only)["ReLU"]) == marked_runs, profile
        assert len(cases_by_kind(ranked, ci_only)["ReLU"]) == ranked_runs, profile
    assert [s.input_shapes for s in cases_by_kind(marked, True)["ReLU"]] == [((1, 1),), ((1, 3),)]


def test_the_ci_part_takes_each_kind_to_its_goal_and_every_branch():
    from harness.tools.draw_cover import Draw, ci_part, greedy_cover

    def pairs(kind, *values):
        return {(kind, "a", str(v), "float32") for v in values}

    admitted = pairs("A", *range(10)) | pairs("B", 0, 1)
    corpus = pairs("A", 0) | pairs("B", 0, 1)  # B is whole already
    draws = [Draw("A", "float32", {"n": n}, set(), pairs("A", *values))
             for n, values in enumerate([(1, 2, 3, 4), (5, 6, 7), (8,), (9,)])]
    draws.append(Draw("B", "float32", {"n": 9}, {("f.py", 1, 2)}, pairs("B", 0)))
    chosen = greedy_cover(draws, set(), corpus)
    assert [d.kind for d in chosen][0] == "B"  # its branch first
    # 80% of A's ten pairs is eight: the corpus holds one, the first two cases seven more.
    assert [d.spec["n"] for d in ci_part(chosen, corpus, admitted, 80.0)] == [9, 0, 1]
    assert len(ci_part(chosen, corpus, admitted, 95.0)) == 5
    assert [d.spec["n"] for d in ci_part(chosen, corpus, admitted, 10.0)] == [9]


def test_a_cover_the_ci_profile_runs_in_part_says_what_that_part_reaches():
    figures = {"branches": {"corpus_percent": 80.0, "with_cover_percent": 100.0},
               "pairs": {"corpus_percent": 40.0, "with_cover_percent": 100.0},
               "ci_cover": {"cases": 100, "branches_percent": 96.0, "pairs_percent": 60.0},
               "cases": 1000, "profile": "ci", "goal": "branches and pairs"}
    line = reach_text(figures)
    assert "96.0% with the first 100 of its 1000 covering cases, 100.0% with all" in line
    assert "pairs 40.0% (60.0%, 100.0% with all)" in line
    assert "reaches branches only" in reach_text({**figures, "goal": "branches"})
    goal = {**figures, "ci_cover": {**figures["ci_cover"], "goal_percent": 95.0}}
    assert ("96.0% with the 100 of its 1000 covering cases that take each kind to 95% of its "
            "pairs, 100.0% with all") in reach_text(goal)


def test_the_golden_corpus_keeps_the_covers_branch_cases(tmp_path):
    from harness.golden.update import corpus

    spec = LayerSpec(kind="ReLU", attrs={"max_value": 6.0}, input_shapes=((1, 7, 3),), seed=5)
    (tmp_path / "layers").mkdir()
    (tmp_path / "layers" / "cover.json").write_text(json.dumps(
        {"source": "keras", "cases": [],
         "golden_branch_cases": [{"kind": "ReLU", "axis": "float32", "spec": spec.to_json(),
                                  "branches": ["f.py:1->2"]}]}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "cover.json").write_text("{")  # a damaged file holds none
    ids = {s.case_id for s in corpus(1, ["ReLU"], suites=tmp_path)}
    assert spec.case_id in ids
    assert spec.case_id not in {s.case_id for s in corpus(1, ["ReLU"], suites=None)}
    assert spec.case_id not in {s.case_id for s in corpus(1, ["Dense"], suites=tmp_path)}


def test_a_jump_into_a_statement_of_several_lines_reaches_its_branch(tmp_path):
    """At run time the false exit of line 2 lands on line 5, inside the list that starts on
    line 4; coverage.py's analysis names that arc (2, 4). Both exits were taken."""
    branches, executed, source = measured_branches(
        tmp_path,
        "def draw(pick):\n"
        "    if pick > 1:\n"
        "        pick = 1\n"
        "    return [\n"
        "        len(str(pick)),\n"
        "    ]\n", 0, 2)
    assert branches.possible == {(source, 2, 3), (source, 2, 4)}
    assert branches.of(executed) == branches.possible


def test_the_commands_in_the_docs_wrote_the_checked_in_covers():
    """docs/coverage.md gives the command that wrote each suite's cover.json: each parses,
    and its source, suite, draws per axis, named kinds' draws and ci goal are the file's."""
    import shlex

    from harness.tools.draw_cover import parse

    text = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8").replace("\\\n", " ")
    commands = [shlex.split(line)[3:] for line in text.splitlines()
                if line.startswith("python -m harness.tools.draw_cover ")]
    assert {Path(parse(argv).out) for argv in commands} == \
        {path.relative_to(ROOT) for path in COVERED}
    for argv in commands:
        args = parse(argv)
        data = json.loads((ROOT / args.out).read_text(encoding="utf-8"))
        assert (data["source"], data["suite"]) == (args.source, args.suite)
        assert data["examples_per_axis"] == args.examples, args.out
        named = dict(item.split("=") for item in args.examples_for.split(",")) \
            if args.examples_for else {}
        assert data.get("examples_for", {}) == {k: int(n) for k, n in named.items()}, args.out
        assert data.get("ci_goal") == args.ci_goal, args.out


def test_a_spec_drawn_twice_is_one_case_reaching_what_either_drawing_reached():
    from harness.tools.draw_cover import Draw, merged_draws

    spec = {"kind": "ReLU", "attrs": {}, "input_shapes": [[1, 2]], "seed": 0}
    first = Draw("ReLU", "float32", dict(spec), {("f.py", 1, 2)}, {("ReLU", "a", "1", "float32")})
    again = Draw("ReLU", "free", dict(spec), {("f.py", 3, 4)}, {("ReLU", "a", "1", "free")})
    other = Draw("ReLU", "float32", {**spec, "seed": 1}, set(), set())
    merged = merged_draws([first, again, other])
    assert len(merged) == 2
    assert merged[0].arcs == {("f.py", 1, 2), ("f.py", 3, 4)} and len(merged[0].pairs) == 2


def test_drawing_the_cover_again_says_its_leg_cases_must_be_chosen_again(tmp_path, capsys):
    """``draw_cover`` writes the cover afresh; the leg cases ``leg_cover`` chose against the
    old one are gone, and it says so, with the command that chooses them again."""
    pytest.importorskip("onnxruntime")
    from harness.tools.draw_cover import main

    out = tmp_path / "cover.json"
    out.write_text(json.dumps({"cases": [], "leg_cases": [{"kind": "Relu"}, {"kind": "Relu"}]}))
    assert main(["--source", "onnx", "--suite", "suites/onnx/test_ops.py", "--kinds", "Relu",
                 "--examples", "2", "--no-golden", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "its 2 leg cases were chosen against the cover it held" in said
    assert f"python -m harness.tools.leg_cover --cover {out}" in said
    assert "leg_cases" not in json.loads(out.read_text())
