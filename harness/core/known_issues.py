"""Known upstream bugs, one entry per root cause, recognised by pattern files.

``harness/known_issues.toml`` (the Keras paths) and ``harness/known_issues.d/*.toml`` (one
file per source or area, read in name order) list each bug with what it is (``nature``) and
whose it is (``party``), the layer kinds and attribute values that trigger it, the legs it
breaks (a glob, or a list of globs), optionally the failure category and a regular expression
over the message, the upstream reference and the minimal specs that reproduce it (one per op
variant, rank or source that meets it). A leg that fails and matches an entry is recorded as
``xfail``; a leg that matches and passes is ``xpass``. Each minimal spec is also a pinned
strict-xfail test (``pins``), so a fixed bug shows up as a failure that asks for the entry to
be removed; an entry without one names the test that pins it or says why nothing can.

A model case (Sequential, Functional) matches an entry when one of its layers does: a
Functional holding a Dense with activation "gelu" is recognised as tf2onnx-gelu-erfc. An
entry about how a stage that reads ONNX handles a node holds on every leg ending in that
stage, whatever the source: by its message, or by a node of its kind in the ONNX model the
stage was given (``matches_case``'s ``received``).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import importlib.metadata
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core import registry, source_registry, stages, structure
from harness.core.onnx_schema import attribute_defaults
from harness.core.spec import LayerSpec, nested_layers

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FILE = Path(__file__).parents[1] / "known_issues.toml"
MORE_FILES = Path(__file__).parents[1] / "known_issues.d"


class KnownIssueFileError(ValueError):
    pass


# source -> (kind, opset) -> the default values of the kind's attributes, for a source whose
# cases write only the attributes drawn away from their defaults (ONNX: the op's schema).
_ATTRIBUTE_DEFAULTS: dict[str, Callable[[str, Any], dict[str, Any]]] = {}


def register_attribute_defaults(source: str,
                                defaults: Callable[[str, Any], dict[str, Any]]) -> None:
    """Sets where ``source``'s kinds' attribute defaults come from; the source registers it
    when its kinds load."""
    _ATTRIBUTE_DEFAULTS[source] = defaults


def _with_defaults(source: str, kind: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """A case's attributes with its source's defaults for those it leaves out (a drawn ONNX
    op writes only the attributes it drew away from their schema's defaults), so that an
    entry naming ``mode = "nearest"`` matches a Resize that takes nearest by default."""
    if source not in _ATTRIBUTE_DEFAULTS and source_registry.is_source(source):
        registry.load(source)
    defaults = _ATTRIBUTE_DEFAULTS.get(source)
    if defaults is None:
        return attrs
    return {**defaults(kind, attrs.get("opset")), **attrs}


NATURES = {
    "wrong-output": "wrong numbers, shapes, dtypes or output count",
    "refusal": "no output: an op, attribute or opset refused, a crash, or a model the runtime "
               "refuses",
    "limitation": "a runtime without a kernel",
    "reference": "the reading parity compares with is wrong",
    "undefined": "the spec does not say",
    "framework": "a defect of the source framework itself",
}
PARTIES = ("tf2onnx", "onnx2torch", "onnx2pytorch", "onnxruntime", "onnx", "tensorflow", "keras",
           "tf_keras", "torch", "torchvision", "onnxscript", "spec", "parity", "onnxsim",
           "onnxslim", "onnxoptimizer", "litert", "onnx2tf")
# The stages that read an ONNX model: a known issue about their handling of an ONNX node
# holds whatever source the model came from (a drawn Keras layer, an ONNX op, a user's file).
ONNX_STAGES = ("onnx2torch", "onnx2pytorch", "ort-optimized", "onnxsim", "onnxslim",
               "onnxoptimizer", "onnx2tf", "onnx2tf-tflite")


@dataclass(frozen=True)
class KnownIssue:
    id: str
    url: str
    reason: str
    legs: str | tuple[str, ...]  # a glob, or several
    # A layer kind (or an ONNX op type), or several kinds that meet the same bug.
    kind: str | tuple[str, ...] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    category: str | None = None
    message: str | None = None
    # The minimal specs that reproduce it: one per op variant, rank or source that meets the
    # same bug; each runs as a pinned strict-xfail test.
    minimals: tuple[LayerSpec, ...] = ()
    # The source whose cases the entry is about ("keras", "onnx", ...): stated, or that of
    # its minimal spec; None matches a case of any source (the legs still have to match).
    source: str | None = None
    # The case's axes the bug needs: its dtype (or one of several), the dimensions it declares
    # free.
    dtype: str | tuple[str, ...] | None = None
    free_dims: tuple[str, ...] = ()
    # What it is (NATURES) and whose it is (PARTIES: where a report goes; several where each
    # of two converters carries the same bug).
    nature: str | None = None
    party: str | tuple[str, ...] | None = None
    # Further upstream reports of the same root cause (url is the main one).
    see_also: tuple[str, ...] = ()
    # An entry without a minimal spec is pinned by a named test ("tests/x.py::test_y"), or
    # says why nothing can pin it.
    pinned_by: str | None = None
    unpinned_reason: str | None = None
    # Why an entry about an ONNX stage's handling of a node holds on its own source's legs
    # only; without it, it holds on every leg where that stage converts such a node.
    source_only: str | None = None
    # A hand-written standalone reproducer, relative to harness/known_issues.d/, for a bug a
    # generated script cannot reach; ``parity issues export`` copies it as repro.py.
    script: str | None = None
    # A structural check (harness.core.structure.CHECKS) that recognises the root cause in the
    # models the leg's stage was given and wrote, whatever the failure's message says.
    structure: str | None = None
    # A structural check that must hold for the entry to claim a failure, where the leg's
    # models are at hand: two entries of one op and one message, told apart by what the model
    # holds (an input omitted or given).
    where: str | None = None

    # The devices the entry holds on ("cpu", "cuda"); None: every device. A torch kernel
    # missing on one device only, a bug that shows on one only (docs/known-issues.md).
    devices: tuple[str, ...] | None = None
    # The devices its minimal specs reproduce on, where fewer than it holds on: a bug whose
    # trigger differs by device (torch orders TopK's ties one way on the CPU, another on CUDA)
    # is recognised on each, and its pins run where they reproduce. None: wherever it holds.
    pinned_on: tuple[str, ...] | None = None

    # The versions of installed distributions the entry holds on ({distribution: specifier},
    # ``versions = { keras = ">=3.6" }``); None: every version. A bug an older release does
    # not have, or one a release fixed: outside the range the entry expects nothing.
    versions: dict[str, str] | None = None

    def holds_on(self, device: str | None) -> bool:
        """The entry holds on ``device`` (None: a device not named, as in a replay), with the
        distributions installed here."""
        return (self.devices is None or device is None or device in self.devices) \
            and self.outside_versions() is None

    def pinned_here(self, device: str | None) -> bool:
        """Its minimal specs reproduce on ``device`` (None: a device not named)."""
        return self.pinned_on is None or device is None or device in self.pinned_on

    def outside_versions(self) -> str | None:
        """Why the installed distributions are outside ``versions`` ("keras 3.5.0, not
        >=3.6"), or None where the entry holds with them."""
        return None if self.versions is None else _outside(tuple(sorted(self.versions.items())))

    @property
    def minimal(self) -> LayerSpec | None:
        """The first minimal spec (the entry's own); ``minimals`` holds them all."""
        return self.minimals[0] if self.minimals else None

    @property
    def kinds(self) -> tuple[str, ...]:
        if self.kind is None:
            return ()
        return (self.kind,) if isinstance(self.kind, str) else tuple(self.kind)

    @property
    def parties(self) -> tuple[str, ...]:
        if self.party is None:
            return ()
        return (self.party,) if isinstance(self.party, str) else tuple(self.party)

    @property
    def globs(self) -> tuple[str, ...]:
        return (self.legs,) if isinstance(self.legs, str) else tuple(self.legs)

    @property
    def strict(self) -> bool:
        """An entry that names its trigger by kind and attributes alone says every matching
        case fails, so a matching case that passes is an xpass. One that needs a category or
        a message to recognise the failure cannot say that."""
        return bool(self.kind or self.attrs) and self.category is None and self.message is None

    @property
    def onnx_stage(self) -> bool:
        """The entry is about how a stage that reads ONNX handles a node: every leg glob ends
        in such a stage (``*>onnx2torch``, ``onnx>onnx2pytorch``)."""
        return all(glob.rsplit(">", 1)[-1] in ONNX_STAGES for glob in self.globs)

    def matches_layer(self, kind: str, attrs: dict[str, Any]) -> bool:
        return (self.kind is None or kind in self.kinds) and all(
            _attr_matches(attrs.get(k), v) for k, v in self.attrs.items()
        )

    def matches_case(self, spec: LayerSpec, leg: str, received: Any = None) -> bool:
        """The leg matches the glob and the case, or any layer nested in it (a model's
        layers and nodes), has the entry's kind and attribute values.

        An entry about an ONNX stage (``onnx_stage``) holds on every leg ending in that stage,
        whatever the case's source, unless it says ``source_only``: one recognised by its
        message or category alone by those; one naming an ONNX op by a node of that op in
        ``received``, the ONNX model the stage was given."""
        if not (self._covers_stage_leg(leg) and self.covers_axes(spec)):
            return False
        if self.covers_source(spec, leg) and any(
                self.matches_layer(kind, _with_defaults(spec.source, kind, attrs))
                for kind, attrs in nested_layers(spec.kind, spec.attrs)):
            return True
        if not self.onnx_stage or self.source_only is not None:
            return False
        if not (self.kind or self.attrs):
            return True
        return self.source == "onnx" and any(
            self.matches_layer(kind, attrs) for kind, attrs in onnx_nodes(received))

    def matches_directly(self, spec: LayerSpec, leg: str) -> bool:
        """As ``matches_case``, by the case's own layers only: what a strict entry claims
        (every such case fails) holds for these; a match through another source's model does
        not make a passing leg an xpass."""
        return self.covers_source(spec) and self.covers_leg(leg) and self.covers_axes(spec) \
            and any(self.matches_layer(kind, _with_defaults(spec.source, kind, attrs))
                    for kind, attrs in nested_layers(spec.kind, spec.attrs))

    def _covers_stage_leg(self, leg: str) -> bool:
        return _covers_stage_leg(self.globs, self.onnx_stage and self.source_only is None, leg)

    def covers_axes(self, spec: LayerSpec) -> bool:
        dtypes = (self.dtype,) if isinstance(self.dtype, str) else self.dtype
        return (dtypes is None or spec.dtype in dtypes) and set(self.free_dims) <= set(
            spec.free_dims)

    def covers_source(self, spec: LayerSpec, leg: str | None = None) -> bool:
        """The entry is about the case's source, or about the format a user's file reads to
        (a .keras file checked with ``parity check`` meets the Keras paths' bugs), or about a
        format ``leg`` carries the case through (a Keras-2 file's ``tf_keras>keras3>tf2onnx``
        leg hands tf2onnx a Keras 3 model, and meets the Keras source's tf2onnx bugs)."""
        if self.source is None or self.source == spec.source:
            return True
        try:
            start = getattr(source_registry.get(spec.source), "start", None)
        except source_registry.UnknownSource:
            return False
        if start is not None and start(spec) == self.source:
            return True
        if leg is None or spec.source != "file":
            return False
        try:
            carried = {stages.get(stage).target for stage in leg.split(">")[1:-1]}
        except stages.PathError:
            return False
        return self.source in carried

    def covers_leg(self, leg: str) -> bool:
        return _covers_leg(self.globs, leg)

    def matches_failure(self, category: str | None, message: str,
                        models: tuple[Any, Any] | None = None) -> bool:
        """The failure's category and message match, or the entry's structural check holds
        on ``models`` (received, produced); never where its ``where`` check fails on them.
        Without the models (a hunt's later triage, a replay of a record), an entry that names
        no layer kind and is scoped by a check on them cannot tell its failure from another
        converter bug's by the words alone ("KeyError"), so it claims none."""
        if models is None and self.structure_scoped:
            return False
        if (self.where is not None and models is not None
                and not structure.holds(self.where, *models)):
            return False
        if (self.structure is not None and models is not None
                and structure.holds(self.structure, *models)):
            return True
        return self._matches_message(category, message)

    @property
    def structure_scoped(self) -> bool:
        """The entry is told apart by a check on the models alone: a ``where`` or ``structure``
        check, and no layer kind or attribute that the case itself would show."""
        return (self.where is not None or self.structure is not None) \
            and not (self.kind or self.attrs)

    def may_match_failure(self, category: str | None, message: str) -> bool:
        """False only where ``matches_failure`` is False whatever the models: an entry with
        no structural check that the category or message rules out. A regex is cheaper than
        matching the case, which a failing leg's judging otherwise does for every entry."""
        return self.structure is not None or self._matches_message(category, message)

    def _matches_message(self, category: str | None, message: str) -> bool:
        if self.category is not None and category != self.category:
            return False
        return self.message is None or re.search(self.message, message or "") is not None

    def to_json(self) -> dict[str, str]:
        found = {"id": self.id, "url": self.url, "reason": self.reason}
        if self.nature:
            found["nature"] = self.nature
        if self.party:
            found["party"] = ", ".join(self.parties)
        if self.devices:
            found["devices"] = ", ".join(self.devices)
        if self.versions:
            found["versions"] = ", ".join(f"{d} {s}" for d, s in sorted(self.versions.items()))
        return found


def _attr_matches(value: Any, wanted: Any) -> bool:
    """An attribute's value against an entry's: equal, or one of ``{ one_of = [...] }``
    (the values of the op variants that meet the same bug), or ``{ any_above = n }`` /
    ``{ any_below = n }``: a number, or a list with an element, above (below) n (dilations
    > 1 on any axis; an axis counted from the back, below 0)."""
    if isinstance(wanted, dict) and set(wanted) == {"one_of"}:
        return value in wanted["one_of"]
    if isinstance(wanted, dict) and set(wanted) in ({"any_above"}, {"any_below"}):
        values = value if isinstance(value, (list, tuple)) else [value]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if "any_above" in wanted:
            return any(v > wanted["any_above"] for v in numbers)
        return any(v < wanted["any_below"] for v in numbers)
    return value == wanted


class Received:
    """The artifact a stage was given, its ONNX nodes read once however many entries ask."""

    def __init__(self, artifact: Any):
        self.artifact = artifact
        self._nodes: list[tuple[str, dict[str, Any]]] | None = None

    @property
    def nodes(self) -> list[tuple[str, dict[str, Any]]]:
        if self._nodes is None:
            self._nodes = onnx_nodes(self.artifact)
        return self._nodes


def onnx_nodes(received: Any) -> list[tuple[str, dict[str, Any]]]:
    """(op type, attributes with the schema's defaults and the node's ``opset``, as a drawn
    graph's nodes hold it) of every node of an ONNX artifact, those of the graphs nested in
    its nodes (an If's branches, a Loop's body) too, which a converter converts as well;
    nothing for any other artifact."""
    if isinstance(received, Received):
        return received.nodes
    if getattr(received, "format", None) != "onnx":
        return []  # not asked for its model: a cached reading would build it
    model = getattr(received, "model", None)
    if not hasattr(model, "graph"):
        return []
    from onnx import helper

    opsets = {entry.domain or "": entry.version for entry in model.opset_import}
    found = []
    for node in (node for graph in structure.models.graphs(model.graph) for node in graph.node):
        domain = node.domain if node.domain != "ai.onnx" else ""
        attrs = {}
        for attribute in node.attribute:
            value = helper.get_attribute_value(attribute)
            if isinstance(value, bytes):
                value = value.decode(errors="replace")
            elif isinstance(value, list):
                value = [v.decode(errors="replace") if isinstance(v, bytes) else v
                         for v in value]
            attrs[attribute.name] = value
        defaults = (attribute_defaults(node.op_type, opsets.get(domain, 0), domain)
                    if domain in opsets else {})
        found.append((node.op_type, {**defaults, **attrs, "opset": opsets.get(domain),
                                     **_attributes_form(attrs, defaults)}))
    return found


def _attributes_form(written: dict[str, Any], defaults: dict[str, Any]) -> dict[str, str]:
    """The ``form_attrs`` a received node is written in, as a drawn graph's nodes name theirs
    (harness.sources.onnx.forms): ``omitted`` where it writes no attribute at its schema
    default (tf2onnx's CumSum with its ``reverse`` left out, which onnx2torch reads as 1),
    ``default`` where it writes every one that has a default, else ``written``; nothing for
    an op without defaults."""
    if not defaults:
        return {}
    if not any(name in defaults and value == defaults[name] for name, value in written.items()):
        return {"form_attrs": "omitted"}
    return {"form_attrs": "default" if set(defaults) <= set(written) else "written"}


def load(path: Path | None = None) -> list[KnownIssue]:
    """The entries of ``path``; by default of every known-issue file, ids unique across
    them."""
    if path is not None:
        return _load_file(path)
    issues = [issue for file in [DEFAULT_FILE, *sorted(MORE_FILES.glob("*.toml"))]
              for issue in _load_file(file)]
    _check_unique(issues, f"{DEFAULT_FILE} and {MORE_FILES}/*.toml")
    return issues


def identity() -> dict[str, object]:
    """What names the known-issue set a run judged by: the SHA-256 of every known-issue file
    (names and bytes, in the order ``load`` reads them) and how many entries they hold."""
    files = [DEFAULT_FILE, *sorted(MORE_FILES.glob("*.toml"))]
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(DEFAULT_FILE.parent)}\n".encode())
        digest.update(file.read_bytes())
    return {"sha256": digest.hexdigest(), "entries": len(load())}


def _check_unique(issues: list[KnownIssue], where: str) -> None:
    ids = [issue.id for issue in issues]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise KnownIssueFileError(f"{where}: duplicate ids {sorted(duplicates)}")


def _strings(raw: Any, key: str) -> tuple[str, ...]:
    values = (raw,) if isinstance(raw, str) else raw
    if not isinstance(values, (list, tuple)) or not values or not all(
            isinstance(v, str) and v for v in values):
        raise ValueError(f"{key} must be a string or a non-empty list of strings")
    return tuple(values)


def _one_of(raw: dict[str, Any], key: str, allowed) -> str:
    value = raw.get(key)
    if value is None:
        raise ValueError(f"missing key {key!r} (one of {', '.join(allowed)})")
    if value not in allowed:
        raise ValueError(f"{key} = {value!r} is not one of {', '.join(allowed)}")
    return value


def _entry(raw: dict[str, Any]) -> KnownIssue:
    for key in ("id", "url", "reason", "legs"):
        if key not in raw:
            raise ValueError(f"missing key {key!r}")
    nature = _one_of(raw, "nature", NATURES)
    party = raw.get("party")
    if isinstance(party, list):
        party = tuple(_one_of({"party": one}, "party", PARTIES) for one in party) or None
    if not isinstance(party, tuple):
        party = _one_of(raw, "party", PARTIES)
    given = raw.get("minimal")
    given = [given] if isinstance(given, dict) else (given or [])
    minimals = tuple(LayerSpec.from_json(spec) for spec in given)
    kind = raw.get("kind")
    if kind is not None and not isinstance(kind, str):
        kind = _strings(kind, "kind")
    for key in ("pinned_by", "unpinned_reason", "source_only"):
        if key in raw and not (isinstance(raw[key], str) and raw[key].strip()):
            raise ValueError(f"{key} must be a non-empty string")
    if "script" in raw and not (isinstance(raw["script"], str)
                                and (MORE_FILES / raw["script"]).is_file()):
        raise ValueError(f"script = {raw['script']!r} names no file under {MORE_FILES}")
    return KnownIssue(
        id=raw["id"],
        url=raw["url"],
        reason=raw["reason"],
        kind=kind,
        legs=raw["legs"] if isinstance(raw["legs"], str) else _strings(raw["legs"], "legs"),
        attrs=raw.get("attrs", {}),
        category=raw.get("category"),
        message=raw.get("message"),
        minimals=minimals,
        # "any": the legs alone decide (a stage's bug that any source's case meets).
        source=None if raw.get("source") == "any" else raw.get(
            "source", minimals[0].source if minimals else None),
        dtype=tuple(raw["dtype"]) if isinstance(raw.get("dtype"), list) else raw.get("dtype"),
        free_dims=tuple(raw.get("free_dims", ())),
        nature=nature,
        party=party,
        see_also=_strings(raw["see_also"], "see_also") if "see_also" in raw else (),
        pinned_by=raw.get("pinned_by"),
        unpinned_reason=raw.get("unpinned_reason"),
        source_only=raw.get("source_only"),
        script=raw.get("script"),
        structure=_structure(raw, "structure"),
        where=_structure(raw, "where"),
        devices=_devices(raw),
        pinned_on=_pinned_on(raw),
        versions=_versions(raw),
    )


DEVICES = ("cpu", "cuda")


def _devices(raw: dict[str, Any], key: str = "devices") -> tuple[str, ...] | None:
    if key not in raw:
        return None
    devices = _strings(raw[key], key)
    unknown = [d for d in devices if d not in DEVICES]
    if unknown or not devices:
        raise ValueError(f"{key} must be a non-empty list of {', '.join(DEVICES)}; got "
                         f"{raw[key]!r}")
    return devices


def _pinned_on(raw: dict[str, Any]) -> tuple[str, ...] | None:
    """The devices its pins run on: some of those it holds on."""
    pinned_on, devices = _devices(raw, "pinned_on"), _devices(raw)
    outside = [d for d in pinned_on or () if devices is not None and d not in devices]
    if outside:
        raise ValueError(f"pinned_on names {', '.join(outside)}, where the entry does not hold "
                         f"(devices = {raw['devices']!r})")
    return pinned_on


def _versions(raw: dict[str, Any]) -> dict[str, str] | None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # pytest's dependency

    if "versions" not in raw:
        return None
    versions = raw["versions"]
    if not isinstance(versions, dict) or not versions or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in versions.items()):
        raise ValueError(f"versions must be a table of distribution = \"specifier\" "
                         f"(versions = {{ keras = \">=3.6\" }}); got {versions!r}")
    for distribution, specifier in versions.items():
        try:
            SpecifierSet(specifier)
        except InvalidSpecifier:
            raise ValueError(f"versions: {distribution} = {specifier!r} is not a version "
                             f"specifier (\">=3.6\", \">=2.16,<2.19\")") from None
    return dict(versions)


