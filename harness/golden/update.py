"""Regenerating the golden store from the source frameworks (Keras cases need TensorFlow).

``update`` draws the corpus (a fixed, derandomised sample of every registered kind of the
chosen sources plus the minimal spec of every known issue), reads each case's source (its
expected outputs; for Keras also its ONNX artifact from tf2onnx) and writes a complete new
store next to the old one. A case
whose expected outputs moved beyond the tolerance policy is a *change*: it is listed with its
metrics and the update stops, old store intact, unless changes are accepted. Cases that did
not move keep their old files, so a pull request shows only what really changed.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import golden, sources
from harness.converters import ConvertOptions
from harness.core import axes, known_issues, registry
from harness.core import suites as installed_suites
from harness.core.compare import compare
from harness.core.frameworks import versions
from harness.core.spec import LayerSpec
from harness.core.strategies import sample
from harness.core.tolerance import TolerancePolicy
from harness.golden import side
from harness.run import side_paths as side_path_sets
from harness.run.pipeline import Harness, SourceError, sizes_of
from harness.runtimes.keras_custom import register_custom_objects
from harness.sources.keras import save_keras_model


@dataclass
class UpdateSummary:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)  # unchanged, now with model.keras
    sided: list[str] = field(default_factory=list)  # unchanged, now with (more) side paths
    untouched: list[str] = field(default_factory=list)  # kinds the update was not asked about
    changed: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (case id, why)
    written: bool = False

    def lines(self) -> list[str]:
        out = [f"added {len(self.added)}, unchanged {len(self.unchanged)}, "
               f"changed {len(self.changed)}, removed {len(self.removed)}, "
               f"skipped {len(self.skipped)}"]
        if self.completed:
            out[0] += f" ({len(self.completed)} unchanged gained model.keras)"
        if self.sided:
            out[0] += f" ({len(self.sided)} unchanged gained side paths)"
        if self.untouched:
            out[0] += f"; {len(self.untouched)} cases of other kinds kept as they were"
        for case_id, kind, metrics in self.changed:
            if "note" in metrics:
                out.append(f"  changed {case_id} {kind}: {metrics['note']}")
                continue
            out.append(f"  changed {case_id} {kind}: max_abs {metrics.get('max_abs', 0):.3g} "
                       f"at {metrics.get('max_abs_index')}, max_rel {metrics.get('max_rel', 0):.3g}, "
                       f"mismatch {metrics.get('mismatch_fraction', 0):.1%}")
        for case_id in self.removed:
            out.append(f"  removed {case_id} (no longer drawn)")
        for case_id, why in self.skipped:
            out.append(f"  skipped {case_id}: {why}")
        return out


# (cases per kind, cases more along each axis a kind admits): the store's corpus of each
# source, as `parity golden update` draws it by default.
CORPUS = {registry.KERAS: (8, 1), "onnx": (3, 1), "mat": (2, 0)}

# Where each suite's cover.json is (harness.tools.draw_cover): its ``golden_branch_cases``
# reach the draw-code branches the drawn corpus misses.
SUITES = installed_suites.folder()


def corpus(per_kind: int, kinds: list[str] | None = None,
           source: str = registry.KERAS, per_axis: int = 0,
           suites: Path | None = SUITES) -> list[LayerSpec]:
    """``per_kind`` derandomised specs of each of ``kinds`` (every kind of ``source`` that is
    not a whole model, by default), ``per_axis`` more along each axis a kind admits (its other
    dtypes, its free dimensions: ``harness.core.axes``), the minimal specs of the known issues
    among them and the covering cases that hold a draw-code branch the rest does not
    (``branch_cases``; none with ``suites=None``)."""
    chosen = kinds or registry.names(without=registry.WHOLE_MODELS, source=source)
    specs = [spec for kind in chosen for spec in sample(kind, per_kind, source=source)]
    if per_axis > 0:
        specs += [spec for kind in chosen
                  for axis in axes.admitted(registry.get(kind, source)).names
                  for spec in sample(kind, per_axis, source=source, axis=axis)]
    specs += [pin.spec for pin in known_issues.pins(source=source) if pin.spec.kind in chosen]
    if suites is not None:
        specs += [spec for spec in branch_cases(source, suites) if spec.kind in chosen]
    return list({spec.case_id: spec for spec in specs}.values())


def branch_cases(source: str, suites: Path = SUITES) -> list[LayerSpec]:
    """The covering cases ``python -m harness.tools.draw_cover`` chose for the store: each
    reaches a branch of the source's draw code that the drawn corpus does not. None where
    no suite was measured; a damaged cover file holds
    none (the tool writes it anew)."""
    found: list[LayerSpec] = []
    for path in sorted(suites.glob("*/cover.json")) if suites.is_dir() else ():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("source") == source:
                found += [LayerSpec.from_json(case["spec"])
                          for case in data.get("golden_branch_cases", ())]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def _provenance(spec: LayerSpec, options: ConvertOptions) -> dict:
    installed = versions()
    packages = (*getattr(sources.get(spec.source), "packages", ()), "numpy")
    return {
        "source": spec.source,
        "versions": {p: installed[p] for p in packages if p in installed},
        "opset": options.opset,
        "device": "cpu",
        "seed": spec.seed,
        "created": golden.now(),
    }


def _difference(spec: LayerSpec, new, old, policy: TolerancePolicy) -> dict[str, Any] | None:
    """None when ``new`` matches ``old`` under the policy; else the metrics of the first output
    that moved."""
    if len(new) != len(old):
        return {"outputs": len(new), "previous_outputs": len(old)}
    tolerance = policy.for_spec(spec, spec.source, "cpu")
    for after, before in zip(new, old):
        result = compare(after, before, tolerance)
        if not result.passed:
            return result.metrics
    return None


def pinned_side_paths(spec: LayerSpec) -> list[str]:
    """The side paths (harness.run.side_paths.ALL) of the known issues whose minimal spec this
    is, each on the legs its entry names, as suites/side_paths pins them: the replay pins
    them too."""
    found: list[str] = []
    for pin in known_issues.pins(source=spec.source):
        if pin.spec.case_id == spec.case_id:
            found += [path for path in side.paths_of(spec.source, side_path_sets.ALL)
                      if pin.issue.covers_leg(path) and path not in found]
    return found


def _side_paths_for(spec: LayerSpec, chosen, old) -> list[str]:
    """The side paths a case is recorded with: those chosen for the update, those of the known
    issues it is the minimal spec of, and those it held before."""
    paths = [*side.paths_of(spec.source, chosen), *pinned_side_paths(spec),
             *(old.side_paths if old is not None else ())]
    return list(dict.fromkeys(paths))


def _record_side_paths(folder: Path, reading, paths: list[str], harness) -> None:
    """Records the case's side paths afresh (its previous side files removed first)."""
    (folder / side.FILE).unlink(missing_ok=True)
    shutil.rmtree(folder / side.FOLDER, ignore_errors=True)
    options = harness.options_for(sizes_of(reading.inputs, reading.reference,
                                           more=reading.more))
    side.record(folder, reading.artifact, paths, options)


