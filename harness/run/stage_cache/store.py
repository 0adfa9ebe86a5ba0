"""The cache folder: entries by key, blobs by the SHA-256 of their bytes.

    DIR/CACHEDIR.TAG                      marks the folder as a cache (backup tools skip it)
    DIR/v1/entries/ab/abcd....json        one entry: what a key found (JSON)
    DIR/v1/blobs/12/1234....              bytes an entry names (an ONNX model, a reading's arrays)
    DIR/v1/file-hashes/5678....json       files' SHA-256 by stat, one file a package folder
                                          (harness.run.stage_cache.packages.HashMemo)

Every file is written to a temporary name beside it and renamed into place (``os.replace``),
so a reader sees a whole file or none. A blob is named by the hash of its bytes and checked
against it when read; an entry that does not parse, or names a blob that is missing or does
not match its hash, is a miss with a warning (``CacheWarning``), never a failure. A hit
touches its entry, so that ``clear --older-than`` removes what no run used lately.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_FOLDER = ".parity-cache"
LAYOUT = "v1"
# The fields of an entry that name a blob: a model's ("blob"), a run's or a reading's arrays
# ("arrays"). A clear frees a blob only where no remaining entry names it in one of these.
BLOB_FIELDS = ("blob", "arrays")
TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
       "# This folder is parity's stage cache (docs/cache.md); it is safe to delete.\n")


class CacheWarning(UserWarning):
    """A cache entry could not be read or written; the run converts instead."""


@dataclass
class Info:
    folder: Path
    entries: int
    blobs: int
    size: int  # bytes
    oldest: float | None  # mtime of the least recently used entry
    newest: float | None
    by_kind: dict[str, int]

    def lines(self) -> list[str]:
        def when(stamp):
            return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                          time.gmtime(stamp))
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.by_kind.items())) or "none"
        return [f"folder:  {self.folder}",
                f"entries: {self.entries} ({kinds})",
                f"blobs:   {self.blobs}",
                f"size:    {size_text(self.size)}",
                f"oldest:  {when(self.oldest)} (last used)",
                f"newest:  {when(self.newest)}"]


class Store:
    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.root = self.folder / LAYOUT
        self._write_warned = False
        self._tagged = False  # CACHEDIR.TAG is written, or found, once a store
        # The folders as text: a hit reads an entry or two a leg, and building their paths
        # as ``Path`` objects cost as much as reading them (a warm main job's profile).
        self._entries_dir = os.fspath(self.root / "entries")
        self._blobs_dir = os.fspath(self.root / "blobs")

    # -- reading ---------------------------------------------------------------------------
    def entry(self, key: str) -> dict[str, Any] | None:
        path = self._entry_file(key)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._damaged(Path(path), f"cannot read it: {exc}")
            return None
        try:
            entry = json.loads(data)  # UTF-8 JSON; bytes that are not are a ValueError
            if not isinstance(entry, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            self._damaged(Path(path), f"not valid JSON ({exc})")
            return None
        with contextlib.suppress(OSError):
            os.utime(path)
        return entry

    def blob(self, key: str, blob_hash: str) -> bytes | None:
        """A blob's bytes, checked against their hash; None (with a warning, the entry of
        ``key`` removed) when missing or damaged."""
        path = self._blob_file(blob_hash)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            self._damaged(self._entry_path(key),
                          f"its blob {os.path.basename(path)} cannot be read ({exc})")
            return None
        if hashlib.sha256(data).hexdigest() != blob_hash:
            self._damaged(self._entry_path(key), f"its blob {path} does not match its hash")
            Path(path).unlink(missing_ok=True)
            return None
        return data

    # -- writing ---------------------------------------------------------------------------
    def put(self, key: str, entry: dict[str, Any], blobs: list[bytes] = ()) -> bool:
        """Writes the blobs, then the entry (so that an entry never names a blob not yet
        written); False, with one warning per process, when the folder is not writable."""
        try:
            if not self._tagged:
                self._tag()
                self._tagged = True
            for data in blobs:
                name = self._blob_file(hashlib.sha256(data).hexdigest())
                if not os.path.exists(name):
                    write_atomically(name, data)
            document = {**entry, "created": time.time()}
            write_atomically(self._entry_file(key), json.dumps(document).encode())
        except OSError as exc:
            if not self._write_warned:
                self._write_warned = True
                warnings.warn(f"parity cache: cannot write to {self.folder} ({exc}); the run "
                              "goes on without storing", CacheWarning, stacklevel=3)
            return False
        return True

    def remove(self, key: str) -> None:
        with contextlib.suppress(OSError):
            self._entry_path(key).unlink(missing_ok=True)

    @property
    def file_hashes(self) -> Path:
        return self.root / "file-hashes"

    @staticmethod
    def blob_hash(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    # -- the folder ------------------------------------------------------------------------
    def info(self) -> Info:
        entries = list(self._entries())
        stamps = [stamp for _, stamp, _ in entries]
        by_kind: dict[str, int] = {}
        for path, _, _ in entries:
            kind = _kind_of(path)
            by_kind[kind] = by_kind.get(kind, 0) + 1
        blobs = list(self._blobs())
        size = sum(size for _, _, size in entries) + sum(p.stat().st_size for p in blobs)
        return Info(self.folder, len(entries), len(blobs), size,
                    min(stamps, default=None), max(stamps, default=None), by_kind)

    def clear(self, older_than_days: float | None = None) -> tuple[int, int]:
        """Removes entries not used for ``older_than_days`` (all without it), then the blobs
        no remaining entry names; returns (entries removed, bytes freed). A run writing
        meanwhile may lose a blob it just wrote: its entry is then a miss."""
        cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
        removed, freed = 0, 0
        for path, stamp, size in list(self._entries()):
            if cutoff is None or stamp < cutoff:
                path.unlink(missing_ok=True)
                removed, freed = removed + 1, freed + size
        named = set()
        for path, _, _ in self._entries():
            named.update(_blobs_named(path))
        for path in list(self._blobs()):
            if path.name not in named:
                freed += path.stat().st_size
                path.unlink(missing_ok=True)
        if cutoff is None:  # everything: the files' hashes too
            for path in list(self.file_hashes.glob("*.json")):
                path.unlink(missing_ok=True)
        killed_writers = [*self.root.glob("*/*/.*.tmp"), *self.file_hashes.glob(".*.tmp")]
        for leftover in killed_writers:
            leftover.unlink(missing_ok=True)
        return removed, freed

    def _entries(self):
        for path in sorted((self.root / "entries").glob("*/*.json")):
            try:
                stat = path.stat()
            except OSError:
                continue
            yield path, stat.st_mtime, stat.st_size

    def _blobs(self):
        return (p for p in sorted((self.root / "blobs").glob("*/*")) if not p.name.startswith("."))

    def _entry_file(self, key: str) -> str:
        return os.path.join(self._entries_dir, key[:2], f"{key}.json")

    def _blob_file(self, blob_hash: str) -> str:
        return os.path.join(self._blobs_dir, blob_hash[:2], blob_hash)

    def _entry_path(self, key: str) -> Path:
        return Path(self._entry_file(key))

    def _tag(self) -> None:
        tag = self.folder / "CACHEDIR.TAG"
        if not tag.exists():
            write_atomically(tag, TAG.encode())

    def _damaged(self, path: Path, why: str) -> None:
        warnings.warn(f"parity cache: entry {path} is damaged ({why}); it is a miss and is "
                      "converted again", CacheWarning, stacklevel=4)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def size_text(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def write_atomically(path: Path | str, data: bytes) -> None:
    """Writes ``data`` to a temporary file beside ``path`` and renames it into place, making
    the folder where it is missing (asked only then: a warm run writes thousands of entries
    into folders that exist)."""
    name = os.fspath(path)
    try:
        _replace_with(name, data)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(name), exist_ok=True)
        _replace_with(name, data)


def _replace_with(name: str, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(name),
                                         prefix=f".{os.path.basename(name)[:16]}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _kind_of(path: Path) -> str:
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("kind", "unknown"))
    except (OSError, ValueError, AttributeError):
        return "damaged"


def _blobs_named(path: Path) -> list[str]:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [value for name, value in _walk(entry)
            if name in BLOB_FIELDS and isinstance(value, str)]


def _walk(document):
    if isinstance(document, dict):
        for name, value in document.items():
            yield name, value
            yield from _walk(value)
    elif isinstance(document, list):
        for value in document:
            yield from _walk(value)
