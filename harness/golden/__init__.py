"""The golden store: stored cases that converter changes are gated against.

Layout (``golden/``)::

    MANIFEST.json                 {"schema": "parity.golden/1", "cases": {id: {file: sha256}}}
    cases/<case id>/spec.json     the spec (parity.spec/1; its "source" names the source)
    cases/<case id>/provenance.json   versions, opset, device, seed, date, known issues
    cases/<case id>/inputs.npz    input_0, input_1, ...
    cases/<case id>/expected.npz  output_0, ... the reference outputs (see docs/sources-keras.md, "The reference")
    cases/<case id>/native.npz    the source's own outputs, only where they differ from the
                                  reference (a channels_first convolution TensorFlow gets wrong)
    cases/<case id>/yardstick.npz the reference recomputed in float64, where the source has one
    cases/<case id>/size_<j>/inputs.npz, expected.npz (and yardstick.npz, native.npz)
                                  for a case with free dimensions: the inputs and reference at
                                  its j-th further size (spec.more_shapes[j - 1]); docs/free-dims.md
                                  (an ONNX case also writes them as test_data_set_<j>/)
    cases/<case id>/...           what the case's source stores for a replay (its ``store``
                                  and ``stored``): for Keras ``model.keras`` (loaded with
                                  safe_mode) and ``model.onnx``, tf2onnx's artifact (absent if
                                  it failed); for ONNX the model in the backend-test layout
    cases/<case id>/side_paths.json, side/<leg>.tflite
                                  only in a case recorded with side paths (the ONNX
                                  rewriters, Keras → TFLite): the paths the replay takes and
                                  the TFLite flatbuffers it runs (harness.golden.side)

Manifest entries name files relative to the case folder, sub-folders with ``/``.

Tensors in ``.npz`` (``allow_pickle=False`` on load), metadata in JSON a reviewer can diff.
An update builds a complete new store in ``golden.new/`` (manifest written last), then swaps
directories; ``recover`` finishes or rolls back a swap that was interrupted, so a store that
an update was killed in the middle of is always either the old or the new one, whole.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# GoldenError and load_onnx live lower (so that sources need not import this store);
# their users import them from here too.
from harness import sources
from harness.core.errors import GoldenError
from harness.core.files import sha256  # noqa: F401  (golden.sha256 for its users)
from harness.core.spec import LayerSpec, SpecError
from harness.golden import side
from harness.run import side_paths
from harness.runtimes.onnx import load_onnx

SCHEMA = "parity.golden/1"
MANIFEST = "MANIFEST.json"
CASES = "cases"
SOURCE_LEG = "keras>tf2onnx"  # the leg whose artifact a Keras case stores as model.onnx
KERAS_MODEL = "model.keras"
REQUIRED_FILES = ("spec.json", "provenance.json", "inputs.npz", "expected.npz")


@dataclass
class Problem:
    case_id: str | None
    file: str
    message: str

    def __str__(self) -> str:
        where = f"case {self.case_id}: " if self.case_id else ""
        return f"{where}{self.file}: {self.message}"


@dataclass
class GoldenCase:
    root: Path
    case_id: str
    spec: LayerSpec
    provenance: dict[str, Any]
    inputs: list[np.ndarray]
    expected: list[np.ndarray]
    has_onnx: bool
    native: list[np.ndarray] | None = None
    # At each further size of a case with free dimensions: (shapes, inputs, expected[,
    # yardstick]), as SourceReading.more; and the float64 reference at the first size.
    more: tuple = ()
    yardstick: list[np.ndarray] | None = None
    # The side paths the case was recorded with, and their stored artifacts by leg
    # (harness.golden.side); none in a case recorded without them.
    side_paths: list[str] = field(default_factory=list)
    side_artifacts: dict[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()  # what the manifest lists in the case's folder

    @property
    def folder(self) -> Path:
        return self.root / CASES / self.case_id

    def replay(self, harness):
        """``harness.replay`` of this case: its downstream legs at every stored size,
        against the stored expected outputs (and yardstick, where stored), and the side
        paths it was recorded with beside the harness' own."""
        # A path whose stage or stored artifact's runner is not installed here is left out
        # (the run names it once); the rest replay.
        harness = side.with_paths(harness, side_paths.runnable(self.side_paths,
                                                               stored=self.side_artifacts))
        return harness.replay(self.spec, self.inputs, self.expected, self.stored_artifacts(),
                              self.native, more=self.more, yardstick=self.yardstick)

    def worker_replay(self) -> tuple[str, dict[str, str]]:
        """How an isolated worker replays this case (harness.run.isolation): the function
        it calls with its harness, and that function's JSON arguments."""
        return "harness.golden:replay_stored", {"root": str(Path(self.root).resolve()),
                                                "case_id": self.case_id,
                                                "files": list(self.files)}

    def onnx_model(self):
        return load_onnx(self.folder / "model.onnx")

    def stored_artifacts(self) -> dict[str, Any]:
        """The artifacts a replay starts from, keyed by the leg (or source) that made them;
        the case's source reads what it stored."""
        try:
            stored = sources.get(self.spec.source).stored(self.folder)
        except sources.UnknownSource as exc:
            raise GoldenError(f"{self.folder / 'spec.json'}: {exc}") from None
        return {**stored, **self.side_artifacts}

    def drift(self, installed: dict[str, str]) -> dict[str, list[str]]:
        """Packages whose installed version differs from the one that made the expected
        outputs: {package: [golden version, installed version]}."""
        made_with = self.provenance.get("versions", {})
        return {p: [v, installed[p]] for p, v in sorted(made_with.items())
                if p in installed and installed[p] != v}


