"""Reading a large portfolio in chunks of validated accounts (bounded memory):
:func:`iter_portfolio`.

CSV and Parquet files are read block by block; each block is validated like a whole file
(:func:`~solver.core.validation.validate_portfolio`: same checks, same messages, rows
numbered across the file), and account ids are checked for duplicates across blocks by
hashes of the ids seen so far. Smaller files and the other formats are read whole by
:func:`~solver.core.readers.read_portfolio`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.core.files import UTF8_BOM, check_input_file, input_format, text_codec
from solver.core.forecast import ForecastTable, combined_error, read_forecast, with_forecast
from solver.core.formats import csv_header
from solver.core.layouts import Layout
from solver.core.messages import plural
from solver.core.problems import ProblemLog
from solver.core.readers import read_portfolio
from solver.core.schema import MAX_PROBLEMS, SPECS, TEXT_KINDS, InputWarning, normalize_column_name
from solver.core.sources import BookSource
from solver.core.sql import ROW_NOTE, sql_chunks
from solver.core.tiering import TieringRules, tiering_rules
from solver.core.validation import UnknownColumns, validate_portfolio
from solver.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CHUNK_ROWS", "STREAM_MIN_BYTES", "iter_portfolio"]

#: About this many rows per chunk of :func:`iter_portfolio` (8 MB blocks of CSV text).
CHUNK_ROWS = 50_000
#: Files smaller than this are read whole by :func:`iter_portfolio` (one chunk).
STREAM_MIN_BYTES = 32 * 2**20


def iter_portfolio(
    path: str | os.PathLike[str] | BookSource,
    *,
    chunk_rows: int = CHUNK_ROWS,
    stream_min_bytes: int = STREAM_MIN_BYTES,
    tiering: TieringRules | str | os.PathLike[str] | None = None,
    unknown_columns: UnknownColumns | None = None,
    sheet: str | None = None,
    forecast: str | os.PathLike[str] | BookSource | None = None,
) -> Iterator[pd.DataFrame]:
    """Read and validate a portfolio in chunks of validated accounts (bounded memory).

    CSV and Parquet files of ``stream_min_bytes`` or more are streamed: each block of
    about ``chunk_rows`` rows is validated like :func:`~solver.core.readers.read_portfolio`
    (same checks, same messages, rows numbered across the whole file) and yielded; account
    ids are checked for duplicates across blocks (128-bit hashes of the ids seen so far,
    16 bytes per account). Smaller files, Excel, TOML and JSON are read whole and yielded as
    one chunk.

    Problems of every block are collected and raised together as one :class:`InputError`
    after the last block, exactly like :func:`~solver.core.readers.read_portfolio`; once a
    problem is found no further chunk is yielded. A caller must therefore not write any
    output before the iterator is exhausted (``workout validate`` only accumulates a
    summary). A file whose blocks cannot be streamed cleanly (invalid UTF-8, ragged rows)
    is re-read whole for the detailed message.

    With ``forecast`` (:func:`~solver.core.forecast.read_forecast`) every chunk gets the
    table's forecasts; the table's problems are reported with the portfolio's, and its
    accounts missing from the portfolio are reported after the last chunk.

    A database table or query (a :class:`~solver.core.sources.BookSource` with a URL) is
    fetched ``chunk_rows`` rows at a time (:func:`solver.core.sql.sql_chunks`) and validated
    chunk by chunk the same way, whatever its size (with ``forecast``: read whole). A file
    source with a column mapping or an encoding streams like its file (pyarrow transcodes
    the text, the layout is applied to each block).
    """
    if isinstance(path, BookSource) and (path.is_sql or forecast is not None):
        if forecast is not None:  # a table with forecasts: read whole
            yield read_portfolio(
                path,
                tiering=tiering,
                unknown_columns=unknown_columns,
                sheet=sheet,
                forecast=forecast,
            )
            return
        yield from _sql_chunks(path, chunk_rows, tiering, unknown_columns)
        return
    chunks = _iter_portfolio(
        path,
        chunk_rows=chunk_rows,
        stream_min_bytes=stream_min_bytes,
        tiering=tiering,
        unknown_columns=unknown_columns,
        sheet=sheet,
    )
    if forecast is None:
        yield from chunks
        return
    assert not isinstance(path, BookSource)  # a source with forecasts was read whole above
    fmt = input_format(Path(path))
    if fmt not in ("csv", "parquet") or check_input_file(path, fmt) < stream_min_bytes:
        # read whole: the table's accounts are checked against the portfolio with its rows
        yield with_forecast(lambda: next(chunks), forecast, book=str(path))
        return
    table: ForecastTable | None = None
    errors: list[InputError] = []
    try:
        table = read_forecast(forecast)
    except InputError as exc:
        errors.append(exc)
    found: set[str] = set()
    try:
        for chunk in chunks:
            if table is not None:  # else: read on, for the portfolio's own problems
                found.update(table.found_in(chunk["account_id"]))
                yield table.apply(chunk)
    except InputError as exc:
        errors.insert(0, exc)
    if errors:
        raise combined_error(errors)
    assert table is not None
    table.check_accounts(found, book=str(path))


def _iter_portfolio(
    path: str | os.PathLike[str] | BookSource,
    *,
    chunk_rows: int,
    stream_min_bytes: int,
    tiering: TieringRules | str | os.PathLike[str] | None,
    unknown_columns: UnknownColumns | None,
    sheet: str | None,
) -> Iterator[pd.DataFrame]:
    """Chunks of a file, or of a file :class:`BookSource` (a layout, an encoding)."""
    book = path if isinstance(path, BookSource) else BookSource(path=Path(path))
    assert book.path is not None
    path = book.path
    reread: Path | BookSource = path if book == BookSource(path=path) else book
    fmt = input_format(path)
    size = check_input_file(path, None if fmt == "xls" else fmt)
    if fmt not in ("csv", "parquet") or size < stream_min_bytes:
        yield read_portfolio(reread, tiering=tiering, unknown_columns=unknown_columns, sheet=sheet)
        return
    rules = tiering_rules(tiering)
    source = str(path)
    layout = book.layout
    aliases = dict(layout.columns) if layout is not None else None
    batches = (
        _csv_batches(path, source, chunk_rows, book.text_encoding, aliases)
        if fmt == "csv"
        else None
    )
    if batches is None and fmt == "csv":
        # not streamable cleanly: the whole-file reader gives the exact messages
        yield read_portfolio(reread, tiering=rules, unknown_columns=unknown_columns)
        return
    if fmt == "parquet":
        batches = _parquet_batches(path, source, chunk_rows)
        note = "row N = the Nth row of the table"
    else:
        note = "row N = the Nth data row below the header, i.e. line N+1 of the file"
    assert batches is not None  # csv returned above when not streamable
    yield from _validated_chunks(
        reread, batches, rules, unknown_columns or "warn", note, tiering, unknown_columns, layout
    )


def _sql_chunks(
    source: BookSource,
    chunk_rows: int,
    tiering: TieringRules | str | os.PathLike[str] | None,
    unknown_columns: UnknownColumns | None,
) -> Iterator[pd.DataFrame]:
    assert source.url is not None
    batches = sql_chunks(source.url, source.table, source.query, chunk_rows)
    yield from _validated_chunks(
        str(source),
        batches,
        tiering_rules(tiering),
        unknown_columns or "warn",
        ROW_NOTE,
        layout=source.layout,
    )


def _csv_batches(
    path: Path,
    source: str,
    chunk_rows: int,
    encoding: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> Iterator[Any] | None:
    """Record batches of a CSV read as text, or ``None`` if the head is not clean text in
    ``encoding`` (default UTF-8; a UTF-8 BOM wins); ``aliases`` are a layout's file column
    -> schema column (number columns are found by their schema name)."""
    import pyarrow as pa
    import pyarrow.csv as pv

    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if head.startswith(UTF8_BOM) or encoding is None or text_codec(encoding) == "utf-8":
        encoding = None
    cut = head.rfind(b"\n")
    try:
        text = head[: cut if cut > 0 else len(head)].decode(encoding or "utf-8")
    except (UnicodeDecodeError, LookupError):
        return None
    start, header = csv_header(text.encode("utf-8") if encoding else head, source)
    aliases = aliases or {}

    ragged: list[int] = []

    def on_invalid_row(row: Any) -> str:
        ragged.append(1)  # (an exception raised here would be printed, not propagated)
        return "skip"

    def batches() -> Iterator[Any]:
        import pyarrow.compute as pc

        # every column as text (a bad cell cannot stop the reader); number and flag columns
        # are then cast by pyarrow (the parser the whole-file reader uses) and left as text,
        # for the validator to explain, only when a cell does not parse
        casts = {}
        for name in header:
            spec = SPECS.get(aliases.get(name.strip()) or normalize_column_name(name))
            if spec is not None and spec.kind not in TEXT_KINDS:
                casts[name] = pa.bool_() if spec.kind == "bool" else pa.float64()
        reader = pv.open_csv(
            path,
            read_options=pv.ReadOptions(
                use_threads=False,
                block_size=max(1 << 20, min(1 << 23, chunk_rows * 160)),
                encoding=encoding or "utf8",
            ),
            parse_options=pv.ParseOptions(invalid_row_handler=on_invalid_row),
            convert_options=pv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
            ),
        )
        for batch in reader:
            if ragged:
                raise _NotStreamable()
            table = pa.Table.from_batches([batch])
            for name, kind in casts.items():
                k = table.column_names.index(name)
                try:
                    table = table.set_column(k, name, pc.cast(table.column(k), kind))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass
            yield table
        if ragged:
            raise _NotStreamable()

    return batches()


def _parquet_batches(path: Path, source: str, chunk_rows: int) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{source}: not a readable Parquet file ({exc})") from None
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        yield pa.Table.from_batches([batch])


class _NotStreamable(Exception):
    """A CSV block that the whole-file reader must explain (a ragged row)."""


def _validated_chunks(
    path: Path | BookSource | str,
    batches: Iterator[Any],
    rules: TieringRules | None,
    unknown_columns: UnknownColumns,
    note: str,
    tiering: Any = None,
    unknown_arg: UnknownColumns | None = None,
    layout: Layout | None = None,
) -> Iterator[pd.DataFrame]:
    """Validated chunks of ``batches`` (pyarrow tables of a file, or pandas frames of a
    database with its ``layout``); ``path`` is a file (re-read whole to explain a block that
    cannot be streamed) or a database's name."""
    import pandas as pd
    import pyarrow as pa

    source = str(path)
    offset = 0
    lines: list[str] = []
    total = 0
    seen: list[tuple[np.ndarray, np.ndarray]] = []  # per block: sorted id hashes, their rows
    warned: set[str] = set()
    try:
        for table in batches:
            raw = table if isinstance(table, pd.DataFrame) else table.to_pandas()
            n = len(raw)
            rows = np.arange(offset + 1, offset + n + 1)
            log = ProblemLog(source, rows)
            if layout is not None:
                raw, _ = layout.apply(raw)
                log.labels = layout.labels()
            hashes, blank = _id_hashes(raw)
            dup = np.zeros(n, dtype=bool)
            if hashes is not None and seen:
                dup, first = _seen_before(seen, hashes, blank)
                ids = raw.loc[:, _id_column(raw)].astype(str).str.strip()

                def duplicate(i: int, ids: Any = ids, first: Any = first) -> str:
                    return f"duplicate account_id {ids.iloc[i]!r} (first in row {first[i]})"

                log.add("account_id", dup, duplicate)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", InputWarning)
                try:
                    frame = validate_portfolio(
                        raw,
                        source,
                        tiering=rules,
                        unknown_columns=unknown_columns,
                        row_numbers=rows,
                        problems=log,
                        row_note=note,
                    )
                except InputError:
                    frame = None
            for w in caught:
                if str(w.message) not in warned:
                    warned.add(str(w.message))
                    warnings.warn(str(w.message), w.category, stacklevel=3)
            if frame is None:
                total += log.count
                for line in log.lines(MAX_PROBLEMS):
                    if line.startswith("... and ") or line in lines:
                        continue
                    if len(lines) < MAX_PROBLEMS:
                        lines.append(line)
                if log.file_level:
                    break  # a header problem repeats in every block: stop reading
            if hashes is not None:
                # remember first occurrences only (a repeat within the block is reported by
                # validate_portfolio, a repeat of an earlier block above)
                again = pd.MultiIndex.from_arrays([hashes[:, 0], hashes[:, 1]]).duplicated()
                order = np.flatnonzero(~blank & ~dup & ~np.asarray(again))
                order = order[np.argsort(hashes[order, 0], kind="stable")]
                seen.append((hashes[order], rows[order]))
                # merge equal-sized runs (binary-counter style): O(log n) runs to search
                while len(seen) > 1 and len(seen[-1][1]) >= len(seen[-2][1]):
                    (h_a, r_a), (h_b, r_b) = seen.pop(-2), seen.pop()
                    merged_h, merged_r = np.concatenate([h_a, h_b]), np.concatenate([r_a, r_b])
                    by_hash = np.argsort(merged_h[:, 0], kind="stable")
                    seen.append((merged_h[by_hash], merged_r[by_hash]))
            offset += n
            if frame is not None and total == 0:
                yield frame
    except (_NotStreamable, pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if isinstance(path, str):  # a database: nothing to re-read
            raise
        # the whole-file reader explains it (row, column); if it finds nothing, say what failed
        read_portfolio(path, tiering=tiering, unknown_columns=unknown_arg)
        what = "a row has the wrong number of fields" if isinstance(exc, _NotStreamable) else exc
        raise InputError(f"{source}: cannot read as CSV ({what})") from None
    if total:
        if total > len(lines):
            lines.append(f"... and {plural(total - len(lines), 'more problem')}")
        head = f"{source}: {plural(total, 'problem')} found; nothing was read ({note})"
        raise InputError(head, lines)
    if offset == 0:
        what = (
            "no rows (the table or query is empty)"
            if isinstance(path, str)
            else ("header only, no data rows")
        )
        raise InputError(f"{source}: {what}")


def _id_column(raw: pd.DataFrame) -> Any:
    for column in raw.columns:
        if normalize_column_name(column) == "account_id":
            return column
    return None


def _id_hashes(raw: pd.DataFrame) -> tuple[np.ndarray | None, np.ndarray]:
    """Two independent 64-bit hashes per account id (blank ids flagged)."""
    import pandas as pd

    column = _id_column(raw)
    if column is None:
        return None, np.zeros(len(raw), dtype=bool)
    ids = raw[column].astype(str).str.strip().to_numpy(dtype=object)
    blank = pd.isna(raw[column]).to_numpy() | (ids == "")
    h1 = pd.util.hash_array(ids, hash_key="workout-ids-0001")
    h2 = pd.util.hash_array(ids, hash_key="workout-ids-0002")
    return np.stack([h1, h2], axis=1), blank


def _seen_before(
    seen: list[tuple[np.ndarray, np.ndarray]], hashes: np.ndarray, blank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose id was seen in an earlier block, and the row it was first seen in."""
    dup = np.zeros(len(hashes), dtype=bool)
    first = np.zeros(len(hashes), dtype=np.int64)
    for known, known_rows in seen:  # ids are unique across runs: at most one match
        left = np.searchsorted(known[:, 0], hashes[:, 0], side="left")
        right = np.searchsorted(known[:, 0], hashes[:, 0], side="right")
        for i in np.flatnonzero((right > left) & ~blank & ~dup):  # almost always 1 candidate
            for k in range(left[i], right[i]):
                if known[k, 1] == hashes[i, 1]:
                    dup[i] = True
                    first[i] = known_rows[k]
                    break
    return dup, first
