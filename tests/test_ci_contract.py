"""The ci contract of issue #46 (docs/coverage.md#the-ci-contract): the ci profile may change
which cases it runs, and tests nothing less than landed main 4d1e7d32 did. Every
(attribute value, axis) pair and draw-code branch the covers reached, every pinned known-issue
entry and every (kind, leg) of 4d1e7d32's ci (``tests/ci_contract/4d1e7d32.json``, written by
``python -m harness.tools.ci_contract reach`` on that commit) is still reached by this tree's:
its ci corpus as stored (``tests/ci_contract/corpus.json``, checked fresh against the draw
code), its covers' ci parts and its pins, both read now (the covers' manifests and pytest's
collection; nothing is converted). Also the cost-chosen cover's choice itself
(``harness.tools.ci_select.choose``)."""

from __future__ import annotations

import json

import pytest

from harness import cover_corpus
from harness.tools import ci_contract, ci_select

pytest.importorskip("tensorflow", reason="the Keras kinds' pairs and legs")


def _read(path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def corpus():
    return _read(ci_contract.CORPUS_RECORD)


@pytest.fixture(scope="module")
def now(corpus):
    return ci_contract.reach(corpus)


def test_the_stored_ci_corpus_is_this_trees(corpus):
    assert ci_contract.stale(corpus) is None, ci_contract.stale(corpus)


def test_the_layer_suites_choice_of_ci_draws_is_fresh():
    """A stale ``ci_draws.json`` skips nothing, so ci runs every drawn case the cover already
    holds (about 50 s of CPU a main job, docs/coverage.md): an edit of Keras' draw code asks
    for the choice to be made again."""
    _skipped, why = cover_corpus.read_ci_draws(ci_contract.ROOT / "suites" / "layers")
    assert why is None, (f"{why}: re-choose them ('Chosen by cost' in docs/coverage.md: "
                         "ci_select measure --draws, then choose --draws --twice), or, after "
                         "an edit that changes no draw, ci_select restamp")


def test_ci_tests_nothing_less_than_at_4d1e7d32(now):
    before = ci_contract.baseline()
    lost = ci_contract.missing(before, now)
    assert not lost, (f"{len(lost)} things ci exercised at 4d1e7d32 it no longer does:\n"
                      + "\n".join(lost[:40]))
    counts = ci_contract.counts(now)
    assert all(counts[name] >= value for name, value in ci_contract.counts(before).items())


def test_missing_names_each_thing_lost(now):
    """The comparison can fail: a pair, a branch, an entry and a leg taken out are each named."""
    fewer = json.loads(json.dumps(now))
    keras = fewer["covers"]["keras"]
    pair, branch = keras["pairs"].pop(0), keras["branches"].pop(0)
    entry = sorted(fewer["pins"])[0]
    del fewer["pins"][entry]
    key = sorted(fewer["legs"])[0]
    leg = fewer["legs"][key].pop()
    assert ci_contract.missing(now, fewer) == [
        f"keras pair {pair}", f"keras branch {branch}", f"known issue {entry}",
        f"{key} down {leg}"]
    assert ci_contract.missing(fewer, now) == []


def test_every_onnx2tf_pin_ci_ran_is_still_exercised(now):
    """The onnx2tf entries ci pinned with a live conversion (their first minimal spec, the
    silent wrong outputs) are exercised still, live or from the golden store."""
    before = _read(ci_contract.BASELINE)
    onnx2tf = [entry for entry in before["pins"] if entry.startswith("onnx2tf")]
    assert onnx2tf and not [entry for entry in onnx2tf if entry not in now["pins"]]


def test_the_cost_choice_keeps_every_item_at_less_cost():
    held = [{("pair", "a"), ("pair", "b")}, {("pair", "a")}, {("pair", "b")},
            {("pair", "c"), ("leg", "k down x")}, {("branch", "f:1->2")}, {("pair", "a")}]
    costs = [10.0, 1.0, 1.0, 2.0, 5.0, 0.5]
    needed = set().union(*held)
    chosen = ci_select.choose([{}] * len(held), held, costs, needed)
    assert set().union(*(held[i] for i in chosen)) == needed
    assert chosen == [2, 3, 4, 5]  # the costly case of a and b gives way to two cheap ones
    # a case that holds nothing needed is never taken; what no case holds is an error
    assert ci_select.choose([{}] * 2, [{("pair", "a")}, set()], [1.0, 0.1], {("pair", "a")}) == [0]
    with pytest.raises(ValueError, match="no case holds"):
        ci_select.choose([{}], [{("pair", "a")}], [1.0], {("pair", "z")})


def test_the_cost_choice_holds_a_pair_twice_where_asked():
    held = [{("pair", "a"), ("pair", "b")}, {("pair", "a")}, {("pair", "b")},
            {("pair", "c")}, {("pair", "a")}]
    costs = [10.0, 1.0, 1.0, 2.0, 0.5]
    needed = set().union(*held)
    assert ci_select.choose([{}] * 5, held, costs, needed) == [2, 3, 4]
    twice = {("pair", "a"): 2, ("pair", "b"): 2, ("pair", "c"): 1}
    chosen = ci_select.choose([{}] * 5, held, costs, needed, twice)
    assert chosen == [0, 2, 3, 4]  # b has two holders only; a's cheap pair 4 and 0 do for a
    with pytest.raises(ValueError, match="no case holds"):
        ci_select.choose([{}] * 5, held, costs, needed, {("pair", "c"): 2})


def test_a_tests_last_draw_takes_what_ran_after_it():
    corpus = [{"test": "t[A]", "context": "t[A]#0"}, {"test": "t[A]", "context": "t[A]#1"},
              {"test": "t[B]", "context": "t[B]#0"}]
    assert ci_contract.draw_contexts(corpus, ["t[A]#0", "t[A]#1", "t[A]#2", "t[B]#0"]) == [
        ["t[A]#0"], ["t[A]#1", "t[A]#2"], ["t[B]#0"]]


def _suite(folder, skipped):
    folder.mkdir()
    (folder / "test_layers.py").write_text("# draws\n", encoding="utf-8")
    (folder / "cover.json").write_text("{}\n", encoding="utf-8")
    record = {"schema": cover_corpus.CI_DRAWS_SCHEMA, "skipped": skipped,
              "inputs": cover_corpus.draws_digest(folder), "figures": {"drawn": 5}}
    (folder / cover_corpus.CI_DRAWS).write_text(json.dumps(record), encoding="utf-8")
    return folder


def test_a_stale_choice_of_draws_skips_nothing(tmp_path, monkeypatch):
    """ci leaves the listed drawn cases to the cover only while the list is fresh: an edit of
    the suite or its cover, a missing list, or the choosing tools' own switch run them all."""
    monkeypatch.delenv(cover_corpus.EVERY_DRAW, raising=False)
    folder = _suite(tmp_path / "layers", {"Dense": ["a", "b"], "ReLU": ["c"]})
    assert cover_corpus.ci_skipped_ids(folder) == {"a", "b", "c"}
    assert "leaves 3 of 5 drawn layers cases" in cover_corpus.ci_draws_line(folder)
    monkeypatch.setenv(cover_corpus.EVERY_DRAW, "all")
    assert cover_corpus.ci_skipped_ids(folder) == frozenset()
    monkeypatch.delenv(cover_corpus.EVERY_DRAW)
    (folder / "cover.json").write_text('{"cases": []}\n', encoding="utf-8")
    assert cover_corpus.ci_skipped_ids(folder) == frozenset()
    assert "ci runs every drawn case of layers" in cover_corpus.ci_draws_line(folder)
    assert "stale" in cover_corpus.ci_draws_line(folder)
    (folder / cover_corpus.CI_DRAWS).unlink()
    assert cover_corpus.ci_skipped_ids(folder) == frozenset()


def test_leg_cases_written_into_the_cover_leave_the_choice_of_draws_fresh(tmp_path, monkeypatch):
    """harness.tools.leg_cover adds cases per converter leg after the ci draws are chosen:
    they decide none of them, so writing them keeps the choice; an edit of the cover's own
    cases does not."""
    monkeypatch.delenv(cover_corpus.EVERY_DRAW, raising=False)
    folder = _suite(tmp_path / "layers", {"Dense": ["a"]})
    cover = {"cases": []}
    (folder / "cover.json").write_text(json.dumps(cover, indent=1, sort_keys=True) + "\n",
                                       encoding="utf-8")
    record = json.loads((folder / cover_corpus.CI_DRAWS).read_text(encoding="utf-8"))
    record["inputs"] = cover_corpus.draws_digest(folder)
    (folder / cover_corpus.CI_DRAWS).write_text(json.dumps(record), encoding="utf-8")
    with_legs = {**cover, "leg_cases": [{"kind": "Dense", "legs": ["keras>tf2onnx"]}],
                 "leg_figures": {"keras>tf2onnx": {"pairs_in_ci_cases": 1}}}
    (folder / "cover.json").write_text(json.dumps(with_legs, indent=1, sort_keys=True) + "\n",
                                       encoding="utf-8")
    assert cover_corpus.ci_skipped_ids(folder) == {"a"}
    (folder / "cover.json").write_text(json.dumps({**with_legs, "cases": [{"kind": "Dense"}]}),
                                       encoding="utf-8")
    assert cover_corpus.ci_skipped_ids(folder) == frozenset()


def test_the_admission_tables_reasons_leave_the_choice_of_draws_fresh(tmp_path):
    """keras2_kinds.py's ADMITTED decides which kinds gain the tf-keras legs; its REFUSED
    holds tf_keras' words for the others (measured again when they change), which decide
    nothing the ci draws hold."""
    table = tmp_path / "keras2_kinds.py"
    table.write_text("ADMITTED = ('Dense',)\nREFUSED = {'LSTM': 'one reason'}\n",
                     encoding="utf-8")
    before = cover_corpus._deciding_bytes(table)
    table.write_text("ADMITTED = ('Dense',)\nREFUSED = {'LSTM': 'another reason'}\n",
                     encoding="utf-8")
    assert cover_corpus._deciding_bytes(table) == before
    table.write_text("ADMITTED = ('Dense', 'LSTM')\nREFUSED = {}\n", encoding="utf-8")
    assert cover_corpus._deciding_bytes(table) != before


def _branch(text, *tests):
    return {"text": list(text), "tests": sorted(tests)}


def test_a_moved_branch_maps_to_its_twin_and_a_lost_one_to_nothing():
    """harness.tools.branch_moves: a branch is the same where its condition's text is, it
    leaves the condition the same way, and every test that reached it still does."""
    from harness.tools.branch_moves import twins

    condition = "if value_range is not None:"
    before = {
        "a.py:10->11": _branch((condition, "attrs[RANGE] = [r]"), "t1"),
        "a.py:10->12": _branch((condition, "return attrs, [shape], dtype"), "t1", "t2"),
        "a.py:20->21": _branch(("if opset >= 19:", "x = 1"), "t1"),
        "a.py:30->31": _branch(("if kept:", "y = 2"), "t3"),
        "a.py:40->41": _branch(("if lost:", "z = 3"), "t1"),
    }
    after = {
        "b.py:5->6": _branch((condition, "attrs[RANGE] = [r]"), "t1", "t4"),
        "b.py:5->7": _branch((condition, "return attrs, dtype"), "t1", "t2"),  # rewritten after
        "b.py:8->9": _branch(("if opset >= 19:", "x = 1"), "t4"),  # not reached by t1 now
        "a.py:30->31": _branch(("if kept:", "y = 2"), "t3"),
        "c.py:1->2": _branch(("if lost:", "z = 3"), "t1"),
        "c.py:1->9": _branch(("if lost:", "w = 4"), "t1"),  # the other way out of it
    }
    assert twins(before, after) == {"a.py:10->11": ["b.py:5->6"], "a.py:10->12": ["b.py:5->7"],
                                    "a.py:40->41": ["c.py:1->2"]}


def test_the_baseline_names_a_moved_branch_as_its_twins(tmp_path):
    record = {"covers": {"onnx": {"pairs": ["p"], "branches": ["a.py:1->2", "a.py:3->4"]}},
              "pins": {}, "legs": {}}
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps({"schema": ci_contract.MOVES_SCHEMA, "from": "x",
                                 "moves": {"a.py:1->2": ["b.py:7->8"]}}), encoding="utf-8")
    renamed = ci_contract.with_moves(record, ci_contract.read_moves(moved))
    assert renamed["covers"]["onnx"]["branches"] == ["a.py:3->4", "b.py:7->8"]
    assert ci_contract.missing(renamed, record) == ["onnx branch b.py:7->8"]
    assert ci_contract.read_moves(tmp_path / "none.json") == {}


