"""The Polars expression namespace ``pl.col(...).cift``, registered without loading the
features: its methods (:mod:`cift.features.namespace`) are imported on first use.

``import cift`` registers it when Polars is already loaded (a notebook that imported Polars
first), and so does the first use of any of cift's lazily imported names (``cift.connect``,
``cift.features``...), which load Polars anyway: ``pl.col("close").cift.ema(20)`` then works
without an ``import cift.features``.
"""

from __future__ import annotations

__all__ = ["register"]

_registered = False


class LazyFeatureNamespace:
    """``pl.col(...).cift.<feature>(...)``: :class:`cift.features.namespace.FeatureNamespace`,
    loaded when a feature is first asked for."""

    def __init__(self, expr: object) -> None:
        self._expr = expr

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):  # (copy, pickle and the like probe for these)
            raise AttributeError(name)
        from cift.features.namespace import FeatureNamespace

        return getattr(FeatureNamespace(self._expr), name)

    def __dir__(self) -> list[str]:  # (tab completion lists the features)
        from cift.features.namespace import FeatureNamespace

        return dir(FeatureNamespace)


def register() -> None:
    """Register ``.cift`` on Polars expressions (once per process)."""
    global _registered
    if not _registered:
        import polars as pl

        pl.api.register_expr_namespace("cift")(LazyFeatureNamespace)
        _registered = True