@functools.cache
def _outside(versions: tuple[tuple[str, str], ...]) -> str | None:
    """The distributions installed here outside their specifiers, said in words; None when
    every installed one is inside (one not installed decides nothing) (read once a process: entries are matched on every leg)."""
    from packaging.specifiers import SpecifierSet

    found = []
    for distribution, specifier in versions:
        try:
            installed = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            # Nothing here says otherwise: a golden replay without Keras judges artifacts
            # that a Keras inside the range wrote (the floor lane replays them so).
            continue
        if not SpecifierSet(specifier).contains(installed, prereleases=True):
            found.append(f"{distribution} {installed}, not {specifier}")
    return "; ".join(found) or None


def _structure(raw: dict[str, Any], key: str) -> str | None:
    name = raw.get(key)
    if name is not None and name not in structure.CHECKS:
        raise ValueError(f"{key} = {name!r} names no check; known: "
                         f"{', '.join(structure.CHECKS)}")
    return name


# Parsed files by (path, mtime, size): every Harness loads the set, and parsing it costs
# ~0.1 s, a suite's pinned tests make a Harness each. Entries are frozen; an edited file
# (another mtime or size) is read again.
_PARSED: dict[tuple[str, int, int], tuple[KnownIssue, ...]] = {}


def _load_file(path: Path) -> list[KnownIssue]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return []
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        _PARSED[key] = tuple(_parse_file(path))
    return list(_PARSED[key])