def test_a_withdrawn_entry_is_exercised_only_by_its_successors_pin(tmp_path):
    record = {"covers": {}, "pins": {"wrong-party": ["test"], "kept": ["golden"]}, "legs": {}}
    succeeded = tmp_path / "succeeded.json"
    succeeded.write_text(json.dumps({"schema": ci_contract.SUCCESSORS_SCHEMA, "succeeded": {
        "wrong-party": {"by": "right-party", "why": "blamed the converter that follows the spec"}
    }}), encoding="utf-8")
    renamed = ci_contract.with_successors(record, ci_contract.read_successors(succeeded))
    assert renamed["pins"] == {"right-party": ["test"], "kept": ["golden"]}
    without = {"covers": {}, "pins": {"kept": ["golden"]}, "legs": {}}
    assert ci_contract.missing(renamed, without) == ["known issue right-party"]
    assert ci_contract.missing(renamed, {**without, "pins": {**without["pins"],
                                                             "right-party": ["test"]}}) == []
    assert ci_contract.read_successors(tmp_path / "none.json") == {}


def test_every_withdrawn_entry_is_gone_and_its_successor_is_an_entry():
    from harness.core import known_issues

    ids = {issue.id for issue in known_issues.load()}
    successors = ci_contract.read_successors()
    assert successors
    assert not set(successors) & ids
    assert set(successors.values()) <= ids


