"""What the ci profile runs of the Keras layer suite, chosen by cost: the same pairs, branches
and legs as the suite's ci draws and the cover's count-chosen ci part, from the cheapest of
both (docs/coverage.md#chosen-by-cost).

    python -m harness.tools.ci_select measure --cover suites/layers/cover.json --draws --out costs.json
    python -m harness.tools.ci_select choose --cover suites/layers/cover.json --draws --costs costs.json

``measure`` runs every case of the cover (with ``--draws``, every case the suite draws under
ci too) once, in this process, down the paths the ci profile gives it
(``harness.tools.ci_contract.ci_harness``: the side-path and torch-end samples included) and
records each case's CPU seconds (``time.process_time``: the case's source reading,
conversions, runs, comparisons and known-issue matching), after one case run untimed so that
no case pays the imports. ``--shard I/N`` measures every N-th case, for N processes.

``choose`` re-marks ``ci`` in the cover. What ci must hold is what it holds now: every
(attribute value, axis) pair, draw-code branch and (kind, leg) of the suite's ci draws (each
draw's own branches: ``ci_contract.drawn_corpus`` measures one coverage context per draw) and
of the cover's ci part (a covering case holds the branches the cover credits it with: the ones
no case before it held). Greedily, the case with the most still-missing items per second of
CPU is taken, from every drawn case and every case of the cover (the nightly-only ones too);
then every taken case whose items the others all hold is dropped again, costliest first.
``--twice`` holds each pair twice where ci held it at least twice. With ``--draws`` the drawn
cases left out are written beside the cover (``harness.cover_corpus.CI_DRAWS``, with a digest
of what decided them), and the suite draws them under ci and runs none; without it, only the
cover's part is chosen, beside the drawn corpus as ci runs it. The cover's figures gain
``ci_cover.cost_s`` (before and after) and ``ci_cover.chosen_by``.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.core.frameworks import prepare_imports
from harness.core.selection import parse_shard
from harness.core.spec import LayerSpec
from harness.cover_corpus import CI_DRAWS, CI_DRAWS_SCHEMA, draws_digest, in_ci
from harness.run.pipeline import Harness
from harness.tools import ci_contract
from harness.tools import draw_cover as dc

Item = tuple[str, str]  # ("pair" | "branch" | "leg", name)


def measure_costs(specs: list[LayerSpec], shard: tuple[int, int] | None = None
                  ) -> dict[str, float]:
    """{case id: CPU seconds} of every spec (each id once; with ``shard`` (i, n), the i-th
    of n interleaved parts), each run once."""

    prepare_imports()

    unique = list({spec.case_id: spec for spec in specs}.values())
    if shard is not None:
        unique = unique[shard[0] - 1::shard[1]]
    ci = ci_contract.ci_harness()
    harness = Harness([], threads=1, extension=ci.extension)
    harness.run(unique[0])  # the imports and first-call costs, untimed
    costs = {}
    for n, spec in enumerate(unique, start=1):
        start = time.process_time()
        harness.run(spec)
        costs[spec.case_id] = round(time.process_time() - start, 4)
        if n % 50 == 0:
            print(f"  {n}/{len(unique)} cases", file=sys.stderr, flush=True)
    return costs


def cover_specs(cover: Path, source: str = "keras") -> list[LayerSpec]:
    return [LayerSpec.from_json({"source": source, **entry["spec"]})
            for entry in json.loads(cover.read_text(encoding="utf-8"))["cases"]]


def items_of(entry: dict[str, Any], source: str, harness, axis: str | None = None,
             branches: set[str] | None = None) -> set[Item]:
    """What a case holds: its pairs along ``axis`` (a covering case's own), its branches (a
    covering case's credited ones), its (kind, leg)s."""

    spec = entry["spec"]
    kind = ci_contract._kind(spec, source)
    held: set[Item] = {("pair", ci_contract.pair_name(p))
                       for p in dc.spec_pairs(kind, spec, axis or entry["axis"])}
    held |= {("branch", name) for name in (entry.get("branches", ()) if branches is None
                                           else branches)}
    legs = ci_contract.kind_legs([LayerSpec.from_json({"source": source, **spec})], harness)
    held |= {("leg", f"{key} down {leg}") for key, found in legs.items() for leg in found}
    return held


def choose(cases: list[Any], held: list[set[Item]], costs: list[float],
           needed: set[Item], times: dict[Item, int] | None = None) -> list[int]:
    """Indices of cases holding every item of ``needed`` (``times[item]`` times where given,
    else once) at a low total cost: greedily the case with the most still-wanted holdings per
    second (lazily re-scored), then each case the others make redundant dropped, costliest
    first."""
    want = {item: (times or {}).get(item, 1) for item in needed}
    held = [h & needed for h in held]

    def gain(i: int) -> float:
        return sum(1 for item in held[i] if want[item] > 0) / max(costs[i], 1e-3)

    heap = [(-gain(i), i) for i in range(len(cases)) if held[i]]
    heapq.heapify(heap)
    chosen: list[int] = []
    while any(n > 0 for n in want.values()):
        while heap:
            _stale, i = heapq.heappop(heap)
            score = gain(i)
            if score > 0 and (not heap or -heap[0][0] <= score):
                break
            if score > 0:
                heapq.heappush(heap, (-score, i))
        else:
            short = sorted(item for item, n in want.items() if n > 0)
            raise ValueError(f"no case holds {short[:5]}")
        chosen.append(i)
        for item in held[i]:
            want[item] -= 1
    count: dict[Item, int] = defaultdict(int)
    for i in chosen:
        for item in held[i]:
            count[item] += 1
    need = {item: (times or {}).get(item, 1) for item in needed}
    for i in sorted(chosen, key=lambda i: -costs[i]):
        if all(count[item] > need[item] for item in held[i]):
            chosen.remove(i)
            for item in held[i]:
                count[item] -= 1
    return sorted(chosen)


def combinations(entry: dict[str, Any], source: str, axis: str) -> set[tuple[str, ...]]:
    """Two documented values of one case on one axis (kind, axis, value, value): what a
    converter fault that needs both shows on, and the pairs alone do not count."""
    values = sorted((attr, value) for _kind, attr, value, _axis
                    in dc.spec_pairs(ci_contract._kind(entry["spec"], source), entry["spec"],
                                     axis))
    return {(entry["spec"]["kind"], axis, f"{a}={x}", f"{b}={y}")
            for (a, x), (b, y) in itertools.combinations(values, 2)}


def drawn_cases(source: str, harness) -> tuple[list[dict[str, Any]], list[set[Item]]]:
    """The suite's ci draws, one per case id (a spec drawn twice holds what both drawings
    hold), each with its kind and what it holds (``items_of``, its branches its own)."""

    corpus, branches_of = ci_contract.drawn_corpus(source)
    axis_of = dc.SOURCES[source].axis_of
    by_id: dict[str, int] = {}
    cases: list[dict[str, Any]] = []
    held: list[set[Item]] = []
    for entry, branches in zip(corpus, branches_of, strict=True):
        case_id = ci_contract.case_id(entry["spec"], source)
        items = items_of(entry, source, harness, axis_of(entry), branches)
        pairs_of_values = combinations(entry, source, axis_of(entry))
        if case_id in by_id:
            held[by_id[case_id]] |= items
            cases[by_id[case_id]]["combinations"] |= pairs_of_values
            continue
        by_id[case_id] = len(cases)
        cases.append({"id": case_id, "kind": entry["spec"]["kind"], "spec": entry["spec"],
                      "combinations": pairs_of_values})
        held.append(items)
    return cases, held


def rechoose(cover_path: Path, costs: dict[str, float], source: str = "keras",
             draws: bool = False, twice: bool = False) -> tuple[dict[str, Any], dict | None]:
    """(the cover with its ``ci`` marks chosen by cost, and with ``draws`` the record of the
    drawn cases ci leaves to it) (see the module docstring)."""

    prepare_imports()

    data = json.loads(cover_path.read_text(encoding="utf-8"))
    harness = ci_contract.ci_harness()
    cases = data["cases"]
    ids = [LayerSpec.from_json({"source": source, **e["spec"]}).case_id for e in cases]
    # a held case (a find no known issue pins yet) runs in no test: it holds nothing
    held = [set() if case_id in data.get("held", {}) else items_of(entry, source, harness)
            for case_id, entry in zip(ids, cases, strict=True)]
    was = [i for i, entry in enumerate(cases) if in_ci(entry, data)]
    if draws:
        drawn, drawn_held = drawn_cases(source, harness)
        before: set[Item] = set()
        ids += [case["id"] for case in drawn]
        held += drawn_held
        # what ci holds now: every draw, and the cover's ci part
        now = [*was, *range(len(cases), len(ids))]
    else:
        drawn = []
        corpus, corpus_pairs, _ = ci_contract.corpus_reach(source)
        corpus_legs = ci_contract.kind_legs(
            [LayerSpec.from_json({"source": source, **e["spec"]}) for e in corpus], harness)
        before = {("pair", p) for p in corpus_pairs}
        before |= {("leg", f"{key} down {leg}") for key, legs in corpus_legs.items()
                   for leg in legs}
        now = was
    unmeasured = [case_id for case_id in ids if case_id not in costs]
    if unmeasured:
        raise SystemExit(f"{len(unmeasured)} cases have no cost, e.g. {unmeasured[:3]}: "
                         f"run 'measure'{' --draws' * draws} on this cover")
    needed = set().union(*(held[i] for i in now)) - before
    times = None
    if twice:  # each pair as often as ci holds it now, up to twice
        holders: dict[Item, int] = defaultdict(int)
        for i in now:
            for item in held[i] & needed:
                holders[item] += 1
        times = {item: min(2, n) for item, n in holders.items() if item[0] == "pair"}
    cost = [costs[case_id] for case_id in ids]
    chosen = set(choose(ids, held, cost, needed, times))
    for i, entry in enumerate(cases):
        entry["ci"] = i in chosen
    ci_cover = [i for i in chosen if i < len(cases)]
    kept = [i for i in chosen if i >= len(cases)]
    figures = data["figures"].setdefault("ci_cover", {})
    figures.update({
        "cases": len(ci_cover), "chosen_by": "cost, with the drawn cases" if draws else "cost",
        "cost_s": {"count-chosen": round(sum(cost[i] for i in was), 1),
                   "cost-chosen": round(sum(cost[i] for i in ci_cover), 1)},
        "cases_count_chosen": len(was)})
    data["ci_cases"] = len(ci_cover)
    # a pair ci now holds is no longer one that only nightly reaches
    now_held = {name for i in chosen for kind, name in held[i] if kind == "pair"}
    data["unreached"] = [entry for entry in data.get("unreached", [])
                         if not (entry.get("profile") == "ci" and entry.get("pair") in now_held)]
    if not draws:
        return data, None
    skipped: dict[str, list[str]] = defaultdict(list)
    for n, case in enumerate(drawn, start=len(cases)):
        if n not in chosen:
            skipped[case["kind"]].append(case["id"])
    combined = [combinations(entry, source, entry["axis"]) for entry in cases]
    combined += [case["combinations"] for case in drawn]
    before_held = set().union(*(combined[i] for i in now))
    after_held = set().union(*(combined[i] for i in chosen))
    record = {
        "schema": CI_DRAWS_SCHEMA,
        "skipped": {kind: sorted(found) for kind, found in sorted(skipped.items())},
        "figures": {
            "drawn": len(drawn), "kept": len(kept), "cover_ci_cases": len(ci_cover),
            "pairs_held": "at least twice where ci held them twice" if twice else "once",
            "needed": {kind: sum(1 for item in needed if item[0] == kind)
                       for kind in ("pair", "branch", "leg")},
            "cost_s": {"before": round(sum(cost[i] for i in now), 1),
                       "after": round(sum(cost[i] for i in chosen), 1)},
            # not required (the contract counts single values): what the choice gives up
            "combinations": {"before": len(before_held),
                             "after": len(after_held & before_held)}}}
    return data, record


def restamp(folder: Path) -> str:
    """Records the digest of the draw inputs as they are now in ``folder``'s ci_draws.json,
    after an edit that changes no draw (how a drawn case is read, not what is drawn): the ci
    corpus is drawn anew, and the file is rewritten only where it still draws every case the
    file leaves to the cover and as many distinct cases as it chose from. Otherwise the choice
    is stale, and ``measure`` then ``choose`` make it again."""
    path = folder / CI_DRAWS
    record = json.loads(path.read_text(encoding="utf-8"))
    drawn = {ci_contract.case_id(entry["spec"], "keras")
             for entry in ci_contract.drawn_corpus("keras")[0]}
    left = {case_id for ids in record["skipped"].values() for case_id in ids}
    gone = sorted(left - drawn)
    if gone or len(drawn) != record["figures"]["drawn"]:
        raise SystemExit(f"{path}: the draws changed ({len(drawn)} distinct cases drawn, "
                         f"{record['figures']['drawn']} when chosen; {len(gone)} of those left "
                         f"to the cover no longer drawn): run measure, then choose")
    record["inputs"] = draws_digest(folder)
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return (f"{path}: the same {len(drawn)} drawn cases, {len(left)} left to the cover; "
            f"digest {record['inputs'][:12]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    measuring = sub.add_parser("measure", help="each case's CPU seconds, as JSON")
    measuring.add_argument("--cover", type=Path, required=True)
    measuring.add_argument("--draws", action="store_true",
                           help="the suite's ci draws too (the cover's suite)")
    measuring.add_argument("--shard", help="I/N: the I-th of N interleaved parts")
    measuring.add_argument("--out", type=Path, required=True)
    choosing = sub.add_parser("choose", help="re-mark the cover's ci part by cost")
    choosing.add_argument("--cover", type=Path, required=True)
    choosing.add_argument("--costs", type=Path, required=True, nargs="+",
                          help="the costs 'measure' wrote (several: its shards)")
    choosing.add_argument("--draws", action="store_true",
                          help="choose from the suite's ci draws too; write the drawn cases "
                               f"ci leaves to the cover beside it ({CI_DRAWS})")
    choosing.add_argument("--twice", action="store_true",
                          help="hold each pair twice where ci holds it twice now")
    restamping = sub.add_parser("restamp", help=f"record the draw inputs' digest in {CI_DRAWS} "
                                                "again after an edit that changes no draw")
    restamping.add_argument("--cover", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "restamp":
        prepare_imports()
        print(restamp(args.cover.parent))
        return 0
    if args.command == "measure":
        specs = cover_specs(args.cover)
        if args.draws:
            specs = [LayerSpec.from_json({"source": "keras", **entry["spec"]})
                     for entry in ci_contract.drawn_corpus("keras")[0]] + specs
        costs = measure_costs(specs, parse_shard(args.shard))
        args.out.write_text(json.dumps(costs, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"{len(costs)} cases, {sum(costs.values()):.1f} s of CPU")
        return 0
    costs = {}
    for path in args.costs:
        costs.update(json.loads(path.read_text(encoding="utf-8")))
    data, record = rechoose(args.cover, costs, draws=args.draws, twice=args.twice)
    args.cover.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    ci = data["figures"]["ci_cover"]
    print(f"cover's ci part: {ci['cases_count_chosen']} cases, {ci['cost_s']['count-chosen']} s"
          f" -> {ci['cases']} cases, {ci['cost_s']['cost-chosen']} s")
    if record is not None:
        record["inputs"] = draws_digest(args.cover.parent)  # the cover as now written
        (args.cover.parent / CI_DRAWS).write_text(
            json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        fig = record["figures"]
        print(f"drawn cases: {fig['kept']} of {fig['drawn']} kept; ci (draws and cover): "
              f"{fig['cost_s']['before']} s -> {fig['cost_s']['after']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
