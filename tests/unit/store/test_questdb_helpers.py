"""QuestDB adapter pieces that need no server (its integration runs in test_conformance
when CIFT_TEST_QUESTDB_URL names a server)."""

import datetime as dt

import pytest
from servers import free_port

import cift
from cift.errors import StoreError
from cift.store.questdb import _naive_utc, _sample_unit


@pytest.mark.parametrize("ns, unit", [
    (86_400 * 10**9, "1d"), (3_600 * 10**9, "1h"), (5 * 60 * 10**9, "5m"), (90 * 10**9, "90s"),
    (250 * 10**6, "250T"), (1_500, "1500n"), (7 * 10**3, "7U"),
])
def test_sample_by_units(ns, unit):
    assert _sample_unit(ns) == unit


def test_bounds_are_naive_utc_rounded_outwards():
    ns = 1_704_207_600_123_456_789  # 2024-01-02 15:00:00.123456789 UTC
    lo, hi = _naive_utc(ns, up=False), _naive_utc(ns, up=True)
    assert lo.tzinfo is None and hi.tzinfo is None
    assert lo == dt.datetime(2024, 1, 2, 15, 0, 0, 123456)
    assert hi == dt.datetime(2024, 1, 2, 15, 0, 0, 123457)
    assert _naive_utc(ns - 789, up=True) == lo  # whole microseconds stay as they are


def test_unreachable_questdb_names_host_and_port():
    port = free_port()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        cift.connect(f"questdb://admin:pw-secret@127.0.0.1:{port}/qdb")


def test_bad_prefix_is_refused():
    with pytest.raises(StoreError, match="prefix"):
        cift.connect("questdb://127.0.0.1:1/qdb?prefix=a;drop")
