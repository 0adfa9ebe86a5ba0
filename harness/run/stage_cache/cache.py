"""The stage cache: every stage's output and every source's reading, kept between runs.

``Harness(cache=StageCache(folder))`` reads a case's source through ``read``, and before
each conversion looks the leg's output up (``lookup``), storing it after a miss (``keep``).
A key holds the input's identity, the stage's name, options and packages' fingerprints
(``harness.run.stage_cache.keys``); entries live in a folder (``harness.run.stage_cache.store``).
So a run re-converts only what its key does not find: a new onnx2torch re-runs onnx2torch and the legs after it, nothing before.

Only what has an exact serialisation is stored, so that a hit is the artifact the stage
would hand on: ONNX models (their bytes), TFLite flatbuffers (their bytes, with their
``meta`` as JSON that keeps tuples apart: the signature and its names, and whatever else a
stage records there), and the readings of the built-in drawn sources
(``keras``, ``onnx``: arrays as one blob, harness.run.stage_cache.readings). PyTorch modules are not
stored (that would take pickle). A cached Keras reading has no Keras model; a stage that
misses on it gets one built on first use (``LazyArtifact``), from the same spec.

A conversion or a run that raised on the CPU is kept as its leg's message (``keep_failure``,
``keep_run_failure``), where the failure is the converter's or runtime's answer to its input,
not how it ran (``TransientFailure``: a worker that timed out or died, a child killed by a
signal; a timeout, memory or OS error anywhere in its chain): a hit raises ``KeptFailure``,
whose leg is the one the cold run recorded.

A leg's run is kept too (``run``): onnxruntime's and torch's outputs for an artifact and
inputs, keyed by the artifact's identity. A stage whose output is not stored (a PyTorch
module) keeps an entry that says it converted this input; a later run hands on a
``LazyArtifact`` that converts again on first use, which happens only where a run or a
stage after it misses, or a failing leg is diagnosed.

``NO_CACHE`` has the same surface and stores nothing (``--parity-cache none``).

``StageCache(folder, verify=FRACTION)`` (``--parity-cache-verify``, ``PARITY_CACHE_VERIFY``)
makes a sample of its hits again without the cache; a hit that differs raises
``CacheMismatch`` and its entry is removed (harness.run.stage_cache.verify).
"""

from __future__ import annotations

import contextlib
import subprocess
import warnings
from pathlib import Path
from typing import Any

from harness.converters import Artifact, ConversionError, TransientFailure
from harness.core import yardstick
from harness.core.taxonomy import classify_exception
from harness.run.stage_cache import keys, packages
from harness.run.stage_cache import verify as verifying
from harness.run.stage_cache.arrays import pack, unpack
from harness.run.stage_cache.readings import (
    Uncacheable,
    arrays_from,
    artifact_fields,
    meta_document,
    meta_from,
    output_arrays,
    plain_array,
    reading_arrays,
    reading_from,
    reading_parts,
)
from harness.run.stage_cache.store import DEFAULT_FOLDER, CacheWarning, Store
from harness.run.stage_cache.verify import CacheMismatch
from harness.sources import SourceError, SourceReading, SourceRefusal, source_failure_message

__all__ = ["DEFAULT_FOLDER", "NO_CACHE", "CacheMismatch", "CacheWarning", "KeptFailure",
           "LazyArtifact", "NoCache", "StageCache", "open_cache"]

# Formats whose artifacts are stored: those with an exact serialisation.
STORED_FORMATS = ("onnx", "tflite")
# What a TFLite flatbuffer holds at bytes 4 to 8 (its file identifier).
TFLITE_IDENTIFIER = b"TFL3"
# Sources whose readings are stored; a user's file (``file``) may change under the same spec.
# onnx's node tests are files of the installed onnx, which its fingerprint covers. A source
# whose model is a file says how to keep it (``model_bytes``, ``model_from_bytes``: the .mat
# source).
READ_SOURCES = ("keras", "onnx", "onnx-node", "mat")
# Identities kept for the artifacts of the cases in flight (the legs of one case).
IDENTITIES_KEPT = 512
# Failures that say how a stage ran, not what it made of its input: never kept.
UNREPEATABLE = (TransientFailure, TimeoutError, subprocess.TimeoutExpired, MemoryError, OSError)


class KeptFailure(ConversionError):
    """A conversion or a run that raised on an earlier run, as the stage cache kept it:
    ``message`` is the leg's message then (the exception and its traceback), ``step`` where
    it raised (``convert``, ``load``, ``run``), ``type_name`` and the text the exception's."""

    def __init__(self, raised: dict[str, str]):
        super().__init__(raised["text"])
        self.type_name = raised["type"]
        self.message = raised["message"]
        self.step = raised.get("step", "convert")


def repeatable(exc: BaseException) -> bool:
    """Whether a conversion's exception is the converter's answer to its input: nothing in
    its chain of causes says how the stage ran instead (``UNREPEATABLE``)."""
    seen: set[int] = set()
    found: BaseException | None = exc
    while found is not None and id(found) not in seen:
        if isinstance(found, UNREPEATABLE):
            return False
        seen.add(id(found))
        found = found.__cause__ or found.__context__
    return True