def _parse_file(path: Path) -> list[KnownIssue]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return []
    except tomllib.TOMLDecodeError as exc:
        raise KnownIssueFileError(f"{path}: not valid TOML: {exc}") from exc
    issues = []
    for i, raw in enumerate(data.get("issue", [])):
        try:
            issues.append(_entry(raw))
        except (KeyError, ValueError, TypeError) as exc:
            detail = exc.args[0] if isinstance(exc, (ValueError, TypeError)) and exc.args \
                else f"missing key {exc}"
            raise KnownIssueFileError(
                f"{path}: issue[{i}] ({raw.get('id', '?')}): {detail}") from None
    _check_unique(issues, str(path))
    return issues


def candidates(issues: list[KnownIssue], spec: LayerSpec, leg: str,
               received: Any = None, device: str | None = None) -> list[KnownIssue]:
    """The entries that match the case on ``leg`` (``received``: the artifact the leg's stage
    was given), those that recognise the failure by its category or message first: in a
    model holding a gelu Dense, a failure whose message names another bug is that bug, not
    the attribute-only tf2onnx-gelu-erfc. Among those, an entry about another source's node,
    matched because the stage's model holds that node, comes last: a Keras case whose tf2onnx
    model is already wrong fails on the onnx2torch leg too, and that is the tf2onnx entry's
    bug, not that of an onnx2torch entry that merely finds its op (ConvTranspose, IsInf) in
    the model."""
    received = Received(received)
    matching = [issue for issue in issues
                if issue.holds_on(device) and issue.matches_case(spec, leg, received)]
    return sorted(matching, key=lambda issue: (issue.strict, _by_node_only(issue, spec, leg)))


