"""Microstructure features against straightforward NumPy/pandas references and small cases
computed by hand."""

import numpy as np
import pandas as pd
import polars as pl
import pytest

from cift import features as ft
from cift.features import stream
from cift.data.synthetic import synthetic_market
from cift.errors import ParameterError

SECOND = 1_000_000_000


@pytest.fixture(scope="module")
def book():
    """One symbol's quotes and trades from the synthetic market (tick grid, ties, gaps)."""
    market = synthetic_market(2, 2, ticks_per_session=3000, seed=3)
    symbol = market.ticks["symbol"][0]
    quotes = market.quotes.filter(pl.col("symbol") == symbol)
    ticks = market.ticks.filter(pl.col("symbol") == symbol)
    q = {c: quotes[c].to_numpy() for c in ("bid_px", "bid_sz", "ask_px", "ask_sz")}
    q["ts"] = quotes["ts"].dt.epoch("ns").to_numpy()
    t = {c: ticks[c].to_numpy().astype(float) for c in ("price", "size", "side")}
    t["ts"] = ticks["ts"].dt.epoch("ns").to_numpy()
    return q, t


def close(got, want, rtol=1e-9):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    scale = np.nanmax(np.abs(want), initial=0.0)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


def ofi_events(q):
    bid, bsz, ask, asz = q["bid_px"], q["bid_sz"], q["ask_px"], q["ask_sz"]
    e = np.full(len(bid), np.nan)
    pb, pbs, pa, pas = bid[:-1], bsz[:-1], ask[:-1], asz[:-1]
    b, bs, a, as_ = bid[1:], bsz[1:], ask[1:], asz[1:]
    e[1:] = (np.where(b >= pb, bs, 0) - np.where(b <= pb, pbs, 0)
             - np.where(a <= pa, as_, 0) + np.where(a >= pa, pas, 0))
    return e


def test_quote_level_features(book):
    q, _ = book
    bid, bsz, ask, asz = q["bid_px"], q["bid_sz"], q["ask_px"], q["ask_sz"]
    mid = (bid + ask) / 2
    close(ft.spread(bid, ask), ask - bid)
    close(ft.spread_bps(bid, ask), (ask - bid) / mid * 1e4)
    close(ft.quote_imbalance(bsz, asz), (bsz - asz) / (bsz + asz))
    share = bsz / (bsz + asz)
    close(ft.microprice(bid, bsz, ask, asz), share * ask + (1 - share) * bid)
    close(ft.weighted_mid(bid, bsz, ask, asz), (bid * bsz + ask * asz) / (bsz + asz))


def test_quote_features_by_hand():
    assert ft.microprice([99.0], [300.0], [101.0], [100.0])[0] == 100.5  # leans to the thin ask
    assert ft.weighted_mid([99.0], [300.0], [101.0], [100.0])[0] == 99.5
    assert ft.quote_imbalance([0.0], [0.0])[0] == 0.0
    assert ft.spread_bps([99.0], [101.0])[0] == 200.0


def test_ofi_over_events_by_hand():
    # bid up with 5 -> +5; ask down with 2 (ask queue 7 before) -> -2; bid same, size 4->1 -> -3
    bid, bsz = [10.0, 10.1, 10.1, 10.1], [7.0, 5.0, 5.0, 2.0]
    ask, asz = [10.3, 10.3, 10.2, 10.2], [7.0, 7.0, 2.0, 2.0]
    # flows: +5 (bid up), -2 (ask down), -3 (bid queue 5 -> 2)
    np.testing.assert_array_equal(ft.ofi(bid, bsz, ask, asz, 1), [np.nan, 5.0, -2.0, -3.0])
    np.testing.assert_array_equal(ft.ofi(bid, bsz, ask, asz, 2), [np.nan, np.nan, 3.0, -5.0])


@pytest.mark.parametrize("n", [1, 10, 100])
def test_ofi_over_events_matches_pandas(book, n):
    q, _ = book
    want = pd.Series(ofi_events(q)).rolling(n).sum().to_numpy()
    close(ft.ofi(q["bid_px"], q["bid_sz"], q["ask_px"], q["ask_sz"], n), want)


def brute_window_sum(ts, values, window):
    return np.array([values[(ts > ts[i] - window) & (np.arange(len(ts)) <= i)].sum()
                     for i in range(len(ts))])


@pytest.mark.parametrize("window", ["1ms", "1s", "30s"])
def test_ofi_over_time_matches_brute_force(book, window):
    q, _ = book
    ts = q["ts"][:4000]
    sub = {k: v[:4000] for k, v in q.items()}
    e = ofi_events(sub)
    e[0] = 0.0
    ns = {"1ms": 1_000_000, "1s": SECOND, "30s": 30 * SECOND}[window]
    got = ft.ofi_time(ts, sub["bid_px"], sub["bid_sz"], sub["ask_px"], sub["ask_sz"], window)
    close(got, brute_window_sum(ts, e, ns))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 500])
