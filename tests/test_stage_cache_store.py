"""The stage cache's folder as ``Store`` writes it: every file renamed into place whole, the
folders made where they are missing (also when removed while a run writes), no temporary file
left behind, CACHEDIR.TAG written once a store."""

from __future__ import annotations

import json
import os
import shutil

from harness.run.stage_cache.store import Store, write_atomically


def files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_put_makes_its_folders_and_leaves_no_temporary_file(tmp_path):
    store = Store(tmp_path / "cache")
    assert store.put("ab" * 32, {"kind": "run"}, [b"outputs"])
    assert store.entry("ab" * 32)["kind"] == "run"
    written = files(tmp_path / "cache")
    assert "CACHEDIR.TAG" in written
    assert [f for f in written if f.endswith(".json")] == [f"v1/entries/ab/{'ab' * 32}.json"]
    assert not [f for f in written if f.endswith(".tmp")]
    blob = Store.blob_hash(b"outputs")
    assert store.blob("ab" * 32, blob) == b"outputs"


def test_a_folder_removed_while_a_store_writes_is_made_again(tmp_path):
    store = Store(tmp_path / "cache")
    assert store.put("cd" * 32, {"kind": "stage"}, [b"model"])
    shutil.rmtree(tmp_path / "cache" / "v1")
    assert store.put("cd" * 32, {"kind": "stage", "again": True}, [b"model"])
    assert store.entry("cd" * 32)["again"] is True
    assert store.blob("cd" * 32, Store.blob_hash(b"model")) == b"model"


def test_write_atomically_replaces_a_file_whole(tmp_path):
    target = tmp_path / "deep" / "er" / "file.json"
    write_atomically(target, json.dumps({"n": 1}).encode())
    write_atomically(str(target), json.dumps({"n": 2}).encode())
    assert json.loads(target.read_text()) == {"n": 2}
    assert files(tmp_path) == ["deep/er/file.json"]


def test_clearing_old_entries_keeps_every_blob_a_remaining_entry_names(tmp_path):
    """A run's outputs and a reading's arrays are named ``arrays``, a model ``blob``: a clear
    of old entries frees neither while an entry that names it stays."""
    store = Store(tmp_path / "cache")
    store.put("aa" * 32, {"kind": "run", "arrays": Store.blob_hash(b"outputs")}, [b"outputs"])
    store.put("bb" * 32, {"kind": "stage", "blob": Store.blob_hash(b"model")}, [b"model"])
    store.put("cc" * 32, {"kind": "reading", "arrays": Store.blob_hash(b"reading"),
                          "artifact": {"blob": Store.blob_hash(b"onnx")}}, [b"reading", b"onnx"])
    store.put("dd" * 32, {"kind": "run", "arrays": Store.blob_hash(b"old")}, [b"old"])
    entry = tmp_path / "cache" / "v1" / "entries" / "dd" / f"{'dd' * 32}.json"
    os.utime(entry, (0, 0))  # last used in 1970
    assert store.clear(older_than_days=1)[0] == 1
    for key, data in (("aa", b"outputs"), ("bb", b"model"), ("cc", b"reading"), ("cc", b"onnx")):
        assert store.blob(key * 32, Store.blob_hash(data)) == data, data
    assert not (tmp_path / "cache" / "v1" / "blobs" / Store.blob_hash(b"old")[:2]
                / Store.blob_hash(b"old")).exists()