def _by_node_only(issue: KnownIssue, spec: LayerSpec, leg: str) -> bool:
    """The entry names an ONNX node's kind or attributes and matches the case only through
    the model a stage was given, not through the case's own layers."""
    return issue.onnx_stage and bool(issue.kind or issue.attrs) \
        and not issue.matches_directly(spec, leg)


@dataclass(frozen=True)
class Pin:
    """One minimal spec of an entry, as the pinned strict-xfail tests run it."""
    issue: KnownIssue
    spec: LayerSpec
    id: str  # the test id: the entry's id, with the spec's kind where it has several


def pins(issues: list[KnownIssue] | None = None, source: str | None = None) -> list[Pin]:
    """Every minimal spec of every entry (of ``source``'s specs, where given)."""
    found = []
    for issue in load() if issues is None else issues:
        named: dict[str, int] = {}
        for spec in issue.minimals:
            if source is not None and spec.source != source:
                continue
            if len(issue.minimals) == 1:
                test_id = issue.id
            else:
                named[spec.kind] = named.get(spec.kind, 0) + 1
                test_id = f"{issue.id}-{spec.kind}" + (
                    f"-{named[spec.kind]}" if named[spec.kind] > 1 else "")
            found.append(Pin(issue, spec, test_id))
    return found


def coinciding(issues: list[KnownIssue]) -> list[tuple[str, str, str]]:
    """Pairs of entries that describe one root cause twice, with why: both pin the same
    minimal spec on a leg glob they share, or both recognise the same failure (kinds,
    attributes, category, message, and the checks on the models that tell it apart) on the
    same legs."""
    found = []
    pinned: dict[tuple[str, str], str] = {}
    for pin in pins(issues):
        for glob in pin.issue.globs:
            other = pinned.setdefault((pin.spec.case_id, glob), pin.issue.id)
            if other != pin.issue.id:
                found.append((other, pin.issue.id, f"the same minimal spec on {glob}"))
    recognised: dict[tuple, str] = {}
    for issue in issues:
        key = (tuple(sorted(issue.globs)), issue.kinds, repr(sorted(issue.attrs.items())),
               issue.category, issue.message, issue.structure, issue.where)
        other = recognised.setdefault(key, issue.id)
        if other != issue.id:
            found.append((other, issue.id, "the same failure on the same legs"))
    return found


# Every case meets every entry on every leg (about 150 entries, a few legs a case): a run asks
# the same (globs, leg) questions hundreds of thousands of times, so the answers are kept.
@functools.lru_cache(maxsize=1 << 16)
def _covers_leg(globs: tuple[str, ...], leg: str) -> bool:
    return any(fnmatch.fnmatchcase(leg, glob) for glob in globs)


@functools.lru_cache(maxsize=1 << 16)
def _covers_stage_leg(globs: tuple[str, ...], any_source: bool, leg: str) -> bool:
    """The leg matches a glob or, for an entry about an ONNX-reading stage that any source's
    leg may meet (``any_source``), ends in a stage a glob ends in."""
    if _covers_leg(globs, leg):
        return True
    if not any_source:
        return False
    stage = leg.rsplit(">", 1)[-1]
    return ">" in leg and any(glob.rsplit(">", 1)[-1] == stage for glob in globs)
