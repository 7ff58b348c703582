"""The ``cift`` command: demo, ingest, catalog, bars, compact, db, copy, kernel, version.

Bad input ends with one line on stderr (``cift: error: ...``) and exit status 2;
a failed notebook job exits 1.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from cift._version import __version__
from cift.errors import CiftError, JobError, ParameterError

__all__ = ["main"]

_EPILOG = """\
examples:
  cift demo                                  build the demo market and run the data tour
  cift ingest trades.csv --symbol AAPL       import a file of one symbol's trades
  cift ingest data/ --map ts=time,price=px --ts-unit ms
  cift catalog                               what is stored
  cift bars AAPL,MSFT --interval 5m --start 2024-01-02 --out bars.parquet
  cift db init postgresql://me@db/research   create cift's tables in PostgreSQL
  cift copy --to postgresql://me@db/research --symbols AAPL,MSFT --start 2024-01-01

The store is the embedded lake under CIFT_HOME (default ~/.cift) unless --store or
CIFT_STORE names another.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cift", description="cift: market data, features, backtests and live trading "
        "from Jupyter.", epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def store_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--store", metavar="URL",
                        help="store URL (default: CIFT_STORE, else the lake under CIFT_HOME)")

    d = sub.add_parser("demo", help="build a synthetic market and run the data-tour notebook")
    d.add_argument("--home", type=Path, help="where the lake and reports go (default CIFT_HOME)")
    d.add_argument("--symbols", type=int, default=20, help="number of symbols (default 20)")
    d.add_argument("--sessions", type=int, default=5, help="trading days (default 5)")
    d.add_argument("--ticks-per-session", type=int, default=40_000,
                   help="mean trades per symbol per day (default 40000)")
    d.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    d.add_argument("--no-notebook", action="store_true", help="only build the market")

    i = sub.add_parser("ingest", help="import CSV/Parquet files of ticks or quotes")
    i.add_argument("paths", nargs="+", type=Path,
                   help="files (.csv, .tsv, .txt, compressed .gz .bz2 .zst .lz4, a .zip of "
                        "one CSV, .parquet), or directories of them")
    i.add_argument("--table", choices=["ticks", "quotes"],
                   help="what the files hold (default: inferred from the columns)")
    i.add_argument("--map", dest="columns", metavar="NAME=COLUMN,...",
                   help="rename file columns to cift's, e.g. ts=time,price=px,size=qty; "
                        "ts=Date+Time joins a date and a time column")
    i.add_argument("--symbol", help="the symbol of every row (files without a symbol column)")
    i.add_argument("--ts-unit", choices=["s", "ms", "us", "ns"],
                   help="unit of epoch timestamps (default: inferred)")
    i.add_argument("--tz", help="time zone of naive timestamps (default UTC)")
    i.add_argument("--ts-format", metavar="FORMAT",
                   help="strftime layout of text timestamps, e.g. '%%m/%%d/%%Y %%H:%%M:%%S' "
                        "(default: ISO 8601, epoch digits, or d/m/Y vs m/d/Y as the dates "
                        "prove)")
    order = i.add_mutually_exclusive_group()
    order.add_argument("--day-first", dest="day_first", action="store_const", const=True,
                       help="dates like 03/01/2024 are day/month/year (default: as the "
                            "dates prove; a file of only days 1 to 12 proves neither)")
    order.add_argument("--month-first", dest="day_first", action="store_const", const=False,
                       help="dates like 03/01/2024 are month/day/year")
    i.add_argument("--separator", help="CSV field separator (default: tab for .tsv, else "
                   "the one of , ; tab | the header line has most of)")
    i.add_argument("--no-header", dest="header", action="store_false",
                   help="CSV files without a header line: their columns are column_1, "
                        "column_2... for --map, e.g. ts=column_5,price=column_2")
    i.add_argument("--decimal-comma", action="store_true",
                   help="CSV numbers with a decimal comma (185,30), as European exports")
    i.add_argument("--buyer-maker", action="store_true",
                   help="read the side from a buyer-is-maker flag (Binance's trades: true = "
                        "a sell, false = a buy): the is_buyer_maker column, or the one "
                        "mapped to side")
    store_arg(i)

    c = sub.add_parser("catalog", help="list what is stored")
    store_arg(c)

    b = sub.add_parser("bars", help="build bars from stored ticks and export them")
    b.add_argument("symbols", help="comma-separated symbols, or 'all'")
    b.add_argument("--interval", default="1m", help="bar length: 1s, 5m, 1h, 1d ... (default 1m)")
    b.add_argument("--start", help="first instant (ISO date/time, UTC unless an offset is given)")
    b.add_argument("--end", help="end instant, exclusive")
    b.add_argument("--out", type=Path, help="write to a .csv or .parquet file (default: print)")
    store_arg(b)

    m = sub.add_parser("compact", help="merge each partition's parts into one file")
    store_arg(m)

    db = sub.add_parser("db", help="create or upgrade cift's tables in a database")
    db.add_argument("action", choices=["init", "migrate"],
                    help="init: create the tables; migrate: apply pending schema migrations")
    db.add_argument("url", help="database URL, e.g. postgresql://user@host:5432/dbname")

    cp = sub.add_parser("copy", help="copy ticks and quotes from one store to another")
    cp.add_argument("--from", dest="source", metavar="URL",
                    help="source store (default: CIFT_STORE, else the lake under CIFT_HOME)")
    cp.add_argument("--to", dest="target", metavar="URL", required=True, help="target store")
    cp.add_argument("--symbols", help="comma-separated symbols (default: all)")
    cp.add_argument("--start", help="first instant (ISO date/time, UTC unless an offset is given)")
    cp.add_argument("--end", help="end instant, exclusive")

    k = sub.add_parser("kernel", help="install the 'Python (cift)' Jupyter kernel")
    k.add_argument("action", choices=["install"])
    where = k.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for this user (default)")
    where.add_argument("--sys-prefix", action="store_true", help="into this environment")
    where.add_argument("--prefix", type=Path, help="under this prefix")

    sub.add_parser("version", help="print the cift version")
    return p


