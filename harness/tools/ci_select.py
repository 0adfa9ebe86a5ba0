"""The ci part of a Keras cover chosen by cost: the same pairs, branches and legs as the
count-chosen part, from the cheapest covering cases (docs/coverage.md#chosen-by-cost-measured-no-gain-from-the-covers-own-cases).

    python -m harness.tools.ci_select measure --cover suites/layers/cover.json --out costs.json
    python -m harness.tools.ci_select choose --cover suites/layers/cover.json --costs costs.json

``measure`` runs every case of the cover once, in this process, down the paths the ci profile
gives it (``harness.tools.ci_contract.ci_harness``: the side-path and torch-end samples
included) and records each case's CPU seconds (``time.process_time``: the case's source
reading, conversions, runs, comparisons and known-issue matching), after one case run
untimed so that no case pays the imports.

``choose`` re-marks ``ci`` in the cover. What the ci part must hold is what it holds now
beside the ci corpus (the suite's derandomised draws, ``ci_contract.corpus_reach``): every
(attribute value, axis) pair it adds, every case credited with a draw-code branch (a branch
is credited to the one case that reached it first, so each such case stays), and every
(kind, leg) that only a ci cover case takes (a case's id decides the side-path and torch-end
samples). Greedily, the case with the most still-missing items per second of CPU is taken,
from every case of the cover (the nightly-only ones too); then every taken case whose items
the others all hold is dropped again, costliest first. The cover's figures gain
``ci_cover.cost_s`` (before and after) and ``ci_cover.chosen_by``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from harness.core.frameworks import prepare_imports
from harness.core.spec import LayerSpec
from harness.cover_corpus import in_ci
from harness.run.pipeline import Harness
from harness.tools import ci_contract
from harness.tools import draw_cover as dc

Item = tuple[str, str]  # ("pair" | "branch" | "leg", name)


def measure_costs(cover: Path, source: str = "keras") -> dict[str, float]:
    """{case id: CPU seconds} of every case of ``cover``, each run once."""

    prepare_imports()

    ci = ci_contract.ci_harness()
    harness = Harness([], threads=1, extension=ci.extension)
    specs = [LayerSpec.from_json({"source": source, **entry["spec"]})
             for entry in json.loads(cover.read_text(encoding="utf-8"))["cases"]]
    harness.run(specs[0])  # the imports and first-call costs, untimed
    costs = {}
    for n, spec in enumerate(specs, start=1):
        start = time.process_time()
        harness.run(spec)
        costs[spec.case_id] = round(time.process_time() - start, 4)
        if n % 50 == 0:
            print(f"  {n}/{len(specs)} cases", file=sys.stderr, flush=True)
    return costs


def items_of(entry: dict[str, Any], source: str, harness) -> set[Item]:
    """What a covering case holds: its pairs, its credited branches, its (kind, leg)s."""

    spec = entry["spec"]
    kind = ci_contract._kind(spec, source)
    held: set[Item] = {("pair", ci_contract.pair_name(p))
                       for p in dc.spec_pairs(kind, spec, entry["axis"])}
    held |= {("branch", name) for name in entry.get("branches", ())}
    legs = ci_contract.kind_legs([LayerSpec.from_json({"source": source, **spec})], harness)
    held |= {("leg", f"{key} down {leg}") for key, found in legs.items() for leg in found}
    return held


def choose(cases: list[dict[str, Any]], held: list[set[Item]], costs: list[float],
           needed: set[Item]) -> list[int]:
    """Indices of cases holding every item of ``needed`` at a low total cost (greedy by
    items per second, then each redundant case dropped, costliest first)."""
    missing = set(needed)
    chosen: list[int] = []
    while missing:
        best = max((i for i in range(len(cases)) if i not in chosen and held[i] & missing),
                   key=lambda i: (len(held[i] & missing) / max(costs[i], 1e-3), -i),
                   default=None)
        if best is None:
            raise ValueError(f"no case holds {sorted(missing)[:5]}")
        chosen.append(best)
        missing -= held[best]
    for i in sorted(chosen, key=lambda i: -costs[i]):
        others = set().union(*(held[j] for j in chosen if j != i))
        if needed & held[i] <= others:
            chosen.remove(i)
    return sorted(chosen)


def rechoose(cover_path: Path, costs: dict[str, float], source: str = "keras") -> dict[str, Any]:
    """The cover with its ``ci`` marks chosen by cost (see the module docstring)."""

    prepare_imports()

    data = json.loads(cover_path.read_text(encoding="utf-8"))
    harness = ci_contract.ci_harness()
    corpus, corpus_pairs, _ = ci_contract.corpus_reach(source)
    corpus_legs = ci_contract.kind_legs(
        [LayerSpec.from_json({"source": source, **e["spec"]}) for e in corpus], harness)
    before: set[Item] = {("pair", p) for p in corpus_pairs}
    before |= {("leg", f"{key} down {leg}") for key, legs in corpus_legs.items() for leg in legs}
    cases = data["cases"]
    ids = [LayerSpec.from_json({"source": source, **e["spec"]}).case_id for e in cases]
    unmeasured = [case_id for case_id in ids if case_id not in costs]
    if unmeasured:
        raise SystemExit(f"{len(unmeasured)} cases have no cost, e.g. {unmeasured[:3]}: "
                         f"run 'measure' on this cover")
    held = [items_of(entry, source, harness) for entry in cases]
    was = [i for i, entry in enumerate(cases) if in_ci(entry, data)]
    needed = set().union(*(held[i] for i in was)) - before
    cost = [costs[case_id] for case_id in ids]
    chosen = set(choose(cases, held, cost, needed))
    for i, entry in enumerate(cases):
        entry["ci"] = i in chosen
    figures = data["figures"].setdefault("ci_cover", {})
    figures.update({
        "cases": len(chosen), "chosen_by": "cost",
        "cost_s": {"count-chosen": round(sum(cost[i] for i in was), 1),
                   "cost-chosen": round(sum(cost[i] for i in chosen), 1)},
        "cases_count_chosen": len(was)})
    data["ci_cases"] = len(chosen)
    # a pair the cost-chosen part now holds is no longer one that only nightly reaches
    now_held = {name for i in chosen for kind, name in held[i] if kind == "pair"}
    data["unreached"] = [entry for entry in data.get("unreached", [])
                         if not (entry.get("profile") == "ci" and entry.get("pair") in now_held)]
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    measuring = sub.add_parser("measure", help="each case's CPU seconds, as JSON")
    measuring.add_argument("--cover", type=Path, required=True)
    measuring.add_argument("--out", type=Path, required=True)
    choosing = sub.add_parser("choose", help="re-mark the cover's ci part by cost")
    choosing.add_argument("--cover", type=Path, required=True)
    choosing.add_argument("--costs", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "measure":
        costs = measure_costs(args.cover)
        args.out.write_text(json.dumps(costs, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"{len(costs)} cases, {sum(costs.values()):.1f} s of CPU")
        return 0
    data = rechoose(args.cover, json.loads(args.costs.read_text(encoding="utf-8")))
    args.cover.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    ci = data["figures"]["ci_cover"]
    print(f"ci part: {ci['cases_count_chosen']} cases, {ci['cost_s']['count-chosen']} s -> "
          f"{ci['cases']} cases, {ci['cost_s']['cost-chosen']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