@dataclass
class Store:
    root: Path
    cases: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> {file: sha256}

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST


# -- paths and recovery --------------------------------------------------------------------

def default_root() -> Path:
    return Path(os.environ.get("PARITY_GOLDEN", "golden"))


def _sibling(root: Path, suffix: str) -> Path:
    return root.with_name(root.name + suffix)


def recover(root: Path) -> str | None:
    """Completes or undoes an update that was interrupted; returns what it did, if anything.

    An update swaps ``golden`` → ``golden.old`` and ``golden.new`` → ``golden``. Killed between
    the renames, ``golden`` is missing: the new store goes in if its manifest was written (it
    is written last), else the old one comes back. Leftovers of a finished swap are removed.
    """
    new, old = _sibling(root, ".new"), _sibling(root, ".old")
    action = None
    if not root.exists():
        if (new / MANIFEST).is_file() and _manifest_readable(new):
            os.replace(new, root)
            action = f"completed an interrupted update from {new}"
        elif old.exists():
            os.replace(old, root)
            action = f"rolled back an interrupted update from {old}"
    for leftover in (new, old):
        if leftover.exists():
            shutil.rmtree(leftover, ignore_errors=True)
            action = action or f"removed the leftover {leftover}"
    return action


def _manifest_readable(root: Path) -> bool:
    try:
        read_manifest(root)
    except GoldenError:
        return False
    return True


# -- reading -------------------------------------------------------------------------------

def read_manifest(root: Path) -> Store:
    path = root / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GoldenError(f"{path}: no manifest; is {root} a golden store? "
                          f"('parity golden update' creates one)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GoldenError(f"{path}: the manifest is not valid JSON ({exc}); it is truncated or "
                          f"corrupt; restore it from version control") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise GoldenError(f"{path}: not a {SCHEMA} manifest")
    cases = data.get("cases")
    if not isinstance(cases, dict) or not all(isinstance(v, dict) for v in cases.values()):
        raise GoldenError(f"{path}: 'cases' must map case ids to {{file: sha256}}")
    return Store(root, cases)