def test_a_second_measure_of_moves_keeps_the_first_and_names_both_revisions(tmp_path):
    from harness.tools.branch_moves import merged

    moved = tmp_path / "moved.json"
    first = merged(moved, "aaaa", {"a.py:1->2": ["b.py:7->8"]})
    assert first["from"] == "aaaa"
    moved.write_text(json.dumps(first), encoding="utf-8")
    second = merged(moved, "bbbb", {"b.py:7->8": ["c.py:3->4"]})
    assert second["from"] == "aaaa, then bbbb"
    assert second["moves"] == {"a.py:1->2": ["b.py:7->8"], "b.py:7->8": ["c.py:3->4"]}


def test_a_branch_moved_twice_is_named_as_it_is_now():
    record = {"covers": {"onnx": {"pairs": [], "branches": ["a.py:1->2", "a.py:9->9"]}},
              "pins": {}, "legs": {}}
    moves = {"a.py:1->2": ["b.py:7->8"], "b.py:7->8": ["c.py:3->4", "c.py:5->6"],
             "a.py:9->9": ["a.py:9->9"]}  # a twin of itself: no endless chase
    renamed = ci_contract.with_moves(record, moves)
    assert renamed["covers"]["onnx"]["branches"] == ["a.py:9->9", "c.py:3->4", "c.py:5->6"]


