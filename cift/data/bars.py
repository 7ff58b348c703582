"""Bars from ticks: time bars of any fixed interval, volume bars, dollar bars; the tick rule.

One Numba pass in the caller's row order keeps per-symbol state (symbols are coded to dense
integers first, see :mod:`cift.data.codes`), so time-interleaved multi-symbol frames are never
sorted by symbol. The only requirement is that each symbol's ticks are in time order; frames
that break it are put in time order first (a stable sort on ts).

Bars exist only where there are trades (no empty bars are filled in). A volume or dollar bar
closes on the tick that brings it to the threshold (ticks are never split); a symbol's last bar
may be short of the threshold.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import polars as pl

from cift.data.codes import symbol_codes
from cift.data.schema import BARS, TS
from cift.data.timestamps import parse_duration
from cift.errors import DataError, ParameterError

__all__ = ["apply_tick_rule", "dollar_bars", "interval_ns", "symbol_time_bars", "tick_rule", "time_bars",
           "volume_bars"]

_TIME, _VOLUME, _DOLLAR = 0, 1, 2


@nb.njit(cache=True)
def _bar_ids(codes, n_codes, ts, price, size, mode, param, origin):
    """Bar number of every tick, numbered in order of each bar's first tick.

    Returns (ids, bar count, in_order); in_order is False (and ids unusable) as soon as one
    symbol's ticks go back in time.
    """
    n = ts.shape[0]
    ids = np.empty(n, np.int64)
    bar = np.full(n_codes, -1, np.int64)  # current bar of each symbol
    bucket_end = np.zeros(n_codes, np.int64)  # where its time bucket ends (time bars)
    acc = np.zeros(n_codes)  # its volume or notional so far (volume/dollar bars)
    last_ts = np.full(n_codes, np.iinfo(np.int64).min)
    count = 0
    for i in range(n):
        k = codes[i]
        t = ts[i]
        if t < last_ts[k]:
            return ids, count, False
        last_ts[k] = t
        if mode == _TIME:
            if bar[k] < 0 or t >= bucket_end[k]:  # a division only when a bar opens
                bar[k] = count
                bucket_end[k] = ((t - origin) // param + 1) * param + origin
                count += 1
        else:
            if bar[k] < 0 or acc[k] >= param:
                bar[k] = count
                acc[k] = 0.0
                count += 1
            acc[k] += size[i] if mode == _VOLUME else price[i] * size[i]
        ids[i] = bar[k]
    return ids, count, True


@nb.njit(cache=True)
def _aggregate(ids, n_bars, price, size):
    """OHLC, volume, vwap, trade count and first row of each bar.

    A bar's ticks need not be contiguous, only in time order: its first tick opens it, its
    last closes it.
    """
    first = np.full(n_bars, -1, np.int64)
    o = np.empty(n_bars)
    h = np.empty(n_bars)
    lo = np.empty(n_bars)
    c = np.empty(n_bars)
    vol = np.zeros(n_bars)
    notional = np.zeros(n_bars)
    trades = np.zeros(n_bars, np.int64)
    for i in range(ids.shape[0]):
        b = ids[i]
        p = price[i]
        if first[b] < 0:
            first[b] = i
            o[b] = p
            h[b] = p
            lo[b] = p
        elif p > h[b]:
            h[b] = p
        elif p < lo[b]:
            lo[b] = p
        c[b] = p
        vol[b] += size[i]
        notional[b] += p * size[i]
        trades[b] += 1
    vwap = notional / vol  # 0/0 -> NaN for bars of zero volume
    return first, o, h, lo, c, vol, vwap, trades


@nb.njit(cache=True)
def _tick_rule(codes, n_codes, ts, price, side):
    """Signs by the tick rule with per-symbol state; ok=False if a symbol goes back in time."""
    out = np.empty(price.shape[0], np.int8)
    last_px = np.full(n_codes, np.nan)
    sign = np.zeros(n_codes, np.int8)
    last_ts = np.full(n_codes, np.iinfo(np.int64).min)
    for i in range(price.shape[0]):
        k = codes[i]
        if ts[i] < last_ts[k]:
            return out, False
        last_ts[k] = ts[i]
        p = price[i]
        if p > last_px[k]:  # False while last_px is NaN (the symbol's first tick)
            sign[k] = 1
        elif p < last_px[k]:
            sign[k] = -1
        last_px[k] = p
        out[i] = side[i] if side[i] != 0 else sign[k]
    return out, True


def _check_columns(ticks: pl.DataFrame, needed: tuple[str, ...]) -> None:
    if not isinstance(ticks, pl.DataFrame):
        raise DataError(f"expected a polars DataFrame of ticks, got {type(ticks).__name__}")
    missing = [c for c in needed if c not in ticks.columns]
    if missing:
        raise DataError(f"ticks are missing column(s) {missing}", field=missing[0])
    if ticks.get_column("ts").dtype != TS:
        raise DataError("ts must be a UTC nanosecond Datetime (see cift.data.schema.TS)",
                        field="ts")


def _per_symbol(ticks: pl.DataFrame, kernel, columns: dict[str, pl.DataType]):
    """Run ``kernel(codes, n_codes, ts, *arrays)``, the arrays being ``columns`` cast as named.

    If a symbol's ticks go back in time (the kernel's last result is False), every tick is
    put in time order (a stable sort on ts) and the kernel runs again.

    Returns (ts, arrays, the kernel's other results, the sorting permutation or None).
    """
    codes, first = symbol_codes(ticks.get_column("symbol"))
    ts = ticks.get_column("ts").to_physical().to_numpy()
    arrays = [ticks.get_column(c).cast(t).to_numpy() for c, t in columns.items()]
    *result, ok = kernel(codes, len(first), ts, *arrays)
    if ok:
        return ts, arrays, result, None
    order = np.argsort(ts, kind="stable")
    codes, ts, arrays = codes[order], ts[order], [a[order] for a in arrays]
    *result, ok = kernel(codes, len(first), ts, *arrays)
    assert ok, "ticks in time order are in order per symbol"
    return ts, arrays, result, order


def _bars(ticks: pl.DataFrame, mode: int, param: int | float, origin: int = 0) -> pl.DataFrame:
    _check_columns(ticks, ("ts", "symbol", "price", "size"))
    if ticks.height == 0:
        return pl.DataFrame(schema=BARS)
    ts, (price, size), (ids, n_bars), order = _per_symbol(
        ticks, lambda *a: _bar_ids(*a, mode, param, origin),
        {"price": pl.Float64, "size": pl.Float64})
    first, *values = _aggregate(ids, n_bars, price, size)
    bar_ts = ts[first]
    if mode == _TIME:
        bar_ts = (bar_ts - origin) // param * param + origin
    rows = first if order is None else order[first]  # each bar's first tick, caller's order
    bars = _frame(bar_ts, ticks.get_column("symbol").gather(rows).cast(pl.String), values)
    return bars.sort(["ts", "symbol"], maintain_order=True)


def _frame(bar_ts: np.ndarray, symbol: pl.Series, values: list[np.ndarray]) -> pl.DataFrame:
    o, h, lo, c, vol, vwap, trades = values
    return pl.DataFrame({
        "ts": pl.Series(bar_ts).cast(TS), "symbol": symbol, "open": o, "high": h, "low": lo,
        "close": c, "volume": vol, "vwap": vwap, "trades": trades,
    })


def symbol_time_bars(symbol: str, ts: np.ndarray, price: np.ndarray, size: np.ndarray,
                     interval: str | int) -> pl.DataFrame:
    """Time bars of one symbol's ticks given as arrays (ts as int64 UTC ns): what
    :func:`time_bars` gives for a frame of that symbol alone, without coding a symbol column
    (the lake reads one symbol's columns and calls this)."""
    ns = interval_ns(interval)
    if len(ts) == 0:
        return pl.DataFrame(schema=BARS)
    bar_ts, *values, ok = _one_symbol_bars(ts, price, size, ns)
    if not ok:  # not in time order: sort (stably) and run again
        order = np.argsort(ts, kind="stable")
        bar_ts, *values, ok = _one_symbol_bars(ts[order], price[order], size[order], ns)
    return _frame(bar_ts, pl.repeat(symbol, len(bar_ts), dtype=pl.String, eager=True), values)


@nb.njit(cache=True)
def _one_symbol_bars(ts, price, size, ns):
    """Time bars of one symbol's ticks in time order, in one pass: its bars are contiguous, so
    the open bar lives in registers and is written out when the next one opens. The last
    result is False (and the rest unusable) if the ticks are not in time order."""
    n = ts.shape[0]
    most = min(n, abs(ts[n - 1] - ts[0]) // ns + 2)  # outputs sized by the time span, not n
    bar_ts = np.empty(most, np.int64)
    o = np.empty(most)
    h = np.empty(most)
    lo = np.empty(most)
    c = np.empty(most)
    vol = np.empty(most)
    vwap = np.empty(most)
    trades = np.empty(most, np.int64)
    b = -1
    end = np.iinfo(np.int64).min
    bo = bh = bl = bc = bv = bn = 0.0
    bt = 0
    for i in range(n + 1):
        t = ts[i] if i < n else end  # one step past the end flushes the last bar
        if i > 0 and i < n and t < ts[i - 1]:
            return bar_ts, o, h, lo, c, vol, vwap, trades, False
        if t >= end or i == n:
            if b >= 0:
                o[b], h[b], lo[b], c[b], vol[b] = bo, bh, bl, bc, bv
                vwap[b] = bn / bv if bv != 0.0 else np.nan  # no volume, no vwap
                trades[b] = bt
            if i == n:
                break
            b += 1
            start = t // ns * ns
            end = start + ns
            bar_ts[b] = start
            bo = bh = bl = price[i]
            bv = bn = 0.0
            bt = 0
        p = price[i]
        q = size[i]
        bh = max(bh, p)
        bl = min(bl, p)
        bc = p
        bv += q
        bn += p * q
        bt += 1
    m = b + 1
    return bar_ts[:m], o[:m], h[:m], lo[:m], c[:m], vol[:m], vwap[:m], trades[:m], True


def time_bars(ticks: pl.DataFrame, interval: str | int) -> pl.DataFrame:
    """OHLCV time bars of a fixed interval, aligned to the UNIX epoch (UTC midnight for "1d").

    Parameters
    ----------
    ticks : pl.DataFrame
        At least ts (UTC ns), symbol, price, size.
    interval : str or int
        "100ms", "1s", "5m", "1h", "1d", ... or nanoseconds.

    Returns
    -------
    pl.DataFrame
        ts (bar open), symbol, open, high, low, close, volume, vwap, trades; sorted by ts, symbol.
    """
    return _bars(ticks, _TIME, interval_ns(interval))


def interval_ns(interval: str | int) -> int:
    """A bar interval ("100ms", "5m", "1d", ... or positive nanoseconds) in nanoseconds."""
    if isinstance(interval, int) and not isinstance(interval, bool) and interval > 0:
        return interval
    return parse_duration(interval)


def _threshold(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not np.isfinite(value):
        raise ParameterError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


def volume_bars(ticks: pl.DataFrame, volume: float) -> pl.DataFrame:
    """Bars that each hold ``volume`` units traded (a bar's ts is its first tick's ts)."""
    return _bars(ticks, _VOLUME, _threshold(volume, "volume"))


def dollar_bars(ticks: pl.DataFrame, value: float) -> pl.DataFrame:
    """Bars that each hold ``value`` in traded notional (price * size)."""
    return _bars(ticks, _DOLLAR, _threshold(value, "value"))


def tick_rule(price: np.ndarray, side: np.ndarray | None = None) -> np.ndarray:
    """Trade signs by the tick rule for one symbol's time-ordered trades.

    An uptick is a buy (+1), a downtick a sell (-1), an unchanged price repeats the last sign
    (0 before the first price change). Known sides (non-zero ``side``) are kept.
    """
    price = np.ascontiguousarray(price, dtype=np.float64)
    side = np.zeros(len(price), np.int8) if side is None else np.ascontiguousarray(side, np.int8)
    if side.shape != price.shape:
        raise ParameterError(f"side: length {len(side)} differs from price length {len(price)}")
    n = len(price)
    out, _ = _tick_rule(np.zeros(n, np.int64), 1, np.zeros(n, np.int64), price, side)
    return out


def apply_tick_rule(ticks: pl.DataFrame) -> pl.DataFrame:
    """Fill unknown sides (0) of a ticks frame by the tick rule, per symbol, in time order."""
    _check_columns(ticks, ("ts", "symbol", "price", "side"))
    if ticks.height == 0:
        return ticks
    _, _, (side,), order = _per_symbol(ticks, _tick_rule,
                                       {"price": pl.Float64, "side": pl.Int8})
    if order is not None:  # scatter back to the caller's row order
        out = np.empty_like(side)
        out[order] = side
        side = out
    return ticks.with_columns(side=pl.Series(side, dtype=pl.Int8))
