"""cift's LLVM intrinsics against plain Python."""

import numba as nb
import numpy as np

from cift.data.intrinsics import leading_zeros, load_u64, trailing_zeros


@nb.njit
def _loads(buf):
    out = np.empty(buf.shape[0] - 7, np.uint64)
    for i in range(out.shape[0]):
        out[i] = load_u64(buf, i)
    return out


@nb.njit
def _zeros(x):
    return leading_zeros(x), trailing_zeros(x)


def test_load_u64_reads_eight_bytes_at_any_offset():
    buf = np.random.default_rng(0).integers(0, 256, 40, dtype=np.uint8)
    expected = [int.from_bytes(buf[i:i + 8].tobytes(), "little") for i in range(33)]
    assert _loads(buf).tolist() == expected


def test_leading_and_trailing_zeros():
    for x in [0, 1, 2, 0x80, 1 << 63, 0x00F0_0000_0000_0100, (1 << 64) - 1]:
        lead, trail = _zeros(np.uint64(x))
        assert lead == 64 - x.bit_length()
        assert trail == (64 if x == 0 else (x & -x).bit_length() - 1)
