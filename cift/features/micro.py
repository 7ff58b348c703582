"""Microstructure features on trades and L1 quotes, with the column names of the data model
(ticks: ts, price, size, side; quotes: ts, bid_px, bid_sz, ask_px, ask_sz)::

    from cift import features as ft
    ft.ofi(q["bid_px"], q["bid_sz"], q["ask_px"], q["ask_sz"], 100)      # over 100 updates
    ft.ofi_time(q["ts"], q["bid_px"], q["bid_sz"], q["ask_px"], q["ask_sz"], "1s")
    ft.vpin(t["size"], t["side"], bucket_volume=50_000, window=50)

Each has a batch kernel and a streaming step (micro_kernels.py); the streaming twin
(``stream.ofi(100)``) gives the batch values. Time-window features take ``ts``
as datetimes or int64 epoch nanoseconds, never decreasing, and a window like ``"1s"``.
"""

from __future__ import annotations

from collections.abc import Callable

from cift.features import api
from cift.features import micro_kernels as mk
from cift.features.api import _define
from cift.features.registry import Layout, Param

__all__ = ["LAYOUTS"]

_BIG = 100_000
_SPAN = 2**53  # nanoseconds (about 104 days): durations stay exact in the float64 state


def _window_state(head: list[float], capacity: int, rings: int) -> list[float]:
    return head + [0.0] * 5 + [float(capacity)] + [0.0] * (rings * capacity)


LAYOUTS: dict[str, Layout] = {
    "spread": Layout(lambda: [0.0, 0.0], mk.spread_step, mk.spread_many),
    "spread_bps": Layout(lambda: [0.0, 0.0], mk.spread_bps_step, mk.spread_bps_many),
    "quote_imbalance": Layout(lambda: [0.0, 0.0], mk.quote_imbalance_step,
                              mk.quote_imbalance_many),
    "microprice": Layout(lambda: [0.0, 0.0], mk.microprice_step, mk.microprice_many),
    "weighted_mid": Layout(lambda: [0.0, 0.0], mk.weighted_mid_step, mk.weighted_mid_many),
    "ofi": Layout(lambda timeperiod: [0, 0, timeperiod] + [0.0] * (5 + timeperiod),
                  mk.ofi_step, mk.ofi_many),
    "trade_imbalance": Layout(lambda timeperiod: [0, 0, timeperiod, 0] + [0.0] * timeperiod,
                              mk.trade_imbalance_step, mk.trade_imbalance_many),
    "volume_imbalance": Layout(lambda timeperiod: [0, 0, timeperiod, 0, 0]
                               + [0.0] * (2 * timeperiod),
                               mk.volume_imbalance_step, mk.volume_imbalance_many),
    "kyle_lambda": Layout(lambda timeperiod: [0, 0, timeperiod] + [0.0] * (5 + 4 * timeperiod),
                          mk.kyle_lambda_step, mk.kyle_lambda_many),
    "vpin": Layout(lambda bucket_volume, window: [0, 0, bucket_volume, window, 0, 0, 0, 0]
                   + [0.0] * window, mk.vpin_step, mk.vpin_many),
    "realized_vol": Layout(lambda interval: [0, 0, interval, 0, 0, 0],
                           mk.realized_vol_step, mk.realized_vol_many),
    "ofi_time": Layout(lambda window, capacity: _window_state([0, 0, window] + [0.0] * 5,
                                                              capacity, 2),
                       mk.ofi_time_step, mk.ofi_time_many, windowed=True),
    "vwap_time": Layout(lambda window, capacity: _window_state([0, 0, window, 0, 0], capacity, 3),
                        mk.vwap_time_step, mk.vwap_time_many, windowed=True),
}


def _micro(name: str, inputs: tuple[str, ...], params: tuple[Param, ...],
           lookback: Callable[..., int], summary: str, work: int = 0) -> None:
    _define(name, getattr(mk, f"{name}_into"), inputs, params, ("real",), lookback, summary,
            "microstructure", work=work)


def _count(default: int, lo: int = 1, name: str = "timeperiod") -> Param:
    return Param(name, default, lo, _BIG)


def _duration(name: str, default: int, lo: int = 1) -> Param:
    return Param(name, default, lo, _SPAN, duration=True)


_QUOTE = ("bid_px", "bid_sz", "ask_px", "ask_sz")
_SECOND = 1_000_000_000

_micro("spread", ("bid_px", "ask_px"), (), lambda: 0, "Quoted spread: ask - bid.")
_micro("spread_bps", ("bid_px", "ask_px"), (), lambda: 0,
       "Quoted spread in basis points of the mid: (ask - bid) / mid * 1e4.")
_micro("quote_imbalance", ("bid_sz", "ask_sz"), (), lambda: 0,
       "L1 size imbalance (bid_sz - ask_sz) / (bid_sz + ask_sz), in [-1, 1]; 0 on an empty book.")
_micro("microprice", _QUOTE, (), lambda: 0,
       "Micro-price: the mid leaned toward the thinner side, (bid * ask_sz + ask * bid_sz) / "
       "(bid_sz + ask_sz) (Stoikov's weighted mid I*ask + (1-I)*bid, I the bid's share of "
       "the size).")
_micro("weighted_mid", _QUOTE, (), lambda: 0,
       "Size-weighted mid: the average touch price weighted by its own size, (bid * bid_sz + "
       "ask * ask_sz) / (bid_sz + ask_sz).")
_micro("ofi", _QUOTE, (_count(100),), lambda timeperiod: timeperiod,
       "Order-flow imbalance (Cont, Kukanov, Stoikov) summed over the last timeperiod quote "
       "updates.")
_micro("ofi_time", ("ts",) + _QUOTE, (_duration("window", _SECOND),), lambda window: 0,
       "Order-flow imbalance summed over the quote updates in (ts - window, ts].", work=1)
_micro("trade_imbalance", ("side",), (_count(100),), lambda timeperiod: timeperiod - 1,
       "Trade-sign imbalance: the mean side (+1 buy, -1 sell, 0 unknown) of the last "
       "timeperiod trades.")
_micro("volume_imbalance", ("size", "side"), (_count(100),), lambda timeperiod: timeperiod - 1,
       "Signed-volume imbalance: sum(side * size) / sum(size) over the last timeperiod trades.")
_micro("kyle_lambda", ("price", "size", "side"), (_count(100, 2),),
       lambda timeperiod: timeperiod,
       "Kyle's lambda: OLS slope of price changes on signed volume over the last timeperiod "
       "trades (NaN when signed volume does not vary).")
_micro("vpin", ("size", "side"),
       (Param("bucket_volume", 10_000.0, 1e-9, 3e37, integer=False), _count(50, name="window")),
       lambda bucket_volume, window: 0,
       "VPIN: mean |buy - sell| volume of the last window volume buckets over bucket_volume "
       "(NaN until window buckets are full).")
_micro("realized_vol", ("ts", "price"), (_duration("interval", 300 * _SECOND, 1000),),
       lambda interval: 0,
       "Realized volatility of the interval so far: sqrt of summed squared log returns between "
       "its trades (intervals are ts floored to interval; 0 at an interval's first trade).")
_micro("vwap_time", ("ts", "price", "volume"), (_duration("window", 60 * _SECOND),),
       lambda window: 0, "Volume-weighted average price of the trades in (ts - window, ts].")

# the functions _define made, importable from here (cift.features re-exports them)
globals().update({_name: getattr(api, _name) for _name in LAYOUTS})
__all__ += sorted(LAYOUTS)
