"""Books from databases and from a bank's own layout (issue 18, items 3 and 4).

* A column-mapping file (``--columns``) and a CSV encoding (``--encoding``): the shipped
  Chinese core-banking layout reads a GB18030 export built here by hand (the test's own
  renaming, not the code's), problems name the file's own column, wrong encodings exit 2.
* Databases (``--db URL --table/--query``): SQLite and DuckDB (embedded) always; PostgreSQL when
  ``WORKOUT_TEST_PG_URL`` names a server (``.ci/run`` starts one), else skipped on a
  developer's machine and failed under ``CI=true`` (the convention of tests/test_audit.py).
  Missing tables, columns and servers exit 2 without a traceback or a password; tables are
  validated chunk by chunk; results are written back in one transaction.
* Acceptance: the same book from CSV, Parquet, Excel, SQLite, DuckDB and PostgreSQL gives
  byte-identical ``plan-portfolio`` output.
"""

from __future__ import annotations

import tomllib
import uuid
from pathlib import Path

import pandas as pd
import pytest
from cli_inprocess import run_workout as invoke
from pg_helpers import postgres_schema, postgres_url
from sqlalchemy import create_engine, text

from solver.core import sql
from solver.core.generate import generate_portfolio
from solver.core.layouts import read_layout
from solver.core.readers import read_portfolio
from solver.core.sources import BookSource
from solver.core.streaming import iter_portfolio
from solver.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = ROOT / "scenarios" / "layouts" / "cn_core_banking.toml"
N = 12  # accounts of the test book: planning cost, not coverage, sets the size
EMBEDDED = {"sqlite": "bank.db", "duckdb": "bank.duckdb"}  # dialect: the database file


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A small generated book as CSV and its raw cells (as written)."""
    folder = tmp_path_factory.mktemp("book")
    path = folder / "book.csv"
    frame = generate_portfolio(N, seed=11).sort_values("account_id")  # = ORDER BY account_id
    frame.to_csv(path, index=False)
    return path, pd.read_csv(path, keep_default_na=False, dtype=str)


def _chinese_export(raw: pd.DataFrame) -> pd.DataFrame:
    """The book as the shipped layout describes the bank's export, built from the layout
    file's own tables (parsed here with tomllib): Chinese headers, Chinese product and
    channel names, 是/否 flags, rates in percent."""
    with open(LAYOUT, "rb") as fh:
        layout = tomllib.load(fh)
    out = raw.copy()
    for column, mapping in layout["values"].items():
        back = {}
        for text_value, value in mapping.items():
            back.setdefault(str(value).lower() if isinstance(value, bool) else value, text_value)
        out[column] = [
            back.get(str(v).lower() if v in ("True", "False") else v, v) for v in out[column]
        ]
    out["annual_rate"] = [f"{float(v) * 100:.10g}" for v in out["annual_rate"]]
    names = {target: name for name, target in layout["columns"].items()}
    return out.rename(columns=names)


# -- column mapping and encodings ------------------------------------------------------------


def test_chinese_gb18030_export_reads_as_the_book(book, tmp_path):
    """A GB18030 export with Chinese headers, values and percent rates, read through the
    shipped layout (whose encoding is GB18030), is the same book as the English file."""
    path, raw = book
    export = tmp_path / "export.csv"
    _chinese_export(raw).to_csv(export, index=False, encoding="gb18030")
    assert "账户编号".encode("gb18030") in export.read_bytes()
    expected = read_portfolio(path)
    code, out, err = invoke("validate", export, "--columns", LAYOUT)
    assert code == 0, err
    assert f"{N} accounts valid" in out
    got = read_portfolio(BookSource(path=export, layout=_layout()))
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


def _layout(path: Path = LAYOUT):
    return read_layout(path)


def test_problems_name_the_files_own_column(book, tmp_path):
    """A bad cell and a missing required column are named by the export's header with the
    schema column it maps to."""
    _, raw = book
    export = _chinese_export(raw)
    export.loc[2, "本金余额"] = "壹万"
    bad = tmp_path / "bad.csv"
    export.drop(columns=["月收入"]).to_csv(bad, index=False, encoding="utf-8-sig")
    code, _, err = invoke("validate", bad, "--columns", LAYOUT)
    assert code == 2
    assert "header: 月收入 (income): required column is missing" in err
    assert f"{bad}: row 3 (account_id {raw.loc[2, 'account_id']}): 本金余额 (principal):" in err
    assert "Traceback" not in err
    code, out, _ = invoke("validate", bad, "--columns", LAYOUT, "--format", "json")
    assert code == 2
    assert '"column": "principal"' in out  # the report keeps the schema name


def test_large_mapped_export_is_validated_in_chunks(tmp_path):
    """A GB18030 export in the bank's layout streams block by block like any large CSV (the
    whole-file threshold set to 0 here): the same book, and a bad cell in a later block
    named with the bank's column and its row in the whole file."""
    n = 9000  # > 1 MB of text: blocks are at least 1 MB
    path = tmp_path / "big.csv"
    generate_portfolio(n, seed=5).to_csv(path, index=False)
    raw = pd.read_csv(path, keep_default_na=False, dtype=str)
    export = tmp_path / "export.csv"
    _chinese_export(raw).to_csv(export, index=False, encoding="gb18030")
    source = BookSource(path=export, layout=_layout())
    chunks = list(iter_portfolio(source, chunk_rows=1000, stream_min_bytes=0))
    assert len(chunks) > 1
    got = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(got, read_portfolio(path), check_exact=False, rtol=1e-12)
    bad = _chinese_export(raw)
    bad.loc[n - 2, "剩余期数"] = "十二"
    bad.to_csv(export, index=False, encoding="gb18030")
    with pytest.raises(InputError) as info:
        list(iter_portfolio(source, chunk_rows=1000, stream_min_bytes=0))
    where = f"row {n - 1} (account_id {raw.loc[n - 2, 'account_id']}): 剩余期数 (remaining_term)"
    assert where in str(info.value)


