"""The stage cache's blob of named arrays: every plain dtype and shape reads back as itself,
writable; a blob that is damaged or lies about its arrays is a ValueError, never objects."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harness.run.stage_cache.arrays import MAGIC, pack, unpack
from harness.run.stage_cache.readings import Uncacheable, arrays_from, output_arrays

PLAIN_DTYPES = st.one_of(hnp.boolean_dtypes(), hnp.integer_dtypes(endianness="="),
                         hnp.unsigned_integer_dtypes(endianness="="),
                         hnp.floating_dtypes(endianness="="),
                         hnp.complex_number_dtypes(endianness="="),
                         hnp.unicode_string_dtypes(max_len=4), hnp.byte_string_dtypes(max_len=4))


@settings(max_examples=60, deadline=None)
@given(st.lists(hnp.arrays(PLAIN_DTYPES, hnp.array_shapes(min_dims=0, min_side=0, max_side=3)),
                max_size=4))
def test_arrays_read_back_as_themselves_and_writable(values):
    named = {f"out.{i}": value for i, value in enumerate(values)}
    back = unpack(pack(named))
    assert list(back) == list(named)
    for name, value in named.items():
        assert back[name].dtype == value.dtype and back[name].shape == value.shape
        assert back[name].tobytes() == value.tobytes()  # NaN and -0.0 bit for bit
        assert back[name].flags.writeable


def test_a_non_contiguous_array_is_written_in_its_logical_order():
    value = np.arange(12, dtype=np.float32).reshape(3, 4).T
    back = unpack(pack({"t": value}))["t"]
    np.testing.assert_array_equal(back, value)


def test_a_runs_outputs_round_trip_and_bfloat16_is_refused():
    outputs = [np.float32(1.5) * np.ones((2, 3), np.float32), np.array(7, np.int64)]
    back = arrays_from(output_arrays(outputs), 2)
    assert [b.tobytes() for b in back] == [o.tobytes() for o in outputs]
    with pytest.raises(ValueError, match="2 arrays where the entry names 3"):
        arrays_from(output_arrays(outputs), 3)
    ml_dtypes = pytest.importorskip("ml_dtypes")
    with pytest.raises(Uncacheable, match="bfloat16"):
        output_arrays([np.ones(2, dtype=ml_dtypes.bfloat16)])


def _blob(index: list, body: bytes = b"") -> bytes:
    header = json.dumps(index).encode()
    return MAGIC + len(header).to_bytes(8, "little") + header + body


@pytest.mark.parametrize("blob, message", [
    (b"PK\x03\x04 an npz", "not a parity array blob"),
    (MAGIC + (10**6).to_bytes(8, "little") + b"[]", "index runs past the end"),
    (_blob({"a": 1}), "index is not a list"),
    (_blob([["a", "<f4", [2]]]), "not \\[name, dtype, shape, offset, length\\]"),
    (_blob([["a", "|O", [1], 0, 8]], b"\0" * 8), "holds objects"),
    (_blob([["a", "<f4", [3], 0, 8]], b"\0" * 8), "8 bytes do not hold shape \\(3,\\)"),
    (_blob([["a", "<f4", [-1], 0, -4]]), "do not hold shape"),
    (_blob([["a", "<f4", [2], 4, 8]], b"\0" * 8), "runs past the end of the blob"),
    (_blob([["a", "float32", [2], 0, 8]], b"\0" * 8), "does not read back as itself"),
])
def test_a_damaged_or_lying_blob_is_a_value_error(blob, message):
    with pytest.raises(ValueError, match=message):
        unpack(blob)