class NoCache:
    """Reads and converts directly (``--parity-cache none``)."""

    folder = None
    verify = 0.0

    def read(self, source, spec, *, policy, device: str) -> SourceReading:
        return source.read(spec, policy=policy, device=device)

    def lookup(self, converter, parent: Artifact, options) -> Artifact | None:
        return None

    def keep(self, converter, parent: Artifact, options, artifact: Artifact) -> None:
        return None

    def keep_failure(self, converter, parent: Artifact, options, exc: Exception,
                     message: str) -> None:
        return None

    def keep_run_failure(self, runner, artifact: Artifact, inputs, exc: Exception,
                         message: str, step: str) -> None:
        return None

    def run(self, runner, artifact: Artifact, inputs) -> list:
        return runner.run(artifact, inputs)

    def diagnosis(self, converter, received: Artifact, inputs, reference, tolerance) -> dict:
        return converter.diagnose(materialised(received), inputs, reference, tolerance)

    def computed(self, what: str, document, make, *, packages=(), code=()) -> dict:
        return make()


NO_CACHE = NoCache()


def open_cache(value: str | Path | None, root: Path | None = None,
               verify: float | None = None):
    """The cache an option names: ``none`` turns it off; a relative folder is taken from
    ``root`` (the project's root). ``verify``: the fraction of hits made again and compared
    (None: ``PARITY_CACHE_VERIFY``'s, else 0)."""
    if value is None or str(value).lower() == "none":
        return NO_CACHE
    folder = Path(value)
    if not folder.is_absolute() and root is not None:
        folder = Path(root) / folder
    share = verifying.from_environment() if verify is None else verifying.fraction(verify)
    return StageCache(folder, verify=share)


class LazyArtifact(Artifact):
    """A source artifact whose model is built on first use (``.model``), from a cached
    reading; building fails with ``SourceError``."""

    def __init__(self, format: str, input_names, meta, build):
        self.format = format
        self.input_names = list(input_names)
        self.meta = dict(meta)
        self._build = build
        self._model: Any = None
        self._built = False

    @property
    def model(self):
        if not self._built:
            self._model = self._build()
            self._built = True
        return self._model

    @model.setter
    def model(self, value) -> None:
        self._model, self._built = value, True

    def __repr__(self) -> str:
        state = "built" if self._built else "not built yet"
        return f"LazyArtifact(format={self.format!r}, input_names={self.input_names!r}, {state})"


def materialised(artifact: Artifact) -> Artifact:
    """The artifact with its model built, so that a source that cannot be rebuilt fails as
    the source (``SourceError``), not as the stage it feeds."""
    if isinstance(artifact, LazyArtifact):
        artifact.model  # noqa: B018 (builds it)
    return artifact