def test_wrong_encodings_exit_2_and_suggest_encoding(book, tmp_path):
    """A GBK file read as UTF-8, and a UTF-8 file read as GBK, exit 2 naming the file and
    suggesting --encoding; a UTF-8 BOM is detected whatever the layout says."""
    _, raw = book
    export = _chinese_export(raw)
    gbk = tmp_path / "gbk.csv"
    export.to_csv(gbk, index=False, encoding="gbk")
    code, _, err = invoke("validate", gbk)
    assert code == 2 and str(gbk) in err and "--encoding GB18030" in err
    utf8 = tmp_path / "utf8.csv"
    export.to_csv(utf8, index=False, encoding="utf-8")
    code, _, err = invoke("validate", utf8, "--columns", LAYOUT)  # layout says GB18030
    assert code == 2 and str(utf8) in err and "not valid GB18030 text" in err
    assert "--encoding" in err
    code, _, err = invoke("validate", utf8, "--columns", LAYOUT, "--encoding", "UTF-8")
    assert code == 0, err
    bom = tmp_path / "bom.csv"
    export.to_csv(bom, index=False, encoding="utf-8-sig")
    code, _, err = invoke("validate", bom, "--columns", LAYOUT)
    assert code == 0, err
    code, _, err = invoke("validate", gbk, "--columns", LAYOUT, "--encoding", "klingon")
    assert code == 2 and "unknown text encoding" in err
    code, _, err = invoke("validate", tmp_path / "book.xlsx", "--encoding", "GBK")
    assert code == 2 and "--encoding applies to CSV files" in err


def test_excel_export_formulas_name_the_cell_and_the_banks_column(book, tmp_path):
    """In a mapped workbook a formula is still refused, naming the cell and the column."""
    _, raw = book
    export = _chinese_export(raw)
    export.loc[1, "本金余额"] = "=C2*2"
    workbook = tmp_path / "export.xlsx"
    export.to_excel(workbook, index=False, sheet_name="portfolio")
    code, _, err = invoke("validate", workbook, "--columns", LAYOUT)
    assert code == 2
    assert "row 2 (account_id" in err and "本金余额 (principal): cell C3 holds a formula" in err