def _connect(url: str | None):
    from cift.store import connect

    return connect(url)


def _cmd_demo(args: argparse.Namespace) -> None:
    from cift.jobs.demo import run_demo

    print(run_demo(args.home, symbols=args.symbols, sessions=args.sessions,
                   ticks_per_session=args.ticks_per_session, seed=args.seed,
                   notebooks=not args.no_notebook, progress=sys.stderr.isatty()))


def _cmd_ingest(args: argparse.Namespace) -> None:
    from cift.data.importer import parse_column_map

    store = _connect(args.store)
    result = store.ingest(args.paths, progress=sys.stderr.isatty(), table=args.table,
                          columns=parse_column_map(args.columns), symbol=args.symbol,
                          ts_unit=args.ts_unit, tz=args.tz, ts_format=args.ts_format,
                          day_first=args.day_first, separator=args.separator, header=args.header,
                          decimal_comma=args.decimal_comma, buyer_maker=args.buyer_maker)
    print(f"ingested {result.rows:,} rows into {store.url}"
          + (f" ({result.skipped_rows:,} already there, skipped)" if result.skipped_rows else ""))


def _cmd_catalog(args: argparse.Namespace) -> None:
    catalog = _connect(args.store).catalog()
    with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True, tbl_width_chars=120):
        print(catalog if catalog.height else "the store is empty (try `cift demo`)")


def _cmd_bars(args: argparse.Namespace) -> None:
    out = args.out
    if out is not None:  # (before the bars are built, which can take a while)
        if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise ParameterError(f"--out: {out} must end in .csv or .parquet")
        if not out.parent.is_dir():
            raise ParameterError(f"--out: the directory {out.parent} does not exist")
    store = _connect(args.store)
    symbols = None if args.symbols == "all" else [s for s in args.symbols.split(",") if s]
    bars = store.bars(symbols, args.interval, args.start, args.end)
    # say which symbols have no bars, rather than leave them out of the table unsaid
    barless = sorted(set(symbols) - set(bars.get_column("symbol").unique())) if symbols else []
    if barless or bars.height == 0:
        span = "" if args.start is None and args.end is None else " in that range"
        print(f"no ticks{' of ' + ', '.join(barless) if barless else ''} in {store.url}{span}",
              file=sys.stderr)
    if out is None:
        with pl.Config(tbl_rows=20, tbl_width_chars=120):
            print(bars)
        return
    try:
        if out.suffix.lower() == ".csv":
            bars.write_csv(out)
        else:
            bars.write_parquet(out)
    except OSError as exc:
        raise ParameterError(f"--out: cannot write {out}: {exc.strerror or exc}") from None
    print(f"wrote {bars.height:,} bars to {out}")


def _cmd_compact(args: argparse.Namespace) -> None:
    store = _connect(args.store)
    if not hasattr(store, "compact"):
        raise ParameterError(f"{store.url} does not need compaction")
    merged = store.compact(progress=sys.stderr.isatty())
    print(f"merged away {merged:,} part files in {store.url}")


def _cmd_db(args: argparse.Namespace) -> None:
    store = _connect(args.url)  # opening a database applies pending migrations
    try:
        if not hasattr(store, "migrate"):
            raise ParameterError(f"{store.url} has no schema to {args.action}")
        applied = getattr(store, "applied", None) or store.migrate()
        version = store.version()
    finally:
        store.close()
    if applied:
        print(f"{store.url}: applied migration(s) {applied}; schema at version {version}")
    else:
        print(f"{store.url}: already at version {version}, nothing to do")


def _cmd_copy(args: argparse.Namespace) -> None:
    from cift.store.copy import copy_store

    if args.source is not None and args.source == args.target:
        raise ParameterError("--from and --to name the same store")
    symbols = None if not args.symbols else [s for s in args.symbols.split(",") if s]
    source = _connect(args.source)
    try:
        target = _connect(args.target)
        try:
            result = copy_store(source, target, symbols, args.start, args.end,
                                progress=sys.stderr.isatty())
        finally:
            target.close()
    finally:
        source.close()
    print(f"copied {result.rows:,} rows from {source.url} to {target.url}"
          + (f" ({result.skipped_rows:,} already there, skipped)" if result.skipped_rows else ""))


def _cmd_kernel(args: argparse.Namespace) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    from cift.jobs.notebooks import KERNEL_NAME, jupyter_data_dir

    source = jupyter_data_dir() / "kernels" / KERNEL_NAME
    prefix = str(args.prefix) if args.prefix else (sys.prefix if args.sys_prefix else None)
    where = KernelSpecManager().install_kernel_spec(
        str(source), KERNEL_NAME, user=prefix is None, prefix=prefix)
    print(f"installed the 'Python (cift)' kernel in {where}")


_COMMANDS = {"demo": _cmd_demo, "ingest": _cmd_ingest, "catalog": _cmd_catalog,
             "bars": _cmd_bars, "compact": _cmd_compact, "db": _cmd_db, "copy": _cmd_copy,
             "kernel": _cmd_kernel,
             "version": lambda args: print(f"cift {__version__}")}


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line, as errors are (not the source line Python shows)."""
    print(f"cift: warning: {message}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():  # (restores the usual display after)
            warnings.showwarning = _show_warning
            _COMMANDS[args.command](args)
    except JobError as exc:
        print(f"cift: error: {exc}", file=sys.stderr)
        return 1
    except CiftError as exc:
        print(f"cift: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cift: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
