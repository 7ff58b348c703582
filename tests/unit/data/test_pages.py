"""Page advice reaches the OS: the kernel's own record of the mapping (/proc/self/smaps)."""

import os

import numpy as np

from cift.data.pages import small_pages


def _vm_flags(address: int) -> list[str]:
    """The VmFlags of the mapping holding ``address``."""
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= address < hi
            elif inside and head == "VmFlags:":
                return line.split()[1:]
    raise AssertionError("no mapping holds the array")


def test_small_pages_marks_a_large_array_no_huge_pages_and_keeps_its_values():
    a = np.empty(8 << 20)  # 64 MiB: a mapping of its own
    before = _vm_flags(a.ctypes.data)
    small_pages(a)
    after = _vm_flags(a.ctypes.data)
    assert "nh" not in before
    if os.path.exists("/sys/kernel/mm/transparent_hugepage/enabled"):
        assert "nh" in after and "hg" not in after
    else:  # a kernel without huge pages refuses the advice: nothing changes
        assert after == before
    a[:] = np.arange(len(a))
    assert a[12345] == 12345.0 and a[-1] == len(a) - 1


def test_small_arrays_are_left_alone():
    a = np.zeros(1000)
    small_pages(a)
    assert "nh" not in _vm_flags(a.ctypes.data)