class StageCache:
    def __init__(self, folder: Path | str, *, verify: float = 0.0, seed: int = 0):
        self.folder = Path(folder)
        self.store = Store(self.folder)
        # The share of hits made again and compared, drawn by ``seed`` and the key.
        self.verify = verifying.fraction(verify)
        self.seed = seed
        # (what, "same" or "differs") for every hit verified, in order.
        self.verify_log: list[tuple[str, str]] = []
        self._case = ""  # the case being read, for a mismatch's message
        packages.MEMO.persist_in(self.store.file_hashes)
        self.hits = 0
        self.misses = 0
        # (what: "reading <source>" or a stored stage's name, "hit" or "miss"), in order.
        self.log: list[tuple[str, str]] = []
        # The same for stages whose output is not stored (a hit: not converted unless used),
        # and for runs ("run <runner>").
        self.module_log: list[tuple[str, str]] = []
        self.run_log: list[tuple[str, str]] = []
        # (stage, "hit" or "miss") for the stages' own diagnoses of failing legs.
        self.diagnosis_log: list[tuple[str, str]] = []
        # (what, "hit" or "miss") for the tests' own computations (``computed``).
        self.computed_log: list[tuple[str, str]] = []
        # id(artifact) -> (artifact, identity or a function that makes it): kept with the
        # artifact so that its id is not reused while the entry lives.
        self._identities: dict[int, tuple[Artifact, Any]] = {}

    # -- sources ---------------------------------------------------------------------------
    def read(self, source, spec, *, policy, device: str) -> SourceReading:
        if source.name not in READ_SOURCES:
            return source.read(spec, policy=policy, device=device)
        self._identities.clear()  # a new case: the last one's artifacts are done with
        self._case = spec.describe()
        key = keys.reading_key(source, spec, policy, device)
        entry = self.store.entry(key)
        kept = self._kept_source_failure(key, entry)
        if kept is not None:
            self._count(f"reading {source.name}", "hit")
            if self._sampled(key):
                self._verify_source_failure(key, source, spec, policy, device, kept)
            raise kept
        reading = self._cached_reading(key, entry, source, spec, policy, device)
        if reading is not None:
            self._count(f"reading {source.name}", "hit")
            if self._sampled(key):
                self._verify_reading(key, source, spec, policy, device, reading)
            return reading
        self._count(f"reading {source.name}", "miss")
        try:
            reading = source.read(spec, policy=policy, device=device)
        except SourceError as exc:
            self._keep_source_failure(key, source, spec, exc, device)
            raise
        self._store_reading(key, source, spec, reading)
        return reading

    def _kept_source_failure(self, key: str, entry: dict | None) -> SourceError | None:
        """The error a source raised for this key on an earlier run, as its entry kept it: a
        ``SourceRefusal`` with the machine's state, or a ``SourceError``, whose record
        message is the cold run's."""
        if entry is None or "raised" not in entry:
            return None
        try:
            raised = entry["raised"]
            text, message = raised["text"], raised["message"]
            if not (isinstance(text, str) and isinstance(message, str)):
                raise TypeError("a kept source failure without its text and message")
            if raised["type"] == "SourceRefusal":
                failure: SourceError = SourceRefusal(text, dict(raised["environment"]))
            elif raised["type"] == "SourceError":
                failure = SourceError(text)
            else:
                raise ValueError(f"a kept source failure of type {raised['type']!r}")
        except (KeyError, TypeError, ValueError) as exc:
            self.store._damaged(self.store._entry_path(key), f"{type(exc).__name__}: {exc}")
            return None
        failure.record_message = message
        return failure

    def _keep_source_failure(self, key: str, source, spec, exc: SourceError,
                             device: str) -> None:
        """Stores that the source could not read this case, where that is its answer to the
        spec (``repeatable``) on the CPU; never raises. A warm run then records the case as
        the cold one did, without building a model that cannot be built."""
        if not repeatable(exc) or device != "cpu":
            return
        kind = "SourceRefusal" if isinstance(exc, SourceRefusal) else "SourceError"
        raised = {"type": kind, "text": str(exc), "message": source_failure_message(exc)}
        if isinstance(exc, SourceRefusal):
            raised["environment"] = exc.environment
        try:
            self.store.put(key, {"kind": "reading", "source": source.name,
                                 "case": spec.case_id, "raised": raised})
        except Exception as failure:  # noqa: BLE001 (the cache never fails a case)
            warnings.warn(f"parity cache: the failure of the {source.name} source was not "
                          f"stored ({type(failure).__name__}: {failure})", CacheWarning,
                          stacklevel=2)

    def _cached_reading(self, key, entry, source, spec, policy, device) -> SourceReading | None:
        if entry is None:
            return None
        try:
            described = entry["artifact"]
            data = self.store.blob(key, entry["arrays"])
            if data is None:
                return None
            if described.get("kept_by_source"):
                artifact = self._source_artifact(key, source, described)
                if artifact is None:
                    return None
            elif described.get("blob"):
                artifact = self._stored_artifact(key, described)
                if artifact is None:
                    return None
            else:
                artifact = LazyArtifact(described["format"], described["input_names"],
                                        described["meta"],
                                        _rebuild(source, spec, policy, device, described))
                self._identify(artifact, keys.source_key(source, spec))
            reading = reading_from(entry["reading"], data, artifact)
        except (KeyError, TypeError, ValueError, OSError) as exc:
            self.store._damaged(self.store._entry_path(key), f"{type(exc).__name__}: {exc}")
            return None
        if entry.get("yardstick_missing"):  # what the reading told harness.core.yardstick
            yardstick.note_missing(spec, entry["yardstick_missing"])
        return reading

    def _source_artifact(self, key: str, source, described: dict[str, Any]) -> Artifact | None:
        """A model the source keeps as bytes (a .mat file), made again from them."""
        data = self.store.blob(key, described["blob"])
        if data is None:
            return None
        if not isinstance(described["meta"], dict):
            raise TypeError("the entry's metadata is not a mapping")
        artifact = source.model_from_bytes(data, dict(described["meta"]))
        self._identify(artifact, _described_identity(described))
        return artifact

    def _store_reading(self, key, source, spec, reading: SourceReading) -> None:
        try:
            document, data = reading_arrays(reading)
            described, model = self._described(source, spec, reading.artifact)
        except Uncacheable:
            return
        missing = None if reading.yardstick is not None else yardstick.missing_reason(spec)
        self.store.put(key, {"kind": "reading", "source": source.name, "case": spec.case_id,
                             "artifact": described, "arrays": Store.blob_hash(data),
                             "reading": document, "yardstick_missing": missing},
                       [data] if model is None else [data, model])

    def _described(self, source, spec, artifact: Artifact) -> tuple[dict[str, Any], bytes | None]:
        """What a reading's entry says of its artifact, and the model's bytes where they are
        kept (an ONNX model's; a .mat file, as its source keeps it); identifies the
        artifact for the stages it feeds."""
        keeps_model = getattr(source, "model_bytes", None)
        if keeps_model is not None:
            model, meta = keeps_model(artifact)
            described = {**artifact_fields(Artifact(artifact.format, None,
                                                    list(artifact.input_names), meta)),
                         "blob": Store.blob_hash(model), "kept_by_source": True}
            self._identify(artifact, _described_identity(described))
            return described, model
        described = artifact_fields(artifact)
        model = _artifact_bytes(artifact)
        if model is None:
            self._identify(artifact, keys.source_key(source, spec))
            return described, None
        described["blob"] = Store.blob_hash(model)
        self._identify(artifact, keys.content_identity(described["blob"], artifact))
        return described, model

    # -- stages ----------------------------------------------------------------------------
    def lookup(self, converter, parent: Artifact, options) -> Artifact | None:
        """The stage's output for this input and options, if an entry holds it: the stored
        model, or for a stage whose output is not stored, an artifact that converts on first
        use."""
        identity = self.identity(parent)
        if identity is None:
            return None
        key = keys.stage_key(converter, identity, options)
        stored = converter.target in STORED_FORMATS

        def log(outcome: str) -> None:
            if stored:
                self._count(converter.name, outcome)
            else:
                self.module_log.append((converter.name, outcome))

        try:
            cached = (self._cached_stage(key, parent) if stored
                      else self._unbuilt_stage(key, converter, parent, options))
        except KeptFailure as kept:
            log("hit")
            if self._sampled(key):
                self._verify_failure(key, converter, parent, options, kept)
            raise
        log("miss" if cached is None else "hit")
        if cached is not None and self._sampled(key):
            self._verify_stage(key, converter, parent, options, cached)
        return cached

    def keep(self, converter, parent: Artifact, options, artifact: Artifact) -> None:
        """Stores what the stage made on a miss (where it has an exact serialisation; else
        that it converted), and what it is, for the stages after it; never raises."""
        try:
            identity = self.identity(parent)
            if identity is None:
                return
            key_of = _once(lambda: keys.stage_key(converter, identity, options))
            if converter.target not in STORED_FORMATS:
                self._identify(artifact, key_of)  # a later stage's input: keyed by lineage
                self._store_converted(key_of(), converter, artifact)
                return
            self._store_stage(key_of(), converter, parent, artifact)
        except Exception as exc:  # noqa: BLE001 (the cache never fails a leg)
            warnings.warn(f"parity cache: the output of {converter.name} was not stored "
                          f"({type(exc).__name__}: {exc})", CacheWarning, stacklevel=2)

    def keep_failure(self, converter, parent: Artifact, options, exc: Exception,
                     message: str) -> None:
        """Stores that the stage raised on this input, with the leg's ``message``, where the
        failure is ``repeatable``; never raises."""
        if not repeatable(exc) or options.device != "cpu":  # off the CPU, a lost context
            return
        try:
            identity = self.identity(parent)
            if identity is None:
                return
            self.store.put(keys.stage_key(converter, identity, options),
                           {"kind": "stage", "stage": converter.name,
                            "raised": _raised(exc, message, "convert")})
        except Exception as failure:  # noqa: BLE001 (the cache never fails a leg)
            warnings.warn(f"parity cache: the failure of {converter.name} was not stored "
                          f"({type(failure).__name__}: {failure})", CacheWarning, stacklevel=2)

    def _unbuilt_stage(self, key: str, converter, parent: Artifact, options) -> Artifact | None:
        """An artifact that converts on first use, where an entry says the stage converted
        this input before."""
        entry = self.store.entry(key)
        if entry is None:
            return None
        try:
            _raise_if_kept_failure(entry)
            artifact = LazyArtifact(entry["format"], entry["input_names"], meta_from(entry["meta"]),
                                    _convert_again(converter, parent, options, entry))
        except (KeyError, TypeError, ValueError) as exc:
            self.store._damaged(self.store._entry_path(key), f"{type(exc).__name__}: {exc}")
            return None
        self._identify(artifact, key)
        return artifact

    def _store_converted(self, key: str, converter, artifact: Artifact) -> None:
        """That the stage converted this input, with the artifact's format, input names and
        metadata (a PyTorch module's: the submodules it returned in training mode)."""
        if not isinstance(artifact, Artifact) or isinstance(artifact, LazyArtifact):
            return
        try:
            meta = meta_document(artifact.meta)
        except Uncacheable:
            return
        self.store.put(key, {"kind": "stage", "stage": converter.name, "format": artifact.format,
                             "input_names": list(artifact.input_names), "meta": meta,
                             "converted": True})

    def _cached_stage(self, key: str, parent: Artifact) -> Artifact | None:
        entry = self.store.entry(key)
        if entry is None:
            return None
        try:
            _raise_if_kept_failure(entry)
            if entry.get("same_model"):  # a stage that hands its input's model on
                artifact = Artifact(entry["format"], parent.model, list(entry["input_names"]),
                                    dict(entry["meta"]))
                self._identify_by_content(parent, artifact)
                return artifact
            return self._stored_artifact(key, entry)
        except (KeyError, TypeError, ValueError) as exc:
            self.store._damaged(self.store._entry_path(key), f"{type(exc).__name__}: {exc}")
            return None

    def _store_stage(self, key: str, converter, parent: Artifact, artifact: Artifact) -> None:
        if not isinstance(artifact, Artifact) or artifact.format not in STORED_FORMATS:
            return
        try:
            described = _stored_fields(artifact)
        except Uncacheable:
            return
        entry = {"kind": "stage", "stage": converter.name, **described}
        if artifact.model is parent.model:
            self.store.put(key, {**entry, "same_model": True})
            self._identify_by_content(parent, artifact)
            return
        model = _artifact_bytes(artifact)
        if model is None:
            return
        entry["blob"] = Store.blob_hash(model)
        self._identify(artifact, keys.content_identity(entry["blob"], artifact))
        self.store.put(key, entry, [model])

    # -- runs ------------------------------------------------------------------------------
    def run(self, runner, artifact: Artifact, inputs) -> list:
        """The runner's outputs for the artifact and inputs: the kept ones where a key finds
        them (a module not converted yet stays so), else the runner's, then kept."""
        key = self._run_key(runner, artifact, inputs)
        if key is not None:
            try:
                outputs = self._cached_run(key)
            except KeptFailure as kept:
                self.run_log.append((f"run {runner.name}", "hit"))
                if self._sampled(key):
                    self._verify_run_failure(key, runner, artifact, inputs, kept)
                raise
            self.run_log.append((f"run {runner.name}", "miss" if outputs is None else "hit"))
            if outputs is not None:
                if self._sampled(key):
                    self._verify_run(key, runner, artifact, inputs, outputs)
                return outputs
        outputs = runner.run(materialised(artifact), inputs)
        if key is not None:
            self._store_run(key, runner, outputs)
        return outputs

    def _run_key(self, runner, artifact: Artifact, inputs) -> str | None:
        return self._keyed(artifact, lambda identity: keys.run_key(runner, identity, inputs))

    def _keyed(self, artifact: Artifact, make) -> str | None:
        """``make(identity)``: the key of what is made from the artifact; None where the
        artifact has no identity, or arrays have no key (objects, sequences, maps: made,
        not kept)."""
        try:
            identity = self.identity(artifact)
            return None if identity is None else make(identity)
        except (TypeError, ValueError):
            return None

    def keep_run_failure(self, runner, artifact: Artifact, inputs, exc: Exception,
                         message: str, step: str) -> None:
        """Stores that the runner raised on this artifact and inputs, with the leg's
        ``message``, where the failure is ``repeatable``, on the CPU, and the runner's own
        (not the conversion of a module made on first use); never raises."""
        built = not isinstance(artifact, LazyArtifact) or artifact._built
        if not repeatable(exc) or not built or getattr(runner, "device", "cpu") != "cpu":
            return
        try:
            key = self._run_key(runner, artifact, inputs)
            if key is not None:
                self.store.put(key, {"kind": "run", "runner": runner.name,
                                     "raised": _raised(exc, message, step)})
        except Exception as failure:  # noqa: BLE001 (the cache never fails a leg)
            warnings.warn(f"parity cache: the failure of {runner.name} was not stored "
                          f"({type(failure).__name__}: {failure})", CacheWarning, stacklevel=2)

    def _cached_run(self, key: str) -> list | None:
        entry = self.store.entry(key)
        if entry is None:
            return None
        try:
            _raise_if_kept_failure(entry)
            data = self.store.blob(key, entry["arrays"])
            return None if data is None else arrays_from(data, entry["count"])
        except (KeyError, TypeError, ValueError, OSError) as exc:
            self.store._damaged(self.store._entry_path(key), f"{type(exc).__name__}: {exc}")
            return None

    def _store_run(self, key: str, runner, outputs) -> None:
        try:
            data = output_arrays(outputs)
            self.store.put(key, {"kind": "run", "runner": runner.name,
                                 "arrays": Store.blob_hash(data), "count": len(outputs)}, [data])
        except Uncacheable:
            return
        except Exception as exc:  # noqa: BLE001 (the cache never fails a leg)
            warnings.warn(f"parity cache: the outputs of {runner.name} were not stored "
                          f"({type(exc).__name__}: {exc})", CacheWarning, stacklevel=3)

    # -- diagnoses -------------------------------------------------------------------------
    def diagnosis(self, converter, received: Artifact, inputs, reference, tolerance) -> dict:
        """A failing leg's stage's own diagnosis (``converter.diagnose``: which pass of a
        rewriter broke the model, each pass applied or left out and run with onnxruntime):
        the kept one where a key finds it, else the stage's, then kept. A warm run after a
        converter change would otherwise rewrite and run the model once a pass again for
        every known issue's leg of the rewriters, which did not change."""
        key = self._keyed(received, lambda identity: keys.diagnosis_key(
            converter, identity, inputs, reference, tolerance))
        if key is not None:
            found = self._cached_diagnosis(key)
            self.diagnosis_log.append((converter.name, "miss" if found is None else "hit"))
            if found is not None:
                if self._sampled(key):
                    cold = self._cold(key, f"diagnosis {converter.name}", "diagnosis",
                                      lambda: self._diagnose(converter, received, inputs,
                                                             reference, tolerance))
                    self._judge(key, f"diagnosis {converter.name}", "diagnosis",
                                None if cold == found else f"cached {found!r}, cold {cold!r}")
                return found
        found = self._diagnose(converter, received, inputs, reference, tolerance)
        if key is not None:
            with contextlib.suppress(Uncacheable):
                self.store.put(key, {"kind": "diagnosis", "stage": converter.name,
                                     "diagnosis": meta_document(found)})
        return found

    @staticmethod
    def _diagnose(converter, received, inputs, reference, tolerance) -> dict:
        return converter.diagnose(materialised(received), inputs, reference, tolerance)

    def _cached_diagnosis(self, key: str) -> dict | None:
        entry = self.store.entry(key)
        if entry is None:
            return None
        try:
            found = meta_from(entry["diagnosis"])
            if not isinstance(found, dict):
                raise TypeError("the entry's diagnosis is not a mapping")
            return found
        except (KeyError, TypeError, ValueError) as exc:
            self.store._damaged(self.store._entry_path(key), f"{type(exc).__name__}: {exc}")
            return None

    # -- a test's own computations --------------------------------------------------------
    def computed(self, what: str, document, make, *, packages=(), code=()) -> dict:
        """The named arrays ``make()`` returns, computed from what ``document`` holds: the
        kept ones where a key finds them, else make's, then kept. For what a suite test
        computes that no stage makes (a reference built by hand in Keras, a real network's
        outputs), so that a warm run whose frameworks and code did not change does not
        compute it again. ``document``: everything the arrays are computed from, arrays by
        their content (``keys.plain_document``); ``packages``: the frameworks that compute
        them; ``code``: the files besides the harness whose code does (the test's module).
        A make that raises keeps nothing; arrays the cache cannot keep are not kept."""
        key = keys.computed_key(what, document, packages, code)
        found = self._cached_computed(key)
        self.computed_log.append((what, "miss" if found is None else "hit"))
        if found is not None:
            if self._sampled(key):
                cold = self._cold(key, what, "computation", make)
                self._judge(key, what, "computation", verifying.arrays_difference(found, cold))
            return found
        made = make()
        try:
            data = pack({name: plain_array(value, f"{what}'s {name!r}")
                         for name, value in made.items()})
        except Uncacheable:
            return made
        self.store.put(key, {"kind": "computed", "what": what,
                             "arrays": Store.blob_hash(data)}, [data])
        return made

    def _cached_computed(self, key: str) -> dict | None:
        entry = self.store.entry(key)
        if entry is None:
            return None
        try:
            data = self.store.blob(key, entry["arrays"])
            return None if data is None else unpack(data)
        except (KeyError, TypeError, ValueError) as exc:
            self.store._damaged(self.store._entry_path(key), f"{type(exc).__name__}: {exc}")
            return None

    # -- verifying hits --------------------------------------------------------------------
    def _sampled(self, key: str) -> bool:
        return verifying.sampled(key, self.verify, self.seed)

    def _verify_reading(self, key, source, spec, policy, device, cached: SourceReading):
        what = f"reading {source.name}"
        cold = self._cold(key, what, "reading", lambda: source.read(spec, policy=policy,
                                                                    device=device))
        self._judge(key, what, "reading", _reading_difference(cached, cold, source))

    def _verify_source_failure(self, key, source, spec, policy, device,
                               kept: SourceError) -> None:
        """Reads again: the source must refuse or fail as the entry says, by type."""
        what = f"reading {source.name}"
        try:
            source.read(spec, policy=policy, device=device)
        except Exception as exc:  # noqa: BLE001 (what the cold one raised is compared)
            difference = (None if type(exc) is type(kept) else
                          f"the entry says it raised {type(kept).__name__}, the cold reading "
                          f"raised {type(exc).__name__}: {exc}")
        else:
            difference = (f"the entry says it raised {type(kept).__name__}; the cold reading "
                          f"did not")
        self._judge(key, what, "reading", difference)

    def _verify_stage(self, key: str, converter, parent: Artifact, options, cached) -> None:
        """Converts the input again and compares: a stored model by its content (names
        aside), an unstored module by what its entry describes, which it then is."""
        materialised(parent)  # a source that cannot be rebuilt fails as the source
        cold = self._cold(key, converter.name, "conversion",
                          lambda: converter.convert(parent, options))
        self._judge(key, converter.name, "conversion", _stage_difference(cached, cold, parent))
        if isinstance(cached, LazyArtifact):
            cached.model = cold.model  # converted now: not again on first use

    def _verify_failure(self, key: str, converter, parent: Artifact, options,
                        kept: KeptFailure) -> None:
        """Converts the input again: it must raise the same type of exception, in the same
        category (its text may name a temporary folder or an address)."""
        self._verify_raises(key, kept, converter.name, "conversion", f"{converter.name} raised",
                            parent, lambda: converter.convert(parent, options))

    def _verify_run_failure(self, key: str, runner, artifact: Artifact, inputs,
                            kept: KeptFailure) -> None:
        """Runs again: it must raise the same type of exception, in the same category."""
        self._verify_raises(key, kept, f"run {runner.name}", "run", f"{runner.name} raised",
                            artifact, lambda: runner.run(artifact, inputs))

    def _verify_raises(self, key: str, kept: KeptFailure, what: str, making: str,
                       raised_by: str, given: Artifact, again) -> None:
        materialised(given)
        try:
            again()
        except Exception as exc:  # noqa: BLE001 (what the cold one raised is compared)
            difference = _failure_difference(kept, exc, raised_by)
        else:
            difference = f"the entry says it raised {kept.type_name}; the cold {making} did not"
        self._judge(key, what, making, difference)

    def _verify_run(self, key: str, runner, artifact: Artifact, inputs, cached: list) -> None:
        what = f"run {runner.name}"
        materialised(artifact)
        cold = self._cold(key, what, "run", lambda: runner.run(artifact, inputs))
        self._judge(key, what, "run", verifying.outputs_difference(cached, list(cold)))

    def _cold(self, key: str, what: str, making: str, make):
        try:
            return make()
        except Exception as exc:
            raise self._mismatch(key, what, making, f"the cold {making} raised "
                                                    f"{type(exc).__name__}: {exc}") from exc

    def _judge(self, key: str, what: str, making: str, difference: str | None) -> None:
        if difference is not None:
            raise self._mismatch(key, what, making, difference)
        self.verify_log.append((what, "same"))

    def _mismatch(self, key: str, what: str, making: str, difference: str) -> CacheMismatch:
        """Removes the entry a verified hit contradicts; the error that says so."""
        self.verify_log.append((what, "differs"))
        self.store.remove(key)
        return CacheMismatch(
            f"parity cache: the cached {what} differs from a cold {making} "
            f"(--parity-cache-verify), case {self._case or '?'}, key {key}: {difference}. "
            f"Its key misses something that decides the output, or the {what} does not "
            f"make the same output twice (tf2onnx's node order follows memory addresses: "
            f"make it twice with --parity-cache none to tell); the entry was removed from "
            f"{self.folder}")

    # -- artifacts' identities -------------------------------------------------------------
    def identity(self, artifact: Artifact) -> str | None:
        """What an artifact is, for the key of the stage it feeds: the hash of its content
        (an ONNX model), or the key of the source or stage that made it; None for an
        artifact of unknown making (nothing downstream of it is cached)."""
        known = self._identities.get(id(artifact))
        if known is not None and known[0] is artifact:
            value = known[1]
            return value() if callable(value) else value
        model = _artifact_bytes(artifact)
        if model is None:
            return None
        identity = keys.content_identity(Store.blob_hash(model), artifact)
        self._identify(artifact, identity)
        return identity

    def _identify(self, artifact: Artifact, identity) -> None:
        if len(self._identities) >= IDENTITIES_KEPT:
            self._identities.clear()
        self._identities[id(artifact)] = (artifact, identity)

    def _identify_by_content(self, parent: Artifact, artifact: Artifact) -> None:
        """A stage that hands its input's model on with other metadata: the content is the
        parent's, the identity the model's bytes and the new metadata."""
        def identity():
            model = _artifact_bytes(artifact)
            return None if model is None else keys.content_identity(Store.blob_hash(model),
                                                                    artifact)
        self._identify(artifact, _once(identity))

    def _stored_artifact(self, key: str, described: dict[str, Any]) -> Artifact | None:
        """The artifact an entry stores (its blob checked against its hash); None, with a
        warning and the entry removed, where the blob is missing, damaged or not the format
        the entry names. Raises KeyError, TypeError or ValueError for an entry that does not
        parse (the callers' damaged entries)."""
        data = self.store.blob(key, described["blob"])
        if data is None:
            return None
        fmt = described["format"]
        if fmt == "tflite":
            if data[4:8] != TFLITE_IDENTIFIER:
                self.store._damaged(self.store._entry_path(key),
                                    "its blob is not a TFLite flatbuffer")
                return None
            model: Any = data
        elif fmt == "onnx":
            import onnx

            model = onnx.ModelProto()
            model.ParseFromString(data)
        else:
            raise ValueError(f"an entry of format {fmt!r}, which is not stored")
        meta = (meta_from(described["meta"]) if described.get("meta_document")
                else dict(described["meta"]))
        if not isinstance(meta, dict):
            raise TypeError("the entry's metadata is not a mapping")
        artifact = Artifact(fmt, model, list(described["input_names"]), meta)
        self._identify(artifact, keys.content_identity(described["blob"], artifact))
        return artifact

    def _count(self, what: str, outcome: str) -> None:
        self.log.append((what, outcome))
        if outcome == "hit":
            self.hits += 1
        else:
            self.misses += 1

    def summary(self) -> str:
        def counted(log):
            hits = sum(1 for _, outcome in log if outcome == "hit")
            return f"{hits} hit(s), {len(log) - hits} miss(es)"
        return (f"parity cache {self.folder}: {self.hits} hit(s), {self.misses} miss(es); "
                f"modules {counted(self.module_log)}; runs {counted(self.run_log)}")


