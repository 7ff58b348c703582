"""The top-level package: its names, and that importing it loads no store or Numba code."""

import subprocess
import sys

import pytest


def _output(code: str) -> str:
    """What a fresh interpreter running ``code`` prints."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout


def test_import_cift_loads_no_store_and_names_resolve_on_use():
    code = ("import sys, cift\n"
            "print(sorted(m for m in ('cift.store', 'cift.data.bars', 'numba', 'polars')"
            " if m in sys.modules))\n"
            "ns = {}\n"
            "exec('from cift import *', ns)\n"
            "print(all(n in ns for n in cift.__all__), callable(cift.connect),"
            " 'cift.store' in sys.modules)")
    out = _output(code).splitlines()
    assert out == ["[]", "True True True"]


def test_unknown_name_is_an_attribute_error():
    import cift

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cift.nope  # noqa: B018
    assert cift.Lake is cift.store.Lake and "connect" in dir(cift)


def test_subpackages_and_the_backtest_names_resolve_after_a_plain_import():
    # cift.features.rsi(...), cift.backtest.from_signals(...), cift.sweep(...) as the docs
    # write them, with nothing but `import cift` before
    code = ("import cift\n"
            "print(cift.features.rsi([1.0, 2.0, 3.0], 2).tolist()[-1],"
            " cift.backtest.from_signals.__name__, cift.sweep is cift.backtest.sweep,"
            " cift.Strategy is cift.strategy.Strategy, 'features' in dir(cift),"
            " cift.data.synthetic.synthetic_market is cift.synthetic_market)")
    out = _output(code).split()
    assert out == ["100.0", "from_signals", "True", "True", "True", "True"]


@pytest.mark.parametrize("first", ["import polars as pl, cift",  # a notebook's order
                                   "import cift; import polars as pl; cift.connect"])
def test_the_polars_namespace_needs_no_import_of_cift_features(first):
    code = (f"{first}\nimport sys\nloaded = 'cift.features' in sys.modules\n"
            "out = pl.DataFrame({'c': [1.0, 2.0, 4.0]}).select(pl.col('c').cift.sma(2))\n"
            "print(loaded, out.to_series().to_list()[1:], 'ema' in dir(pl.col('c').cift))")
    out = _output(code).split(maxsplit=1)
    assert out == ["False", "[1.5, 3.0] True\n"]  # (the features loaded on first use)
