"""Plotly tearsheet of a backtest: price with trades, equity, drawdown."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["tearsheet"]


def tearsheet(result, title: str = "Backtest") -> go.Figure:
    """Three stacked panels sharing the bar axis: close with entries (^) and exits (v), the
    equity curve, and the drawdown from the running peak (the start counting as a peak)."""
    bars = np.arange(len(result.equity))
    peak = np.maximum.accumulate(np.concatenate([[result.init_cash], result.equity]))[1:]
    drawdown = result.equity / peak - 1.0
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.5, 0.3, 0.2],
                        vertical_spacing=0.03,
                        subplot_titles=("price and trades", "equity", "drawdown"))
    fig.add_trace(go.Scattergl(x=bars, y=result.close, name="close", line_width=1), 1, 1)
    t = result.trades
    fig.add_trace(go.Scattergl(x=t["entry_bar"], y=result.close[t["entry_bar"].to_numpy()],
                               mode="markers", name="entry",
                               marker={"symbol": "triangle-up", "size": 8}), 1, 1)
    closed = t.filter(~t["open"])
    fig.add_trace(go.Scattergl(x=closed["exit_bar"],
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
