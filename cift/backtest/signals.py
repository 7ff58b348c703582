"""Signal research: ``from_signals`` for the vectorbt-style workflow, on a Numba loop.

Conventions (vectorbt's, so results can be compared):
- a signal on bar t is acted on at bar t+1: at its open when ``open`` is given, else at its
  close (no look-ahead);
- long/flat: an entry while long and an exit while flat are ignored, and so is a bar whose
  entry and exit are both set; with ``short_entries`` / ``short_exits`` given, long and
  short (the rules of :mod:`cift.backtest.shorts`);
- an entry invests all available cash in a fractional quantity; fees are charged on top of
  the notional (so the quantity is cash / (price * (1 + fee))), slippage moves the fill price
  against the trade: price * (1 + slippage) to buy, * (1 - slippage) to sell;
- equity is cash plus the position valued at each bar's close.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial

import numba as nb
import numpy as np
import polars as pl

from cift.backtest.metrics import (stats_dict, stats_finish, stats_new, stats_push,
                                   stats_push_flat)
from cift.data.checks import POSITIVE, first_breaking
from cift.data.schema import TS
from cift.errors import ParameterError
from cift.features.api import as_input, as_timestamps, numbers_of

__all__ = ["BacktestResult", "crossings", "from_signals"]

ArrayLike = np.ndarray | pl.Series | Sequence[float]


@nb.njit(cache=True, error_model="numpy")
def _long_flat(close, price, entries, exits, init_cash, fee, fixed_fee, slippage, equity):
    """Run the long/flat signal rules; fills ``equity`` (unless it is empty) and the return
    statistics of :mod:`cift.backtest.metrics`.

    The state (cash, position) changes only at a signal, so the run goes in passes: the
    signals' bars (:func:`_signal_bars`), their fills, then the bars' values run by run
    (a run: from one signal to the next), a flat run folded in at once. The signals come at
    irregular bars: with the fills inside one loop over the bars, each cost ~100 ns (on an
    SMA crossover's, the loop took 4.8-5.3 ms per 1M bars against 2.5 ms with evenly spaced
    signals; 3.4-4.1 ms now, whatever the spacing, and 4.2-5.7 ms, not 6.4-7.7, for the same
    signals given as states, ``fast > slow``).

    Returns (trade table, bars in the market, traded notional, sum of equity, statistics
    state, final equity). Trade table rows: entry bar, exit bar (-1 while open), size,
    entry price, exit price, pnl (net of fees), fees.
    """
    n = close.shape[0]
    keep = equity.shape[0] > 0
    stats = stats_new()
    if n == 0:
        return np.zeros((7, 0)), 0, 0.0, 0.0, stats, init_cash
    # bars 1.. as views indexed from 0, next to the signals of the bar before: no negative-
    # index checks in the loops
    c1, p1, enter, leave = close[1:], price[1:], entries[:-1], exits[:-1]
    eq1 = equity[1:] if keep else equity

    # the fills: the state from each signal on (acted on at the next bar, index j of views)
    switch_at = _signal_bars(enter, leave)
    # at most one trade per kept entry, every other kept signal (the table sized first:
    # growing it inside the loop made Numba keep reference counts in the loop, 4x slower)
    trade_cols = np.zeros((7, switch_at.shape[0] // 2 + 2))
    run_cash = np.empty(switch_at.shape[0])
    run_pos = np.empty(switch_at.shape[0])
    cash = init_cash
    pos = 0.0
    k = 0
    traded = 0.0
    entry_cost = 0.0
    for r in range(switch_at.shape[0] - 1):
        j = switch_at[r]
        if enter[j]:
            if pos == 0.0 and cash > fixed_fee:
                fill = p1[j] * (1.0 + slippage)
                size = (cash - fixed_fee) / (1.0 + fee) / fill
                fees = size * fill * fee + fixed_fee
                entry_cost = size * fill + fees
                cash -= entry_cost
                pos = size
                traded += size * fill
                trade_cols[0, k] = j + 1
                trade_cols[1, k] = -1
                trade_cols[2, k] = size
                trade_cols[3, k] = fill
                trade_cols[6, k] = fees
        elif pos > 0.0:
            fill = p1[j] * (1.0 - slippage)
            gross = pos * fill
            fees = gross * fee + fixed_fee
            cash += gross - fees
            traded += gross
            trade_cols[1, k] = j + 1
            trade_cols[4, k] = fill
            trade_cols[5, k] = gross - fees - entry_cost
            trade_cols[6, k] += fees
            k += 1
            pos = 0.0
        run_cash[r] = cash
        run_pos[r] = pos
    if pos > 0.0:  # the open trade, valued at the last close
        trade_cols[4, k] = close[n - 1]
        trade_cols[5, k] = pos * close[n - 1] - entry_cost
        k += 1

    # the values, run by run (a run: the bars from one signal to the next)
    cash = init_cash
    pos = 0.0
    if keep:
        equity[0] = cash  # bar 0: no signal before it
    equity_sum = cash
    stats = stats_push(stats, 0.0)  # (so stats_push_flat is exact below)
    prev = cash
    exposure = 0
    start = 0
    for r in range(switch_at.shape[0]):
        end = switch_at[r]
        # flat, only a run's first bar can have a return other than 0 (the exit's); the
        # rest is folded in at once: the value stays the cash
        stop = end if pos > 0.0 else min(start + 1, end)
        for j in range(start, stop):
            value = cash + pos * c1[j]
            if keep:
                eq1[j] = value
            equity_sum += value
            stats = stats_push(stats, value / prev - 1.0)
            prev = value
        if pos > 0.0:
            exposure += end - start
        else:
            if keep:
                for j in range(stop, end):
                    eq1[j] = cash
            equity_sum += cash * (end - stop)
            stats = stats_push_flat(stats, end - stop)
        if r < switch_at.shape[0] - 1:
            cash, pos = run_cash[r], run_pos[r]
        start = end
    return trade_cols[:, :k], exposure, traded, equity_sum, stats, prev


#: 8 bool bytes (each 0 or 1) times this: their sum in the top byte
_BYTE_SUM = np.uint64(0x0101010101010101)


@nb.njit(cache=True)
def _signal_bars(enter, leave):
    """The bars whose signal can change the state, then the number of bars.

    Kept: an entry after an exit (or the first entry), an exit after an entry. A bar with
    both signals or neither changes nothing, and nor does a repeat of the kind before it: an
    entry while long, an exit while flat, or an entry after one that found too little cash
    (the cash has not changed since). So signals given as states (``fast > slow``: an entry
    on every bar above) run as fast as crossings. The signal bars are counted, then gathered
    (a bar without one is overwritten), then thinned to the changes of kind. Counting and
    gathering read 8 bars at a time (their bools, bytes of 0 or 1, as one word: signals are
    sparse, and a word without one is skipped; 0.6 ms per 1M bars of an SMA crossover, was
    1.05).
    """
    n = enter.shape[0]
    whole = n - n % 8
    enter8 = enter[:whole].view(np.uint64)
    leave8 = leave[:whole].view(np.uint64)
    words = np.uint64(0)
    for w in range(enter8.shape[0]):
        words += ((enter8[w] ^ leave8[w]) * _BYTE_SUM) >> np.uint64(56)
    count = np.int64(words)
    for j in range(whole, n):
        count += enter[j] != leave[j]
    bars = np.empty(count + 1, np.int64)
    k = 0
    for w in range(enter8.shape[0]):
        if enter8[w] != leave8[w]:
            for j in range(8 * w, 8 * w + 8):
                bars[k] = j
                k += enter[j] != leave[j]
    for j in range(whole, n):
        bars[k] = j
        k += enter[j] != leave[j]
    kept = 0
    before = False  # the kind of the signal before: as if an exit (flat at the start)
    for i in range(count):  # in place: a kept bar moves down, never past one unread
        bar = bars[i]
        bars[kept] = bar
        kept += enter[bar] != before
        before = enter[bar]
    bars[kept] = n
    return bars[:kept + 1]


@nb.njit(cache=True)
def _crossings(a, b, up, down):
    # each bar compares the bar before again instead of carrying it: no dependency from one
    # bar to the next, so the loop vectorizes (1.2 ms per 1M bars, was 1.8); a bool is
    # greater than another only when it is True and the other False
    if a.shape[0] == 0:
        return
    up[0] = a[0] > b[0]
    down[0] = a[0] < b[0]
    for i in range(1, a.shape[0]):
        up[i] = (a[i] > b[i]) > (a[i - 1] > b[i - 1])
        down[i] = (a[i] < b[i]) > (a[i - 1] < b[i - 1])


def crossings(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Where ``a`` moves above ``b`` and where it moves below: (up, down) boolean arrays,
    e.g. the entries and exits of a moving-average crossover. ``up[i]`` is a[i] > b[i]
    where a[i-1] > b[i-1] was not (the first bar counts when a starts above); NaN compares
    False, so warm-up bars never cross. One compiled pass, no temporaries.

    >>> fast, slow = features.sma(close, 10), features.sma(close, 50)  # doctest: +SKIP
    >>> entries, exits = crossings(fast, slow)                        # doctest: +SKIP
    """
    x, y = as_input(a, "a"), as_input(b, "b")
    if len(x) != len(y):
        raise ParameterError(f"b: length {len(y)} differs from a's {len(x)}")
    up, down = np.empty(len(x), bool), np.empty(len(x), bool)
    _crossings(x, y, up, down)
    return up, down


