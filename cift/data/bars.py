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
from cift.data.validate import not_a_frame
from cift.errors import DataError, ParameterError

__all__ = ["apply_tick_rule", "dollar_bars", "interval_ns", "symbol_time_bars", "tick_rule",
           "time_bars", "volume_bars"]

_TIME, _VOLUME, _DOLLAR = 0, 1, 2


@nb.njit(cache=True)
def _bar_ids(codes, n_codes, ts, price, size, mode, param, origin, ids):
    """Bar number of every tick into ``ids`` (allocated by NumPy: huge pages, a 500th of the
    page faults of Numba's, a sixth of 10M ticks' time bars), numbered in order of each
    bar's first tick.

    Returns (ids, bar count, in_order); in_order is False (and ids unusable) as soon as one
    symbol's ticks go back in time.
    """
    n = ts.shape[0]
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


def _checked(ticks: pl.DataFrame, needed: tuple[str, ...]) -> pl.DataFrame:
    """The ticks with ts as UTC nanoseconds: a Datetime of another unit or zone converted,
    a naive one taken as UTC (as everywhere in cift)."""
    if not isinstance(ticks, pl.DataFrame):
        raise DataError(f"expected a polars DataFrame of ticks, got {not_a_frame(ticks)}")
    missing = [c for c in needed if c not in ticks.columns]
    if missing:
        raise DataError(f"ticks are missing column(s) {missing}", field=missing[0])
    dtype = ticks.schema["ts"]
    if dtype == TS:
        return ticks
    if not isinstance(dtype, pl.Datetime):
        raise DataError(f"ts must be a Datetime (UTC nanoseconds, cift.data.schema.TS), got "
                        f"{dtype}", field="ts")
    ts = pl.col("ts")
    ts = ts.dt.replace_time_zone("UTC") if dtype.time_zone is None else \
        ts.dt.convert_time_zone("UTC")
    return ticks.with_columns(ts.dt.cast_time_unit("ns"))


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
    ticks = _checked(ticks, ("ts", "symbol", "price", "size"))
    if ticks.height == 0:
        return pl.DataFrame(schema=BARS)
    ts, (price, size), (ids, n_bars), order = _per_symbol(
        ticks, lambda codes, n_codes, ts, price, size: _bar_ids(
            codes, n_codes, ts, price, size, mode, param, origin, np.empty(len(ts), np.int64)),
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


def symbol_time_bars(symbol: str, ts: np.ndarray | pl.Series, price: np.ndarray | pl.Series,
                     size: np.ndarray | pl.Series, interval: str | int) -> pl.DataFrame:
    """Time bars of one symbol's ticks given as columns: what :func:`time_bars` gives for a
    frame of that symbol alone, without coding a symbol column (the stores read one symbol's
    columns and call this).

    The columns are NumPy arrays or Polars Series (ts as UTC Datetime or int64 ns). Series
    read from several files come in chunks, one per file; the bars are built chunk by chunk,
    the open bar carried across, so the columns are never joined into new arrays (the copy
    and its fresh pages cost more than the bar kernel).
    """
    ns = interval_ns(interval)
    runs = _runs(ts, price, size)
    n = sum(len(run[0]) for run in runs)
    if n == 0:
        return pl.DataFrame(schema=BARS)
    out = _BarsOut(n, runs[0][0][0], runs[-1][0][-1], ns)
    if not all(_bars_run(*run, ns, *out.arrays) for run in runs):
        # not in time order (or more bars than that span holds): sort stably, one run
        ts_, price_, size_ = (np.concatenate(c) for c in zip(*runs, strict=True))
        order = np.argsort(ts_, kind="stable")
        out = _BarsOut(n, ts_[order[0]], ts_[order[-1]], ns)
        _bars_run(ts_[order], price_[order], size_[order], ns, *out.arrays)
    m = _bars_end(*out.arrays)
    bar_ts, trades, vals = out.bar_ts[:m], out.trades[:m], out.values[:, :m]
    # (the name repeated from one value: pl.repeat runs a query, 0.14 ms against 6 us)
    name = pl.Series("symbol", [symbol], pl.String).new_from_index(0, m)
    return _frame(bar_ts, name, [*vals, trades])


def _runs(ts, price, size) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The columns as runs of (ts int64, price, size) NumPy views, one per shared chunk."""
    cols = (ts, price, size)
    if not all(isinstance(c, pl.Series) for c in cols):
        arrays = [c.to_physical().to_numpy() if isinstance(c, pl.Series) else np.asarray(c)
                  for c in cols]
        return [(arrays[0].view(np.int64) if arrays[0].dtype.kind == "M" else arrays[0],
                 arrays[1], arrays[2])]
    lengths = ts.chunk_lengths()
    if price.chunk_lengths() != lengths or size.chunk_lengths() != lengths:
        cols = tuple(c.rechunk() for c in cols)
        lengths = [len(ts)]
    runs, offset = [], 0
    for length in filter(None, lengths):
        # a slice inside one chunk is a view of it, and so is its NumPy array
        t, p, q = (c.slice(offset, length).to_numpy() for c in cols)
        runs.append((t.view(np.int64) if t.dtype.kind == "M" else t, p, q))
        offset += length
    return runs


class _BarsOut:
    """The outputs of the bar kernel and the state it carries from one run to the next."""

    def __init__(self, n: int, first: int, last: int, ns: int) -> None:
        # bars never outnumber the ticks, nor the intervals between the first and last tick
        most = min(n, abs(int(last) - int(first)) // ns + 2)
        self.bar_ts = np.empty(most, np.int64)
        self.trades = np.empty(most, np.int64)
        self.values = np.empty((6, most))  # open, high, low, close, volume, vwap
        self.acc = np.zeros(6)  # the open bar: open, high, low, close, volume, notional
        # bars written, the open bar's start and end, its trades, the last tick's ts
        self.cur = np.array([0, 0, np.iinfo(np.int64).min, 0, np.iinfo(np.int64).min])
        self.arrays = (self.bar_ts, self.trades, self.values, self.acc, self.cur)


@nb.njit(cache=True)
def _bars_run(ts, price, size, ns, bar_ts, trades, values, acc, cur):
    """Continue one symbol's time bars over a run of its ticks: the open bar lives in
    registers and is written out when the next one opens. False if a tick goes back in time
    or the outputs are full (the state is then unusable)."""
    b, start, end, k, last = cur[0], cur[1], cur[2], cur[3], cur[4]
    bo, bh, bl, bc, bv, bn = acc[0], acc[1], acc[2], acc[3], acc[4], acc[5]
    most = bar_ts.shape[0]
    for i in range(ts.shape[0]):
        t = ts[i]
        if t < last:
            return False
        last = t
        p = price[i]
        if t >= end:
            if k > 0:
                if b == most:
                    return False
                _write_bar(bar_ts, trades, values, b, start, k, bo, bh, bl, bc, bv, bn)
                b += 1
            start = t // ns * ns
            end = start + ns
            bo = bh = bl = p
            bv = bn = 0.0
            k = 0
        q = size[i]
        bh = max(bh, p)
        bl = min(bl, p)
        bc = p
        bv += q
        bn += p * q
        k += 1
    cur[0], cur[1], cur[2], cur[3], cur[4] = b, start, end, k, last
    acc[0], acc[1], acc[2], acc[3], acc[4], acc[5] = bo, bh, bl, bc, bv, bn
    return True


@nb.njit(cache=True, inline="always")
def _write_bar(bar_ts, trades, values, b, start, k, bo, bh, bl, bc, bv, bn):
    bar_ts[b] = start
    trades[b] = k
    values[0, b], values[1, b], values[2, b], values[3, b], values[4, b] = bo, bh, bl, bc, bv
    values[5, b] = bn / bv if bv != 0.0 else np.nan  # no volume, no vwap


@nb.njit(cache=True)
def _bars_end(bar_ts, trades, values, acc, cur):
    """Write the open bar out; how many bars there are."""
    b = cur[0]
    if cur[3] > 0:
        _write_bar(bar_ts, trades, values, b, cur[1], cur[3], acc[0], acc[1], acc[2], acc[3],
                   acc[4], acc[5])
        b += 1
    return b


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
    checked = _checked(ticks, ("ts", "symbol", "price", "side"))
    if ticks.height == 0:
        return ticks
    _, _, (side,), order = _per_symbol(checked, _tick_rule,
                                       {"price": pl.Float64, "side": pl.Int8})
    if order is not None:  # scatter back to the caller's row order
        out = np.empty_like(side)
        out[order] = side
        side = out
    return ticks.with_columns(side=pl.Series(side, dtype=pl.Int8))
