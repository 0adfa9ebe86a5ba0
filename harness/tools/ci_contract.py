"""What the ci profile exercises, as the contract of issue #46 counts it (docs/coverage.md#the-ci-contract).

    python -m harness.tools.ci_contract --out tests/ci_contract/current.json

The ci profile may change which cases it draws and how it runs them, as long as it tests
nothing less. This tool measures the "nothing less", without running a conversion:

1. **covers**: for each drawing source (keras, onnx, mat), the (attribute value, axis) pairs
   and the draw-code branches that the ci corpus (the suite's derandomised draws that ci
   runs, drawn with ``harness.tools.draw_recorder`` as ``harness.tools.draw_cover`` draws
   them, one coverage context per draw; a drawn case ci leaves to the cover,
   ``harness.cover_corpus.CI_DRAWS``, counts for nothing) and the ci part of the suite's
   ``cover.json`` reach. A covering case's branches are those the cover credits it with
   (``branches``: the ones no case before it held).
2. **pins**: the known-issue entries whose minimal spec a ci test pins (collected by pytest
   under the ci profile, ``slow`` left out as ci leaves it out; the side-path and torch-end
   suites' pin tests go down their own paths) or the golden replay runs.
3. **legs**: for each (source, kind), the legs its ci cases go down: its drawn and covering
   cases' and its pins', each resolved by ``Harness.resolve`` with the ci profile's side-path
   and torch-end samples, as the ``parity`` fixture resolves them.

``tests/test_ci_contract.py`` holds the tree to the record of landed main 4d1e7d32
(``tests/ci_contract/4d1e7d32.json``): every pair, branch, pinned entry and (kind, leg) there
is still in the tree's own record (``current.json``), which it checks is fresh: the record
keeps a digest of every file its figures read (draw code, covers, suites, known issues,
golden manifest); an edit of one of them asks for this tool to run again.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness import golden
from harness.converters import ConversionPath
from harness.core import known_issues, registry
from harness.core.frameworks import prepare_imports
from harness.core.spec import LayerSpec
from harness.cover_corpus import CI_DRAWS, ci_skipped_ids, in_ci, read
from harness.run import side_paths, torch_end
from harness.run.pipeline import Harness
from harness.tools import draw_cover as dc

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "parity.ci-contract/1"
# The drawing suites whose corpus and cover the contract's first part reads.
SUITES = {"keras": ("suites/layers/test_layers.py", "suites/layers/cover.json"),
          "onnx": ("suites/onnx/test_ops.py", "suites/onnx/cover.json"),
          "mat": ("suites/mat/test_mat_conformance.py", "suites/mat/cover.json")}
# What decides the ci corpus and its legs: a digest of these files says whether a stored
# corpus record is fresh (the covers, the pins and their legs are measured each time).
INPUTS = ("harness/sources/keras/__init__.py", "harness/sources/keras/kinds/*.py",
          "harness/sources/onnx/**/*.py", "harness/sources/mat/*.py",
          "harness/core/strategies.py", "harness/core/free_dims.py", "harness/core/axes.py",
          "harness/core/selection.py", "harness/run/side_paths.py", "harness/run/torch_end.py",
          *(suite for suite, _ in SUITES.values()),
          *(str(Path(suite).with_name(CI_DRAWS)) for suite, _ in SUITES.values()))


def inputs_digest(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for pattern in INPUTS:
        for name in sorted(glob.glob(str(root / pattern), recursive=True)):
            digest.update(os.path.relpath(name, root).encode() + b"\0")
            digest.update(Path(name).read_bytes())
    return digest.hexdigest()


# -- 1. covers ----------------------------------------------------------------------------------

def drawn_corpus(source: str) -> tuple[list[dict[str, Any]], list[set[str]]]:
    """The ci corpus of ``source``'s suite, drawn and not run (``draw_cover.record_corpus``,
    one coverage context per draw): its entries, in the suite's order, and the draw-code
    branches each draw reached (what ran up to it since the draw before it in its test).
    The drawn cases ci leaves to the cover are in it."""
    import coverage

    suite, _ = SUITES[source]
    drawing = dc.SOURCES[source]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        dc.record_corpus(source, suite, "ci", folder, per_draw=True)
        corpus = [json.loads(line) for line in
                  (folder / "ci-specs.jsonl").read_text(encoding="utf-8").splitlines()]
        include = [str(dc.ROOT / pattern) for pattern in drawing.files]
        cov = coverage.Coverage(branch=True, include=include,
                                data_file=str(folder / "ci.coverage"))
        cov.load()
        data = cov.get_data()
        contexts = draw_contexts(corpus, [c for c in data.measured_contexts() if c])
        per_draw = [dc.executed_arcs(data, found) for found in contexts]
        files = sorted({path for arcs in per_draw for path, _a, _b in arcs})
        every = dc.Branches(cov, files, set().union(*per_draw))
        branches = [set(dc._arc_names(every.of(arcs))) for arcs in per_draw]
    return corpus, branches


def draw_contexts(corpus: list[dict[str, Any]], measured: list[str]) -> list[list[str]]:
    """The coverage contexts of each draw: its own, and for a test's last draw what ran
    after it (examples Hypothesis rejected, ``<test id>#<count>``)."""
    mine = [[entry["context"]] for entry in corpus]
    last = {entry["test"]: n for n, entry in enumerate(corpus)}
    for context in set(measured) - {entry["context"] for entry in corpus}:
        test = context.rsplit("#", 1)[0]
        if test in last:
            mine[last[test]].append(context)
    return mine


def corpus_reach(source: str) -> tuple[list[dict[str, Any]], set[str], set[str]]:
    """(the corpus entries the ci profile runs, their pairs, their branches) for ``source``'s
    suite, measured as ``harness.tools.draw_cover`` measures them: a drawn case the suite
    leaves to the cover under ci (``harness.cover_corpus.CI_DRAWS``) is not run, and counts
    for nothing."""

    drawing = dc.SOURCES[source]
    corpus, branches_of = drawn_corpus(source)
    left = ci_skipped_ids((ROOT / SUITES[source][0]).parent)
    run = [n for n, entry in enumerate(corpus) if case_id(entry["spec"], source) not in left]
    pairs = set()
    for n in run:
        pairs |= dc.spec_pairs(_kind(corpus[n]["spec"], source), corpus[n]["spec"],
                               drawing.axis_of(corpus[n]))
    return ([corpus[n] for n in run], {pair_name(p) for p in pairs},
            set().union(set(), *(branches_of[n] for n in run)))


def cover_reach(source: str, root: Path = ROOT) -> tuple[list[dict[str, Any]], set[str], set[str]]:
    """(the ci part's cases, their pairs, their branches) of ``source``'s ``cover.json``."""

    data = read(root / SUITES[source][1])
    held = data.get("held", {})
    cases = [entry for entry in data["cases"] if in_ci(entry, data)]
    pairs, branches = set(), set()
    for entry in cases:
        if case_id(entry["spec"], source) in held:
            continue
        pairs |= {pair_name(p) for p in dc.spec_pairs(_kind(entry["spec"], source),
                                                      entry["spec"], entry["axis"])}
        branches |= set(entry.get("branches", ()))
    return cases, pairs, branches


def pair_name(pair: tuple[str, str, str, str]) -> str:
    kind, attr, value, axis = pair
    return f"{kind}.{attr}={value} @ {axis}"


def _kind(spec: dict[str, Any], source: str):

    return registry.get(spec["kind"], spec.get("source", source))


def case_id(spec: dict[str, Any], source: str) -> str:

    return LayerSpec.from_json({"source": source, **spec}).case_id


# -- 2. pins ------------------------------------------------------------------------------------

def collected_pins(root: Path = ROOT) -> dict[str, list[str]]:
    """{pin id (harness.core.known_issues.pins): the test ids that pin it} of the tests the
    ci profile collects from suites/, ``slow`` left out."""
    command = [sys.executable, "-m", "pytest", "suites", "--collect-only", "-q",
               "--hypothesis-profile=ci", "-p", "no:cacheprovider", "-p", "no:xdist",
               "--parity-report", "none"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)})
    if done.returncode not in (0, 5):
        raise SystemExit(f"collecting suites/ failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    tests: dict[str, list[str]] = defaultdict(list)
    for line in done.stdout.splitlines():
        if "known_issue" in line and "[" in line:
            tests[line.rsplit("[", 1)[1].rstrip("]")].append(line.strip())
    return dict(tests)


# Where the golden replay starts a source's case from: what the case stores (a Keras case its
# tf2onnx model, harness.golden). A leg at or after one of these is replayed; so is every leg
# of the side paths the case holds.
REPLAYED_FROM = {"keras": ("keras>tf2onnx",)}
# The suites whose pin tests run an entry's minimal spec down paths of their own (the side
# paths', the torch end's: the entry's legs), not down the spec's ci paths.
SIDE_PATH_SUITE = "suites/side_paths/"
TORCH_END_SUITE = "suites/torch_end/"


def pins_run(collected: dict[str, list[str]]):
    """(pin, the legs its collected tests run) for each pin a collected test runs rather than
    skips: the side-path and torch-end suites' pins go down their own paths, every other
    suite's down the ci paths of its spec, and a test none of whose legs the entry covers is
    skipped. The torch end runs an entry's first minimal spec, under the entry's id."""

    harness = ci_harness()
    own = _own_path_pins()
    for pin in known_issues.pins():
        tests = list(collected.get(pin.id, ()))
        if pin.id != pin.issue.id and pin.spec == pin.issue.minimal:
            tests += [test for test in collected.get(pin.issue.id, ())
                      if test.startswith(TORCH_END_SUITE)]
        legs: set[str] = set()
        for test in tests:
            suite = next((folder for folder in own if test.startswith(folder)), None)
            found = (set(own[suite].get(test.rsplit("[", 1)[1].rstrip("]"), ())) if suite else
                     {leg for path in harness.resolve(pin.spec).paths for leg in path.legs()})
            if any(pin.issue.covers_leg(leg) for leg in found):
                legs |= found
        if legs:
            yield pin, legs


def pinned_entries(collected: dict[str, list[str]], root: Path = ROOT) -> dict[str, list[str]]:
    """{entry id: how ci exercises it}: ``test`` (a collected pin test runs it down a leg the
    entry covers, or the ci test its ``pinned_by`` names runs it) and/or ``golden`` (the
    replay runs its minimal spec from the store down such a leg)."""

    store = golden.read_manifest(root / "golden")
    harness = ci_harness()
    how: dict[str, set[str]] = defaultdict(set)
    for pin, _legs in pins_run(collected):
        how[pin.issue.id].add("test")
    issues = known_issues.load()
    for issue in issues:  # pinned by a named ci test of its own (its script)
        if issue.pinned_by and any(test.split("[", 1)[0] == issue.pinned_by
                                   for test in collected.get(issue.id, ())):
            how[issue.id].add("test")
    for pin in known_issues.pins(issues):
        if pin.spec.case_id in store.cases and any(
                pin.issue.covers_leg(leg) for leg in replayed_legs(store, pin.spec, harness)):
            how[pin.issue.id].add("golden")
    return {entry: sorted(ways) for entry, ways in sorted(how.items())}


def replayed_legs(store, spec, harness) -> set[str]:
    """The legs the golden replay runs a stored case down (``REPLAYED_FROM``)."""

    starts = REPLAYED_FROM.get(spec.source, (spec.source,))
    legs = {leg for path in harness.resolve(spec).paths for leg in path.legs()
            if any(leg == start or leg.startswith(start + ">") for start in starts)}
    try:
        held = golden.load_case(store, spec.case_id, verify=False).side_paths
    except golden.GoldenError:
        held = []
    return legs | {leg for path in held for leg in ConversionPath.parse(path).legs()}


# -- 3. legs ------------------------------------------------------------------------------------

def ci_harness():
    """A harness resolving paths as the ``parity`` fixture does under ci with default options."""

    extension = side_paths.combine(torch_end.parse("auto", "ci"), side_paths.parse("auto", "ci"))
    return Harness([], known_issues=[], diagnose=False, extension=extension)


def kind_legs(specs, harness) -> dict[str, set[str]]:
    """{"source:kind": legs} over ``specs`` (LayerSpecs), as ``harness`` resolves them."""
    legs: dict[str, set[str]] = defaultdict(set)
    for spec in specs:
        for path in harness.resolve(spec).paths:
            legs[f"{spec.source}:{spec.kind}"].update(path.legs())
    return legs


def pin_legs(collected: dict[str, list[str]]) -> dict[str, set[str]]:
    """{"source:kind": legs} that the pins the collected tests run go down."""
    legs: dict[str, set[str]] = defaultdict(set)
    for pin, found in pins_run(collected):
        legs[f"{pin.spec.source}:{pin.spec.kind}"] |= found
    return legs


def _own_path_pins() -> dict[str, dict[str, list[str]]]:
    """{suite folder: {a pin test's id: the legs it runs}} of the suites whose pins run their
    own paths (``SIDE_PATH_SUITE``, ``TORCH_END_SUITE``)."""
    sys.path.insert(0, str(ROOT))
    from suites.side_paths import test_side_paths as side
    from suites.torch_end import test_torch_end as end

    def legs(paths: str) -> list[str]:
        return [leg for path in paths.split(",") if path
                for leg in ConversionPath.parse(path).legs()]

    return {SIDE_PATH_SUITE: {pin.id: legs(side.own_paths(pin)) for pin in side.PINNED},
            TORCH_END_SUITE: {issue.id: legs(end.own_paths(issue)) for issue in end.PINNED}}


# -- the record ---------------------------------------------------------------------------------

def measure_corpus() -> dict[str, Any]:
    """What the ci corpus of each drawing source reaches: its pairs, branches and legs by
    kind, with a digest of the files that decide it (``corpus_inputs``)."""

    prepare_imports()

    harness = ci_harness()
    corpus = {}
    for source in SUITES:
        entries, pairs, branches = corpus_reach(source)
        specs = [LayerSpec.from_json({"source": source, **e["spec"]}) for e in entries]
        corpus[source] = {"cases": len(entries), "pairs": sorted(pairs),
                          "branches": sorted(branches),
                          "legs": {key: sorted(legs) for key, legs
                                   in sorted(kind_legs(specs, harness).items())}}
    return {"schema": SCHEMA, "corpus_inputs": inputs_digest(), "corpus": corpus}


def reach(corpus: dict[str, Any], root: Path = ROOT) -> dict[str, Any]:
    """What ci exercises: the stored corpus's reach with the covers' ci parts, the pins
    collected now and the legs of both (measured now: cheap)."""

    prepare_imports()

    harness = ci_harness()
    covers: dict[str, Any] = {}
    legs: dict[str, set[str]] = defaultdict(set)
    for source, part in corpus["corpus"].items():
        cases, pairs, branches = cover_reach(source, root)
        covers[source] = {"corpus_cases": part["cases"], "cover_cases": len(cases),
                          "pairs": sorted(set(part["pairs"]) | pairs),
                          "branches": sorted(set(part["branches"]) | branches)}
        for key, found in part["legs"].items():
            legs[key] |= set(found)
        specs = [LayerSpec.from_json({"source": source, **e["spec"]}) for e in cases]
        for key, found in kind_legs(specs, harness).items():
            legs[key] |= found
    collected = collected_pins(root)
    for key, found in pin_legs(collected).items():
        legs[key] |= found
    return {"covers": covers, "pins": pinned_entries(collected, root),
            "legs": {key: sorted(found) for key, found in sorted(legs.items())}}


def stale(corpus: dict[str, Any]) -> str | None:
    """Why a stored corpus record no longer describes the tree's ci corpus, or None."""
    if corpus.get("schema") != SCHEMA:
        return f"not a {SCHEMA} record"
    if corpus["corpus_inputs"] != inputs_digest():
        return ("the draw code, a suite or the sampling changed since the ci corpus was "
                "measured: run 'python -m harness.tools.ci_contract corpus --out "
                f"{CORPUS_RECORD.relative_to(ROOT)}'")
    return None


CORPUS_RECORD = ROOT / "tests" / "ci_contract" / "corpus.json"
BASELINE = ROOT / "tests" / "ci_contract" / "4d1e7d32.json"
# Where the baseline's draw-code branches went when draw code was refactored, measured by
# ``harness.tools.branch_moves`` (a branch is named by its lines, so a moved one reads as lost).
MOVED = ROOT / "tests" / "ci_contract" / "moved.json"
MOVES_SCHEMA = "parity.branch-moves/1"


def read_moves(path: Path = MOVED) -> dict[str, list[str]]:
    """{a branch an earlier tree named: its twins in this one}, empty where none moved."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != MOVES_SCHEMA:
        raise ValueError(f"{path}: not a {MOVES_SCHEMA} record")
    return data["moves"]


def with_moves(record: dict[str, Any], moves: dict[str, list[str]]) -> dict[str, Any]:
    """``record`` (``reach``'s form) with each moved branch named as its twins."""
    covers = {}
    for source, cover in record["covers"].items():
        branches: set[str] = set()
        for name in cover["branches"]:
            branches |= _named_now(name, moves)
        covers[source] = {**cover, "branches": sorted(branches)}
    return {**record, "covers": covers}


def _named_now(name: str, moves: dict[str, list[str]], seen: frozenset = frozenset()) -> set[str]:
    """What this tree names the branch ``name``: its twins' names, followed through every
    later move (a branch moved by one refactor and then by another)."""
    if name not in moves or name in seen:
        return {name}
    return set().union(*(_named_now(twin, moves, seen | {name}) for twin in moves[name]))


# Known-issue entries withdrawn since the baseline because they blamed the wrong party, each
# with the entry that now pins the same case and names the party that is off: the case is
# exercised still, under the successor's name.
SUCCEEDED = ROOT / "tests" / "ci_contract" / "succeeded.json"
SUCCESSORS_SCHEMA = "parity.entry-successors/1"


def read_successors(path: Path = SUCCEEDED) -> dict[str, str]:
    """{a withdrawn entry: the entry that succeeds it}, empty where none was withdrawn."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != SUCCESSORS_SCHEMA:
        raise ValueError(f"{path}: not a {SUCCESSORS_SCHEMA} record")
    return {old: entry["by"] for old, entry in data["succeeded"].items()}


def with_successors(record: dict[str, Any], successors: dict[str, str]) -> dict[str, Any]:
    """``record`` (``reach``'s form) with each withdrawn entry's pins named as its
    successor's."""
    pins: dict[str, list[str]] = {}
    for entry, kinds in record["pins"].items():
        name = successors.get(entry, entry)
        pins[name] = sorted(set(pins.get(name, [])) | set(kinds))
    return {**record, "pins": pins}


def baseline(path: Path = BASELINE) -> dict[str, Any]:
    """A reach record (landed main 4d1e7d32's by default), its moved branches and withdrawn
    entries named as this tree names them."""
    return with_successors(
        with_moves(json.loads(path.read_text(encoding="utf-8")), read_moves()),
        read_successors())


def counts(record: dict[str, Any]) -> dict[str, int]:
    """The contract's figures: pairs and branches per source, pinned entries, (kind, leg)s."""
    out = {}
    for source, cover in record["covers"].items():
        out[f"{source} pairs"] = len(cover["pairs"])
        out[f"{source} branches"] = len(cover["branches"])
    out["pinned entries"] = len(record["pins"])
    out["(kind, leg)"] = sum(len(legs) for legs in record["legs"].values())
    return out


def missing(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What ``before`` exercises that ``after`` does not, one line each."""
    lost = []
    for source, cover in before["covers"].items():
        now = after["covers"].get(source, {})
        for part, one in (("pairs", "pair"), ("branches", "branch")):
            lost += [f"{source} {one} {item}"
                     for item in sorted(set(cover[part]) - set(now.get(part, ())))]
    lost += [f"known issue {entry}" for entry in sorted(set(before["pins"]) - set(after["pins"]))]
    for key, legs in before["legs"].items():
        lost += [f"{key} down {leg}" for leg in sorted(set(legs) - set(after["legs"].get(key, ())))]
    return lost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    corpus_cmd = sub.add_parser("corpus", help="measure the ci corpus's reach (minutes)")
    corpus_cmd.add_argument("--out", type=Path, default=CORPUS_RECORD)
    reach_cmd = sub.add_parser("reach", help="what ci exercises, from a corpus record")
    reach_cmd.add_argument("--corpus", type=Path, default=CORPUS_RECORD)
    reach_cmd.add_argument("--out", type=Path, help="where the reach goes (JSON)")
    reach_cmd.add_argument("--against", type=Path, default=BASELINE,
                           help="a reach to compare with (default: landed main 4d1e7d32's)")
    args = parser.parse_args(argv)
    if args.command == "corpus":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(measure_corpus(), indent=1, sort_keys=True) + "\n",
                            encoding="utf-8")
        return 0
    corpus = json.loads(args.corpus.read_text(encoding="utf-8"))
    if (why := stale(corpus)) is not None:
        print(f"warning: {args.corpus}: {why}", file=sys.stderr)
    record = reach(corpus)
    if args.out is not None:
        args.out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n",
                            encoding="utf-8")
    now = counts(record)
    before = baseline(args.against) if args.against.exists() else None
    then = counts(before) if before is not None else {}
    for name in now:
        print(f"  {name:<20} {then.get(name, '-'):>7} -> {now[name]:>7}")
    lost = missing(before, record) if before is not None else []
    print("\n".join(lost[:50]) + (f"\n... {len(lost) - 50} more" if len(lost) > 50 else ""))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
