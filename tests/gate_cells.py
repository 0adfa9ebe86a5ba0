"""A pytest plugin (``-p tests.gate_cells``) that runs a sample of the suites under every
stage's gate selection in one pytest process, for tests/test_gate_cells.py.

``parity gate --converter X`` is pytest with ``--parity-paths`` set to ``paths_through(X)``.
Here the suites' ``parity`` argument is parametrized instead, one value per *cell*: a
``ParitySession`` built exactly as the gate's (``--parity-paths`` set to a stage's paths), so
one process imports the frameworks once for every stage. A cell stands for every stage whose
selection a suite's cases cannot tell apart (an ONNX case goes down the selection's ``onnx>``
paths, or the ONNX defaults where it names none), so a stage that does not touch a suite's
source shares that suite's cell with the others.

What runs in each cell (a deterministic sample; the rest are the main job's):

- the drawn tests of ``DRAWN`` (one example each under the ``smoke`` profile that
  tests/test_gate_selection.py runs), and the golden cases of ``GOLDEN_KINDS``; a golden case
  replays down its own source's paths only, so a cell whose paths from that source are an
  earlier cell's does not replay it again: that cell stands for it (``STANDS_FOR``);
- the known-issue pins the cell runs (those ``skip_unless_reachable`` keeps), entries whose
  legs all lie on the selection first (a pin that reproduces on the selection is one run; one
  that does not is run again down every path its entry names), ``PINS_PER_CELL`` of them,
  ranked by a hash of the cell and the pin; and, in the cells of ``FORMER_XPASS_GATE``'s
  selection, ``FORMER_XPASS``: the three pins that failed that gate as strict xfails that
  passed (#45), each of which must be skipped there naming the legs it reproduces on.

The suites with a harness of their own (``keras2``, ``saved``, ``side_paths``,
``torch_end``) run the same paths whatever ``--parity-paths`` says, so no stage makes a cell
of them; ``applications`` (one architecture, about 20 s a path) is left to the main job.

A test's Hypothesis draws are seeded by its node id without the cell, so each cell draws what
the gate draws. ``$PARITY_GATE_CELLS_OUT`` names a JSON file that gets every cell (its suite
and stages) and every test's outcome and skip reason.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from pathlib import Path

import pytest

from harness.core import suites as installed_suites
from harness.core.stages import PathError, parse_paths

OUT = "PARITY_GATE_CELLS_OUT"
STAGES = "PARITY_GATE_CELLS_STAGES"  # a comma-separated subset of the stages (default: all)

DRAWN = {
    "layers": ("test_layer[Dense]",),
    "onnx": ("test_op[Relu]",),
    "onnx_backend": ("test_node_case[test_relu]",),
    "mat": ("test_matlab_layer[relu-dlt]",),
}
SELECTION_DEPENDENT = (*DRAWN, "golden")
# The golden cases replayed in each cell: one of each source, of a kind every stage converts.
GOLDEN_KINDS = {("keras", "Dense"), ("onnx", "Relu"), ("mat", "relu")}
# The source whose paths a suite's drawn cases go down; a pin of the layer suite is kept by
# every leg of the selection (suites/layers: skip_unless_reachable on parity.paths), and a
# golden case replays down its own source's paths: both see the whole selection.
DRAWN_SOURCE = {"layers": "keras", "onnx": "onnx", "onnx_backend": "onnx", "mat": "mat"}
PIN_SOURCE = {"onnx": "onnx", "onnx_backend": "onnx"}
PINS_PER_CELL = 1
FORMER_XPASS_GATE = "onnx2torch"
FORMER_XPASS = {
    "onnx": ("torch-pool-pad-over-half-kernel-LpPool",
             "onnx2pytorch-reshape-shape-tensor-not-exportable"),
    "onnx_backend": ("onnxruntime-recurrent-layout-1-test_gru_batchwise",),
}
CELL = "gate="  # a cell's test id: gate=<its first stage>
# This process runs one session: every test's outcome, the stage of each ParitySession, and
# for each golden test left out of a cell, the cell that replays that case down the same paths.
OUTCOMES: list[dict[str, str]] = []
STAGE_OF: dict[int, str] = {}
STANDS_FOR: dict[str, str] = {}


def gated_stages() -> dict[str, str]:
    """{stage: the --parity-paths its gate runs} for every stage that ``parity stages``
    lists and ``--converter`` can gate (the others say why: tests/test_gate_selection.py)."""
    from harness.converters import available
    from harness.gate.paths import paths_through

    wanted = [s for s in os.environ.get(STAGES, "").split(",") if s]
    found = {}
    for stage in wanted or available():
        try:
            found[stage] = ",".join(paths_through(stage))
        except PathError:
            continue
    return found


class _GateOptions:
    """The run's options, with ``--parity-paths`` as one stage's gate sets it."""

    def __init__(self, config: pytest.Config, paths: str):
        self._config, self._paths = config, paths

    def getoption(self, name: str, default=None):
        if name == "parity_paths":
            return self._paths
        return self._config.getoption(name, default)

    def __getattr__(self, name: str):
        return getattr(self._config, name)


class Cells:
    def __init__(self, config: pytest.Config):
        from harness.plugin import ParitySession

        self.sessions = {stage: ParitySession(_GateOptions(config, paths))
                         for stage, paths in gated_stages().items()}
        STAGE_OF.update({id(session): stage for stage, session in self.sessions.items()})
        self.members: dict[str, dict[str, list[str]]] = {}  # suite -> cell id -> stages

    def of(self, suite: str, source: str | None) -> list[tuple[str, object]]:
        """[(cell id, its session)] for a suite whose cases go down ``source``'s paths (None:
        the whole selection)."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for stage, session in self.sessions.items():
            key = tuple(p.name for p in session.paths if source is None or p.source == source)
            groups.setdefault(key, []).append(stage)
        cells = []
        for stages in groups.values():
            cell = f"{CELL}{stages[0]}"
            self.members.setdefault(suite, {})[cell] = stages
            cells.append((cell, self.sessions[stages[0]]))
        return cells


