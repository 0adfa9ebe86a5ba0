"""Known upstream converter bugs, recognised by pattern files.

``harness/known_issues.toml`` (the Keras paths) and ``harness/known_issues.d/*.toml`` (one
file per source or area, read in name order) list each bug with the layer kind and attribute values that
trigger it, the legs it breaks (a glob, or a list of globs), optionally the failure category and a regular
expression over the message, the upstream reference and the minimal spec that reproduces it.
A leg that fails and matches an entry is recorded as ``xfail``; a leg that matches and
passes is ``xpass``. Each entry's minimal spec is also a pinned strict-xfail test, so a fixed
bug shows up as a failure that asks for the entry to be removed.

A model case (Sequential, Functional) matches an entry when one of its layers does: a
Functional holding a Dense with activation "gelu" is recognised as tf2onnx-gelu-erfc.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.spec import LayerSpec, nested_layers

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FILE = Path(__file__).with_name("known_issues.toml")
MORE_FILES = Path(__file__).with_name("known_issues.d")


class KnownIssueFileError(ValueError):
    pass


def _with_defaults(source: str, kind: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """An ONNX node's attributes with the schema's defaults for those it leaves out (a drawn
    op writes only the attributes it drew away from their defaults), so that an entry naming
    ``mode = "nearest"`` matches a Resize that takes nearest by default."""
    if source != "onnx":
        return attrs
    from harness.sources.onnx.op import schema_defaults

    return {**schema_defaults(kind, attrs.get("opset")), **attrs}


@dataclass(frozen=True)
class KnownIssue:
    id: str
    url: str
    reason: str
    legs: str | tuple[str, ...]  # a glob, or several
    kind: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    category: str | None = None
    message: str | None = None
    minimal: LayerSpec | None = None
    # The source whose cases the entry is about ("keras", "onnx", ...): stated, or that of
    # its minimal spec; None matches a case of any source (the legs still have to match).
    source: str | None = None
    # The case's axes the bug needs: its dtype, the dimensions it declares free.
    dtype: str | None = None
    free_dims: tuple[str, ...] = ()

    @property
    def strict(self) -> bool:
        """An entry that names its trigger by kind and attributes alone says every matching
        case fails, so a matching case that passes is an xpass. One that needs a category or
        a message to recognise the failure cannot say that."""
        return bool(self.kind or self.attrs) and self.category is None and self.message is None

    def matches_layer(self, kind: str, attrs: dict[str, Any]) -> bool:
        return (self.kind is None or kind == self.kind) and all(
            attrs.get(k) == v for k, v in self.attrs.items()
        )

    def matches_case(self, spec: LayerSpec, leg: str) -> bool:
        """The leg matches the glob and the case, or any layer nested in it (a model's
        layers and nodes), has the entry's kind and attribute values."""
        return self.covers_source(spec) and self.covers_leg(leg) and self.covers_axes(spec) \
            and any(self.matches_layer(kind, _with_defaults(spec.source, kind, attrs))
                    for kind, attrs in nested_layers(spec.kind, spec.attrs))

    def covers_axes(self, spec: LayerSpec) -> bool:
        return (self.dtype is None or spec.dtype == self.dtype) and set(self.free_dims) <= set(
            spec.free_dims)

    def covers_source(self, spec: LayerSpec) -> bool:
        """The entry is about the case's source, or about the format a user's file reads to
        (a .keras file checked with ``parity check`` meets the Keras paths' bugs)."""
        if self.source is None or self.source == spec.source:
            return True
        from harness import sources

        try:
            start = getattr(sources.get(spec.source), "start", None)
        except sources.UnknownSource:
            return False
        return start is not None and start(spec) == self.source

    def covers_leg(self, leg: str) -> bool:
        globs = (self.legs,) if isinstance(self.legs, str) else self.legs
        return any(fnmatch.fnmatchcase(leg, glob) for glob in globs)

    def matches_failure(self, category: str | None, message: str) -> bool:
        if self.category is not None and category != self.category:
            return False
        return self.message is None or re.search(self.message, message or "") is not None

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "url": self.url, "reason": self.reason}


def load(path: Path | None = None) -> list[KnownIssue]:
    """The entries of ``path``; by default of every known-issue file, ids unique across
    them."""
    if path is not None:
        return _load_file(path)
    issues = [issue for file in [DEFAULT_FILE, *sorted(MORE_FILES.glob("*.toml"))]
              for issue in _load_file(file)]
    _check_unique(issues, f"{DEFAULT_FILE} and {MORE_FILES}/*.toml")
    return issues


def _check_unique(issues: list[KnownIssue], where: str) -> None:
    ids = [issue.id for issue in issues]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise KnownIssueFileError(f"{where}: duplicate ids {sorted(duplicates)}")


def _load_file(path: Path) -> list[KnownIssue]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return []
    except tomllib.TOMLDecodeError as exc:
        raise KnownIssueFileError(f"{path}: not valid TOML: {exc}") from exc
    issues = []
    for i, raw in enumerate(data.get("issue", [])):
        where = f"{path}: issue[{i}]"
        try:
            minimal = LayerSpec.from_json(raw["minimal"]) if raw.get("minimal") else None
            issues.append(
                KnownIssue(
                    id=raw["id"],
                    url=raw["url"],
                    reason=raw["reason"],
                    kind=raw.get("kind"),
                    legs=raw["legs"] if isinstance(raw["legs"], str) else tuple(raw["legs"]),
                    attrs=raw.get("attrs", {}),
                    category=raw.get("category"),
                    message=raw.get("message"),
                    minimal=minimal,
                    source=raw.get("source", minimal.source if minimal else None),
                    dtype=raw.get("dtype"),
                    free_dims=tuple(raw.get("free_dims", ())),
                )
            )
        except (KeyError, ValueError) as exc:
            raise KnownIssueFileError(f"{where} ({raw.get('id', '?')}): missing key {exc}") from None
    _check_unique(issues, str(path))
    return issues


def candidates(issues: list[KnownIssue], spec: LayerSpec, leg: str) -> list[KnownIssue]:
    """The entries that match the case on ``leg``, those that recognise the failure by its
    category or message first: in a model holding a gelu Dense, a failure whose message
    names another bug is that bug, not the attribute-only tf2onnx-gelu-erfc."""
    matching = [issue for issue in issues if issue.matches_case(spec, leg)]
    return sorted(matching, key=lambda issue: issue.strict)