@nb.njit(cache=True)
def _trade_stats(trades):
    """(closed-trade hit rate, profit factor) of a trade table (open trades excluded)."""
    wins = 0
    closed = 0
    gain = 0.0
    loss = 0.0
    for t in range(trades.shape[1]):
        if trades[1, t] >= 0:
            closed += 1
            pnl = trades[5, t]
            if pnl > 0:
                wins += 1
                gain += pnl
            elif pnl < 0:
                loss -= pnl
    hit = wins / closed if closed else np.nan
    return hit, gain / loss if loss > 0 else np.nan


@dataclass(frozen=True)
class BacktestResult:
    """What a backtest produced: the equity curve, the trades and the metrics.

    Attributes
    ----------
    equity : np.ndarray
        Portfolio value at each bar's close (computed on first access).
    final_value : float
        Portfolio value at the last close.
    trades : pl.DataFrame
        entry_bar, exit_bar (null while open), size, entry_price, exit_price (the last close
        while open), pnl (net of both fees), fees, return (pnl over the entry notional), open.
    metrics : dict
        Return metrics (see :mod:`cift.backtest.metrics`) and trade count, hit rate, profit
        factor, exposure (share of bars in the market) and turnover (traded notional over
        mean equity).
    """

    trade_table: np.ndarray = field(repr=False)  # the engine's 7 x trades table
    metrics: dict[str, float]
    init_cash: float
    final_value: float
    close: np.ndarray = field(repr=False)
    index: np.ndarray | None = field(default=None, repr=False)  # bar timestamps, UTC ns
    # the equity curve, or the function that computes it
    curve: np.ndarray | Callable[[], np.ndarray] = field(default_factory=lambda: np.empty(0),
                                                           repr=False)

    @cached_property
    def equity(self) -> np.ndarray:
        """Portfolio value at each bar's close."""
        return self.curve() if callable(self.curve) else self.curve

    @cached_property
    def trades(self) -> pl.DataFrame:
        """The trades as a frame, built on first access (a sweep of many runs reads only
        the metrics)."""
        return _trades(self.trade_table)

    def equity_frame(self) -> pl.DataFrame:
        """Per bar: ts (when the run had an index), equity, drawdown from the running peak."""
        peak = np.maximum.accumulate(np.concatenate([[self.init_cash], self.equity]))[1:]
        frame = pl.DataFrame({"equity": self.equity, "drawdown": self.equity / peak - 1.0})
        if self.index is not None:
            frame = frame.with_columns(pl.Series("ts", self.index).cast(TS)).select(
                "ts", "equity", "drawdown")
        return frame

    def monthly_returns(self) -> pl.DataFrame:
        """Return of each calendar month (UTC): year, month, return; needs ``index``.

        A month's return is its last equity over the previous month's last (the first month
        over the initial cash).
        """
        if self.index is None:
            raise ParameterError("monthly_returns needs the bar timestamps: pass index= to "
                                 "from_signals")
        ends = (self.equity_frame().group_by_dynamic("ts", every="1mo")
                .agg(pl.col("equity").last()))
        prev = ends["equity"].shift(1, fill_value=self.init_cash)
        return ends.select(year=pl.col("ts").dt.year(), month=pl.col("ts").dt.month(),
                           **{"return": ends["equity"] / prev - 1.0})

    @property
    def returns(self) -> np.ndarray:
        """Per-bar returns of the equity curve (the first relative to the initial cash)."""
        prev = np.concatenate([[self.init_cash], self.equity[:-1]])
        return self.equity / prev - 1.0

    def plot(self, title: str = "Backtest"):
        """A Plotly tearsheet: price with trades, equity, drawdown."""
        from cift.backtest.report import tearsheet

        return tearsheet(self, title)

    def plot_monthly(self, title: str = "Monthly returns"):
        """A Plotly heatmap of :meth:`monthly_returns` (years x months)."""
        from cift.backtest.report import monthly_heatmap

        return monthly_heatmap(self.monthly_returns(), title)