def test_plan_one_account_of_a_mapped_book(book, tmp_path):
    """``plan --account-id`` reads a mapped book like any other."""
    path, raw = book
    export = tmp_path / "export.csv"
    _chinese_export(raw).to_csv(export, index=False, encoding="gb18030")
    wanted = raw.loc[4, "account_id"]
    code, out, err = invoke("plan", export, "--columns", LAYOUT, "--account-id", wanted)
    code_ref, out_ref, _ = invoke("plan", path, "--account-id", wanted)
    assert code == code_ref and code in (0, 3), err
    assert out.splitlines()[-1] == out_ref.splitlines()[-1]  # the same recommendation


def test_bad_layout_names_file_and_key(tmp_path):
    layout = tmp_path / "map.toml"
    layout.write_text('[columns]\n"本金" = "principle"\n"余额" = "principal"\n"额" = "principal"\n')
    code, _, err = invoke("validate", tmp_path / "x.csv", "--columns", layout)
    assert code == 2
    assert f"{layout}: columns.本金: 'principle' is not a column" in err
    assert "did you mean 'principal'?" in err
    assert "principal is already mapped from '余额'" in err


def test_generated_export_in_the_layout_validates(tmp_path):
    """``generate portfolio --columns --encoding`` writes a sample export that reads back."""
    export = tmp_path / "cn.csv"
    code, _, err = invoke(
        "generate", "portfolio", "--n", 8, "--columns", LAYOUT, "--encoding", "GB18030",
        "--out", export, "--quiet",
    )  # fmt: skip
    assert code == 0, err
    export.read_bytes().decode("gb18030")
    assert "账户编号" in export.read_bytes().decode("gb18030").splitlines()[0]
    code, out, err = invoke("validate", export, "--columns", LAYOUT)
    assert code == 0 and "8 accounts valid" in out, err


# -- databases ---------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "duckdb", "postgresql"])
def db_url(request, tmp_path):
    """An empty database: a SQLite or DuckDB file, or a fresh schema on the PostgreSQL
    server."""
    if request.param in EMBEDDED:
        yield f"{request.param}:///{tmp_path / EMBEDDED[request.param]}"
        return
    with postgres_schema("books") as url:
        yield url


def _load(url: str, frame: pd.DataFrame, table: str = "accounts") -> None:
    engine = create_engine(url)
    frame.to_sql(table, engine, index=False)
    engine.dispose()


def test_database_book_validates_in_chunks_with_row_numbers(book, db_url):
    """Rows are numbered in the query's order across chunks; a duplicate id in a later chunk
    and a bad cell are reported like a file's, and nothing is yielded."""
    path, _ = book
    frame = pd.read_csv(path)
    _load(db_url, frame)
    source = BookSource(url=db_url, query="select * from accounts")
    chunks = list(iter_portfolio(source, chunk_rows=5))
    assert [len(c) for c in chunks] == [5, 5, N - 10]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), read_portfolio(path))
    bad = frame.copy()
    bad.loc[8, "account_id"] = bad.loc[1, "account_id"]
    bad.loc[3, "annual_rate"] = 3.5
    _load(db_url, bad, "bad")
    with pytest.raises(InputError) as info:
        list(iter_portfolio(BookSource(url=db_url, table="bad"), chunk_rows=5))
    text_ = str(info.value)
    assert "row 4 (account_id" in text_ and "annual_rate" in text_
    assert f"row 9 (account_id {frame.loc[1, 'account_id']}): account_id: duplicate" in text_
    assert "first in row 2" in text_