def suite_of(path: Path) -> str | None:
    parts = Path(path).parts
    return parts[parts.index("suites") + 1] if "suites" in parts else None


def _cells(config: pytest.Config) -> Cells:
    if not hasattr(config, "_gate_cells"):
        config._gate_cells = Cells(config)
    return config._gate_cells


def is_pin(name: str) -> bool:
    return "known_issue" in name


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    suite = suite_of(metafunc.definition.path)
    if suite not in SELECTION_DEPENDENT or "parity" not in metafunc.fixturenames:
        return
    name = metafunc.definition.originalname
    source = (PIN_SOURCE if is_pin(name) else DRAWN_SOURCE).get(suite)
    cells = _cells(metafunc.config).of(suite, source)
    # Module scope: the suites' module fixtures that take ``parity`` follow the cell, and
    # Hypothesis accepts it (it refuses a function-scoped argument under @given).
    metafunc.parametrize("parity", [session for _, session in cells],
                         ids=[cell for cell, _ in cells], scope="module")


def cell_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None or "parity" not in callspec.params:
        return None
    return CELL + STAGE_OF[id(callspec.params["parity"])]


def plain_id(nodeid: str, cell: str) -> str:
    """The node id the gate's run has: without the cell."""
    for this, that in ((f"-{cell}]", "]"), (f"[{cell}-", "["), (f"[{cell}]", "")):
        nodeid = nodeid.replace(this, that)
    return nodeid


def _rank(*words: str) -> str:
    return hashlib.sha256("/".join(words).encode()).hexdigest()


def chosen_pins(suite: str, cell: str, session, pins, stages: list[str]) -> set[str]:
    """The pin ids the cell runs: those the suite does not skip as unreachable, entries whose
    legs all lie on the selection first, then ranked by a hash; and ``FORMER_XPASS`` where
    the cell stands for ``FORMER_XPASS_GATE``'s selection (``stages``)."""
    source = PIN_SOURCE.get(suite)
    paths = [p for p in session.paths if source is None or p.source == source]
    if source is not None and not paths:
        from harness import sources

        paths = parse_paths(",".join(sources.get(source).default_paths))
    reach = {leg for path in paths for leg in [path.source, *path.legs()]}
    kept = [pin for pin in pins if any(pin.issue.covers_leg(leg) for leg in reach)]

    def off_selection(pin) -> bool:
        return any(not any(fnmatch.fnmatchcase(leg, glob) for leg in reach)
                   for glob in pin.issue.globs)

    kept.sort(key=lambda pin: (off_selection(pin), _rank(cell, pin.id)))
    former = FORMER_XPASS.get(suite, ()) if FORMER_XPASS_GATE in stages else ()
    return {pin.id for pin in kept[:PINS_PER_CELL]} | set(former)


