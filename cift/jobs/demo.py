"""The demo: a synthetic market in the embedded lake, the data-tour notebook run on it."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from cift.config import load_settings
from cift.data.synthetic import synthetic_market
from cift.errors import JobError
from cift.jobs.notebooks import NotebookRun, run_notebook
from cift.store.lake import Lake

__all__ = ["DemoSummary", "notebooks_dir", "run_demo"]

DEMO_NOTEBOOKS = ("01_data_tour.ipynb", "02_features.ipynb", "03_backtest.ipynb")


@dataclass(frozen=True)
class DemoSummary:
    """What the demo built and where to look."""

    lake: Path
    ticks: int
    quotes: int
    skipped: int
    symbols: int
    sessions: int
    seconds: dict[str, float]
    runs: tuple[NotebookRun, ...]

    def __str__(self) -> str:
        lines = [
            f"cift demo: {self.symbols} symbols x {self.sessions} "
            f"session{'s' if self.sessions != 1 else ''}",
            f"  lake       {self.lake}",
            f"  stored     {self.ticks:,} ticks, {self.quotes:,} quotes"
            + (f" ({self.skipped:,} rows already there, skipped)" if self.skipped else ""),
        ]
        lines += [f"  {k:<10} {v:.2f} s" for k, v in self.seconds.items()]
        for run in self.runs:
            lines += [f"  notebook   {run.notebook}", f"  report     {run.html}"]
        lines.append("Open the report in a browser, or the notebook in JupyterLab "
                     "(`cift kernel install` once, then pick the 'Python (cift)' kernel).")
        return "\n".join(lines)


def notebooks_dir() -> Path:
    """The notebooks that ship with cift (in an installed wheel, or the checkout's)."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_jupyter" / "notebooks", package.parent / "notebooks"):
        if candidate.is_dir():
            return candidate
    raise JobError("the cift notebooks are missing from this installation")


def run_demo(
    home: str | Path | None = None,
    *,
    symbols: int = 20,
    sessions: int = 5,
    ticks_per_session: int = 40_000,
    seed: int = 7,
    notebooks: bool = True,
    progress: bool = True,
) -> DemoSummary:
    """Build the synthetic demo market in the lake under ``home`` and run the demo notebooks.

    Running it again is cheap: the lake recognizes batches it already holds and skips them.
    """
    settings = load_settings()
    home = Path(home).expanduser().resolve() if home else settings.home
    lake = Lake(home / "lake")
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    market = synthetic_market(symbols, sessions, ticks_per_session=ticks_per_session, seed=seed)
    seconds["generate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    wrote = lake.write("ticks", market.ticks, source="synthetic")
    wrote += lake.write("quotes", market.quotes, source="synthetic")
    seconds["store"] = time.perf_counter() - t0

    runs = []
    if notebooks:
        out_dir = home / "runs" / f"demo-{dt.datetime.now():%Y%m%d-%H%M%S}"
        for name in DEMO_NOTEBOOKS:
            t0 = time.perf_counter()
            runs.append(run_notebook(notebooks_dir() / name, out_dir,
                                     {"store_url": lake.url}, progress=progress))
            seconds["nb " + name.split("_", 1)[0]] = time.perf_counter() - t0
    return DemoSummary(lake.root, market.ticks.height, market.quotes.height,
                       wrote.skipped_rows, symbols, sessions, seconds, tuple(runs))