def test_text_columns_give_the_csvs_problem_lines(book, db_url, tmp_path):
    """A book whose every column is text in the database (TEXT / VARCHAR: numbers and flags
    validated from text, the Arrow and cursor paths alike) is told exactly as its CSV is:
    the same lines, rows and columns, only the source's name differs."""
    path, raw = book
    bad = raw.copy()
    cells = {  # row (1-based) -> (column, text): one problem each
        2: ("principal", "abc"),
        3: ("income", ""),
        4: ("hardship", "maybe"),
        5: ("annual_rate", "3.5"),
        6: ("account_id", raw.loc[0, "account_id"]),
        7: ("remaining_term", "12.5"),
    }
    for row, (column, value) in cells.items():
        bad.loc[row - 1, column] = value
    csv = tmp_path / "bad.csv"
    bad.to_csv(csv, index=False)
    _load(db_url, bad, "bad")

    def problems(source) -> list[str]:
        with pytest.raises(InputError) as info:
            read_portfolio(source)
        return [line.split(": ", 1)[1] for line in info.value.problems]

    from_csv = problems(csv)
    assert problems(BookSource(url=db_url, table="bad")) == from_csv
    told = {(int(line.split()[1]), line.split("): ")[1].split(":")[0]) for line in from_csv}
    assert told == {(row, column) for row, (column, _) in cells.items()}


def test_database_errors_exit_2_naming_what_is_missing(book, db_url):
    path, _ = book
    _load(db_url, pd.read_csv(path))
    code, _, err = invoke("validate", "--db", db_url, "--table", "acounts")
    assert code == 2 and "--table acounts: no such table" in err and "accounts" in err
    code, _, err = invoke("validate", "--db", db_url, "--query", "select nosuch from accounts")
    assert code == 2 and "nosuch" in err and "Traceback" not in err
    code, _, err = invoke("validate", "--db", db_url, "--query", "select account_id from accounts")
    assert code == 2 and "principal: required column is missing" in err
    code, _, err = invoke("validate", "--db", db_url)
    assert code == 2 and "--table NAME or --query SQL" in err
    code, _, err = invoke("validate", "--db", db_url, "--query", "drop table accounts")
    assert code == 2 and "no rows" in err  # and reading changed nothing: the drop is undone
    assert len(read_portfolio(BookSource(url=db_url, table="accounts"))) == N


def test_postgresql_without_adbc_reads_its_rows_as_with_it(book, monkeypatch):
    """PostgreSQL without its ADBC driver is read through SQLAlchemy's rows (the path of any
    other database): the same chunks and frame as through ADBC; a statement that returns
    no rows exits 2 and changes nothing (told by the server: a server-side cursor cannot
    declare a DROP)."""
    path, _ = book
    with postgres_schema("books") as url:
        _load(url, pd.read_csv(path))
        source = BookSource(url=url, query="select * from accounts order by account_id")
        by_arrow = list(iter_portfolio(source, chunk_rows=5))
        calls = []
        through_rows = sql._row_frames
        monkeypatch.setattr(sql, "_adbc_postgresql", lambda: None)
        monkeypatch.setattr(sql, "_row_frames", lambda *a: calls.append(a) or through_rows(*a))
        by_rows = list(iter_portfolio(source, chunk_rows=5))
        assert len(calls) == 1  # the rows path did run
        assert [len(c) for c in by_rows] == [len(c) for c in by_arrow] == [5, 5, N - 10]
        pd.testing.assert_frame_equal(pd.concat(by_rows, ignore_index=True), read_portfolio(path))
        code, _, err = invoke("validate", "--db", url, "--query", "drop table accounts")
        assert code == 2 and "syntax error" in err and len(calls) == 2
        assert len(read_portfolio(BookSource(url=url, table="accounts"))) == N