def _load_npz(path: Path, prefix: str) -> list[np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            names = sorted((n for n in data.files if n.startswith(prefix)),
                           key=lambda n: int(n[len(prefix):]))
            return [data[n] for n in names]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise GoldenError(f"{path}: cannot read the arrays: {exc}") from None


def _load_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GoldenError(f"{path}: cannot read the JSON: {exc}") from None


def load_case(store: Store, case_id: str, verify: bool = True) -> GoldenCase:
    folder = store.root / CASES / case_id
    if verify:
        problems = verify_case(store, case_id)
        if problems:
            raise GoldenError("; ".join(str(p) for p in problems))
    spec = load_spec(store, case_id)
    side_paths, side_artifacts = side.load(folder, store.cases.get(case_id, {}))
    return GoldenCase(
        root=store.root,
        case_id=case_id,
        spec=spec,
        provenance=_load_json(folder / "provenance.json"),
        inputs=_load_npz(folder / "inputs.npz", "input_"),
        expected=_load_npz(folder / "expected.npz", "output_"),
        has_onnx=(folder / "model.onnx").is_file(),
        native=(_load_npz(folder / "native.npz", "output_")
                if (folder / "native.npz").is_file() else None),
        more=_load_sizes(folder, spec),
        yardstick=(_load_npz(folder / YARDSTICK, "output_")
                   if (folder / YARDSTICK).is_file() else None),
        side_paths=side_paths,
        side_artifacts=side_artifacts,
        files=tuple(sorted(store.cases.get(case_id, {}))),
    )


def load_spec(store: Store, case_id: str) -> LayerSpec:
    """The stored case's spec alone (its checksums not verified): what asks only which kind a
    case is reads one small file, not the case's arrays and models."""
    path = store.root / CASES / case_id / "spec.json"
    try:
        spec = LayerSpec.from_json(_load_json(path))
    except SpecError as exc:
        raise GoldenError(f"{path}: {exc}") from None
    if spec.case_id != case_id:
        raise GoldenError(f"{path}: the spec hashes to {spec.case_id}, "
                          f"not to its folder's id {case_id}")
    return spec


def replay_stored(harness, root: str, case_id: str, files: list[str] | None = None):
    """The case ``case_id`` of the store at ``root`` replayed by ``harness``, the manifest
    not checked again (what an isolated worker runs: ``GoldenCase.worker_replay``): ``files``
    are the names the manifest lists in its folder (read from the manifest without them)."""
    store = (read_manifest(Path(root)) if files is None
             else Store(Path(root), {case_id: dict.fromkeys(files, "")}))
    return load_case(store, case_id, verify=False).replay(harness)


YARDSTICK = "yardstick.npz"


def size_folder(j: int) -> str:
    """The sub-folder of a case's j-th further size (1-based: spec.more_shapes[j - 1])."""
    return f"size_{j}"


def _load_sizes(folder: Path, spec: LayerSpec) -> tuple:
    """(shapes, inputs, expected[, yardstick]) at each of the spec's further sizes; a missing
    or truncated file, or arrays of other shapes than the spec's, name the case and file."""
    sizes = []
    for j, shapes in enumerate(spec.more_shapes, 1):
        sub = folder / size_folder(j)
        for name in ("inputs.npz", "expected.npz"):
            if not (sub / name).is_file():
                raise GoldenError(f"{sub / name}: missing; case {folder.name} declares "
                                  f"{len(spec.more_shapes)} further size(s) "
                                  f"(more_shapes), each stored in {size_folder(j)}/")
        inputs = _load_npz(sub / "inputs.npz", "input_")
        expected = _load_npz(sub / "expected.npz", "output_")
        # Operands that the spec's written form feeds at run time (an ONNX case's
        # form_operands "fed") follow the data the spec's shapes describe.
        found = tuple(tuple(x.shape) for x in inputs)[: len(shapes)]
        if found != tuple(tuple(s) for s in shapes):
            raise GoldenError(f"{sub / 'inputs.npz'}: inputs of shapes {found}; case "
                              f"{folder.name}'s spec says {tuple(tuple(s) for s in shapes)}")
        entry = (tuple(tuple(s) for s in shapes), inputs, expected)
        yardstick = (_load_npz(sub / YARDSTICK, "output_") if (sub / YARDSTICK).is_file()
                     else None)
        if (sub / "native.npz").is_file():  # (shapes, inputs, expected, yardstick, native)
            entry = (*entry, yardstick, _load_npz(sub / "native.npz", "output_"))
        elif yardstick is not None:
            entry = (*entry, yardstick)
        sizes.append(entry)
    return tuple(sizes)


def verify_case(store: Store, case_id: str) -> list[Problem]:
    problems = []
    folder = store.root / CASES / case_id
    files = store.cases[case_id]
    for required in REQUIRED_FILES:
        if required not in files:
            problems.append(Problem(case_id, f"{CASES}/{case_id}/{required}",
                                    "required file not in the manifest"))
    for name, digest in sorted(files.items()):
        path = folder / name
        rel = f"{CASES}/{case_id}/{name}"
        if not path.is_file():
            problems.append(Problem(case_id, rel, "missing"))
            continue
        actual = sha256(path)
        if actual != digest:
            problems.append(Problem(
                case_id, rel, f"checksum mismatch (manifest {digest[:12]}…, file {actual[:12]}…): "
                              f"the file was changed, truncated or corrupted"))
    return problems


def verify(root: Path, *, deep: bool = True) -> tuple[Store | None, list[Problem]]:
    """Checks the manifest and every file; ``deep`` also reads every tensor and model."""
    try:
        store = read_manifest(root)
    except GoldenError as exc:
        reason = str(exc).removeprefix(f"{root / MANIFEST}: ")
        return None, [Problem(None, MANIFEST, reason)]
    problems: list[Problem] = []
    for case_id in sorted(store.cases):
        case_problems = verify_case(store, case_id)
        problems.extend(case_problems)
        if deep and not case_problems:
            try:
                case = load_case(store, case_id, verify=False)
                case.stored_artifacts()  # reads every stored model as its source would
            except ImportError:
                pass  # the reader of this source's artifacts is not installed here
            except GoldenError as exc:
                problems.append(Problem(case_id, f"{CASES}/{case_id}", str(exc)))
    return store, problems + unlisted(store)


def unlisted(store: Store) -> list[Problem]:
    """The folders and files under the store's cases that its manifest does not list (no
    checksum read: what a replay verifies case by case, this need not)."""
    problems = []
    cases_dir = store.root / CASES
    if cases_dir.is_dir():
        for folder in sorted(cases_dir.iterdir()):
            if folder.name not in store.cases:
                problems.append(Problem(folder.name, f"{CASES}/{folder.name}",
                                        "unused: not in the manifest"))
            else:
                for name in case_files(folder):
                    if name not in store.cases[folder.name]:
                        problems.append(Problem(folder.name, f"{CASES}/{folder.name}/{name}",
                                                "unused: not in the manifest"))
    return problems


# -- writing -------------------------------------------------------------------------------

def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n",
                    encoding="utf-8")


