"""The conversion paths that gate one converter: every source's default path through it, or,
where no default path goes through it (a plugin's converter), each default path cut where its
artifact is what the converter takes, with the converter appended."""

from __future__ import annotations

from harness.core import source_registry, stages
from harness.core.stages import ConversionPath, PathError

ONLY_READS_FILES = "file"  # parity check's source: it has no drawn cases to gate with


def paths_through(name: str) -> list[str]:
    """The paths ``--converter NAME`` runs; raises PathError naming what is wrong."""
    converter = stages.get(name)  # PathError: "no converter 'x'; registered: ..."
    found: list[str] = []
    for source_name in source_registry.available():
        if source_name == ONLY_READS_FILES:
            continue
        source = source_registry.get(source_name)
        defaults = [ConversionPath.parse(text) for text in source.default_paths]
        through = [p.name for p in defaults if name in p.stages]
        if not through:
            starts = [source_name] if source.format == converter.source else []
            for path in defaults:
                fmt = source.format
                for number, stage in enumerate(path.stages):
                    fmt = stages.get(stage).target
                    if fmt == converter.source:
                        starts.append(">".join((source_name, *path.stages[:number + 1])))
            through = [f"{start}>{name}" for start in starts]
        found.extend(p for p in through if p not in found)
    if not found:
        raise PathError(f"--converter {name}: no source's paths reach a {converter.source!r} "
                        f"artifact for it; name paths with --paths")
    return found
