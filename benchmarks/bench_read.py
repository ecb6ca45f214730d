"""Reading and validating a book from a database against reading it from CSV (issue 18,
item 3): the same generated book, read by ``read_portfolio`` from each source.

Protocol (benchmarks/README.md, section "Reading books from databases"):

1. Generate ``--n`` accounts (``generate_portfolio``, seed 5) and write them to CSV; load
   the same cells into SQLite and DuckDB twice each: with typed columns (numbers as
   REAL/DOUBLE/BIGINT, flags as BOOLEAN; what ``pandas.to_sql`` and DuckDB's CSV import
   make) and with every column text (TEXT / VARCHAR: the case that was slow, numbers and
   flags validated from text). PostgreSQL too when ``WORKOUT_TEST_PG_URL`` names a server
   (``.ci/run`` starts one): typed, printed as information. Not timed.
2. One untimed read of each source (imports, caches), then ``--repeats`` rounds, each
   reading every source once in turn (so they share the machine's load); the median
   wall and CPU time (``time.process_time``: every thread of this process; DuckDB and the
   CSV reader use threads) of each source.
3. Each database's portfolio is compared with the CSV's (``assert_frame_equal``).

Baselines in the same run: the CSV read, and for SQLite the sqlite3 module's own
``fetchall`` of the same table (the floor: its rows come as Python objects, see
docs/inputs.md). Thresholds (exit 1 on a MISS): every embedded source gives the CSV's
portfolio; DuckDB CPU about the CSV's (text ≤ 2×, typed ≤ 1.5×); SQLite CPU within a
margin of the driver's fetch (text ≤ 3.5×, typed ≤ 2.75×). SQLite against the CSV is
printed as ``info``: it was gated until session 22, when a clean CI machine failed this
suite with the text ratio nearest its gate (5.3-6.2x against 7x here): the CSV read had
halved (0.57 s of CPU in session 9, 0.23 s now) while SQLite's floor, the driver, had not.
CPU, not wall, is gated: the box is shared by several jobs, and wall time there includes
waiting.

Usage::

    PYTHONPATH=. python benchmarks/bench_read.py            # 200,000 accounts
    PYTHONPATH=. python benchmarks/bench_read.py --quick    # 100,000 accounts (CI)
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from thresholds import Threshold, report

from solver.core.generate import generate_portfolio
from solver.core.readers import read_portfolio
from solver.core.sources import BookSource

#: DuckDB CPU / CSV CPU. The aim is "as fast as CSV" (measured 0.79-1.33x text, 0.52-0.86x
#: typed at 100,000 accounts; main's before the Arrow fetch 8.0x and 3.5x). The gates are
#: regression guards with a margin, not the aim itself: the CSV read of the quick run is
#: only ~0.3 s of CPU, so a fresh CI machine measured text at 1.33x against a 1.3x gate
#: (session 9) while the same code measured 0.79x here.
MAX_DUCKDB_TEXT_RATIO = 2.0
MAX_DUCKDB_TYPED_RATIO = 1.5
#: SQLite CPU / the sqlite3 module's fetchall of the same table (the driver's floor, a
#: baseline that does not move when the CSV reader gets faster). Measured 2.5-2.8x text and
#: 1.9-2.0x typed at 100,000 accounts (session 22); the gates are regression guards with a
#: margin. Against the CSV read these were 4.3-6.2x and 2.2-3.5x, gated at 7x and 4.5x
#: until a clean CI machine failed the suite (the CSV read had halved since the gate).
MAX_SQLITE_TEXT_RATIO = 3.5
MAX_SQLITE_TYPED_RATIO = 2.75
PG_ENV = "WORKOUT_TEST_PG_URL"


def _load_sources(folder: Path, n: int) -> dict[str, object]:
    """The book written to CSV and loaded into the databases; source name -> what
    ``read_portfolio`` takes."""
    csv = folder / "book.csv"
    generate_portfolio(n, seed=5).to_csv(csv, index=False)
    typed = pd.read_csv(csv)
    as_text = pd.read_csv(csv, dtype=str, keep_default_na=False)
    sources: dict[str, object] = {"csv": csv}
    for name, frame in (("typed", typed), ("text", as_text)):
        url = f"sqlite:///{folder / f'{name}.db'}"
        engine = create_engine(url)
        frame.to_sql("accounts", engine, index=False, chunksize=50_000)
        engine.dispose()
        sources[f"sqlite ({name})"] = BookSource(url=url, table="accounts")
        sources[f"sqlite3 fetch ({name})"] = folder / f"{name}.db"
    for name, options in (("typed", ""), ("text", ", all_varchar = true")):
        path = folder / f"{name}.duckdb"
        with duckdb.connect(str(path)) as con:
            con.execute(f"create table accounts as select * from read_csv('{csv}'{options})")
        sources[f"duckdb ({name})"] = BookSource(url=f"duckdb:///{path}", table="accounts")
    return sources


def _postgres(frame: pd.DataFrame) -> tuple[str, str] | None:
    """The book loaded into the PostgreSQL test server: (URL, table), or None. A column
    ``seq`` keeps the file's order (a PostgreSQL table has no natural order: 112 of
    200,000 rows came back elsewhere); the reader drops it as an unknown column."""
    url = os.environ.get(PG_ENV, "")
    if not url:
        return None
    import adbc_driver_postgresql.dbapi as adbc  # the dev extra's (only with a server)

    table = f"bench_{uuid.uuid4().hex[:12]}"
    data = pa.Table.from_pandas(frame.assign(seq=range(len(frame))), preserve_index=False)
    uri = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with adbc.connect(uri) as connection, connection.cursor() as cursor:
        cursor.adbc_ingest(table, data)  # COPY: pandas' INSERTs take ten times as long
        connection.commit()
    return url, table


def _fetch_only(path: Path) -> int:
    """The driver's floor: every row of the table fetched by the sqlite3 module, no frame."""
    with closing(sqlite3.connect(path)) as connection:
        return len(connection.execute("select * from accounts").fetchall())