def _fields(artifact: Artifact) -> dict[str, Any]:
    return {"format": artifact.format, "input_names": list(artifact.input_names),
            "meta": artifact.meta}


def _described_identity(described: dict[str, Any]) -> str:
    """The identity of a model a source keeps as bytes: its blob, format, input names and
    the metadata its source keeps (a .mat artifact's also holds its temporary folder)."""
    return keys.content_identity(described["blob"], Artifact(
        described["format"], None, list(described["input_names"]), described["meta"]))


def _reading_difference(cached: SourceReading, cold: SourceReading, source) -> str | None:
    cached_document, cached_arrays = reading_parts(cached)
    cold_document, cold_arrays = reading_parts(cold)
    for part in sorted(set(cached_document) | set(cold_document)):
        if cached_document.get(part) != cold_document.get(part):
            return (f"its {part}: {cached_document.get(part)!r} in the entry, "
                    f"{cold_document.get(part)!r} cold")
    difference = verifying.arrays_difference(cached_arrays, cold_arrays)
    keeps_model = getattr(source, "model_bytes", None)
    if keeps_model is not None:  # a .mat file's bytes hold when it was written: not compared
        described = [{**_fields(reading.artifact), "meta": keeps_model(reading.artifact)[1]}
                     for reading in (cached, cold)]
        return difference or verifying.fields_difference(*described)
    difference = difference or verifying.fields_difference(_fields(cached.artifact),
                                                           _fields(cold.artifact))
    if difference is None and not isinstance(cached.artifact, LazyArtifact):
        difference = _onnx_difference(cached.artifact.model, cold.artifact.model)
    return difference