def test_database_table_in_a_banks_layout(book, tmp_path):
    """A layout applies to a database table too: products coded as integers (1, 2), a
    renamed id column; a code the layout does not list is named with the bank's column."""
    path, _ = book
    frame = pd.read_csv(path)
    frame["product"] = frame["product"].map({"auto_loan": 1, "card_instalment": 2})
    frame = frame.rename(columns={"account_id": "acct_no"})
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    _load(url, frame)
    layout = tmp_path / "codes.toml"
    layout.write_text(
        '[columns]\nacct_no = "account_id"\nproduct = "product"\n'
        '[values.product]\n"1" = "auto_loan"\n"2" = "card_instalment"\n'
    )
    source = BookSource(url=url, table="accounts", layout=_layout(layout))
    pd.testing.assert_frame_equal(read_portfolio(source), read_portfolio(path))
    frame.loc[5, "product"] = 7
    _load(url, frame, "coded")
    code, _, err = invoke("validate", "--db", url, "--table", "coded", "--columns", layout)
    assert code == 2
    assert (
        f"row 6 (account_id {frame.loc[5, 'acct_no']}): product (product): unknown product 7" in err
    )


def test_connection_failures_exit_2_without_password(tmp_path):
    url = "postgresql+psycopg://bank:s3cret-pw@127.0.0.1:9/books"
    code, out, err = invoke("validate", "--db", url, "--table", "accounts")
    assert code == 2 and "cannot connect" in err
    assert "s3cret-pw" not in out + err and "bank:***@127.0.0.1:9" in err
    assert "Traceback" not in err
    for dialect in EMBEDDED:  # reading does not create an empty database
        missing = tmp_path / f"none.{dialect}"
        code, _, err = invoke("validate", "--db", f"{dialect}:///{missing}", "--table", "t")
        assert code == 2 and "no such database file" in err and not missing.exists()
    code, _, err = invoke("validate", "--db", "oracle+nodriver://x/y", "--table", "t")
    assert code == 2 and "Traceback" not in err


def test_results_written_back_in_one_transaction(book, db_url, tmp_path):
    """--out-db writes the plans; an existing table needs --replace; a failed replace
    leaves the old table as it was."""
    from solver.core.sql import write_table

    path, _ = book
    _load(db_url, pd.read_csv(path).head(3))
    out = tmp_path / "plans.csv"
    args = ["plan-portfolio", "--db", db_url, "--table", "accounts", "--out", out, "--quiet"]
    code, _, err = invoke(*args, "--out-db", db_url, "--out-table", "plans")
    assert code == 0, err
    engine = create_engine(db_url)
    written = pd.read_sql("select * from plans", engine)
    assert written["account_id"].tolist() == pd.read_csv(out)["account_id"].tolist()
    out.unlink()
    code, _, err = invoke(*args, "--out-db", db_url, "--out-table", "plans")
    assert code == 2 and "exists" in err and "--replace" in err and not out.exists()
    allocation = tmp_path / "allocation.csv"
    code, _, err = invoke(
        "allocate", "--db", db_url, "--table", "accounts", "--out", allocation, "--quiet",
        "--time-limit", 5, "--out-db", db_url, "--out-table", "allocation",
    )  # fmt: skip
    assert code == 0, err
    stored = pd.read_sql("select * from allocation", engine)
    assert stored["account_id"].tolist() == pd.read_csv(allocation)["account_id"].tolist()
    with pytest.raises(InputError):  # a value no database can store: the replace fails
        write_table(pd.DataFrame({"x": [object()]}), db_url, "plans", replace=True)
    assert pd.read_sql("select count(*) as n from plans", engine)["n"].iloc[0] == 3
    write_table(pd.DataFrame({"x": [1, 2]}), db_url, "plans", replace=True)
    assert pd.read_sql("select * from plans", engine)["x"].tolist() == [1, 2]
    engine.dispose()


# -- acceptance: one book, six sources, the same plans -------------------------------------