def _series(name: str, values: ArrayLike, dtype: type) -> np.ndarray:
    if isinstance(values, pl.Series):
        if values.null_count() and dtype is bool and values.dtype == pl.Boolean:
            # a comparison with a warm-up's nulls (rolling_mean's): no signal there
            values = values.fill_null(False)
        if values.null_count():
            raise ParameterError(f"{name}: has {values.null_count()} nulls")
        values = values.to_numpy()
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected an array, got {type(values).__name__}") from None
    if arr.ndim == 2 and arr.shape[1] == 1:  # a frame of one column
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ParameterError(
            f"{name}: expected one series, got shape {arr.shape} (several signal sets on one "
            f"price series: signal_grid; several symbols: a run per symbol, or a Strategy "
            f"with orders=True on the event engine)" if arr.ndim == 2 else
            f"{name}: expected one series, got shape {arr.shape}")
    if dtype is bool:
        if arr.dtype != np.bool_ and (not np.issubdtype(arr.dtype, np.number)
                                      or not np.isin(arr, (0, 1)).all()):
            raise ParameterError(f"{name}: expected booleans (or 0/1)")
        return np.ascontiguousarray(arr, dtype=np.bool_)
    arr = numbers_of(arr)
    if not np.issubdtype(arr.dtype, np.number):
        raise ParameterError(f"{name}: expected numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    bad = first_breaking(arr, POSITIVE)
    if bad >= 0:
        raise ParameterError(f"{name}: bar {bad} is {arr[bad]} (prices must be finite and "
                             f"positive)")
    return arr


def from_signals(close: ArrayLike, entries: ArrayLike, exits: ArrayLike, *,
                 open: ArrayLike | None = None, fees_bps: float = 0.0,
                 fixed_fee: float = 0.0, slippage_bps: float = 0.0,
                 init_cash: float = 100_000.0, periods_per_year: float = 252.0,
                 index: ArrayLike | None = None, short_entries: ArrayLike | None = None,
                 short_exits: ArrayLike | None = None) -> BacktestResult:
    """Backtest entry and exit signals (see the module notes for the rules): long/flat, or
    long and short when short signals are given (see :mod:`cift.backtest.shorts`).

    Parameters
    ----------
    close : array
        Close prices, one per bar.
    entries, exits : array of bool, or None
        Signals on each bar's close; acted on at the next bar. None: no such signal (exits
        None holds each position to the end, as vectorbt's).
    open : array, optional
        Open prices: fills at the next bar's open (else at its close).
    fees_bps, fixed_fee : float
        Fees per order: basis points of the notional plus a fixed amount.
    slippage_bps : float
        Basis points the fill moves against the order.
    init_cash : float
        Starting cash.
    periods_per_year : float
        Bars per year, for the annualized metrics.
    index : array of datetimes or int64 ns, optional
        The bars' timestamps (strictly increasing): they label the equity curve and the
        tearsheet, and give :meth:`BacktestResult.monthly_returns`. Default: the
        DatetimeIndex of a pandas ``close``, as vectorbt takes it.
    short_entries, short_exits : array of bool, optional
        Short-side signals: a short entry sells short all the cash can cover (reversing a
        long position), a short exit buys it back. Trades of shorts have negative sizes.

    Examples
    --------
    >>> fast, slow = features.sma(close, 10), features.sma(close, 50)   # doctest: +SKIP
    >>> res = from_signals(close, fast > slow, fast < slow, open=open_)  # doctest: +SKIP
    >>> res.metrics["sharpe"], res.trades                               # doctest: +SKIP
    """
    c, price = _prices(close, open)
    n = len(c)
    signals = {"entries": entries, "exits": exits, "short_entries": short_entries,
               "short_exits": short_exits}
    short = short_entries is not None or short_exits is not None
    arrays = {}
    for name, values in signals.items():
        if values is None and not short and name.startswith("short"):
            continue  # long/flat: no short signals to make
        arr = np.zeros(n, bool) if values is None else _series(name, values, bool)
        if len(arr) != n:
            raise ParameterError(f"{name}: {len(arr)} bars, close has {n}")
        arrays[name] = arr
    _check_costs(fees_bps, fixed_fee, slippage_bps, init_cash, periods_per_year)
    if index is None:
        index = _datetime_index(close)
    ts = None if index is None else _bar_times(index, n)

    args = (c, price, *arrays.values(), float(init_cash), fees_bps * 1e-4, float(fixed_fee),
            slippage_bps * 1e-4)
    # the metrics and the final value come out of the run; the equity curve (8 MB per
    # million bars, and fresh memory costs) is run again when asked for
    cols, exposure, traded, equity_sum, stats, final = _rules(short)(*args, np.empty(0))
    metrics = stats_dict(stats_finish(stats, float(periods_per_year)))
    hit_rate, profit_factor = _trade_stats(cols)
    metrics |= {
        "trades": cols.shape[1],
        "hit_rate": hit_rate,
        "profit_factor": profit_factor,
        "exposure": exposure / n if n else float("nan"),
        "turnover": traded / (equity_sum / n) if n else float("nan"),
    }
    return BacktestResult(cols, metrics, float(init_cash), float(final), c, ts,
                          partial(_equity_curve, short, args))


def _rules(short: bool):
    """The compiled rules: long/flat, or long and short."""
    if short:
        from cift.backtest.shorts import _long_short  # (it imports this module)

        return _long_short
    return _long_flat


def _equity_curve(short: bool, args: tuple) -> np.ndarray:
    """The equity curve of a signal run: the run again, keeping the values (a partial of
    this, unlike a closure, pickles with its result)."""
    equity = np.empty(len(args[0]))
    _rules(short)(*args, equity)
    return equity


def _datetime_index(close: ArrayLike) -> object | None:
    """The DatetimeIndex of a pandas Series or frame of closes (with or without a zone),
    else None."""
    index = getattr(close, "index", None)
    return index if getattr(getattr(index, "dtype", None), "kind", "") == "M" else None


def _bar_times(index: ArrayLike, n: int) -> np.ndarray:
    """Bar timestamps as UTC ns, checked: one per bar, strictly increasing."""
    ts = as_timestamps(index.to_numpy() if isinstance(index, pl.Series) else index, "index")
    if len(ts) != n:
        raise ParameterError(f"index: {len(ts)} timestamps, close has {n} bars")
    same = np.flatnonzero(ts[1:] == ts[:-1])
    if len(same):
        raise ParameterError(f"index: bar {same[0] + 1} repeats the timestamp of the bar "
                             f"before it (one row per bar)")
    return ts


def _prices(close: ArrayLike, open: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    """Validated close prices and fill prices (the opens, else the closes)."""
    c = _series("close", close, float)
    if not len(c):
        raise ParameterError("close: no bars")
    if open is None:
        return c, c
    price = _series("open", open, float)
    if len(price) != len(c):
        raise ParameterError(f"open: {len(price)} bars, close has {len(c)}")
    return c, price


def as_number(name: str, value: object) -> float:
    """``value`` as a float; text, bools and None are refused (float() takes "0.5" and
    True), NumPy's numbers taken."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name}: expected a number, got {value!r}")
    return float(value)


def _check_costs(fees_bps: float, fixed_fee: float, slippage_bps: float, init_cash: float,
                 periods_per_year: float) -> None:
    for name, value in (("fees_bps", fees_bps), ("fixed_fee", fixed_fee),
                        ("slippage_bps", slippage_bps), ("init_cash", init_cash),
                        ("periods_per_year", periods_per_year)):
        as_number(name, value)
    for name, value in (("fees_bps", fees_bps), ("fixed_fee", fixed_fee),
                        ("slippage_bps", slippage_bps)):
        if not np.isfinite(value) or value < 0:
            raise ParameterError(f"{name}: must be >= 0, got {value}")
    if not np.isfinite(init_cash) or init_cash <= 0:
        raise ParameterError(f"init_cash: must be > 0, got {init_cash}")
    if not periods_per_year > 0:
        raise ParameterError(f"periods_per_year: must be > 0, got {periods_per_year}")


def _trades(cols: np.ndarray) -> pl.DataFrame:
    entry_value = np.abs(cols[2]) * cols[3]  # notional at entry (a short's size is < 0)
    return pl.DataFrame({
        "entry_bar": cols[0].astype(np.int64),
        "exit_bar": pl.Series(cols[1].astype(np.int64)).replace(-1, None),
        "size": cols[2], "entry_price": cols[3], "exit_price": cols[4], "pnl": cols[5],
        "fees": cols[6],
        "return": np.divide(cols[5], entry_value, out=np.zeros_like(cols[5]),
                            where=entry_value > 0),
        "open": cols[1] < 0,
    })