def test_a_restamp_records_the_digest_only_while_the_same_cases_are_drawn(tmp_path,
                                                                          monkeypatch):
    """An edit of a digested file that changes no draw (the Keras source's reading) makes the
    choice stale; ``restamp`` records the digest again once the ci corpus, drawn anew, still
    holds every case left to the cover and as many cases as were chosen from."""
    monkeypatch.delenv(cover_corpus.EVERY_DRAW, raising=False)
    folder = _suite(tmp_path / "layers", {"Dense": ["a", "b"], "ReLU": ["c"]})
    (folder / "test_layers.py").write_text("# draws, read otherwise\n", encoding="utf-8")
    assert cover_corpus.ci_skipped_ids(folder) == frozenset()  # stale
    ids = iter("abcde")
    monkeypatch.setattr(ci_contract, "case_id", lambda spec, source: spec["id"])
    monkeypatch.setattr(ci_contract, "drawn_corpus",
                        lambda source: ([{"spec": {"id": next(ids)}} for _ in range(5)], []))
    assert "the same 5 drawn cases, 3 left to the cover" in ci_select.restamp(folder)
    assert cover_corpus.ci_skipped_ids(folder) == {"a", "b", "c"}  # fresh again
    (folder / "test_layers.py").write_text("# draws, drawn otherwise\n", encoding="utf-8")
    monkeypatch.setattr(ci_contract, "drawn_corpus",
                        lambda source: ([{"spec": {"id": x}} for x in "abdef"], []))
    with pytest.raises(SystemExit, match="1 of those left to the cover no longer drawn"):
        ci_select.restamp(folder)
    assert cover_corpus.ci_skipped_ids(folder) == frozenset()  # still stale


def test_the_reach_command_compares_with_the_baseline_as_the_test_does(capsys, tmp_path):
    """``python -m harness.tools.ci_contract reach`` reads 4d1e7d32's record with its moved
    branches and withdrawn entries named as now, as ``baseline()`` does: it lists nothing lost
    where the contract test finds nothing lost."""
    assert ci_contract.main(["reach", "--out", str(tmp_path / "reach.json")]) == 0
    printed = capsys.readouterr().out
    assert "pinned entries" in printed
    assert not [line for line in printed.splitlines() if line.startswith("known issue ")]


def test_a_torch_end_pin_is_read_down_its_own_legs():
    """The torch end's pin test runs an entry's spec down the entry's own legs (torch.export
    after onnx2torch here), which are not ci paths: read down the spec's ci paths, the pin
    would not count, and ci would leave the entry to nightly."""
    entry = "onnx2torch-reshape-shape-tensor-not-exportable"
    test = f"test_known_issue_after_the_torch_module_still_reproduces[{entry}]"
    in_torch_end = {entry: [f"{ci_contract.TORCH_END_SUITE}test_torch_end.py::{test}"]}
    run = {pin.issue.id: legs for pin, legs in ci_contract.pins_run(in_torch_end)}
    assert "onnx>onnx2torch>torch-export" in run[entry]
    elsewhere = {entry: [f"suites/onnx/test_ops.py::{test}"]}
    assert entry not in {pin.issue.id for pin, _legs in ci_contract.pins_run(elsewhere)}
    # and 4d1e7d32's ci ran it there: the contract holds ci to it
    assert entry in _read(ci_contract.BASELINE)["pins"]