def _paths_from(session, source: str) -> tuple[str, ...]:
    """The paths a case of ``source`` goes down in ``session``'s selection (its source's
    default paths where the selection names none)."""
    named = tuple(p.name for p in session.paths if p.source == source)
    if named:
        return named
    from harness import sources

    return tuple(sources.get(source).default_paths)


def golden_sample() -> dict[str, str]:
    """The first case of each of ``GOLDEN_KINDS`` in the store: {case id: its source}."""
    from harness import golden

    root, found = golden.default_root(), {}
    for case_id in sorted(golden.read_manifest(root).cases):
        spec = json.loads((root / golden.CASES / case_id / "spec.json").read_text())
        if (spec.get("source") or "keras", spec["kind"]) in GOLDEN_KINDS:
            found.setdefault(spec["kind"], (case_id, spec.get("source") or "keras"))
    return dict(found.values())


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    golden_ids = golden_sample() if any(suite_of(i.path) == "golden" for i in items) else set()
    pins_by_cell: dict[tuple[str, str], set[str]] = {}
    replayed: dict[tuple[str, tuple[str, ...]], str] = {}  # (case, its source's paths) -> cell
    members = _cells(config).members

    def wanted(item: pytest.Item) -> bool:
        cell, suite = cell_of(item), suite_of(item.path)
        if cell is None or item.get_closest_marker("slow") is not None:
            return False
        name = item.originalname
        if suite == "golden":
            case_id = item.callspec.params["case_id"]
            if name != "test_golden_case" or case_id not in golden_ids:
                return False
            key = (case_id, _paths_from(item.callspec.params["parity"], golden_ids[case_id]))
            standing = replayed.setdefault(key, cell)
            if standing != cell:
                STANDS_FOR[plain_id(item.nodeid, cell).split("::", 1)[1] + "@" + cell] = standing
            return standing == cell
        if is_pin(name):
            key = (suite, cell)
            if key not in pins_by_cell:
                pins_by_cell[key] = chosen_pins(suite, cell, item.callspec.params["parity"],
                                                item.module.PINNED, members[suite][cell])
            return item.callspec.params["pin"].id in pins_by_cell[key]
        return plain_id(item.nodeid, cell).split("::", 1)[1] in DRAWN.get(suite, ())

    verdicts = [(item, wanted(item)) for item in items]
    kept = [item for item, keep in verdicts if keep]
    dropped = [item for item, keep in verdicts if not keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """Seeds the draws as the gate's run of the test would (this module is registered before
    harness.plugin's corpus keys, so this runs after them and has the last word)."""
    cell = cell_of(item)
    inner = getattr(getattr(getattr(item, "obj", None), "hypothesis", None), "inner_test", None)
    if cell is None or inner is None:
        return
    plain = plain_id(item.nodeid, cell)
    key = installed_suites.corpus_key(item.path, plain) or plain
    inner._hypothesis_internal_add_digest = key.encode()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    cell = cell_of(item)
    if cell is not None:
        item.callspec.params["parity"].current_test = item.nodeid
    return (yield)


def pytest_runtest_teardown(item: pytest.Item) -> None:
    if cell_of(item) is not None:  # the records a report would get: none is written here
        item.callspec.params["parity"].flush_test(failed=False)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not report.skipped and not report.failed:
        return
    outcome = ("xfailed" if hasattr(report, "wasxfail") and report.skipped else
               "xpassed" if hasattr(report, "wasxfail") else report.outcome)
    reason = report.longrepr[2] if report.skipped and isinstance(report.longrepr, tuple) else ""
    OUTCOMES.append({"test": report.nodeid, "when": report.when, "outcome": outcome,
                     "reason": reason, "seconds": round(report.duration, 2)})


def pytest_sessionfinish(session: pytest.Session) -> None:
    cells = _cells(session.config)
    for parity in cells.sessions.values():
        parity.close()
    out = os.environ.get(OUT)
    if out:
        Path(out).write_text(json.dumps({"cells": cells.members, "tests": OUTCOMES,
                                         "stands_for": STANDS_FOR}, indent=1))