def _read(source: object) -> pd.DataFrame | int:
    """One timed read: ``read_portfolio`` of a source, or the sqlite3 fetch of a file."""
    if isinstance(source, Path) and source.suffix == ".db":
        return _fetch_only(source)
    return read_portfolio(source)  # type: ignore[arg-type]


def _timed(read: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    read()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 accounts (CI)")
    parser.add_argument("--n", type=int, default=None, help="accounts (default 200,000)")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default 5; 3)")
    args = parser.parse_args()
    n = args.n or (100_000 if args.quick else 200_000)
    repeats = args.repeats or (3 if args.quick else 5)
    warnings.simplefilter("ignore")  # the generated book's dpd_bucket column is recomputed
    with tempfile.TemporaryDirectory() as tmp:
        sources = _load_sources(Path(tmp), n)
        pg = _postgres(pd.read_csv(sources["csv"]))  # type: ignore[arg-type]
        if pg is not None:
            query = f"select * from {pg[1]} order by seq"
            sources["postgresql (typed)"] = BookSource(url=pg[0], query=query)
        try:
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in sources}
            untimed = {name: _read(source) for name, source in sources.items()}
            frames = {k: v for k, v in untimed.items() if isinstance(v, pd.DataFrame)}
            for _ in range(repeats):
                for name, source in sources.items():
                    times[name].append(_timed(lambda s=source: _read(s)))  # type: ignore[misc]
        finally:
            if pg is not None:
                engine = create_engine(pg[0])
                with engine.begin() as conn:
                    conn.execute(text(f"drop table if exists {pg[1]}"))
                engine.dispose()
    wall = {name: statistics.median(t[0] for t in runs) for name, runs in times.items()}
    cpu = {name: statistics.median(t[1] for t in runs) for name, runs in times.items()}
    differing = []
    for name, frame in frames.items():
        try:
            pd.testing.assert_frame_equal(frame, frames["csv"])
        except AssertionError:
            differing.append(name)
    print(f"{n:,} accounts, median of {repeats} rounds (baselines: csv; sqlite3 fetch)")
    print(f"{'source':22s} {'wall s':>8s} {'CPU s':>8s} {'wall ×':>7s} {'CPU ×':>7s}  same as CSV")
    for name in sources:
        same = "-" if name not in frames else "no" if name in differing else "yes"
        print(
            f"{name:22s} {wall[name]:8.2f} {cpu[name]:8.2f} {wall[name] / wall['csv']:7.2f} "
            f"{cpu[name] / cpu['csv']:7.2f}  {same}"
        )
    checks = [
        Threshold(
            "sources whose portfolio differs from the CSV's",
            len(differing),
            "==",
            0,
            "d",
            source="issue 18: same book, same validation",
        )
    ]
    for name, base, limit, source in (
        ("duckdb (text)", "csv", MAX_DUCKDB_TEXT_RATIO, "measured 0.79-1.33x; main's 8.0x"),
        ("duckdb (typed)", "csv", MAX_DUCKDB_TYPED_RATIO, "measured 0.52-0.86x; main's 3.5x"),
        ("sqlite (text)", "sqlite3 fetch (text)", MAX_SQLITE_TEXT_RATIO, "measured 2.5-2.8x"),
        ("sqlite (typed)", "sqlite3 fetch (typed)", MAX_SQLITE_TYPED_RATIO, "measured 1.9-2.0x"),
    ):
        checks.append(
            Threshold(
                f"{name} CPU / {base} CPU", cpu[name] / cpu[base], "<=", limit, ".2f", "x", source
            )
        )
    info = [
        f"{name}: CPU {cpu[name] / cpu['csv']:.2f}x the CSV's (not gated since session 22; "
        f"measured {measured})"
        for name, measured in (("sqlite (text)", "4.3-6.2x"), ("sqlite (typed)", "2.2-3.5x"))
    ]
    if pg is None:
        info.append(f"postgresql not measured: {PG_ENV} is not set")
    else:
        name = "postgresql (typed)"
        info.append(
            f"{name}: wall {wall[name] / wall['csv']:.2f}x, CPU {cpu[name] / cpu['csv']:.2f}x "
            "the CSV's (this process only: the server's work is not counted; not gated)"
        )
    return 0 if report(checks, info) else 1


if __name__ == "__main__":
    sys.exit(main())