def _stage_difference(cached: Artifact, cold: Artifact, parent: Artifact) -> str | None:
    difference = verifying.fields_difference(_fields(cached), _fields(cold))
    if difference is not None or cached.format not in STORED_FORMATS:
        return difference
    if cached.format == "tflite":
        return _bytes_difference("TFLite flatbuffer", bytes(cached.model), bytes(cold.model))
    if cached.model is parent.model:  # an entry that hands its input's model on
        return None if cold.model is parent.model else (
            "the cold conversion made a new model where the entry hands its input's on")
    return _onnx_difference(cached.model, cold.model)


def _onnx_difference(cached, cold) -> str | None:
    difference = verifying.model_difference(cached, cold)
    return None if difference is None else f"its ONNX model: {difference}"


def _raised(exc: Exception, message: str, step: str) -> dict[str, str]:
    """What a kept failure holds: ``KeptFailure``'s fields."""
    return {"type": type(exc).__name__, "text": str(exc), "message": message, "step": step}


def _raise_if_kept_failure(entry: dict[str, Any]) -> None:
    raised = entry.get("raised")
    if raised is not None:
        if not all(isinstance(raised.get(k), str) for k in ("type", "text", "message")):
            raise ValueError("a kept failure without its type, text and message")
        raise KeptFailure(raised)