def case_files(folder: Path) -> list[str]:
    """Every file under a case folder, as manifest names (relative, ``/``-separated)."""
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")
                  if path.is_file())


def write_case(store_root: Path, reading, spec: LayerSpec, provenance: dict[str, Any],
               options=None) -> dict[str, str]:
    """Writes one case from its source reading: spec, provenance, inputs, expected and
    native outputs, then what the case's source stores for a replay. Returns the case's
    manifest entry ({file: sha256})."""
    folder = store_root / CASES / spec.case_id
    folder.mkdir(parents=True, exist_ok=True)
    notes = sources.get(spec.source).store(reading, folder, options)
    _write_json(folder / "spec.json", spec.to_json())
    _write_json(folder / "provenance.json", {**provenance, **notes})
    np.savez(folder / "inputs.npz", **{f"input_{i}": x for i, x in enumerate(reading.inputs)})
    np.savez(folder / "expected.npz",
             **{f"output_{i}": y for i, y in enumerate(reading.reference)})
    if reading.native is not None:
        np.savez(folder / "native.npz",
                 **{f"output_{i}": y for i, y in enumerate(reading.native)})
    yardstick = getattr(reading, "yardstick", None)
    if yardstick is not None:
        np.savez(folder / YARDSTICK, **{f"output_{i}": y for i, y in enumerate(yardstick)})
    for j, size in enumerate(getattr(reading, "more", ()), 1):
        sub = folder / size_folder(j)
        sub.mkdir(exist_ok=True)
        np.savez(sub / "inputs.npz", **{f"input_{i}": x for i, x in enumerate(size[1])})
        np.savez(sub / "expected.npz", **{f"output_{i}": y for i, y in enumerate(size[2])})
        if len(size) > 3 and size[3] is not None:
            np.savez(sub / YARDSTICK, **{f"output_{i}": y for i, y in enumerate(size[3])})
        if len(size) > 4 and size[4] is not None:  # the source's own reading there
            np.savez(sub / "native.npz", **{f"output_{i}": y for i, y in enumerate(size[4])})
    return {name: sha256(folder / name) for name in case_files(folder)}


def write_manifest(root: Path, cases: dict[str, dict[str, str]]) -> None:
    tmp = root / (MANIFEST + ".tmp")
    _write_json(tmp, {"schema": SCHEMA, "cases": dict(sorted(cases.items()))})
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, root / MANIFEST)


def swap_in(root: Path, new: Path) -> None:
    """Replaces ``root`` by the complete store at ``new`` (see ``recover``)."""
    old = _sibling(root, ".old")
    if old.exists():
        shutil.rmtree(old)
    if root.exists():
        os.replace(root, old)
    os.replace(new, root)
    shutil.rmtree(old, ignore_errors=True)


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
