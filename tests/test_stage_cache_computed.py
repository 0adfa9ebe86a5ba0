"""A test's own computations in the stage cache (``StageCache.computed``, the
``parity_cache`` fixture): kept by everything they are computed from, read back exactly,
made again where any of it changes, never kept where making them raised, and checked
again under ``--parity-cache-verify``.

A new run is a new process; here, a new ``StageCache`` on the same folder, with the
per-process fingerprints forgotten (``fresh_process``).
"""

from __future__ import annotations

import json
import os
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from harness.run.stage_cache import keys
from harness.run.stage_cache.cache import NO_CACHE, CacheMismatch, CacheWarning, StageCache
from tests.cache_runs import fresh_process

ROOT = Path(__file__).resolve().parents[1]


class Maker:
    """A computation that counts its calls and returns what it is told to."""

    def __init__(self, **arrays):
        self.arrays = arrays
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return dict(self.arrays)


def computed(folder, make, document=None, *, verify=0.0, **options):
    fresh_process()
    cache = StageCache(folder, verify=verify)
    document = {"x": np.arange(6, dtype=np.float32)} if document is None else document
    return cache.computed("square", document, make, **options), cache


def test_a_second_run_reads_the_arrays_back_without_making_them(tmp_path):
    make = Maker(y=np.arange(6, dtype=np.float32) ** 2, n=np.array([3], dtype=np.int64))
    cold, cold_cache = computed(tmp_path, make, packages=("numpy",))
    warm, warm_cache = computed(tmp_path, make, packages=("numpy",))
    assert make.calls == 1
    assert list(warm) == ["y", "n"]
    for name in cold:
        assert warm[name].dtype == cold[name].dtype
        np.testing.assert_array_equal(warm[name], cold[name])
    assert cold_cache.computed_log == [("square", "miss")]
    assert warm_cache.computed_log == [("square", "hit")]
    entries = list((tmp_path / "v1" / "entries").glob("*/*.json"))
    assert [json.loads(p.read_text())["kind"] for p in entries] == ["computed"]


@pytest.mark.parametrize("change", ["document", "code", "package", "environment"])
def test_what_it_is_computed_from_changing_makes_it_again(tmp_path, monkeypatch, change):
    code = tmp_path / "test_module.py"
    code.write_text("X = 1\n")
    make = Maker(y=np.zeros(2))
    document = {"x": np.arange(6, dtype=np.float32), "stride": 2}
    computed(tmp_path / "cache", make, document, packages=("numpy",), code=[code])
    if change == "document":
        document = {"x": np.arange(6, dtype=np.float32) + 1, "stride": 2}
    elif change == "code":
        code.write_text("X = 2\n")
        keys.file_hash.cache_clear()
    elif change == "package":
        monkeypatch.setenv(keys.OVERRIDE_ENV, "numpy=0.0")
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", str(int(os.environ.get("OMP_NUM_THREADS",
                                                                      "1")) + 1))
    computed(tmp_path / "cache", make, document, packages=("numpy",), code=[code])
    assert make.calls == 2


def test_a_document_names_arrays_by_their_content_and_refuses_objects():
    same = keys.computed_key("a", {"x": np.ones(3)}, (), ())
    assert keys.computed_key("a", {"x": np.ones(3)}, (), ()) == same
    assert keys.computed_key("a", {"x": np.ones(3, dtype=np.float32)}, (), ()) != same
    assert keys.computed_key("a", {"x": np.ones((1, 3))}, (), ()) != same
    assert keys.computed_key("b", {"x": np.ones(3)}, (), ()) != same
    with pytest.raises(TypeError, match="object"):
        keys.computed_key("a", {"x": object()}, (), ())


def test_a_computation_that_raises_keeps_nothing(tmp_path):
    def failing():
        raise AssertionError("the archive did not load")

    with pytest.raises(AssertionError, match="did not load"):
        computed(tmp_path, failing)
    assert not list((tmp_path / "v1" / "entries").glob("*/*.json"))
    make = Maker(y=np.ones(1))
    computed(tmp_path, make)
    assert make.calls == 1


def test_values_that_are_not_plain_arrays_are_returned_and_not_kept(tmp_path):
    make = Maker(y=[1.0, 2.0])
    assert computed(tmp_path, make)[0] == {"y": [1.0, 2.0]}
    assert computed(tmp_path, make)[0] == {"y": [1.0, 2.0]}
    assert make.calls == 2


def test_a_damaged_blob_is_made_again_with_a_warning(tmp_path):
    make = Maker(y=np.arange(4.0))
    computed(tmp_path, make)
    for blob in (tmp_path / "v1" / "blobs").glob("*/*"):
        blob.write_bytes(b"not the arrays")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again, _ = computed(tmp_path, make)
    np.testing.assert_array_equal(again["y"], np.arange(4.0))
    assert make.calls == 2
    assert any(issubclass(w.category, CacheWarning) for w in caught)


def test_verify_makes_a_hit_again_and_a_difference_removes_it(tmp_path):
    computed(tmp_path, Maker(y=np.arange(3.0)))
    same = Maker(y=np.arange(3.0))
    _, cache = computed(tmp_path, same, verify=1.0)
    assert same.calls == 1 and cache.verify_log == [("square", "same")]
    drifted = Maker(y=np.arange(3.0) + 1e-7)
    with pytest.raises(CacheMismatch, match="square"):
        computed(tmp_path, drifted, verify=1.0)
    assert not list((tmp_path / "v1" / "entries").glob("*/*.json"))


def test_no_cache_makes_it_every_time():
    make = Maker(y=np.ones(2))
    NO_CACHE.computed("square", {}, make)
    NO_CACHE.computed("square", {}, make)
    assert make.calls == 2


SUITE = textwrap.dedent('''
    from pathlib import Path

    import numpy as np


    def test_square(parity_cache):
        def make():
            with open(Path(__file__).with_name("made.txt"), "a") as made:
                made.write("made\\n")
            return {"y": np.arange(4.0) ** 2}

        got = parity_cache.computed("square", {"x": np.arange(4.0)}, make,
                                    packages=("numpy",), code=[__file__])
        assert got["y"].tolist() == [0.0, 1.0, 4.0, 9.0]
''')


def test_the_fixture_gives_the_runs_cache(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest('pytest_plugins = ["harness.plugin"]\n')
    pytester.makepyfile(test_suite=SUITE)
    made = pytester.path / "made.txt"
    args = ("-p", "no:cacheprovider", "--parity-report", "none")
    for _ in range(2):
        pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)
    assert made.read_text().count("made") == 1
    pytester.runpytest_subprocess(*args, "--parity-cache", "none").assert_outcomes(passed=1)
    assert made.read_text().count("made") == 2