def test_same_book_from_six_sources_gives_byte_identical_plans(book, tmp_path):
    """CSV, Parquet, Excel, SQLite, DuckDB and PostgreSQL: byte-identical plan-portfolio
    output."""
    path, _ = book
    frame = pd.read_csv(path)
    parquet, excel = tmp_path / "book.parquet", tmp_path / "book.xlsx"
    frame.to_parquet(parquet, index=False)
    frame.to_excel(excel, index=False, sheet_name="portfolio")
    sqlite = f"sqlite:///{tmp_path / 'bank.db'}"
    _load(sqlite, frame)
    duckdb = f"duckdb:///{tmp_path / 'bank.duckdb'}"
    _load(duckdb, frame)
    pg = postgres_url()
    table = f"book_{uuid.uuid4().hex[:12]}"
    _load(pg, frame, table)
    sources = {
        "csv": [path],
        "parquet": [parquet],
        "excel": [excel],
        "sqlite": ["--db", sqlite, "--table", "accounts"],
        "duckdb": ["--db", duckdb, "--query", "select * from accounts order by account_id"],
        "postgresql": ["--db", pg, "--query", f"select * from {table} order by account_id"],
    }
    outputs = {}
    try:
        for name, source in sources.items():
            out = tmp_path / f"plans_{name}.csv"
            code, _, err = invoke("plan-portfolio", *source, "--out", out, "--quiet")
            assert code == 0, f"{name}: {err}"
            outputs[name] = out.read_bytes()
    finally:
        engine = create_engine(pg)
        with engine.begin() as conn:
            conn.execute(text(f"drop table if exists {table}"))
        engine.dispose()
    assert len(outputs["csv"].splitlines()) == N + 1
    for name, data in outputs.items():
        assert data == outputs["csv"], f"{name} plans differ from the CSV book's"


# -- the other readers from databases: forecasts, scenario portfolios, the service's book ------

TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"


def _forecast() -> pd.DataFrame:
    """Account T002's income for three months, well above its stated income (a forecast
    that changes its plans)."""
    return pd.DataFrame(
        {"account_id": ["T002"] * 3, "month": [1, 2, 3], "income": [9000.0, 9000.0, 9500.0]}
    )


def test_forecast_from_a_database_gives_the_files_plan(tmp_path):
    """``plan --forecast-db URL --forecast-table/--forecast-query`` (SQLite, DuckDB) gives
    the JSON of ``--forecast FILE``, which differs from the plan without it; a bad row is
    reported at its row in the query's order, exit 2; half-given options are usage errors."""
    forecast = _forecast()
    csv = tmp_path / "forecast.csv"
    forecast.to_csv(csv, index=False)
    args = ["plan", TINY, "--account-id", "T002", "--format", "json"]
    code, without, err = invoke(*args)
    assert code in (0, 3), err
    code, from_file, err = invoke(*args, "--forecast", csv)
    assert code in (0, 3), err
    assert from_file != without
    for dialect, name in EMBEDDED.items():
        url = f"{dialect}:///{tmp_path / name}"
        _load(url, forecast, "forecast")
        code, from_db, err = invoke(*args, "--forecast-db", url, "--forecast-table", "forecast")
        assert code in (0, 3) and from_db == from_file, f"{dialect}: {err}"
        bad = "select account_id, month, case when month = 2 then -1 else income end as income "
        bad += "from forecast order by month"
        code, _, err = invoke(
            "validate", TINY, "--forecast-db", url, "--forecast-query", bad
        )  # fmt: skip
        assert code == 2 and f"query@{dialect}:///" in err, err
        assert "row 2 (account_id T002): income" in err and "Traceback" not in err
    code, _, err = invoke(*args, "--forecast-table", "forecast")
    assert code == 2 and "--forecast-table needs --forecast-db URL" in err
    code, _, err = invoke(*args, "--forecast", csv, "--forecast-db", url, "--forecast-table", "f")
    assert code == 2 and "give a forecast file or --forecast-db URL, not both" in err


def _scenario(path: Path, portfolio: str) -> Path:
    """A small scenario over the given ``[portfolio]`` table (plans and treatments off: the
    portfolio's reading is what is tested)."""
    baseline = (ROOT / "scenarios" / "baseline.toml").as_posix()
    path.write_text(
        f'name = "db"\nextends = "{baseline}"\n[portfolio]\n{portfolio}\n'
        "[plans]\nrestructure = false\n[collection]\nenabled = false\n"
        "[simulation]\npaths = 3\nhorizon_months = 6\n"
    )
    return path


