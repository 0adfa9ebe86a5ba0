"""The golden store as an artifact a gate is handed: packed into one ``.tar.gz`` with its
SHA-256 beside it, unpacked only after that checksum and every file's manifest checksum
agree, and named by its identity (the manifest's hash and its case count).

The store is too big for the wheel (docs/gate.md), so a converter team fetches it the way it
fetches any artifact and hands it to ``parity gate --golden``; nothing here reaches the network.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from harness.core.errors import GoldenError
from harness.core.files import sha256
from harness.golden import MANIFEST, read_manifest, verify

CHECKSUM_SUFFIX = ".sha256"
TOP = "golden"  # the folder the archive holds: unpacked, <into>/<hash>/golden is the store


def identity(root: Path) -> dict[str, object]:
    """What names a store: its manifest's SHA-256 (the manifest lists every file's) and how
    many cases it holds."""
    store = read_manifest(root)
    return {"manifest_sha256": sha256(root / MANIFEST), "cases": len(store.cases)}


def checksum_file(archive: Path) -> Path:
    return archive.with_name(archive.name + CHECKSUM_SUFFIX)


def pack(root: Path, archive: Path) -> str:
    """Writes the store at ``root`` to ``archive`` (gzip'd tar, the same bytes for the same
    store: sorted, no dates or owners) and its SHA-256 to ``archive.sha256``; returns it.
    Refuses a store whose files do not match its manifest."""
    store, problems = verify(root, deep=False)
    if problems:
        raise GoldenError(f"{root}: {len(problems)} problem(s), the first: {problems[0]}; "
                          f"`parity golden verify --root {root}` lists them")
    files = [MANIFEST] + [f"cases/{case_id}/{name}" for case_id in sorted(store.cases)
                          for name in sorted(store.cases[case_id])]
    partial = archive.with_name(archive.name + ".partial")
    with open(partial, "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as zipped, \
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in files:
            info = tar.gettarinfo(root / name, arcname=f"{TOP}/{name}")
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o644
            with open(root / name, "rb") as handle:
                tar.addfile(info, handle)
    os.replace(partial, archive)
    digest = sha256(archive)
    checksum_file(archive).write_text(f"{digest}  {archive.name}\n", encoding="utf-8")
    return digest


def expected_checksum(archive: Path, given: str | None) -> str:
    """The SHA-256 the archive must have: the one given, else the one in ``archive.sha256``."""
    if given:
        return given.strip().lower()
    beside = checksum_file(archive)
    if not beside.is_file():
        raise GoldenError(f"{archive}: no checksum to verify it against: {beside} is missing "
                          f"(give one with --golden-sha256)")
    words = beside.read_text(encoding="utf-8").split()
    if not words:
        raise GoldenError(f"{beside}: empty; expected '<sha256>  {archive.name}'")
    return words[0].lower()


def unpack(archive: Path, into: Path, checksum: str | None = None) -> Path:
    """The store in ``archive``, unpacked under ``into/<hash>/`` once its SHA-256 is the one
    expected and every file its manifest lists is intact; returns the store's folder. An
    archive unpacked before is verified again and used as it is."""
    if not archive.is_file():
        raise GoldenError(f"{archive}: no such file")
    expected = expected_checksum(archive, checksum)
    actual = sha256(archive)
    if actual != expected:
        raise GoldenError(f"{archive}: SHA-256 {actual[:16]}… is not the expected "
                          f"{expected[:16]}…: the file is damaged or not the store you named")
    target = into / actual[:16]
    if not (target / TOP / MANIFEST).is_file():
        into.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=into))
        try:
            _extract(archive, scratch)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    root = target / TOP
    _, problems = verify(root, deep=False)
    if problems:
        raise GoldenError(f"{archive}: {len(problems)} problem(s) after unpacking, the first: "
                          f"{problems[0]}")
    return root


def _extract(archive: Path, into: Path) -> None:
    """The archive's store files into ``into``; anything else in it (a link, a path out of
    ``golden/``) refuses the whole archive."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if not (member.isfile() or member.isdir()) or member.name.startswith("/") \
                        or ".." in parts or not parts or parts[0] != TOP:
                    raise GoldenError(f"{archive}: {member.name!r} is not a store file")
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(into, **safe)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise GoldenError(f"{archive}: not a store archive ({exc})") from None
