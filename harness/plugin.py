"""The pytest plugin: options, Hypothesis profiles, the ``parity`` fixture and the reports.

Loaded by the repository's ``conftest.py`` (``pytest_plugins = ["harness.plugin"]``). Each
process (the main one, or every pytest-xdist worker) appends its records to a shard under
``<report dir>/.shards/<run id>/``; the process that owns the session merges the shards into
``results.jsonl`` and writes ``parity.html`` and ``junit.xml`` from them.
"""

from __future__ import annotations

import collections
import os
import re
import shlex
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from harness import golden
from harness.converters import DEFAULT_OPSET, PathError, parse_paths
from harness.core import collector, selection, worker_exit
from harness.core.frameworks import prepare_imports, versions
from harness.core.machine import cuda_unavailable
from harness.core.plugins import PluginImportError, import_modules
from harness.core.selection import PROFILES, in_shard
from harness.core.stages import left_out_stages
from harness.core.tolerance import PolicyError, TolerancePolicy
from harness.corpus_plugin import CorpusKeys, DrawReplay
from harness.gate import config as gate_config
from harness.gate.identity import identities
from harness.golden.update import corpus, update
from harness.results import (
    ResultWriter,
    new_run_id,
    result_records,
    run_end_record,
    run_record,
    test_failure_record,
)
from harness.run import side_paths, torch_end
from harness.run.isolation import DEFAULT_TIMEOUT, IsolatedHarness
from harness.run.pipeline import Harness
from harness.run.stage_cache.cache import open_cache
from harness.run.stage_cache.verify import fraction
from harness.runtimes.device import describe as describe_precision
from harness.suite_reports import write_reports

for _name, _overrides in PROFILES.items():
    settings.register_profile(
        _name,
        deadline=None,  # a conversion takes 50-500 ms and varies with the machine's load
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        **_overrides,
    )
