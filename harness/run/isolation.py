"""Process isolation: cases run in a persistent worker process that may crash or hang.

A converter or runtime that kills its process (SIGSEGV in a native kernel, an abort) or never
returns would take the whole pytest run down with it, report included. ``IsolatedHarness``
has ``Harness``' ``run``/``replay`` surface but runs each case in a child process, started
once and reused for every case until it dies:

- The child is a fresh interpreter (``python -m harness.run.isolation``, started and spoken to by
  ``harness.runtimes.worker``), never a fork: forking a process whose TensorFlow, oneDNN, OpenMP or
  torch thread pools are running copies their locks in whatever state they are in. The child
  imports torch, onnx2torch and torchvision first (``harness.core.frameworks``), then TensorFlow
  (importing TensorFlow first makes the later torchvision import abort the process, see
  DESIGN.md "Known hazards"), once, before it reports ready; the parent never needs TensorFlow.
- Only JSON crosses the pipe: the spec (or a golden case's folder) in, the ``CaseResult``'s
  fields out. Before each conversion and run the child says which leg and stage it is about
  to enter, and sends every leg's result once judged; so when the child dies, the parent
  knows what was running: that leg gets verdict ``error``, category ``crash`` (the signal or
  exit status and the tail of the child's stderr, which holds faulthandler's Python stack),
  the legs already judged keep their results, and the legs that start from the one in
  flight are recorded as not run. A case that outlives its timeout is ``timeout``: the child
  dumps its stack and is killed. The case's other legs (the child says which legs the case
  has before it runs them) then run in a fresh child, so that one converter's crash, hang or
  lost CUDA context hides no other converter's verdict; the leg that broke the child is
  never retried. The next case starts a fresh child too; from the first death on, a spare
  child is kept starting beside the one in use, so that the next death costs a switch
  (``SPARES_AFTER_A_DEATH``).
- Converters registered with ``harness.converters.register`` in the parent do not exist in
  the child. Converters reach it through the ``parity.converters`` entry points, or through
  ``plugins``: modules imported in the child (and, by the pytest plugin, in the parent) that
  register converters when imported (``--parity-plugins mypkg.stage``). Every plugin module
  and ``--custom-objects`` spec the parent used (``harness.core.plugins.setup()``) goes too,
  so a custom Keras class the parent registered is registered in the child.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import importlib
import importlib.util
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from harness.converters import get, parse_paths
from harness.core import plugins as user_plugins
from harness.core.compare import Tolerance
from harness.core.frameworks import prepare_imports, versions
from harness.core.records import CaseResult, LegResult
from harness.core.spec import LayerSpec
from harness.core.stages import starts_from
from harness.core.tolerance import TolerancePolicy
from harness.run import side_paths
from harness.run.hooks import Observer
from harness.run.pipeline import Harness
from harness.run.stage_cache.cache import open_cache
from harness.runtimes import device as device_context
from harness.runtimes import runner_for
from harness.runtimes.worker import Channel, WorkerProcess
from harness.sources import SourceError

DEFAULT_TIMEOUT = 300.0
# The child imports every framework before it reports ready: on a loaded machine, minutes.
DEFAULT_STARTUP_TIMEOUT = 600.0
STDERR_LINES = 60
# The worker's exit status once it found its device context lost (after telling the parent).
EXIT_CONTEXT_LOST = 75
# Modules the child imports once, after prepare_imports' own, so that no case pays for them.
WARM_MODULES = ("tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime")
# Workers kept starting beside the one in use once a worker has died (a crash, a timeout, a
# lost CUDA context), so that the next death costs a switch, not a start: one that dies tends
# to die again (a cover test drawing negative gather indices lost the H100's context 7 times
# in 67 s, a fresh worker taking 9.5 s each). None before the first death: a run that never
# loses a worker never pays for one. One: on two cores a second spare's imports slow the
# others more than it saves (benchmarks/bench_restarts.py, docs/benchmarks.md).
SPARES_AFTER_A_DEATH = 1


class IsolationError(RuntimeError):
    """The worker could not start, or broke its protocol: a harness problem, not a case's."""


class CaseError(RuntimeError):
    """``Harness.run`` raised in the worker (a harness or strategy bug); carries its text.
    A ``SourceError`` in the worker is raised as ``SourceError``, as in-process."""


# -- JSON of results -------------------------------------------------------------------------

def leg_to_json(leg) -> dict[str, Any]:
    return dataclasses.asdict(leg)