def test_time_windows_through_bursts_and_gaps(n):
    """Updates sharing a timestamp, gaps that empty the window, and bursts that drop many
    at once: the time-window kernels against brute force, down to empty and tiny inputs."""
    rng = np.random.default_rng(n)
    steps = rng.choice([0, 0, 1, 5, 40, 3_000], n)  # ms
    ts = 1_700_000_000 * SECOND + np.cumsum(steps) * 1_000_000
    price, size = 100 + rng.normal(0, 1, n), rng.integers(1, 9, n) * 100.0
    bid, ask = np.round(price, 2), np.round(price, 2) + 0.01
    bid_sz, ask_sz = rng.integers(1, 9, n) * 100.0, rng.integers(1, 9, n) * 100.0
    e = ofi_events({"bid_px": bid, "bid_sz": bid_sz, "ask_px": ask, "ask_sz": ask_sz})
    if n:
        e[0] = 0.0
    window = 50 * 1_000_000
    close(ft.ofi_time(ts, bid, bid_sz, ask, ask_sz, "50ms"), brute_window_sum(ts, e, window))
    close(ft.vwap_time(ts, price, size, "50ms"),
          brute_window_sum(ts, price * size, window) / brute_window_sum(ts, size, window))


@pytest.mark.parametrize("name, which, row", [
    (n, i, row) for n, s in sorted(ft.REGISTRY.items()) if s.group == "microstructure"
    for i in range(len(s.inputs)) if s.inputs[i] != "ts" for row in (0, 300)])
def test_nan_policy_holds_for_a_nan_in_any_one_input(book, name, which, row):
    """From the first NaN in any input on, every output is NaN, and none before it (the
    time-window and trade kernels check their inputs in their own pass); a NaN in the first
    row is a leading one: the series starts after it."""
    q, t = book
    spec = ft.REGISTRY[name]
    data = {**t, **q}
    data["volume"] = t["size"]
    arrays = [data[i][:3000].copy() for i in spec.inputs]
    arrays[which][row] = np.nan
    clean = getattr(ft, name)(*[data[i][:3000] for i in spec.inputs])
    out = getattr(ft, name)(*arrays)
    if row == 0:
        later = getattr(ft, name)(*[a[1:] for a in arrays])
        assert np.isnan(out[0])
        np.testing.assert_array_equal(out[1:], later)
        return
    assert np.isnan(out[row:]).all(), (name, spec.inputs[which])
    np.testing.assert_array_equal(out[:row], clean[:row])


def test_trade_imbalances_match_pandas(book):
    _, t = book
    side, size = t["side"], t["size"]
    close(ft.trade_imbalance(side, 50), pd.Series(side).rolling(50).mean().to_numpy())
    want = (pd.Series(side * size).rolling(50).sum() / pd.Series(size).rolling(50).sum())
    close(ft.volume_imbalance(size, side, 50), want.to_numpy())


def test_kyle_lambda_matches_pandas_regression(book):
    _, t = book
    q = pd.Series(t["side"] * t["size"])
    dp = pd.Series(t["price"]).diff()
    q[0] = np.nan  # the first trade has no price change
    want = (dp.rolling(100).cov(q) / q.rolling(100).var()).to_numpy()
    close(ft.kyle_lambda(t["price"], t["size"], t["side"], 100), want, rtol=1e-7)


def test_kyle_lambda_by_hand():
    # price moves 2 per unit of signed volume exactly: slope 2; constant q: NaN
    q = np.array([0.0, 1.0, -2.0, 3.0, 1.0])
    price = 100 + np.cumsum(2 * q)
    got = ft.kyle_lambda(price, np.abs(q), np.sign(q), 3)
    np.testing.assert_allclose(got[3:], [2.0, 2.0])
    assert np.isnan(ft.kyle_lambda([1.0, 2.0, 3.0, 4.0], [1.0] * 4, [1.0] * 4, 3)[3])


def vpin_reference(size, side, bucket, window):
    """Unit-volume expansion: every unit of volume carries its trade's sign."""
    units = np.repeat(np.sign(side), size.astype(int))
    full = len(units) // bucket
    imbalance = np.abs(units[: full * bucket].reshape(full, bucket).sum(axis=1))
    done = np.cumsum(size).astype(int) // bucket
    out = np.full(len(size), np.nan)
    for i, d in enumerate(done):
        if d >= window:
            out[i] = imbalance[d - window:d].sum() / (window * bucket)
    return out


@pytest.mark.parametrize("bucket, window", [(500, 5), (2000, 10), (137, 1)])
def test_vpin_matches_unit_volume_expansion(book, bucket, window):
    _, t = book
    close(ft.vpin(t["size"], t["side"], bucket, window),
          vpin_reference(t["size"], t["side"], bucket, window))


