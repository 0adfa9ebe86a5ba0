"""A package's fingerprint: its version and the code this process imports for it.

Distribution metadata describes what pip recorded, not what Python imports: ``pip install .``
of a changed tree at the same version writes a fresh ``RECORD`` whose sizes match, and a
checkout on ``PYTHONPATH`` shadows the installed wheel entirely (DESIGN.md, "Known hazards").
So a fingerprint hashes the files under each location the package is imported from:

- the distribution's import names: ``top_level.txt``, the first components of ``RECORD``'s
  paths and the normalised distribution name (what ``packages_distributions()`` reads);
- each name's location: ``sys.modules[name]`` where it is imported, else
  ``importlib.util.find_spec(name)``, which follows ``sys.path`` (``PYTHONPATH``, ``.pth``
  files) and the meta-path finders of editable installs, without importing anything;
- the code files there (``.py``, compiled extensions), each by its SHA-256: ``RECORD``'s, for
  a file ``RECORD`` lists whose size is the recorded one and that did not change after
  ``RECORD`` was written; else its content's, hashed once per process and kept between
  processes in the cache folder (``HashMemo``), guarded by the file's size, times and inode.

A distribution that is neither installed nor importable is ``absent``.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from harness.run.stage_cache.store import write_atomically

ABSENT = "absent"
SOURCE_SUFFIXES = (".py",)
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")
# Slack for file systems that store times coarsely (FAT keeps two seconds), and for change
# times, which a copy (``cp -a``, ``shutil.copytree``) moves on file by file.
MTIME_SLACK_S = 2.0
SECOND_NS = 1_000_000_000
# A file changed this recently is hashed but its hash not kept: a second change within the
# same clock tick, at the same size, would leave its stat as it was.
RACY_S = MTIME_SLACK_S
# Top-level names in RECORDs that no package imports: bytecode caches, and folders some wheels
# ship by mistake (tf2onnx: tests, tools, examples), whose names find the project's own
# folders first.
UNIMPORTED_NAMES = frozenset({"__pycache__", "tests", "test", "testing", "examples", "example",
                              "docs", "doc", "tools", "scripts", "benchmarks", "benchmark"})
METADATA_SUFFIXES = (".dist-info", ".egg-info", ".data")
CHUNK = 1 << 20


@functools.cache
def installed_fingerprint(name: str) -> str:
    """``name``'s fingerprint in this process (a distribution name, normalised)."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    rows = [] if dist is None else record_rows(dist)
    roots = import_roots(dist, name, rows)
    if dist is None:
        return ABSENT if not roots else f"unversioned+code:{code_hash(roots, {})}"
    if not roots:
        return dist.version
    label = "tree" if editable_tree(dist) is not None else "code"
    return f"{dist.version}+{label}:{code_hash(roots, recorded_hashes(dist, rows))}"


# -- where the code is ---------------------------------------------------------------------
def import_roots(dist, name: str, rows: list[list[str]]) -> dict[str, list[str]]:
    """{import name: the folders or files this process imports it from}, and each folder of
    compiled libraries the wheel ships beside its packages (``numpy.libs``)."""
    roots = {}
    for module in import_names(dist, name, rows):
        found = module_locations(module)
        if found:
            roots[module] = found
    if dist is not None:
        for folder in library_folders(dist, rows):
            roots.setdefault(folder.name, [str(folder)])
    return roots


def import_names(dist, name: str, rows: list[list[str]]) -> list[str]:
    names = {name.replace("-", "_")}
    if dist is not None:
        names.update((dist.read_text("top_level.txt") or "").split())
        names.update(_module_name(first) for first in record_firsts(rows))
    own = name.replace("-", "_")
    return sorted(n for n in names
                  if n and n.isidentifier() and (n == own or n not in UNIMPORTED_NAMES))


def record_firsts(rows: list[list[str]]) -> set[str]:
    return {row[0].split("/", 1)[0] for row in rows if row and row[0]}


def library_folders(dist, rows: list[list[str]]) -> list[Path]:
    base = Path(dist.locate_file(""))
    return sorted(base / first for first in record_firsts(rows)
                  if first.endswith(".libs") and (base / first).is_dir())