def leg_from_json(data: dict[str, Any]):
    data = dict(data)
    if data.get("tolerance") is not None:
        data["tolerance"] = Tolerance(**data["tolerance"])
    return LegResult(**data)


def case_to_json(case) -> dict[str, Any]:
    return {"spec": case.spec.to_json(), "timing": case.timing,
            "legs": [leg_to_json(leg) for leg in case.legs]}


def case_from_json(data: dict[str, Any]):
    return CaseResult(LayerSpec.from_json(data["spec"]),
                      [leg_from_json(leg) for leg in data["legs"]], dict(data["timing"]))


# -- the parent's side -------------------------------------------------------------------------

@dataclasses.dataclass
class _Progress:
    """What the worker said about the case in flight."""

    leg: str | None = None
    stage: str | None = None
    step: str = "build"
    started: float = 0.0
    done: dict[str, Any] = dataclasses.field(default_factory=dict)  # leg name -> LegResult
    # The case's legs, as the worker resolved them: (path, leg, stage), each leg once.
    plan: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    broke_on: str | None = None  # the leg whose run ended the worker (None: none, or the source)


class IsolatedHarness:
    """``Harness.run``/``Harness.replay`` in a persistent child process.

    ``paths`` is the path text (``"keras>tf2onnx>onnx2torch"``); ``pyproject`` the file the
    tolerance policy is read from (None: the built-in defaults); ``plugins`` modules the child
    imports to register converters; ``timeout`` seconds per case.
    """

    def __init__(self, paths: str | None = None, *, device: str = "cpu", opset: int | None = None,
                 pyproject: str | Path | None = None, plugins: list[str] | tuple[str, ...] = (),
                 threads: int = 0, timeout: float = DEFAULT_TIMEOUT,
                 startup_timeout: float = DEFAULT_STARTUP_TIMEOUT, env: dict[str, str] | None = None,
                 cache: str | Path | None = None, cache_verify: float = 0.0, extension=None,
                 precision: str = device_context.STRICT,
                 warm: tuple[str, ...] = WARM_MODULES, spares: int | None = None):
        self.paths = parse_paths(paths)  # fails here, in the parent, on an unknown stage
        self.device = device
        self.precision = device_context.check_precision(precision)
        self.timeout = float(timeout)
        self.startup_timeout = float(startup_timeout)
        self.config = {
            "paths": ",".join(p.name for p in self.paths),
            "device": device,
            "warm": list(warm),  # modules imported once, before the worker says it is ready
            "precision": precision,  # on CUDA: TF32 off unless "tf32" (harness.runtimes.device)
            "opset": opset,
            "pyproject": None if pyproject is None else str(pyproject),
            "plugins": list(dict.fromkeys([*plugins, *user_plugins.imported_modules()])),
            "custom_objects": user_plugins.custom_object_specs(),
            "threads": threads,
            "sys_path": [p for p in sys.path if p],
            "cache": None if cache is None else str(cache),  # harness.run.stage_cache's folder
            "cache_verify": cache_verify,  # the share of its hits made again (--parity-cache-verify)
            # harness.run.torch_end.Extension (the stages after a PyTorch module) and
            # harness.run.side_paths' (the ONNX rewriters, TFLite), as in-process
            "extension": side_paths.to_json(extension),
        }
        # A CUDA worker starts with TF32 off in its environment, before any library loads.
        self.env = (device_context.prepare_environment(device, precision, env)
                    if device == "cuda" else env)
        self._worker = self._new_worker()
        # Started and configured, waiting to replace the worker in use when it dies.
        self.spares = SPARES_AFTER_A_DEATH if spares is None else spares
        self._spares: collections.deque[WorkerProcess] = collections.deque()
        self._starts = 0  # workers that ran (or were started to run) this harness' cases
        # Cases whose worker lost its device context (a CUDA device-side assert): each ended
        # that worker; the next case ran in a fresh one.
        self.contexts_lost = 0
        self.lost_by_label: collections.Counter[str] = collections.Counter()  # {"CUDA": 1}
        self._ready = False
        self.info: dict[str, Any] = {}  # the worker's ready message: pid, versions, start-up time
        atexit.register(self.close)

    # -- the worker's life ---------------------------------------------------------------------
    def _new_worker(self) -> WorkerProcess:
        return WorkerProcess("harness.run.isolation", env=self.env, tail_lines=STDERR_LINES)

    def _launch(self, worker: WorkerProcess) -> None:
        worker.start()
        worker.send({"op": "configure", "config": self.config})

    def start(self) -> None:
        """Starts a worker without waiting for it (its imports overlap the caller's work)."""
        if self._worker.process is not None:
            return
        self._launch(self._worker)
        self._starts += 1
        self._ready = False

    def _replace(self) -> None:
        """After the worker in use died: the oldest spare takes its place (started earlier,
        it is ready sooner than a new one), else a new worker starts; then spares are started
        up to ``spares``, each importing its frameworks while cases run."""
        self._discard()
        if self._spares:
            self._worker = self._spares.popleft()
            self._starts += 1
        else:
            self.start()
        while len(self._spares) < self.spares:
            spare = self._new_worker()
            self._launch(spare)
            self._spares.append(spare)

    def _wait_ready(self) -> None:
        self.start()
        if self._ready:
            return
        message = self._worker.receive(time.monotonic() + self.startup_timeout)
        if message is None or message.get("event") != "ready":
            why = self._worker.exit_text() if message is None else f"sent {message!r}"
            tail = self._stderr_tail()
            self._discard()
            hint = ""
            if "unknown converter" in tail:
                hint = ("\nA converter registered with harness.converters.register() exists only "
                        "in the process that registered it: load it in the worker with "
                        "--parity-plugins MODULE (a module that registers it on import) or an "
                        "entry point in the group 'parity.converters'.")
            raise IsolationError(f"the parity worker did not start: it {why}{hint}\n"
                                 f"--- worker output (last lines) ---\n{tail}")
        self.info = message
        self._ready = True

    def _discard(self) -> None:
        """Kills and forgets the worker; the next case starts a fresh one."""
        self._ready = False
        self._worker.close()

    def close(self) -> None:
        # a worker still importing is simply killed
        self._worker.close(goodbye={"op": "exit"} if self._ready else None)
        self._ready = False
        while self._spares:
            self._spares.popleft().close()

    @property
    def pid(self) -> int | None:
        return self._worker.pid

    @property
    def precision_settings(self) -> dict[str, Any] | None:
        """The precision the worker's legs run at (``harness.runtimes.device.settings``), as
        its ready message said; None until a worker has started."""
        return self.info.get("precision")

    @property
    def starts(self) -> int:
        """How many workers this harness has started to run its cases (spares once in use)."""
        return self._starts

    def _stderr_tail(self) -> str:
        return self._worker.tail() or "(nothing)"

    # -- cases ---------------------------------------------------------------------------------
    def run(self, spec: LayerSpec, legs=None):
        """As ``Harness.run``, in the worker."""
        return self._case(spec, {"op": "run", "spec": spec.to_json(),
                                 **({} if legs is None else {"for_legs": sorted(legs)})})

    def replay(self, spec: LayerSpec, case) -> Any:
        """Replays a stored case (a ``harness.golden.GoldenCase``): the worker loads it from
        its folder, so no model data crosses the pipe. The case says how
        (``worker_replay``: a ``"module:function"`` the worker calls with its harness and the
        JSON arguments), so that the run need not know the store."""
        replayer, arguments = case.worker_replay()
        return self._case(spec, {"op": "replay", "replayer": replayer, "arguments": arguments})

    def _case(self, spec: LayerSpec, request: dict[str, Any]):
        """The case's result. Where a leg ends the worker, the case's legs that do not start
        from a leg that did run in a fresh worker, until none is left."""
        case, progress = self._attempt(spec, request)
        plan, broken, judged = progress.plan, [], set(progress.done)
        while progress.broke_on is not None:
            broken.append(progress.broke_on)
            rest = [leg for _, leg, _ in plan if leg not in judged
                    and not any(starts_from(leg, culprit) for culprit in broken)]
            if not rest:
                break
            again, progress = self._attempt(spec, {**request, "legs": rest})
            case = _merged(case, again, rest)
            judged |= set(progress.done)
        return case

    def _attempt(self, spec: LayerSpec, request: dict[str, Any]):
        self._wait_ready()
        self._worker.output.clear()
        progress = _Progress(started=time.monotonic())
        deadline = progress.started + self.timeout
        self._worker.send(request)
        while True:
            try:
                message = self._worker.receive(deadline)
            except TimeoutError:
                return self._timed_out(spec, progress), progress
            if message is None:
                return self._crashed(spec, progress), progress
            event = message.get("event")
            if event == "progress":
                progress.leg, progress.stage, progress.step = (
                    message["leg"], message["stage"], message["step"])
            elif event == "leg":
                leg = leg_from_json(message["result"])
                progress.done[leg.leg] = leg
            elif event == "plan":
                progress.plan = [tuple(entry) for entry in message["legs"]]
            elif event == "result":
                return case_from_json(message["case"]), progress
            elif event == "context_lost":
                return self._context_lost(spec, progress, message), progress
            elif event == "error":
                raise (SourceError if message["type"] == "SourceError" else CaseError)(
                    message["message"])
            else:
                self._discard()
                raise IsolationError(f"the parity worker sent {message!r}")

    def _crashed(self, spec, progress: _Progress):
        how = self._worker.exit_text()
        tail = self._stderr_tail()
        self._replace()  # the replacement imports its frameworks while this case is recorded
        return self._broken_case(
            spec, progress, "crash",
            f"the worker process {how} {_where(progress)}",
            f"--- worker stderr (last lines) ---\n{tail}")

    def _context_lost(self, spec, progress: _Progress, message: dict[str, Any]):
        """The worker found its device context unusable after this case (a CUDA device-side
        assert, an illegal memory access) and ended itself: every later call on the device in
        that process would fail. The case gets the one record that says so, with the kernel's
        own words where its output has them; the next case runs in a fresh worker. Never
        retried: a case that loses the context is that case's failure."""
        lost = device_context.Lost.from_json(message["lost"])
        how = self._worker.exit_text()  # waits for its end, so that its output is all read
        kernels = device_context.kernel_messages(self._worker.tail())
        self._replace()  # a fresh process (a fresh context), ready or starting
        self.contexts_lost += 1
        self.lost_by_label[lost.label] += 1
        leg_name = message.get("leg")
        where = (f"in leg {leg_name} (stage {message.get('stage')})" if leg_name is not None
                 else "after the case's legs ran" if message.get("case") is not None
                 else _where(progress))
        headline = (f"the {lost.label} context was lost {where}: {lost.error.splitlines()[0]}")
        detail = "\n".join([
            *(f"the kernel said: {line}" for line in kernels),
            f"every later {lost.label} call in that worker would fail, so it was ended ({how}) "
            "and the case's other legs and the next case run in a fresh worker process; "
            "this leg was not retried"])
        if message.get("case") is not None:  # lost after every leg was judged (a diagnosis)
            case = case_from_json(message["case"])
            culprit = next((leg for leg in case.legs if leg.verdict not in ("pass", "skip")),
                           case.legs[0] if case.legs else None)
            if culprit is not None:
                _mark_lost(culprit, lost.label, headline, detail)
            return case
        if leg_name is not None and leg_name in progress.done:
            legs = dict(progress.done)
            _mark_lost(legs[leg_name], lost.label, headline, detail)
            progress.broke_on = leg_name
            return CaseResult(spec, [*legs.values(), *self._not_run(
                spec, progress, legs, leg_name, "runtime_error", headline)], {})
        case = self._broken_case(spec, progress, "runtime_error", headline, detail)
        for leg in case.legs:
            if leg.verdict == "error":  # the leg in flight when the worker found it lost
                leg.context_lost = lost.label
        return case

    def _timed_out(self, spec, progress: _Progress):
        self._worker.kill(stack_first=True)
        tail = self._stderr_tail()
        self._replace()
        return self._broken_case(
            spec, progress, "timeout",
            f"the case did not finish within {self.timeout:g} s (--parity-timeout): the worker "
            f"was killed {_where(progress)}",
            f"--- worker stderr at the timeout (last lines; the stack of every thread) ---\n{tail}")

    def _broken_case(self, spec, progress: _Progress, category: str, headline: str, detail: str):
        """The case's result when its worker died: judged legs keep their results, the leg in
        flight is the error, every other leg is recorded as not run (``_case`` then hands
        those that do not start from it to a fresh worker)."""
        elapsed = round(time.monotonic() - progress.started, 3)
        message = f"{headline}\n{detail}"
        legs = dict(progress.done)
        plan = self._planned(spec, progress)
        if progress.step == "done":  # between legs: charge the first leg that had not run
            upcoming = [(leg, stage) for _, leg, stage in plan if leg not in legs]
            progress.leg, progress.stage = upcoming[0] if upcoming else (None, None)
        if progress.leg is None:  # the source itself: building the Keras model and reference
            path_name = plan[0][0] if plan else spec.source
            source = path_name.split(">")[0]
            culprit = LegResult(path=path_name, leg=source, stage=source, runner=source,
                                verdict="error", category=category, message=message,
                                blame=source, timing={"build": elapsed})
            return CaseResult(spec, [culprit, *self._not_run(spec, progress, legs, source,
                                                             category, headline)], {})
        for path_name, leg_name, _ in plan:
            if leg_name == progress.leg:
                try:
                    runner = runner_for(get(progress.stage).target).name
                except Exception:  # noqa: BLE001 (an unknown format: name the stage only)
                    runner = "?"
                legs[progress.leg] = LegResult(
                    path=path_name, leg=progress.leg, stage=progress.stage, runner=runner,
                    verdict="error", category=category, message=message, blame=progress.stage,
                    timing={progress.step: elapsed})
                progress.broke_on = progress.leg
                break
        return CaseResult(spec, [*legs.values(), *self._not_run(
            spec, progress, legs, progress.leg, category, headline)], {})

    def _planned(self, spec: LayerSpec, progress: _Progress) -> list[tuple[str, str, str]]:
        """The case's legs: as the worker resolved them, else (it died before it said) those
        of this harness' paths that start at the spec's source."""
        if progress.plan:
            return progress.plan
        paths = [p for p in self.paths if p.source == spec.source] or self.paths
        return _legs_of(paths)

    def _not_run(self, spec: LayerSpec, progress: _Progress, legs: dict[str, Any],
                 culprit: str, category: str, headline: str) -> list[LegResult]:
        """A record for each of the case's legs not judged: those that start from the culprit
        are ``upstream_error``; the others wait for a fresh worker (``_case``)."""
        missing = []
        for path_name, leg_name, stage in self._planned(spec, progress):
            if leg_name in legs:
                continue
            downstream = starts_from(leg_name, culprit) or culprit == path_name.split(">")[0]
            missing.append(LegResult(
                path=path_name, leg=leg_name, stage=stage, runner="-", verdict="skip",
                category="upstream_error" if downstream else category,
                message=f"not run: {headline}"))
        return missing