def test_scenario_portfolio_from_a_database(book, tmp_path, monkeypatch):
    """A scenario's ``[portfolio]`` with ``db`` and ``table``/``query`` (an embedded
    database's relative path is relative to the scenario file) gives the KPIs of the same
    book read from its file; a half-given or doubled ``[portfolio]`` names the problem."""
    path, _ = book
    frame = pd.read_csv(path)
    folder = tmp_path / "scenarios"
    folder.mkdir()
    frame.to_csv(folder / "book.csv", index=False)
    monkeypatch.chdir(tmp_path)  # not the scenario's folder: its paths are relative to it
    kpis = {}
    forms = {
        "file": 'path = "book.csv"',
        "sqlite": 'db = "sqlite:///bank.db"\ntable = "accounts"',
        "duckdb": 'db = "duckdb:///bank.duckdb"\nquery = "select * from accounts"',
    }
    _load(f"sqlite:///{folder / 'bank.db'}", frame)
    _load(f"duckdb:///{folder / 'bank.duckdb'}", frame)
    for name, form in forms.items():
        scenario = _scenario(folder / f"{name}.toml", form)
        out = tmp_path / f"out_{name}"
        code, _, err = invoke("scenario", "run", scenario, "--out-dir", out)
        assert code == 0, f"{name}: {err}"
        kpis[name] = (out / "kpis.csv").read_bytes()
    assert b"opening_balance" in kpis["file"]
    assert kpis["sqlite"] == kpis["file"] and kpis["duckdb"] == kpis["file"]
    bad = {
        'db = "sqlite:///bank.db"': "'db' (the database URL) goes with 'table' or 'query'",
        'table = "accounts"': "'db' (the database URL) goes with 'table' or 'query'",
        'path = "book.csv"\ndb = "sqlite:///bank.db"\ntable = "t"': "not 'path' and 'db'",
        'db = "sqlite:///bank.db"\ntable = "t"\nquery = "select 1"': "'table' or 'query'",
        'db = "sqlite:///none.db"\ntable = "accounts"': "no such database file",
    }
    for form, message in bad.items():
        scenario = _scenario(folder / "bad.toml", form)
        code, _, err = invoke("scenario", "run", scenario, "--out-dir", tmp_path / "bad")
        assert code == 2 and message in err and "Traceback" not in err, (form, err)


def test_serve_book_from_a_database(book, tmp_path, monkeypatch):
    """``serve --book-db URL --book-table NAME`` loads the book the service looks accounts
    up in (the server itself is not started: its app is taken where uvicorn would run it);
    ``--book-table`` without ``--book-db`` is a usage error."""
    from fastapi.testclient import TestClient

    import commands.serve

    path, raw = book
    url = f"duckdb:///{tmp_path / 'bank.duckdb'}"
    _load(url, pd.read_csv(path))
    apps = []
    monkeypatch.setattr(commands.serve, "_run", lambda app, sock: (sock.close(), apps.append(app)))
    audit = f"sqlite:///{tmp_path / 'audit.db'}"
    code, out, err = invoke(
        "serve", "--book-db", url, "--book-table", "accounts", "--db", audit, "--format", "json"
    )  # fmt: skip
    assert code == 0 and len(apps) == 1, err
    wanted = raw.loc[3, "account_id"]
    with TestClient(apps[0]) as client:
        listed = client.get("/api/accounts", params={"prefix": ""}).json()
        assert listed["book"] == f"accounts@{url}"
        assert sorted(listed["account_ids"]) == sorted(raw["account_id"])
        found = client.get(f"/api/accounts/{wanted}").json()
    assert found["account"]["principal"] == pytest.approx(float(raw.loc[3, "principal"]))
    code, _, err = invoke("serve", "--book-table", "accounts", "--db", audit)
    assert code == 2 and "--book-table needs --book-db URL" in err
