from __future__ import annotations

import gc
import json
from pathlib import Path

from harness.report import load_results
from harness.results import run_end_record

from .synthetic import make_records, run_record, write_jsonl


def test_shards_merge_into_one_result_set(tmp_path: Path) -> None:
    first = make_records(cases=10, seed=1, run_id="r1", shards=2)
    second = make_records(cases=5, seed=2, run_id="r2")
    a = write_jsonl(tmp_path / "a.jsonl", first)
    b = write_jsonl(tmp_path / "b.jsonl", second)
    results = load_results([a, b])
    assert len(results.runs) == 3
    assert len(results.results) == 30 + 15
    assert results.sources == [str(a), str(b)]
    assert not results.problems
    assert {r["run_id"] for r in results.results} == {"r1", "r2"}


def test_concatenated_file_equals_its_shards(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", make_records(cases=6, seed=1, run_id="r1"))
    b = write_jsonl(tmp_path / "b.jsonl", make_records(cases=6, seed=2, run_id="r2"))
    cat = tmp_path / "cat.jsonl"
    cat.write_text(a.read_text() + b.read_text())
    assert load_results([cat]).results == load_results([a, b]).results


def test_same_shard_read_twice_counts_once(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", make_records(cases=5, seed=1))
    results = load_results([a, a])
    assert len(results.results) == 15
    assert len(results.runs) == 1
    assert results.duplicates == 16


def test_malformed_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    good = make_records(cases=3, seed=1)
    lines = [json.dumps(r) for r in good]
    lines.insert(2, '{"record": "result", "case_id": "abc"')  # truncated by a killed worker
    lines.insert(3, "[1, 2, 3]")
    lines.insert(4, json.dumps({"record": "mystery"}))
    lines.insert(5, json.dumps({**good[1], "verdict": "maybe"}))
    lines.insert(6, json.dumps({**good[1], "leg": None}))
    lines.insert(7, "")
    lines.insert(8, json.dumps({**good[1], "schema": "parity.result2/1"}))
    lines.append("\x00\x00garbage")
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    results = load_results([path])
    assert len(results.results) == 9
    where = [(p.path, p.line) for p in results.problems]
    assert where == [(str(path), n) for n in (3, 4, 5, 6, 7, 9, 18)]
    messages = [p.message for p in results.problems]
    assert messages[0].startswith("not JSON")
    assert "list" in messages[1]
    assert "mystery" in messages[2]
    assert "maybe" in messages[3]
    assert "leg" in messages[4]
    assert "schema" in messages[5]
    assert str(results.problems[0]).startswith(f"{path}:3: ")
    assert results.overall_verdict() in ("FAIL", "INCOMPLETE")


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", make_records(cases=2, seed=1))
    results = load_results([tmp_path / "absent.jsonl", a])
    assert len(results.results) == 6
    assert results.problems[0].line == 0
    assert "absent.jsonl" in results.problems[0].path


def test_invalid_utf8_does_not_stop_the_file(tmp_path: Path) -> None:
    records = make_records(cases=2, seed=1)
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\xff\xfe broken\n" + "".join(json.dumps(r) + "\n" for r in records).encode())
    results = load_results([path])
    assert len(results.results) == 6
    assert [p.line for p in results.problems] == [1]


def test_overall_verdict() -> None:
    from harness.report.load import Results

    def verdict_of(*verdicts: str, problems: bool = False) -> str:
        results = Results(results=[{"verdict": v} for v in verdicts])
        if problems:
            from harness.report import LoadProblem

            results.problems.append(LoadProblem("x", 1, "bad"))
        return results.overall_verdict()

    assert verdict_of("pass", "xfail", "skip") == "PASS"
    assert verdict_of("pass", "fail") == "FAIL"
    assert verdict_of("pass", "error") == "FAIL"
    assert verdict_of("pass", "xpass") == "FAIL"
    assert verdict_of() == "INCOMPLETE"
    assert verdict_of("pass", problems=True) == "INCOMPLETE"
    assert verdict_of("fail", problems=True) == "FAIL"


def test_results_without_run_record_still_load(tmp_path: Path) -> None:
    records = [r for r in make_records(cases=2, seed=1) if r["record"] == "result"]
    results = load_results([write_jsonl(tmp_path / "a.jsonl", records)])
    assert not results.runs and len(results.results) == 6


def test_run_record_fields_pass_through(tmp_path: Path) -> None:
    run = run_record(gpu="NVIDIA H100", device="cuda")
    results = load_results([write_jsonl(tmp_path / "a.jsonl", [run])])
    assert results.runs == [run]


def test_a_merged_matrix_run_gets_a_column_per_stack(tmp_path: Path) -> None:
    """Two tox environments' results merged: each result carries its run's stack, and the
    report's tables show one column per stack, where one broke and the other did not."""
    from harness.report.html import render_html

    floor = make_records(cases=6, seed=1, run_id="r-floor")
    ci = make_records(cases=6, seed=1, run_id="r-ci")
    floor[0]["stack"], ci[0]["stack"] = "floor", "ci"
    for record in floor[1:]:
        record["verdict"] = "error" if record["leg"] == floor[1]["leg"] else record["verdict"]
    paths = [write_jsonl(tmp_path / "floor.jsonl", floor), write_jsonl(tmp_path / "ci.jsonl", ci)]
    results = load_results(paths)
    assert {(r["run_id"], r["stack"]) for r in results.results} == {("r-floor", "floor"),
                                                                    ("r-ci", "ci")}
    page = render_html(results)
    assert "[floor · cpu]" in page and "[ci · cpu]" in page
    one = load_results(paths[:1])  # one stack: nothing stamped, no extra columns
    assert "stack" not in one.results[0] and "[floor · cpu]" not in render_html(one)


def test_the_lost_device_contexts_of_every_shard_are_summed(tmp_path: Path) -> None:
    """A shard's run_end record (harness.results.run_end_record) is read, not a problem; the
    contexts its workers lost add up over the shards, by label."""
    records = make_records(cases=3, seed=1, run_id="r1", shards=2)
    ends = [run_end_record(run_id="r1", shard=shard, contexts_lost=lost, workers_started=n)
            for shard, lost, n in (("gw0", {"CUDA": 2}, 3), ("gw1", {}, 1),
                                   ("gw2", {"CUDA": 1, "planted": 1}, 3))]
    path = write_jsonl(tmp_path / "a.jsonl", [*records, *ends])
    results = load_results([path])
    assert not results.problems and len(results.run_ends) == 3
    assert results.contexts_lost() == {"CUDA": 3, "planted": 1}
    assert load_results([write_jsonl(tmp_path / "b.jsonl", records)]).contexts_lost() == {}


def test_reading_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    """Reading pauses the cyclic collector (a large results file reads in a third of the
    time) and gives it back as it was, also when the caller had paused it."""
    a = write_jsonl(tmp_path / "a.jsonl", make_records(cases=3, seed=1))
    assert gc.isenabled()
    assert len(load_results([a, tmp_path / "missing.jsonl"]).results) == 9
    assert gc.isenabled()
    gc.disable()
    try:
        load_results([a])
        assert not gc.isenabled()
    finally:
        gc.enable()