def _legs_of(paths) -> list[tuple[str, str, str]]:
    """(path, leg, stage) of each leg of ``paths``, each leg once (paths share prefixes)."""
    seen: dict[str, tuple[str, str, str]] = {}
    for path in paths:
        for leg_name, stage in zip(path.legs(), path.stages):
            seen.setdefault(leg_name, (path.name, leg_name, stage))
    return list(seen.values())


def _merged(first: CaseResult, again: CaseResult, rest: list[str]) -> CaseResult:
    """``first`` with the legs in ``rest`` as a fresh worker judged them, and any leg only
    ``again`` has (the source's own, which ``first`` lost with its worker)."""
    fresh = {leg.leg: leg for leg in again.legs if leg.leg in rest}
    legs = [fresh.get(leg.leg, leg) for leg in first.legs]
    known = {leg.leg for leg in legs}
    legs += [leg for leg in again.legs if leg.leg not in known]
    return CaseResult(first.spec, legs, {**again.timing, **first.timing})


def _mark_lost(leg, label: str, headline: str, detail: str) -> None:
    """The leg that lost the device context: a runtime error (or the known issue that
    recognised its device form, still xfail), its message led by what was lost."""
    leg.context_lost = label
    if leg.verdict not in ("xfail", "skip"):
        leg.verdict, leg.category = "error", "runtime_error"
    leg.blame = leg.blame or leg.stage
    leg.message = f"{headline}\n{detail}\n--- the leg's own error ---\n{leg.message}"


