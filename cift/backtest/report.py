"""Plotly figures of backtests: the tearsheet (price with trades, equity, drawdown), monthly
returns, and a sweep's metric over two parameters."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from cift.errors import ParameterError

__all__ = ["equity_figure", "monthly_heatmap", "sweep_heatmap", "tearsheet"]


def tearsheet(result, title: str = "Backtest") -> go.Figure:
    """Three stacked panels sharing the bar axis: close with entries (^) and exits (v), the
    equity curve, and the drawdown from the running peak (the start counting as a peak)."""
    curve = result.equity_frame()
    drawdown = curve["drawdown"].to_numpy()
    bars = curve["ts"] if "ts" in curve.columns else np.arange(len(result.equity))
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.5, 0.3, 0.2],
                        vertical_spacing=0.03,
                        subplot_titles=("price and trades", "equity", "drawdown"))
    fig.add_trace(go.Scattergl(x=bars, y=result.close, name="close", line_width=1), 1, 1)
    t = result.trades
    at = (lambda i: curve["ts"].gather(i)) if "ts" in curve.columns else (lambda i: i)
    fig.add_trace(go.Scattergl(x=at(t["entry_bar"]), y=result.close[t["entry_bar"].to_numpy()],
                               mode="markers", name="entry",
                               marker={"symbol": "triangle-up", "size": 8}), 1, 1)
    closed = t.filter(~t["open"])
    fig.add_trace(go.Scattergl(x=at(closed["exit_bar"]),
                               y=result.close[closed["exit_bar"].to_numpy()],
                               mode="markers", name="exit",
                               marker={"symbol": "triangle-down", "size": 8}), 1, 1)
    fig.add_trace(go.Scattergl(x=bars, y=result.equity, name="equity"), 2, 1)
    fig.add_trace(go.Scattergl(x=bars, y=drawdown, name="drawdown", fill="tozeroy"), 3, 1)
    m = result.metrics
    fig.update_layout(
        title=f"{title} — return {m['total_return']:.1%}, Sharpe {m['sharpe']:.2f}, "
              f"max drawdown {m['max_drawdown']:.1%}, {m['trades']} trades",
        height=700, showlegend=False)
    fig.update_yaxes(tickformat=".0%", row=3, col=1)
    return fig


def monthly_heatmap(monthly, title: str = "Monthly returns") -> go.Figure:
    """Years x months heatmap of a monthly returns frame (year, month, return)."""
    table = monthly.pivot("month", index="year", values="return", sort_columns=True)
    months = [c for c in table.columns if c != "year"]
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    z = table.select(months).to_numpy()
    fig = go.Figure(go.Heatmap(
        z=z, x=[names[int(m) - 1] for m in months], y=[str(y) for y in table["year"]],
        colorscale="RdYlGn", zmid=0, text=[[f"{v:.1%}" if np.isfinite(v) else "" for v in row]
                                           for row in z],
        texttemplate="%{text}", colorbar={"tickformat": ".0%"}))
    fig.update_layout(title=title, height=120 + 40 * table.height)
    return fig


def sweep_heatmap(grid: pl.DataFrame, x: str, y: str, metric: str = "sharpe",
                  title: str | None = None) -> go.Figure:
    """``metric`` of a sweep (or a labelled :func:`signal_grid`) over two of its parameters:
    ``x`` across, ``y`` down, one cell per combination, empty where none ran.

    >>> grid = sweep(sma_cross, bars, fast=[5, 10, 20], slow=[50, 100, 200])  # doctest: +SKIP
    >>> sweep_heatmap(grid, "slow", "fast")                                      # doctest: +SKIP
    """
    if not isinstance(grid, pl.DataFrame):
        raise ParameterError(f"grid: expected the Polars frame of a sweep, got "
                             f"{type(grid).__name__}")
    for name, column in (("x", x), ("y", y), ("metric", metric)):
        if column not in grid.columns:
            raise ParameterError(f"{name}: {column!r} is not a column of the grid (it has "
                                 f"{grid.columns})")
    if grid.select(x, y).is_duplicated().any():
        raise ParameterError(f"grid: several rows for one ({x}, {y}); keep one value of the "
                             f"other swept parameters first (grid.filter(...))")
    xs, ys = grid[x].unique().sort().to_numpy(), grid[y].unique().sort().to_numpy()
    z = np.full((len(ys), len(xs)), np.nan)
    z[np.searchsorted(ys, grid[y].to_numpy()), np.searchsorted(xs, grid[x].to_numpy())] = \
        grid[metric].cast(pl.Float64).to_numpy()
    signed = np.nanmin(z, initial=0.0) < 0.0 < np.nanmax(z, initial=0.0)
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(v) for v in xs], y=[str(v) for v in ys], colorscale="RdYlGn",
        zmid=0.0 if signed else None, colorbar_title=metric,
        text=[[f"{v:.3g}" if np.isfinite(v) else "" for v in row] for row in z],
        texttemplate="%{text}"))
    fig.update_layout(title=title or f"{metric} by {y} and {x}", xaxis_title=x,
                      yaxis_title=y, xaxis_type="category", yaxis_type="category",
                      height=160 + 40 * len(ys))
    return fig


def equity_figure(curve, metrics: dict, title: str = "Simulation", fills=None) -> go.Figure:
    """Equity and drawdown over time from an equity frame (ts, equity, drawdown); with
    ``fills`` (ts, side, price) of one symbol, a first panel marks its buys and sells."""
    panels = [("equity", curve["equity"]), ("drawdown", curve["drawdown"])]
    top = 0 if fills is None else 1
    fig = make_subplots(rows=2 + top, cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        row_heights=[0.4, 0.4, 0.2] if top else [0.7, 0.3],
                        subplot_titles=(("fills",) if top else ()) + ("equity", "drawdown"))
    if top:
        for side, marker in (("buy", "triangle-up"), ("sell", "triangle-down")):
            f = fills.filter(fills["side"] == side)
            fig.add_trace(go.Scattergl(x=f["ts"], y=f["price"], mode="markers", name=side,
                                       marker={"symbol": marker, "size": 6}), 1, 1)
    for row, (name, values) in enumerate(panels, start=1 + top):
        fig.add_trace(go.Scattergl(x=curve["ts"], y=values, name=name,
                                   fill="tozeroy" if name == "drawdown" else None), row, 1)
    fig.update_layout(
        title=f"{title} — return {metrics.get('total_return', float('nan')):.2%}, "
              f"{metrics.get('orders', 0)} orders, {metrics.get('fills', 0)} fills",
        height=700 if top else 550, showlegend=False)
    fig.update_yaxes(tickformat=".1%", row=2 + top, col=1)
    return fig