def _source_and_kind(store: golden.Store, case_id: str) -> tuple[str, str] | None:
    """The case's source and kind from its spec.json; None when that cannot be read, so that
    a restricted update keeps the case rather than deleting what it cannot identify."""
    try:
        data = json.loads((store.root / golden.CASES / case_id / "spec.json").read_text())
        return str(data.get("source", registry.KERAS)), data["kind"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def update(root: Path, specs: list[LayerSpec], *, accept_changes: bool = False,
           policy: TolerancePolicy | None = None, progress=None,
           kinds: list[str] | None = None,
           scope: set[str] | None = None, side_paths=(),
           keep_others: bool = False) -> UpdateSummary:
    """Regenerates ``specs`` into a new store and swaps it in. The update is about the
    sources in ``scope`` (by default those of ``specs``) and, with ``kinds``, about those
    kinds only: the store's other cases are carried over untouched rather than removed as
    no longer drawn; with ``keep_others``, every case not in ``specs`` is.

    ``side_paths`` (paths of harness.run.side_paths.ALL) are recorded with each case of their
    source (harness.golden.side), as are the side paths of the known issues a case is the
    minimal spec of, and those a case held before. An unchanged case keeps its files; it is
    recorded down its side paths again only where it gains one."""
    scope = {spec.source for spec in specs} if scope is None else set(scope)
    if registry.KERAS in scope:
        register_custom_objects()
    policy = policy or TolerancePolicy()
    golden.recover(root)
    previous = golden.read_manifest(root) if (root / golden.MANIFEST).is_file() else None
    new_root = root.with_name(root.name + ".new")
    if new_root.exists():
        shutil.rmtree(new_root)
    (new_root / golden.CASES).mkdir(parents=True)
    harness = Harness(policy=policy, known_issues=[])
    options = harness.options
    summary = UpdateSummary()
    manifest: dict[str, dict[str, str]] = {}
    for number, spec in enumerate(specs, 1):
        if progress:
            progress(number, len(specs), spec)
        try:
            reading = harness.read_source(spec)
        except SourceError as exc:
            summary.skipped.append((spec.case_id, f"the source fails: {str(exc).splitlines()[0]}"))
            continue
        expected, native = reading.reference, reading.native
        if native is not None and _difference(spec, native, expected, policy) is None:
            native = None  # the source agreed with its second reading: nothing to keep
            reading = reading._replace(native=None)
        old = None
        if previous is not None and spec.case_id in previous.cases:
            try:
                old = golden.load_case(previous, spec.case_id)
            except golden.GoldenError:
                old = None  # corrupt before the update: regenerate it
        paths = _side_paths_for(spec, side_paths, old)
        if old is not None:
            metrics = _difference(spec, expected, old.expected, policy)
            same = metrics is None
            if same and (old.native is None) != (native is None):
                metrics = {"note": "the source's own outputs " + (
                    "now differ from the reference (native.npz added)" if native is not None
                    else "agree with the reference again (native.npz dropped)")}
            elif same:
                folder = new_root / golden.CASES / spec.case_id
                shutil.copytree(old.folder, folder)
                manifest[spec.case_id] = dict(previous.cases[spec.case_id])
                summary.unchanged.append(spec.case_id)
                # A case written while Keras could not save its layer gains model.keras
                # once the layer saves, without rewriting anything else.
                if (spec.source == registry.KERAS
                        and golden.KERAS_MODEL not in manifest[spec.case_id]
                        and save_keras_model(reading.artifact.model, folder) is None):
                    manifest[spec.case_id][golden.KERAS_MODEL] = golden.sha256(
                        folder / golden.KERAS_MODEL)
                    summary.completed.append(spec.case_id)
                if set(paths) - set(old.side_paths):
                    _record_side_paths(folder, reading, paths, harness)
                    manifest[spec.case_id] = _listed(folder)
                    summary.sided.append(spec.case_id)
                continue
            summary.changed.append((spec.case_id, spec.kind, metrics))
        else:
            summary.added.append(spec.case_id)
        manifest[spec.case_id] = golden.write_case(
            new_root, reading, spec, _provenance(spec, options), options)
        if paths:
            folder = new_root / golden.CASES / spec.case_id
            _record_side_paths(folder, reading, paths, harness)
            manifest[spec.case_id] = _listed(folder)
    if previous is not None:
        for case_id in sorted(set(previous.cases) - set(manifest)):
            identity = _source_and_kind(previous, case_id)
            in_scope = not keep_others and identity is not None and identity[0] in scope and (
                kinds is None or identity[1] in kinds)
            if not in_scope:
                shutil.copytree(previous.root / golden.CASES / case_id,
                                new_root / golden.CASES / case_id)
                manifest[case_id] = dict(previous.cases[case_id])
                summary.untouched.append(case_id)
            else:
                summary.removed.append(case_id)
    if summary.changed and not accept_changes:
        shutil.rmtree(new_root, ignore_errors=True)
        return summary
    golden.write_manifest(new_root, manifest)
    golden.swap_in(root, new_root)
    summary.written = True
    return summary



def _listed(folder: Path) -> dict[str, str]:
    """A case folder's manifest entry: every file's SHA-256."""
    return {name: golden.sha256(folder / name) for name in golden.case_files(folder)}