def module_locations(module: str) -> list[str]:
    """Where ``module`` (a top-level name) is imported from: a package's folder (that of its
    ``__init__``, whatever folders its ``__path__`` gains on import: tensorflow's gains
    keras'), a namespace package's folders, or a module's file; [] where it is not found."""
    imported = sys.modules.get(module)
    if imported is not None:
        folders = getattr(imported, "__path__", None)
        origin = getattr(imported, "__file__", None)
    else:
        spec = _find_spec(module)
        if spec is None:
            return []
        folders = spec.submodule_search_locations
        origin = spec.origin if spec.has_location else None
    if origin and os.path.isfile(origin):
        origin = os.path.realpath(origin)
        return [origin] if folders is None else [os.path.dirname(origin)]
    if folders is not None:  # a namespace package
        return _outermost([str(f) for f in list(folders) if os.path.isdir(f)])
    return []


def _find_spec(module: str):
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None


def _outermost(folders: list[str]) -> list[str]:
    real = sorted({os.path.realpath(f) for f in folders})
    return [f for f in real if not any(f.startswith(other + os.sep) for other in real)]


def _module_name(first: str) -> str:
    """``pkg`` for ``pkg``, ``six.py``, ``_ext.cpython-311-x86_64-linux-gnu.so``."""
    return first.split(".", 1)[0] if is_code(first) else first