def _failure_difference(kept: KeptFailure, exc: Exception, raised_by: str) -> str | None:
    """How a cold failure differs from a kept one: by the exception's type and category."""
    cold = (type(exc).__name__,
            classify_exception(kept.step, f"{raised_by} {type(exc).__name__}: {exc}")[0])
    entry = (kept.type_name, classify_exception(kept.step, kept.message)[0])
    if cold == entry:
        return None
    return (f"the entry says it raised {entry[0]} ({entry[1]}), the cold one raised "
            f"{cold[0]} ({cold[1]}): {exc}")


def _rebuild(source, spec, policy, device, described):
    """Builds a cached reading's artifact: with the source's ``build(spec)`` where it has one
    (the model alone), else by reading the source again."""
    def build():
        try:
            if hasattr(source, "build"):
                artifact = source.build(spec)
            else:
                artifact = source.read(spec, policy=policy, device=device).artifact
        except Exception as exc:
            raise SourceError(f"cannot rebuild the {source.name} source of {spec.describe()} "
                              f"that a cached reading stands for: {exc}") from exc
        if artifact.format != described["format"] or \
                list(artifact.input_names) != list(described["input_names"]):
            raise SourceError(f"the rebuilt {source.name} source of {spec.describe()} is not "
                              "the one its cached reading was made from (harness bug)")
        return artifact.model
    return build


