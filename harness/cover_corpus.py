"""A suite's covering cases (``suites/<source>/cover.json``), as ``python -m
harness.tools.draw_cover`` writes them: draws that reach the branches of the draw code and the
(attribute value, axis) pairs that the ci profile's derandomised corpus misses, with the
figures measured before and with them.

The suites run the cases (``suites/<source>/test_cover.py``, a kind's cases in one test);
``parity layers`` and the report's coverage section show the figures
(``harness.report.coverage.reach``).
"""

from __future__ import annotations

import ast
import glob
import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import harness
from harness.core.spec import LayerSpec

CI_EXAMPLES = 12  # the ci profile's max_examples (harness.core.selection.PROFILES)


def read(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def cases_by_kind(path: Path, ci_only: bool = False) -> dict[str, list[LayerSpec]]:
    """The covering cases of one file, by kind; with ``ci_only``, only those the ci profile
    runs (``in_ci``). The cases chosen per converter leg (``leg_cases``,
    ``harness.tools.leg_cover``) run in every profile, down their legs (``legs_by_case``):
    an ONNX case costs milliseconds."""
    data = read(path)
    held = data.get("held", {})
    grouped: dict[str, list[LayerSpec]] = defaultdict(list)
    for entry in [*data["cases"], *data.get("leg_cases", [])]:
        spec = LayerSpec.from_json(entry["spec"])
        if (not ci_only or in_ci(entry, data)) and spec.case_id not in held:
            grouped[entry["kind"]].append(spec)
    return dict(grouped)


def legs_by_case(path: Path) -> dict[str, tuple[str, ...]]:
    """{case id: the converter legs it was chosen for} of the file's leg cases
    (``harness.tools.leg_cover``); a case the cover holds for itself too is not one. The
    suite runs a leg case down only the paths that go on from its legs: the side paths, the
    torch end and the other converters have cases of their own."""
    data = read(path)
    own = {LayerSpec.from_json(entry["spec"]).case_id for entry in data["cases"]}
    chosen = {}
    for entry in data.get("leg_cases", []):
        case_id = LayerSpec.from_json(entry["spec"]).case_id
        if case_id not in own:
            chosen[case_id] = tuple(entry["legs"])
    return chosen


def in_ci(entry: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether the ci profile runs a covering case: its ``ci`` mark (the tool's ``ci_goal``:
    the cases that take each kind to that share of its pairs, and those reaching a branch),
    else the first ``ci_cases`` by ``rank``, else every case."""
    if "ci" in entry:
        return bool(entry["ci"])
    ci_cases = data.get("ci_cases")
    return ci_cases is None or entry.get("rank", 0) <= ci_cases


def held_cases(path: Path) -> dict[str, str]:
    """{case id: why}: covering cases that fail on a leg no known issue covers yet (a find
    of the cover, to pin in harness/known_issues.d or to fix), run by no test until then."""
    return dict(read(path).get("held", {}))


def profile_runs_ci_part(max_examples: int) -> bool:
    """Whether a Hypothesis profile drawing ``max_examples`` a test runs only the ci part of a
    cover (dev, ci) rather than every case (nightly)."""
    return max_examples <= CI_EXAMPLES


def suite_test(path: Path):
    """The test a suite runs its covering cases with: one test per kind, each running (and
    recording, through the ``parity`` fixture) every case of the kind and failing with the
    messages of those whose legs failed; a known upstream bug is an xfail, not a failure."""
    import pytest
    from hypothesis import settings

    cases = cases_by_kind(path, ci_only=profile_runs_ci_part(settings().max_examples))
    legs = legs_by_case(path)

    @pytest.mark.parametrize("kind", sorted(cases))
    def test_cover(kind, parity):
        results = [parity.run(spec, legs.get(spec.case_id)) for spec in cases[kind]]
        failures = [case.failure_message() for case in results if case.failures]
        assert not failures, "\n\n".join(failures)

    return test_cover


def held_test(path: Path):
    """A test that lists each held covering case as a skip with its reason, so that a run
    shows what the cover found and no known issue pins yet."""
    import pytest

    held = held_cases(path)

    @pytest.mark.parametrize("case_id", sorted(held))
    def test_cover_held(case_id):
        pytest.skip(f"{case_id}: {held[case_id]}")

    return test_cover_held



# -- the drawn cases ci leaves to the cover -------------------------------------------------------
#
# ``harness.tools.ci_select choose --draws`` chooses, from a suite's ci draws and its covering
# cases together, a cheapest set holding everything the ci corpus and the cover's ci part hold
# (pairs, draw-code branches, (kind, leg)s); the drawn cases it leaves out are written to
# ``ci_draws.json`` beside the cover, with a digest of what decided them. Under the ci profile
# the suite draws them still (Hypothesis draws the same corpus) and runs none of them. A stale
# file (the draw code, the suite, the cover or the sampling of side paths changed since) skips
# nothing: ci then runs every drawn case, never less.

CI_DRAWS = "ci_draws.json"
# Set (to "all") by the recorder's runs (harness.tools.draw_cover.record_corpus): the suite then
# runs, so records, every drawn case, and each draw's coverage context is its own.
EVERY_DRAW = "PARITY_CI_DRAWS"
CI_DRAWS_SCHEMA = "parity.ci-draws/1"
# What decides the Keras layer suite's ci draws, their branches and their legs (relative to the
# harness package and to the suite's folder); only Keras' own draw code, so that an edit of
# another source's, or of how Keras' cases are built and read (model.py, yardstick.py, ...),
# leaves the choice fresh: those move a case's cost, not what it holds.
DRAW_INPUTS = ("sources/keras/__init__.py", "sources/keras/axes.py",
               "sources/keras/keras2_kinds.py", "sources/keras/kinds/*.py", "core/strategies.py",
               "core/free_dims.py", "core/axes.py", "core/selection.py", "core/inputs.py",
               "run/side_paths.py", "run/torch_end.py")
SUITE_INPUTS = ("test_layers.py", "cover.json")


def draws_digest(folder: Path) -> str:
    """A digest of the files that decide the ci draws of the suite in ``folder``."""
    digest = hashlib.sha256()
    package = Path(harness.__file__).parent
    for base, patterns in ((package, DRAW_INPUTS), (Path(folder), SUITE_INPUTS)):
        for pattern in patterns:
            for name in sorted(glob.glob(str(base / pattern))):
                digest.update(Path(name).relative_to(base).as_posix().encode() + b"\0")
                digest.update(_deciding_bytes(Path(name)))
    return digest.hexdigest()


def _deciding_bytes(path: Path) -> bytes:
    """A file's bytes as the digest reads them; a cover's without its leg cases and their
    figures (``harness.tools.leg_cover``, written as the cover's tools write it): they are
    chosen after the ci draws and decide none of them."""
    data = path.read_bytes().replace(b"\r\n", b"\n")
    if path.name == "keras2_kinds.py":
        return _admitted_kinds(data)
    if path.name != "cover.json":
        return data
    cover = json.loads(data)
    if not any(key.startswith("leg_") for key in cover):
        return data
    kept = {key: value for key, value in cover.items() if not key.startswith("leg_")}
    return (json.dumps(kept, indent=1, sort_keys=True) + "\n").encode()


def _admitted_kinds(source: bytes) -> bytes:
    """The admission table's ADMITTED tuple: the kinds that gain the tf-keras legs. Its
    REFUSED reasons are tf_keras' words for the others and decide no draw and no leg."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "ADMITTED"
                for target in node.targets):
            return repr(ast.literal_eval(node.value)).encode()
    return source  # no table to read: the whole file decides


def read_ci_draws(folder: Path) -> tuple[dict[str, list[str]], str | None]:
    """({kind: case ids the ci profile leaves to the cover}, None), or ({}, why not) where
    the suite has no such file or it is stale: then ci runs every drawn case."""
    path = Path(folder) / CI_DRAWS
    if os.environ.get(EVERY_DRAW) == "all":
        return {}, f"{EVERY_DRAW}=all"
    if not path.exists():
        return {}, f"no {CI_DRAWS}"
    data = read(path)
    if data.get("schema") != CI_DRAWS_SCHEMA:
        return {}, f"{path.name} is not a {CI_DRAWS_SCHEMA} record"
    if data.get("inputs") != draws_digest(folder):
        return {}, (f"{path.name} is stale (the draw code, the suite, its cover or the side-path "
                    "sampling changed since it was chosen)")
    return data["skipped"], None


def ci_skipped_ids(folder: Path) -> frozenset[str]:
    """The drawn case ids the ci profile leaves to the cover (none where the file is stale)."""
    skipped, _why = read_ci_draws(folder)
    return frozenset(case_id for ids in skipped.values() for case_id in ids)


class LeavingToCover:
    """The ``parity`` fixture of a drawing suite under ci: ``check`` runs a drawn case unless
    it is one ci leaves to the cover (``left``); everything else is the fixture's own."""

    def __init__(self, parity, left: frozenset[str]):
        self._parity, self._left = parity, left

    def check(self, spec):
        if spec.case_id not in self._left:
            return self._parity.check(spec)
        return None

    def __getattr__(self, name: str):
        return getattr(self._parity, name)


def ci_draws_line(folder: Path) -> str:
    """One line for the terminal: how many drawn cases ci leaves to the cover, or why none."""
    path = Path(folder) / CI_DRAWS
    skipped, why = read_ci_draws(folder)
    if why is not None:
        fix = "" if not path.exists() else (
            ": re-choose them with 'python -m harness.tools.ci_select choose --draws'")
        return f"parity: ci runs every drawn case of {Path(folder).name}: {why}{fix}"
    data = read(path)
    left = sum(len(ids) for ids in skipped.values())
    return (f"parity: ci leaves {left} of {data['figures']['drawn']} drawn {Path(folder).name} "
            f"cases to the cover, which holds what they hold ({path.name})")


def current_profile() -> str:
    """The name of the Hypothesis profile loaded now."""
    from hypothesis import settings

    named = getattr(settings, "get_current_profile_name", None)  # Hypothesis 6.14x and later
    return named() if named is not None else settings._current_profile