def is_code(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(SOURCE_SUFFIXES + COMPILED_SUFFIXES) or ".so." in name


# -- what the code is ----------------------------------------------------------------------
def code_hash(roots: dict[str, list[str]], recorded: dict[str, str]) -> str:
    """A hash of every code file under ``roots``, by its path under its root and its SHA-256
    (``recorded``'s where it holds the file, else its content's)."""
    hasher = hashlib.sha256()
    for module, locations in sorted(roots.items()):
        for location in locations:
            for relative, path in code_files(location):
                file_hash = recorded.get(path) or MEMO.content_hash(path, location)
                hasher.update(f"{module}/{relative}\0{file_hash}\n".encode())
    MEMO.save()
    return hasher.hexdigest()[:16]


def code_files(location: str):
    """(path under the location, real path) of every code file in a folder, in a fixed
    order, or the file itself; caches, hidden folders and metadata left out, symbolic links
    to folders not followed."""
    location = os.path.realpath(location)
    if os.path.isfile(location):
        yield os.path.basename(location), location
        return
    stack = [("", location)]
    while stack:
        prefix, folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if not _skipped(entry.name):
                    stack.append((f"{prefix}{entry.name}/", entry.path))
            elif is_code(entry.name):
                yield prefix + entry.name, entry.path


def _skipped(name: str) -> bool:
    """Folders that hold no code a package imports: caches, hidden folders, metadata."""
    return name == "__pycache__" or name.startswith(".") or name.endswith(METADATA_SUFFIXES)


def recorded_hashes(dist, rows: list[list[str]]) -> dict[str, str]:
    """{real path: SHA-256 as ``RECORD`` writes it} of each code file ``RECORD`` lists whose
    stat agrees with it: the recorded size, and not changed after ``RECORD`` was written."""
    record = _record_path(dist, rows)
    if record is None:
        return {}
    written = os.stat(record)
    base = os.path.realpath(dist.locate_file(""))
    trusted = {}
    for row in rows:
        if len(row) < 3 or not row[1].startswith("sha256=") or not row[2].isdigit():
            continue
        if row[0].startswith("..") or not is_code(row[0]):
            continue
        path = os.path.join(base, row[0])
        with contextlib.suppress(OSError):
            if _agrees(os.stat(path), int(row[2]), written):
                trusted[path] = row[1]
    return trusted


def _agrees(stat: os.stat_result, size: int, record: os.stat_result) -> bool:
    """The recorded size, and modified no later than ``RECORD``, which installers write last
    and copies keep the time of. Where both times are whole seconds, the file system may keep
    no finer, so they get the slack; else an edit a moment after installing would pass."""
    slack_ns = round(MTIME_SLACK_S * SECOND_NS)
    coarse = stat.st_mtime_ns % SECOND_NS == 0 and record.st_mtime_ns % SECOND_NS == 0
    return (stat.st_size == size
            and stat.st_mtime_ns <= record.st_mtime_ns + (slack_ns if coarse else 0)
            and stat.st_ctime_ns <= record.st_ctime_ns + slack_ns)


def modified_files_hash(dist) -> str | None:
    """None when every code file ``RECORD`` lists has its recorded size and did not change
    after ``RECORD`` was written; else a hash of those files' sizes and times."""
    rows = record_rows(dist)
    record = _record_path(dist, rows)
    if record is None:
        return None
    written = os.stat(record)
    listed, modified = [], False
    for row in rows:
        if len(row) < 3 or not row[2].isdigit() or not is_code(row[0]):
            continue
        try:
            stat = os.stat(dist.locate_file(row[0]))
        except OSError:
            modified = True
            listed.append(f"{row[0]}\0missing")
            continue
        modified = modified or not _agrees(stat, int(row[2]), written)
        listed.append(f"{row[0]}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}")
    return hashlib.sha256("\n".join(listed).encode()).hexdigest()[:16] if modified else None


def record_rows(dist) -> list[list[str]]:
    return list(csv.reader((dist.read_text("RECORD") or "").splitlines()))


def _record_path(dist, rows: list[list[str]]) -> str | None:
    """The ``RECORD`` file itself (which lists itself), where it is one."""
    listed = next((row[0] for row in rows if row and row[0].endswith(".dist-info/RECORD")),
                  None)
    record = None if listed is None else str(dist.locate_file(listed))
    return record if record is not None and os.path.isfile(record) else None


def editable_tree(dist) -> Path | None:
    """The working tree an editable install points at (``direct_url.json``), or None."""
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        return None
    if not isinstance(direct, dict) or not (direct.get("dir_info") or {}).get("editable"):
        return None
    url = urlparse(direct.get("url", ""))
    return Path(unquote(url.path)) if url.scheme == "file" else None


# -- hashing files once --------------------------------------------------------------------
class HashMemo:
    """Files' SHA-256 (as ``RECORD`` writes it) by path, size, times and inode: in this
    process, and where a cache folder is given (``persist_in``), in one JSON file per
    location there, so that a new process does not hash a large tree again. A file changed
    in the last ``RACY_S`` seconds is hashed but not remembered."""

    def __init__(self):
        self.hashes: dict[tuple, str] = {}
        self.folder: Path | None = None
        self._loaded: set[str] = set()
        self._unsaved: dict[str, dict[str, list]] = {}
        self.hashed = 0  # files whose content this process read (for the measurements)

    def persist_in(self, folder: Path | None) -> None:
        self.folder = folder
        self._loaded.clear()

    def content_hash(self, path: str, location: str) -> str:
        stat = os.stat(path)
        key = _stat_key(path, stat)
        self._load(location)
        known = self.hashes.get(key)
        if known is not None:
            return known
        value = file_hash(path)
        self.hashed += 1
        if time.time() - max(stat.st_mtime, stat.st_ctime) > RACY_S:
            self.hashes[key] = value
            self._unsaved.setdefault(location, {})[path] = [*key[1:], value]
        return value

    def save(self) -> None:
        """Writes what this process hashed into the cache folder; a folder that cannot be
        written keeps nothing (the next process hashes again)."""
        unsaved, self._unsaved = self._unsaved, {}
        if self.folder is None:
            return
        for location, files in unsaved.items():
            path = self._file(location)
            with contextlib.suppress(OSError, ValueError):
                kept = _read_memo(path)
                kept.update(files)
                write_atomically(path, json.dumps({"location": location,
                                                   "files": kept}).encode())

    def _load(self, location: str) -> None:
        if self.folder is None or location in self._loaded:
            return
        self._loaded.add(location)
        for path, row in _read_memo(self._file(location)).items():
            with contextlib.suppress(TypeError, ValueError):
                size, mtime_ns, ctime_ns, inode, value = row
                self.hashes[(path, int(size), int(mtime_ns), int(ctime_ns), int(inode))] = \
                    str(value)

    def _file(self, location: str) -> Path:
        return self.folder / f"{hashlib.sha256(location.encode()).hexdigest()[:32]}.json"


def _read_memo(path: Path) -> dict[str, list]:
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return files if isinstance(files, dict) else {}


def _stat_key(path: str, stat: os.stat_result) -> tuple:
    return (path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def file_hash(path: str) -> str:
    """``sha256=`` and the URL-safe base64 of the digest, unpadded: ``RECORD``'s form."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
    return "sha256=" + base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()


MEMO = HashMemo()