settings.load_profile(os.environ.get("PARITY_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

STASH_KEY = pytest.StashKey["ParitySession"]()
# The end of a failing test's report that its record keeps (the assertion and where).
MESSAGE_KEPT = 20_000
CACHE_DEFAULT = ".parity-cache"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parity", "parity conformance harness")
    group.addoption("--parity-report", default="reports", metavar="DIR",
                    help="directory for results.jsonl, parity.html and junit.xml "
                         "('none' writes nothing; default: reports)")
    group.addoption("--parity-paths", default=None, metavar="PATHS",
                    help="comma-separated conversion paths, e.g. "
                         "'keras>tf2onnx>onnx2torch,keras>keras-onnx>onnx2pytorch'")
    group.addoption("--parity-device", default="cpu", choices=["cpu", "cuda"],
                    help="device of the PyTorch and onnxruntime legs")
    group.addoption("--parity-opset", type=int, default=None, metavar="N",
                    help="ONNX opset the converters target (default 17)")
    group.addoption("--parity-shard", default=None, metavar="I/N",
                    help="run only shard I of N (1-based); tests are split by a hash of their "
                         "node id, the same on every machine; merge with 'parity report --merge'")
    group.addoption("--parity-isolate", action="store_true",
                    help="run every case in a persistent worker process, so that a converter "
                         "or runtime that crashes (SIGSEGV, abort) or hangs is recorded as that "
                         "case's 'crash' or 'timeout' and the run goes on")
    group.addoption("--parity-timeout", type=float, default=None, metavar="SECONDS",
                    help="with --parity-isolate: seconds a case may take before its worker is "
                         f"killed and the case recorded as 'timeout' (default {DEFAULT_TIMEOUT:g})")
    group.addoption("--parity-plugins", default=None, metavar="MODULE[,MODULE]",
                    help="modules to import (in this process and in every --parity-isolate "
                         "worker) that register converters with harness.converters.register()")
    group.addoption("--parity-cache", default=CACHE_DEFAULT, metavar="DIR",
                    help="folder that keeps stage outputs and source readings between runs, "
                         "so that a run re-converts only what changed ('none' turns it off; "
                         f"default: {CACHE_DEFAULT} in the project's root; docs/cache.md)")
    group.addoption("--parity-cache-verify", type=fraction, default=None, metavar="FRACTION",
                    help="convert, read and run again without the cache this share of the "
                         "cache's hits (0 to 1, drawn by key: a rerun checks the same ones) "
                         "and fail the test where a hit differs (default: "
                         "$PARITY_CACHE_VERIFY, else 0; docs/cache.md)")
    # The stages after a converted PyTorch module (harness.run.torch_end, docs/torch-end.md).
    group.addoption("--parity-torch-end", default="auto", metavar="STAGES",
                    help="extend every torch-ending path with these stages (torch-export, "
                         "torch-compile, torch-onnx, ...): 'auto' (default) runs the "
                         "profile's budget on a sample of cases down the default paths (none "
                         "with --parity-paths), 'all' every stage on every case, 'none' none")
    group.addoption("--parity-policy", default=None, metavar="FILE",
                    help="TOML file whose [tool.parity.tolerance] is the tolerance policy "
                         "(default: pyproject.toml in the project's root; parity gate names "
                         "the policy it ships, docs/gate.md)")
    # The ONNX simplifiers and optimizers and Keras → TFLite (harness.run.side_paths,
    # docs/rewriters.md).
    group.addoption("--parity-side-paths", default="auto", metavar="PATHS",
                    help="add onnx>onnxsim, onnx>onnxslim, onnx>onnxoptimizer, keras>tflite and "
                         "keras>savedmodel>tflite-savedmodel beside each source's paths: 'auto' "
                         "(default) the profile's sample of cases (none with --parity-paths), "
                         "'all' every case, 'none' none, or a comma-separated list of paths")
    group.addoption("--parity-tf32", action="store_true",
                    help="with --parity-device cuda: run as users run, TF32 on, judged by the "
                         "TF32 tolerance rule (default: TF32 off; docs/tolerances.md)")
    group.addoption("--golden-update", action="store_true",
                    help="regenerate the golden store from the source framework before the "
                         "run, taking changed expected outputs (like --force-regen)")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    try:
        return selection.parse_shard(text)
    except ValueError as exc:
        raise pytest.UsageError(f"--parity-shard {exc}") from None


# Profiles that leave `slow` tests (whole architectures) out unless `-m` selects them.
SLOW_EXCLUDED = ("dev", "ci")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def keep(item: pytest.Item) -> bool:
        if skip_slow and item.get_closest_marker("slow") is not None:
            return False
        return shard is None or in_shard(item.nodeid, *shard)

    shard = parse_shard(config.getoption("parity_shard"))
    skip_slow = (not config.getoption("markexpr")
                 and settings.get_current_profile_name() in SLOW_EXCLUDED)
    kept = [item for item in items if keep(item)]
    dropped = [item for item in items if not keep(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


class ParitySession:
    """What the suites see as the ``parity`` fixture."""

    def __init__(self, config: pytest.Config):

        self.config = config
        self.worker = getattr(config, "workerinput", {}).get("workerid")
        workerinput = getattr(config, "workerinput", {})
        self.run_id = workerinput.get("parity_run_id") or new_run_id()
        # A worker's own argv is xdist's, not the user's: the controller passes its command.
        self.command = workerinput.get("parity_command") or " ".join(
            shlex.quote(a) for a in ["pytest", *sys.argv[1:]])
        self.shard_index = parse_shard(config.getoption("parity_shard"))
        self.process = self.worker or "main"
        self.shard = self.process if self.shard_index is None else (
            f"{self.shard_index[0]}/{self.shard_index[1]}:{self.process}")
        self.device = config.getoption("parity_device")
        self.opset = config.getoption("parity_opset") or DEFAULT_OPSET
        # A CUDA run always isolates: a case that loses the CUDA context (a device-side
        # assert) must not take later cases' legs with it (docs/isolation.md).
        self.isolate = config.getoption("parity_isolate") or self.device == "cuda"
        self.precision = "tf32" if config.getoption("parity_tf32") else "strict"
        if self.precision == "tf32" and self.device != "cuda":
            raise pytest.UsageError("--parity-tf32 needs --parity-device cuda")
        self.timeout = config.getoption("parity_timeout") or DEFAULT_TIMEOUT
        if config.getoption("parity_timeout") is not None and config.getoption("parity_timeout") <= 0:
            raise pytest.UsageError("--parity-timeout must be a positive number of seconds")
        self.plugins = load_plugins(config.getoption("parity_plugins"))

        try:
            self.paths = parse_paths(config.getoption("parity_paths"))

            # 'auto' extends the sources' default paths; paths named are run as named.
            choice = config.getoption("parity_torch_end")
            profile = settings.get_current_profile_name()
            ends = None if choice == "auto" and config.getoption("parity_paths") \
                else torch_end.parse(choice, profile)
            choice = config.getoption("parity_side_paths")
            side = None if choice == "auto" and config.getoption("parity_paths") \
                else side_paths.parse(choice, profile)
            # The paths a case's own are extended with (harness.Harness' extension).
            self.extension = side_paths.combine(ends, side)
            self.policy_file = policy_file(config)
            self.policy = TolerancePolicy.from_pyproject(self.policy_file)
        except (PathError, PolicyError, ImportError) as exc:  # ImportError: a stage not installed
            raise pytest.UsageError(f"parity: {exc}") from None
        report = config.getoption("parity_report")
        self.report_dir = None if report == "none" else Path(config.rootpath, report)

        self.cache = open_cache(config.getoption("parity_cache"), Path(config.rootpath),
                                verify=config.getoption("parity_cache_verify"))
        self._harness = None
        self._writer = None
        self._versions: dict[str, str] | None = None  # the tracked packages', for replays
        self._buffer: list[tuple[str, list[dict[str, Any]], bool]] = []
        self.current_test: str | None = None
        # Tests whose failure a case's record carries (flush_test); any other failing test
        # gets a record of its own (record_test_failure).
        self.recorded_failures: set[str | None] = set()
        # The device contexts lost in the run's workers, by label, as each xdist worker
        # reported at its end (pytest_testnodedown); this process' own are its harness'.
        self.workers_lost: collections.Counter[str] = collections.Counter()
        # Derandomised tests whose kept draws were replayed, and whose draws were kept, by
        # this process (harness.corpus_plugin.DrawReplay) and its xdist workers.
        self.draws: collections.Counter[str] = collections.Counter()

    # -- running cases ---------------------------------------------------------------------
    @property
    def harness(self):
        if self._harness is None and self.isolate:

            self._harness = IsolatedHarness(
                self.config.getoption("parity_paths"), device=self.device, opset=self.opset,
                pyproject=self.policy_file, plugins=self.plugins,
                threads=1 if self.worker else 0, timeout=self.timeout, cache=self.cache.folder,
                cache_verify=self.cache.verify,
                extension=self.extension, precision=self.precision,
            )
        if self._harness is None:

            self._harness = Harness(
                self.paths, device=self.device, opset=self.opset, policy=self.policy,
                threads=1 if self.worker else 0, cache=self.cache, extension=self.extension,
                precision=self.precision,
            )
        return self._harness

    def hypothesis_info(self) -> dict[str, Any]:
        current = settings()
        return {
            "profile": settings.get_current_profile_name(),
            "seed": self.config.getoption("hypothesis_seed", None),
            "derandomize": current.derandomize,
            "max_examples": current.max_examples,
        }

    def run(self, spec, legs=None):
        """Runs one case down every path (with ``legs``, those that go on from one of
        them: ``Harness.run``) and records it; returns the CaseResult."""
        return self.record(self.harness.run(spec, legs))

    def record(self, case):
        """Records a case run elsewhere (a suite's own Harness) in the session's results."""

        records = result_records(
            case, run_id=self.run_id, shard=self.shard, device=self.device,
            test=self.current_test, hypothesis=self.hypothesis_info(),
            precision=self.precision_text(),
        )
        self._buffer.append((case.spec.case_id, records, bool(case.failures)))
        return case

    def precision_text(self) -> str | None:
        """The precision the legs ran at, in a line (harness.runtimes.device.describe)."""
        return describe_precision(getattr(self._harness, "precision_settings", None))

    def replay(self, case):
        """Replays one golden case's downstream legs and records them; returns the CaseResult."""

        if self._versions is None:  # read once: ~10 ms of package metadata per golden case
            self._versions = versions()
        drift = case.drift(self._versions)
        # An isolating harness' worker loads the stored case from its own folder.
        result = (self.harness.replay(case.spec, case) if self.isolate
                  else case.replay(self.harness))
        if drift:
            note = ", ".join(f"{p} {old} -> {new}" for p, (old, new) in drift.items())
            for leg in result.failures:
                leg.message += f"\n(expected outputs made with other versions: {note})"
        records = result_records(
            result, run_id=self.run_id, shard=self.shard, device=self.device,
            test=self.current_test, hypothesis=None,
            golden={"provenance": case.provenance, "drift": drift},
            precision=self.precision_text(),
        )
        self._buffer.append((case.case_id, records, bool(result.failures)))
        return result

    def check(self, spec):
        """Runs and records one case; fails the test if any leg fails."""
        case = self.run(spec)
        case.check()
        return case

    # -- recording -------------------------------------------------------------------------
    @property
    def writer(self):
        if self._writer is None and self.report_dir is not None:

            self._writer = ResultWriter(self.shard_dir / f"{self.process}.jsonl")
            self._writer.write(run_record(
                run_id=self.run_id, shard=self.shard, device=self.device, opset=self.opset,
                paths=[p.name for p in self.paths], hypothesis=self.hypothesis_info(),
                command=self.command, identities=identities(golden.default_root()),
                precision=self.precision_text(),
            ))
        return self._writer

    @property
    def shard_dir(self) -> Path:
        return self.report_dir / ".shards" / self.run_id

    def flush_test(self, failed: bool, reproduction: str | None = None) -> None:
        """Keeps what a reader of the report needs from one test's examples.

        Hypothesis runs a failing test many times while it shrinks; every passing example is
        a real case worth keeping, but of the failing ones only the last, the shrunk example
        that Hypothesis replays at the end, is the minimal reproduction; it is recorded with
        Hypothesis' ``@reproduce_failure`` decorator, when Hypothesis gave one.
        """
        seen: set[str] = set()
        kept = []
        for case_id, records, case_failed in self._buffer:
            if not case_failed and case_id not in seen:
                seen.add(case_id)
                kept.extend(records)
        failing = [entry for entry in self._buffer if entry[2]]
        if failing:
            self.recorded_failures.add(self.current_test)
            shrunk = failing[-1][1]
            if reproduction:
                for record in shrunk:
                    record["hypothesis"] = {**(record.get("hypothesis") or {}),
                                            "reproduce_failure": reproduction}
            kept.extend(shrunk)
        self._buffer.clear()
        if kept and self.writer is not None:
            self.writer.write_all(kept)

    def buffered(self) -> int:
        """How many cases this test has recorded so far (``drop_buffered``'s mark)."""
        return len(self._buffer)

    def drop_buffered(self, since: int) -> None:
        """Forgets the cases this test recorded after ``since``: a replay that diverged, whose
        cases Hypothesis runs again."""
        del self._buffer[since:]

    def record_test_failure(self, test: str, phase: str, message: str) -> None:
        """A failing test that no failing case record stands for: its own record, so that
        the report counts every failing test pytest counts."""
        if test in self.recorded_failures or self.writer is None:
            return
        self.recorded_failures.add(test)
        self.writer.write_all([test_failure_record(
            test=test, phase=phase, message=message[-MESSAGE_KEPT:], run_id=self.run_id,
            shard=self.shard, device=self.device)])

    def contexts_lost(self) -> collections.Counter[str]:
        """The device contexts this process' isolating workers lost, and its xdist workers'."""
        own = getattr(self._harness, "lost_by_label", None) if self.isolate else None
        return self.workers_lost + collections.Counter(own or {})

    def close(self) -> None:
        if self._writer is not None and self.isolate and self._harness is not None:
            self._writer.write(run_end_record(
                run_id=self.run_id, shard=self.shard, contexts_lost=dict(self.contexts_lost()),
                workers_started=self._harness.starts))
        if self._writer is not None:
            self._writer.close()
        if self.isolate and self._harness is not None:
            self._harness.close()


def policy_file(config: pytest.Config) -> Path:
    """The file whose [tool.parity.tolerance] tables are the run's tolerance policy: the one
    named, else the project's pyproject.toml where it declares a policy, else parity's own
    (a converter's repository running the installed suites, docs/gate.md)."""
    named = config.getoption("parity_policy")
    if named is None:
        return gate_config.policy_path(Path(config.rootpath) / "pyproject.toml")
    if not Path(named).is_file():
        raise PolicyError(f"--parity-policy {named}: no such file")
    return Path(named)


def load_plugins(text: str | None) -> list[str]:
    """Imports the --parity-plugins modules (which register converters); returns their names."""

    modules = [m.strip() for m in (text or "").split(",") if m.strip()]
    try:
        import_modules(modules)
    except PluginImportError as exc:
        raise pytest.UsageError(f"--parity-plugins: {exc}") from None
    return modules


def runs_tests(config: pytest.Config) -> bool:
    """False in a pytest-xdist controller (its workers run the tests) and when collecting only."""
    return not config.getoption("collectonly") and not distributes(config)


def pytest_collection_finish(session: pytest.Session) -> None:
    # What is loaded now lives as long as the process: the collector need not walk it again.
    collector.freeze_what_is_loaded()


def pytest_sessionstart(session: pytest.Session) -> None:
    """With --parity-isolate, the worker starts now: its framework imports overlap collection."""
    parity_session = session.config.stash.get(STASH_KEY, None)
    if parity_session is not None and parity_session.isolate and runs_tests(session.config):
        parity_session.harness.start()


def distributes(config: pytest.Config) -> bool:
    """True in a pytest-xdist controller: its workers collect and run the tests, it runs none.
    Decided from xdist's options (its own ``dsession`` plugin is registered only after this
    plugin's ``pytest_configure``)."""
    return (getattr(config, "workerinput", None) is None
            and config.pluginmanager.has_plugin("xdist")
            and not config.getoption("collectonly")
            and config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None)))


def pytest_configure(config: pytest.Config) -> None:
    try:
        collector.tune_for_cases()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if getattr(config, "workerinput", None) is not None:
        # Two workers on two cores: one thread each, or they fight over the cores.
        for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            os.environ.setdefault(var, "1")
    # A controller imports no framework (torch and torchvision cost it ~8 s before it spawns
    # the workers, which import them again), unless it updates the golden store itself.
    if not distributes(config) or config.getoption("golden_update"):
        prepare_imports()
    if (distributes(config) and config.getoption("dist") == "load"
            and config.getoption("maxschedchunk") is None):
        # xdist's load scheduling sends each worker a quarter of its share at once and
        # refills in chunks as large: at the end one worker idled 20 s while the other worked
        # through its queue. Two at a time keeps both busy to the end, and a worker always
        # holds the next test when one ends.
        config.option.maxschedchunk = 2
    if getattr(config, "workerinput", None) is not None:
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            pass
    config.stash[STASH_KEY] = ParitySession(config)
    config.pluginmanager.register(CorpusKeys(), "parity-corpus-keys")
    store = getattr(config.stash[STASH_KEY].cache, "store", None)
    if store is not None and runs_tests(config):
        config.pluginmanager.register(
            DrawReplay(store, config.stash[STASH_KEY], verify=config.stash[STASH_KEY].cache.verify),
            "parity-draw-replay")
    if config.getoption("golden_update") and getattr(config, "workerinput", None) is None:
        _update_golden(config)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_unconfigure(config: pytest.Config):
    """A pytest-xdist worker ends once every plugin has unconfigured: its exit handlers run,
    the interpreter's teardown does not (harness.core.worker_exit)."""
    yield
    if worker_exit.ends_at_once(config):
        worker_exit.end_now()


def _update_golden(config: pytest.Config) -> None:

    session = config.stash[STASH_KEY]
    summary = update(golden.default_root(), corpus(8, per_axis=1), accept_changes=True,
                     policy=session.policy)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for line in ["parity golden update:", *summary.lines()]:
        if reporter is not None:
            reporter.write_line(line)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist: every worker writes under the controller's run id."""
    session = node.config.stash[STASH_KEY]
    node.workerinput["parity_run_id"] = session.run_id
    node.workerinput["parity_command"] = session.command


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist: a worker's lost device contexts, for the run's summary."""
    session = node.config.stash.get(STASH_KEY, None)
    session.draws.update(getattr(node, "workeroutput", {}).get("parity_draws") or {})
    lost = getattr(node, "workeroutput", {}).get("parity_contexts_lost")
    if session is not None and lost:
        session.workers_lost.update(lost)


@pytest.fixture(scope="session")
def parity(request: pytest.FixtureRequest) -> ParitySession:
    session = request.config.stash[STASH_KEY]
    if session.device == "cuda":
        reason = cuda_unavailable()
        if reason:
            pytest.skip(f"--parity-device cuda: {reason}")
    return session


@pytest.fixture(scope="session")
def parity_cache(request: pytest.FixtureRequest):
    """The run's stage cache (``--parity-cache``), for what a test computes itself:
    ``parity_cache.computed(what, document, make, packages=..., code=[__file__])`` gives the
    kept arrays where nothing they are computed from changed (docs/cache.md#a-tests-own-computations)."""
    return request.config.stash[STASH_KEY].cache


REPRODUCE_FAILURE = re.compile(r"@reproduce_failure\([^)]*\)")


def reproduce_failure_of(exc: BaseException) -> str | None:
    """Hypothesis' ``@reproduce_failure(...)`` decorator for a failure, from the notes it adds
    to the exception (profiles set ``print_blob``)."""
    for note in getattr(exc, "__notes__", ()) or ():
        found = REPRODUCE_FAILURE.search(str(note))
        if found:
            return found.group(0)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    session = item.config.stash[STASH_KEY]
    session.current_test = item.nodeid
    try:
        result = yield
    except BaseException as exc:
        session.flush_test(failed=True, reproduction=reproduce_failure_of(exc))
        raise
    session.flush_test(failed=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    session = item.config.stash.get(STASH_KEY, None)
    if report.failed and session is not None:
        session.record_test_failure(item.nodeid, report.when, str(report.longrepr))
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    parity_session: ParitySession = session.config.stash[STASH_KEY]
    parity_session.close()
    if getattr(session.config, "workeroutput", None) is not None:
        session.config.workeroutput["parity_contexts_lost"] = dict(parity_session.contexts_lost())
        session.config.workeroutput["parity_draws"] = dict(parity_session.draws)
    if getattr(session.config, "workerinput", None) is not None or parity_session.report_dir is None:
        return
    shard_dir = parity_session.shard_dir
    if not shard_dir.is_dir():
        return
    try:
        written = write_reports(parity_session.report_dir, sorted(shard_dir.glob("*.jsonl")),
                                command=parity_session.command)
    except Exception as exc:  # the report must never hide the test outcome
        warnings.warn(f"parity: could not write the reports: {exc!r}", stacklevel=1)
        return
    shutil.rmtree(shard_dir, ignore_errors=True)
    parity_session.written = written


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    parity_session = config.stash.get(STASH_KEY, None)
    # A stage not installed here is left out of every path it is on: one line each, naming
    # what to install (harness.core.installed); the side paths it took with it are implied.
    if parity_session is not None:
        for reason in left_out_stages():
            terminalreporter.write_line(f"parity: left out: {reason}")
        replayed, kept = parity_session.draws["replayed"], parity_session.draws["kept"]
        if replayed or kept:
            terminalreporter.write_line(
                f"parity: {replayed} derandomised test(s) replayed the draws the stage cache "
                f"kept, {kept} drew theirs and kept them (docs/cache.md#drawn-cases)")
        for label, times in sorted(parity_session.contexts_lost().items()):
            terminalreporter.write_line(
                f"parity: the {label} context was lost {times} time{'s' * (times != 1)}: each "
                "time its worker was ended and the next case ran in a fresh one "
                "(the case that lost it is an error in the report)")
    written = getattr(parity_session, "written", None)
    if written:
        terminalreporter.write_sep("-", "parity reports")
        for path in written:
            terminalreporter.write_line(f"  {path}")