def _where(progress: _Progress) -> str:
    """Where the case was: 'in stage onnx2torch, converting leg keras>tf2onnx>onnx2torch'."""
    if progress.leg is None:
        return "while building the source model and its reference outputs"
    if progress.step == "convert":
        return f"in stage {progress.stage}, converting leg {progress.leg}"
    if progress.step == "run":
        return f"while running leg {progress.leg} (stage {progress.stage}) on its runtime"
    return f"between legs, after leg {progress.leg} (stage {progress.stage})"


# -- the child's side --------------------------------------------------------------------------

class _Worker:
    def __init__(self, channel: Channel):
        self.channel = channel

    def progress(self, leg: str, stage: str, step: str, result=None) -> None:
        if step == "done":
            self.channel.send({"event": "leg", "result": leg_to_json(result)})
            if result.verdict not in ("pass", "skip"):
                self.check_context(leg=leg, stage=stage)
        else:
            self.channel.send({"event": "progress", "leg": leg, "stage": stage, "step": step})

    def check_context(self, leg: str | None = None, stage: str | None = None,
                      case=None) -> None:
        """After a failure: when a device context of this process is lost, says so to the
        parent and ends the process at once, so that no later leg or case meets the poisoned
        context (its victims). The same probe finds a real CUDA fault and a planted one."""
        lost = device_context.lost()
        if lost is None:
            return
        self.channel.send({"event": "context_lost", "leg": leg, "stage": stage,
                           "lost": lost.to_json(),
                           "case": None if case is None else case_to_json(case)})
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_CONTEXT_LOST)

    def configure(self, config: dict[str, Any]):
        started = time.perf_counter()
        for entry in reversed(config.get("sys_path", [])):
            if entry not in sys.path:
                sys.path.insert(0, entry)
        prepare_imports()  # torch, onnx2torch, torchvision before TensorFlow: DESIGN.md hazards
        # Precision before any CUDA library starts (harness.runtimes.device).
        precision = device_context.configure(config["device"],
                                             config.get("precision", device_context.STRICT))
        threads = int(config.get("threads") or 0)
        if threads:
            import torch

            torch.set_num_threads(threads)
        user_plugins.apply_setup({"plugins": config.get("plugins", []),
                                  "custom_objects": config.get("custom_objects", [])})
        pyproject = config.get("pyproject")
        policy = TolerancePolicy.from_pyproject(Path(pyproject)) if pyproject else None
        # An unknown stage fails here, before the slow imports below.
        extension = config.get("extension")
        harness = Harness(config["paths"], device=config["device"], opset=config.get("opset"),
                          policy=policy, threads=threads, on_leg=self.progress,
                          cache=open_cache(config.get("cache"),
                                           verify=config.get("cache_verify")),
                          observers=[_Planner(self.channel)],
                          extension=side_paths.from_json(extension),
                          precision=config.get("precision", device_context.STRICT))
        for name in config.get("warm", WARM_MODULES):  # once, so that no case pays for them
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
        for path in harness.paths:
            for stage in path.stages:
                get(stage)
        warm_up = device_context.warm_up(config["device"])
        self.channel.send({"event": "ready", "pid": os.getpid(), "versions": versions(),
                           "precision": harness.precision_settings or precision,
                           "startup_s": round(time.perf_counter() - started, 3),
                           **({"warm_up_error": warm_up} if warm_up else {})})
        return harness

    def serve(self) -> int:
        harness = None
        for request in self.channel:
            op = request["op"]
            if op == "exit":
                return 0
            if op == "configure":
                harness = self.configure(request["config"])
                continue
            legs = request.get("legs")
            harness.only_legs = None if legs is None else frozenset(legs)
            try:
                if op == "run":
                    case = harness.run(LayerSpec.from_json(request["spec"]),
                                       request.get("for_legs"))
                elif op == "replay":
                    case = _resolve(request["replayer"])(harness, **request["arguments"])
                else:
                    raise ValueError(f"unknown request {op!r}")
            except Exception as exc:  # noqa: BLE001 (sent to the parent, which raises it)
                self.check_context()
                text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                self.channel.send({
                    "event": "error", "type": type(exc).__name__,
                    "message": f"{type(exc).__name__}: {exc}\n(in the parity worker)\n{text}"})
                continue
            if case.failures or any(leg.verdict == "xfail" for leg in case.legs):
                self.check_context(case=case)
            self.channel.send({"event": "result", "case": case_to_json(case)})
        return 0  # the parent closed the pipe: it is gone


class _Planner(Observer):
    """Tells the parent the case's legs before they run, so that it can name them if this
    process dies, and hand those that do not start from the broken leg to a fresh worker."""

    def __init__(self, channel: Channel):
        self.channel = channel

    def on_case(self, case) -> None:
        self.channel.send({"event": "plan",
                           "legs": [list(entry) for entry in _legs_of(case.paths)]})


def _resolve(name: str):
    """The function a ``"module:function"`` names (a replayer from an upper layer)."""
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def main(argv: list[str]) -> int:
    # Anything a converter prints goes to the captured output, never into the protocol pipe.
    return _Worker(Channel.open(argv)).serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
