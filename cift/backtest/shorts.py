"""Long and short signals on one Numba loop: ``from_signals(..., short_entries=...,
short_exits=...)``.

vectorbt's conventions (``Portfolio.from_signals`` with short entries and exits):
- an entry and an exit of the same side on one bar cancel out, and so do a long and a short
  entry on one bar;
- a long exit closes a long position, a short exit a short one; the opposite entry while in
  a position reverses it in one order (one fixed fee), the new side sized on the cash left
  after closing;
- either side invests all available cash: quantity = (cash - fixed fee) / (price x (1 +
  fee)); a short sale's proceeds, less fees, are added to the cash;
- equity is cash plus the (signed) position at each bar's close.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from cift.backtest.metrics import stats_new, stats_push

__all__ = ["close_open_trade", "step"]


# the state between bars (one float64 array, so run()'s Python path can step it too)
CASH, POS, TRADES, TRADED = range(4)
FIELDS = 4


@nb.njit(cache=True)
def step(st, trade_cols, i, li, lo, si, so, price_i, close_i, fee, fixed_fee, slippage):
    """Bar i: act on the previous bar's signals (long in/out, short in/out) at ``price_i``,
    then value the position at ``close_i``; returns the bar's equity."""
    if li and lo:
        li = lo = False
    if si and so:
        si = so = False
    if li and si:
        li = si = False
    cash, pos = st[CASH], st[POS]
    k = int(st[TRADES])
    leave, enter = False, 0  # close the position; then open +1 long / -1 short
    if pos > 0.0:
        leave, enter = si or lo, -1 if si else 0
    elif pos < 0.0:
        leave, enter = li or so, 1 if li else 0
    else:
        enter = 1 if li else (-1 if si else 0)
    fixed = fixed_fee
    if leave:
        side = -1.0 if pos > 0.0 else 1.0
        fill = price_i * (1.0 + side * slippage)
        size = abs(pos)
        fees = size * fill * fee + fixed
        cash += -side * size * fill - fees
        st[TRADED] += size * fill
        trade_cols[1, k], trade_cols[4, k] = i, fill
        trade_cols[5, k] += pos * fill - fees  # the entry notional was taken at entry
        trade_cols[6, k] += fees
        k += 1
        pos = 0.0
        fixed = 0.0  # a reversal is one order: one fixed fee
    if enter != 0 and cash > fixed:
        fill = price_i * (1.0 + enter * slippage)
        size = (cash - fixed) / (1.0 + fee) / fill
        fees = size * fill * fee + fixed
        cash += -enter * size * fill - fees
        pos = enter * size
        st[TRADED] += size * fill
        trade_cols[0, k], trade_cols[1, k] = i, -1
        trade_cols[2, k], trade_cols[3, k] = pos, fill
        trade_cols[5, k] = -pos * fill - fees
        trade_cols[6, k] = fees
    st[CASH], st[POS], st[TRADES] = cash, pos, k
    return cash + pos * close_i


@nb.njit(cache=True)
def close_open_trade(st, trade_cols, close_last):
    """Value a trade still open at the last close; the number of trades."""
    k = int(st[TRADES])
    if st[POS] != 0.0:
        trade_cols[4, k] = close_last
        trade_cols[5, k] += st[POS] * close_last
        k += 1
    return k


@nb.njit(cache=True)
def _long_short(close, price, long_in, long_out, short_in, short_out, init_cash, fee,
                fixed_fee, slippage, equity):
    """The long/short rules over the bars; fills ``equity`` (unless it is empty) and returns
    what :func:`cift.backtest.signals._long_flat` returns (trade sizes signed: < 0 short)."""
    n = close.shape[0]
    rows = np.count_nonzero(long_in) + np.count_nonzero(short_in) + 1
    trade_cols = np.zeros((7, rows))
    st = np.zeros(FIELDS)
    st[CASH] = init_cash
    stats = stats_new()
    prev, equity_sum = init_cash, 0.0
    cash, pos = init_cash, 0.0
    exposure = 0  # bars in a position
    for i in range(n):
        # a bar after one without a signal is only valued (the state in registers): the
        # step keeps it in memory, ~25 ns a bar
        if i > 0 and (long_in[i - 1] or long_out[i - 1] or short_in[i - 1]
                      or short_out[i - 1]):
            value = step(st, trade_cols, i, long_in[i - 1], long_out[i - 1], short_in[i - 1],
                         short_out[i - 1], price[i], close[i], fee, fixed_fee, slippage)
            cash, pos = st[CASH], st[POS]
        else:
            value = cash + pos * close[i]
        exposure += pos != 0.0
        if equity.shape[0] > 0:
            equity[i] = value
        equity_sum += value
        stats = stats_push(stats, value / prev - 1.0)
        prev = value
    k = close_open_trade(st, trade_cols, close[n - 1])
    return trade_cols[:, :k], exposure, st[TRADED], equity_sum, stats, prev