def test_vpin_by_hand():
    # buckets of 10: [buy 10] -> 10, [buy 5, sell 5] -> 0; a trade of 15 spans two buckets
    got = ft.vpin([10.0, 5.0, 5.0, 15.0], [1.0, 1.0, -1.0, -1.0], 10.0, 2)
    np.testing.assert_array_equal(got, [np.nan, np.nan, 0.5, 0.5 * (0 + 10) / 10])


def test_realized_vol_matches_pandas(book):
    _, t = book
    frame = pd.DataFrame({"ts": t["ts"], "price": t["price"]})
    frame["bucket"] = frame["ts"] // (60 * SECOND)
    r = np.log(frame["price"]).groupby(frame["bucket"]).diff().fillna(0.0)
    want = np.sqrt((r * r).groupby(frame["bucket"]).cumsum()).to_numpy()
    close(ft.realized_vol(t["ts"], t["price"], "1m"), want)


def test_realized_vol_through_large_and_tiny_moves():
    """Moves from one unit in the last place to 30% (the small ones by a series, the large by
    log itself), across interval edges, against NumPy's log of the price ratios."""
    rng = np.random.default_rng(5)
    n = 2_000
    moves = rng.choice([0.0, 1e-15, 1e-6, 1e-3, 2.0 ** -7, 0.01, 0.3], n) * rng.choice([-1, 1], n)
    price = 50.0 * np.cumprod(1.0 + moves)
    ts = np.cumsum(rng.integers(0, 3 * SECOND, n))
    bucket = ts // (60 * SECOND)
    r = np.zeros(n)
    r[1:] = np.where(bucket[1:] == bucket[:-1], np.log(price[1:] / price[:-1]), 0.0)
    want = np.sqrt([np.sum(r[(bucket == bucket[i]) & (np.arange(n) <= i)] ** 2)
                    for i in range(n)])
    close(ft.realized_vol(ts, price, "1m"), want)
    s = stream.realized_vol("1m")
    one_by_one = [s.update(t, p) for t, p in zip(ts, price, strict=True)]
    np.testing.assert_array_equal(one_by_one, ft.realized_vol(ts, price, "1m"))


def test_vwap_over_time_matches_brute_force(book):
    _, t = book
    ts, price, size = t["ts"][:3000], t["price"][:3000], t["size"][:3000]
    want = brute_window_sum(ts, price * size, 5 * SECOND) / brute_window_sum(ts, size, 5 * SECOND)
    close(ft.vwap_time(ts, price, size, "5s"), want)


def test_time_features_take_datetimes_and_reject_unsorted(book):
    _, t = book
    ts = t["ts"][:100]
    as_datetimes = ts.astype("datetime64[ns]")
    np.testing.assert_array_equal(ft.vwap_time(as_datetimes, t["price"][:100], t["size"][:100]),
                                  ft.vwap_time(ts, t["price"][:100], t["size"][:100]))
    # pandas times on a zone (NumPy makes Timestamp objects of them: they were refused)
    pd = pytest.importorskip("pandas")
    zoned = pd.Series(pd.to_datetime(ts, utc=True)).dt.tz_convert("Asia/Tokyo")
    np.testing.assert_array_equal(ft.vwap_time(zoned, t["price"][:100], t["size"][:100]),
                                  ft.vwap_time(ts, t["price"][:100], t["size"][:100]))
    shuffled = ts.copy()
    shuffled[[10, 11]] = shuffled[[11, 10]] + np.array([0, 1])
    with pytest.raises(ParameterError, match="ts: timestamps must not decrease; row 12"):
        ft.vwap_time(shuffled, t["price"][:100], t["size"][:100], "1s")
    with pytest.raises(ParameterError, match="ts: expected datetimes"):
        ft.realized_vol(ts.astype(float), t["price"][:100])
    with pytest.raises(ParameterError, match="window"):
        ft.ofi_time(ts, *[np.ones(100)] * 4, window="soon")
    with pytest.raises(ParameterError, match="interval"):
        ft.realized_vol(ts, t["price"][:100], interval=10)  # below 1 microsecond


def test_namespace_on_a_quotes_frame(book):
    q, _ = book
    frame = pl.DataFrame(q).with_columns(pl.from_epoch("ts", "ns"))
    got = frame.select(pl.col("bid_px").cift.ofi_time("1s").alias("x"))["x"].to_numpy()
    want = ft.ofi_time(q["ts"], q["bid_px"], q["bid_sz"], q["ask_px"], q["ask_sz"], "1s")
    np.testing.assert_array_equal(got, want)


def test_registry_lists_the_microstructure_group():
    table = ft.describe().filter(pl.col("group") == "microstructure")
    assert set(table["name"]) == {
        "spread", "spread_bps", "quote_imbalance", "microprice", "weighted_mid", "ofi",
        "ofi_time", "trade_imbalance", "volume_imbalance", "kyle_lambda", "vpin",
        "realized_vol", "vwap_time"}