def _convert_again(converter, parent: Artifact, options, entry):
    """Converts a stage's input again, for an artifact whose entry says the stage converted
    it before; what it makes must be what the entry describes."""
    def build():
        artifact = converter.convert(materialised(parent), options)
        if artifact.format != entry["format"] or \
                list(artifact.input_names) != list(entry["input_names"]) or \
                artifact.meta != meta_from(entry["meta"]):
            raise RuntimeError(f"{converter.name} converted its input again into another "
                               "artifact than the one its cache entry describes")
        return artifact.model
    return build


def _bytes_difference(what: str, cached: bytes, cold: bytes) -> str | None:
    if cached == cold:
        return None
    first = next((i for i, (a, b) in enumerate(zip(cached, cold)) if a != b),
                 min(len(cached), len(cold)))
    return (f"its {what}: {len(cached)} bytes in the entry, {len(cold)} cold, the first "
            f"difference at byte {first}")


def _stored_fields(artifact: Artifact) -> dict[str, Any]:
    """What a stage's entry says of its stored artifact: an ONNX model's format, input names
    and metadata as they are (``artifact_fields``), a TFLite flatbuffer's metadata whatever
    its stage keeps there (the signature's names, an ``onnx2tf-tflite`` flatbuffer's layout
    permutations), as JSON that keeps tuples apart (``meta_document``)."""
    if artifact.format == "onnx":
        return artifact_fields(artifact)
    return {"format": artifact.format, "input_names": list(artifact.input_names),
            "meta": meta_document(artifact.meta), "meta_document": True}


def _artifact_bytes(artifact) -> bytes | None:
    """A stored format's bytes: an ONNX model serialised, a TFLite flatbuffer as it is; None
    for another format, a model not built yet or one too large to serialise."""
    if isinstance(artifact, LazyArtifact):
        return None
    if getattr(artifact, "format", None) == "tflite":
        model = artifact.model
        if isinstance(model, (bytes, bytearray, memoryview)) and \
                bytes(model[4:8]) == TFLITE_IDENTIFIER:
            return bytes(model)
        return None
    return _onnx_bytes(artifact)


def _onnx_bytes(artifact) -> bytes | None:
    """An ONNX artifact's serialised model, or None (another format, a model too large to
    serialise)."""
    if isinstance(artifact, LazyArtifact) or getattr(artifact, "format", None) != "onnx":
        return None
    try:
        return artifact.model.SerializeToString()
    except Exception as exc:  # noqa: BLE001 (e.g. over protobuf's 2 GB: not cached)
        warnings.warn(f"parity cache: an ONNX model could not be serialised ({exc}); not "
                      "cached", CacheWarning, stacklevel=3)
        return None


def _once(make):
    done: list[Any] = []

    def value():
        if not done:
            done.append(make())
        return done[0]
    return value
