"""Backtests: signal research (from_signals), metrics."""
