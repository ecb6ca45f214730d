"""Income forecasts, one-off inflows and a missing income_normal on the input side (issue 13).

Every way in (TOML/JSON account, CSV/Excel/Parquet portfolio cells, a ``--forecast`` long
table on ``plan``, ``plan-portfolio`` and ``validate``), every kind of bad input (exit 2,
file + row + column named, nothing written), and the round trips of the new fields through
``Account`` and the writers. Expected values are hand-derived in
``tests/data/forecast/README.md``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.core.account import Account, effective_income_normal
from solver.core.cleaning import sequence_text
from solver.core.forecast import read_forecast, validate_forecast
from solver.core.readers import read_account, read_portfolio
from solver.core.schema import MAX_FORECAST_MONTHS
from solver.core.streaming import iter_portfolio
from solver.core.summaries import summarize_portfolio
from solver.core.validation import validate_portfolio
from solver.core.writers import write_table
from solver.errors import InputError

DATA = Path(__file__).resolve().parent / "data"
FORECAST = DATA / "forecast"
ACCOUNT_TOML = FORECAST / "account.toml"
ACCOUNT_JSON = FORECAST / "account.json"
PORTFOLIO = FORECAST / "portfolio.csv"
LONG = FORECAST / "long.csv"
LONG_BROKEN = FORECAST / "long_broken.csv"
PORTFOLIO_BROKEN = FORECAST / "portfolio_broken.csv"
TINY = DATA / "portfolio" / "tiny.csv"

from test_account import MINIMAL  # noqa: E402  (the smallest valid account, shared)

# hand values of tests/data/forecast (README.md there)
ACCOUNT_FORECAST = (3800.0, 3800.0, 4200.0, 4200.0)
ACCOUNT_INFLOWS = ((3, 20000.0), (12, 8000.0))
MERGED = {
    "F001": ((4000.0, 4100.0, 4200.0), ((6, 15000.0),)),
    "F002": ((5000.0, 5200.0), None),
    "F003": ((2500.0, 2600.0), None),
}


def run_cli(args: list[str]) -> tuple[int, str]:
    import cli
    from commands.common import run_cli as run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(cli.workout, [str(a) for a in args])
    return code, out.getvalue() + err.getvalue()


def problems(call, *args, **kwargs) -> list[str]:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    return info.value.problems or [str(info.value)]


def by_id(frame: pd.DataFrame) -> dict[str, tuple]:
    return {
        a: (f, i)
        for a, f, i in zip(
            frame["account_id"], frame["income_forecast"], frame["inflows"], strict=True
        )
    }


# -- income_normal: missing stays missing -----------------------------------------------


def test_blank_income_normal_stays_missing_and_follows_income():
    """A blank income_normal is None on Account and NaN in a frame; it follows --set income."""
    acc = Account.from_mapping(MINIMAL)
    assert acc.income_normal is None and effective_income_normal(acc) == 8000.0
    changed = acc.replace(income=100)
    assert changed.income_normal is None and effective_income_normal(changed) == 100.0
    given = Account.from_mapping({**MINIMAL, "income_normal": 9000})
    assert given.replace(income=100).income_normal == 9000.0
    frame = read_portfolio(TINY)
    t6 = frame.set_index("account_id").loc["T006"]
    assert math.isnan(t6["income_normal"])
    assert Account.from_frame(frame)[5].income_normal is None
    np.testing.assert_array_equal(
        effective_income_normal(frame),
        np.where(frame["income_normal"].isna(), frame["income"], frame["income_normal"]),
    )


def test_effective_income_normal_forms():
    """effective_income_normal takes an Account, a frame or a mapping of scalars/arrays."""
    assert effective_income_normal({"income": 5.0, "income_normal": None}) == 5.0
    assert effective_income_normal({"income": 5.0, "income_normal": 7.0}) == 7.0
    out = effective_income_normal({"income": [1.0, 2.0], "income_normal": [np.nan, 9.0]})
    assert out.tolist() == [1.0, 9.0]


def test_explicit_income_normal_is_still_validated():
    """An explicit income_normal must be a number >= 0 (scalar and vectorised validators)."""
    with pytest.raises(InputError, match="income_normal: negative amount"):
        Account.from_mapping({**MINIMAL, "income_normal": -1})
    raw = pd.DataFrame([{**MINIMAL, "income_normal": "abc"}]).astype(object)
    lines = problems(validate_portfolio, raw, "p.csv")
    assert lines == ["p.csv: row 1 (account_id A1): income_normal: not a number: <withheld>"]


def test_income_shock_flag_uses_effective_income_normal():
    """The summary's income_shock counts income below income_normal (blank = income)."""
    raw = pd.DataFrame(
        [
            {**MINIMAL, "account_id": "a"},  # blank: = income, no shock
            {**MINIMAL, "account_id": "b", "income_normal": 9000},  # shock
            {**MINIMAL, "account_id": "c", "income_normal": 8000},  # equal: no shock
        ]
    ).astype(object)
    flags = summarize_portfolio(validate_portfolio(raw, "p"))["flags"]["accounts"]
    assert flags["income_shock"] == 1
    assert flags["income_forecast"] == 0 and flags["inflows"] == 0


# -- one account: TOML and JSON ----------------------------------------------------------


@pytest.mark.parametrize("path", [ACCOUNT_TOML, ACCOUNT_JSON], ids=["toml", "json"])
def test_account_file_forecast_and_inflows(path):
    """TOML/JSON lists give the tuples; inflows of one month are summed and sorted."""
    acc = read_account(path)
    assert acc.income_forecast == ACCOUNT_FORECAST
    assert acc.inflows == ACCOUNT_INFLOWS
    assert all(type(m) is int and type(a) is float for m, a in acc.inflows)
    assert acc.income_normal is None


def test_account_accepts_every_form():
    """Text, lists of numbers, numpy arrays and mappings in a list all give the same tuples."""
    forms = [
        ("3800;3800; 4200", "3:20000;12:5000"),
        ([3800, 3800, 4200], [[3, 20000], [12, 5000]]),
        (np.array([3800.0, 3800.0, 4200.0]), [{"month": 12, "amount": 5000}, (3, 20000)]),
        ((3800.0, 3800.0, 4200.0), ((3, 20000.0), (12, 5000.0))),
    ]
    for forecast, inflows in forms:
        acc = Account.from_mapping({**MINIMAL, "income_forecast": forecast, "inflows": inflows})
        assert acc.income_forecast == (3800.0, 3800.0, 4200.0), forecast
        assert acc.inflows == ((3, 20000.0), (12, 5000.0)), inflows
    one = Account.from_mapping({**MINIMAL, "income_forecast": [4100], "inflows": []})
    assert one.income_forecast == (4100.0,) and one.inflows is None
    text = Account.from_mapping({**MINIMAL, "income_forecast": "4100"})
    assert text.income_forecast == (4100.0,)


def test_table_cells_take_a_single_number_as_one_month():
    """A table cell typed as a number (Excel, pandas) is the one-month series, as its text is."""
    for cell in (4100, 4100.0, "4100"):
        raw = pd.DataFrame([{**MINIMAL, "income_forecast": None}]).astype(object)
        raw.at[0, "income_forecast"] = cell
        assert validate_portfolio(raw, "p.csv")["income_forecast"].tolist() == [(4100.0,)]


# -- round trips ----------------------------------------------------------------------------


def test_replace_to_dict_from_frame_round_trip():
    """replace, to_dict/from_mapping and from_frame keep income_forecast and inflows."""
    acc = read_account(ACCOUNT_TOML)
    data = acc.to_dict()
    assert data["income_forecast"] == ACCOUNT_FORECAST and data["inflows"] == ACCOUNT_INFLOWS
    assert Account.from_mapping(data) == acc
    again = acc.replace(income=4000)
    assert again.income_forecast == ACCOUNT_FORECAST and again.inflows == ACCOUNT_INFLOWS
    cleared = acc.replace(income_forecast=None, inflows="")
    assert cleared.income_forecast is None and cleared.inflows is None
    assert acc.replace(inflows="5:1").inflows == ((5, 1.0),)
    frame = validate_portfolio(pd.DataFrame([data]).astype(object), "f")
    assert Account.from_frame(frame) == [acc]
    assert hash(acc) == hash(Account.from_mapping(data))  # tuples keep Account hashable


def test_from_frame_without_the_new_columns():
    """A frame of an older layout (no income_forecast/inflows columns) still converts."""
    frame = read_portfolio(TINY).drop(columns=["income_forecast", "inflows"])
    accounts = Account.from_frame(frame)
    assert all(a.income_forecast is None and a.inflows is None for a in accounts)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_write_read_round_trip_with_forecasts(tmp_path, suffix):
    """write_table then read_portfolio gives back the forecasts, inflows and blank income_normal."""
    frame = read_portfolio(PORTFOLIO, forecast=LONG)
    back = read_portfolio(write_table(frame, tmp_path / f"p{suffix}"))
    pd.testing.assert_frame_equal(back, frame)
    assert by_id(back) == MERGED


def test_writers_use_the_text_form(tmp_path):
    """CSV cells hold '4000;4100;4200' and '6:15000'; Parquet keeps a list<double> forecast."""
    frame = read_portfolio(PORTFOLIO, forecast=LONG)
    text = write_table(frame, tmp_path / "p.csv").read_text(encoding="utf-8")
    assert '"4000;4100;4200"' in text and '"6:15000"' in text
    schema = pq.read_schema(write_table(frame, tmp_path / "p.parquet"))
    assert schema.field("income_forecast").type == pa.list_(pa.float64())
    assert sequence_text(None) is None and sequence_text((1.5,)) == "1.5"


# -- portfolio cells: CSV, Excel, Parquet, TOML/JSON records ----------------------------------


def test_csv_text_cells():
    """CSV text cells '3800; 3800;4200 ' and '3:20000; 12:5000' parse; blanks are None."""
    frame = read_portfolio(PORTFOLIO)
    assert frame["income_forecast"].dtype == object and frame["inflows"].dtype == object
    assert by_id(frame) == {
        "F001": ((3800.0, 3800.0, 4200.0), ((3, 20000.0), (12, 5000.0))),
        "F002": ((5000.0, 5200.0), None),
        "F003": (None, None),
    }


def test_csv_single_month_numbers_stay_forecasts(tmp_path):
    """A CSV column whose cells are all single numbers is a one-month forecast, not a float."""
    path = tmp_path / "p.csv"
    path.write_text(
        "account_id,principal,annual_rate,remaining_term,income,expenses,income_forecast\n"
        "A,1000,0.1,12,5000,2000,4100\nB,1000,0.1,12,5000,2000,\n",
        encoding="utf-8",
    )
    assert read_portfolio(path)["income_forecast"].tolist() == [(4100.0,), None]


def test_csv_streamed_chunks_parse_the_cells(tmp_path):
    """iter_portfolio's streamed CSV path (text columns, no float cast) gives the same tuples."""
    frame = read_portfolio(PORTFOLIO)
    chunks = list(iter_portfolio(PORTFOLIO, chunk_rows=1, stream_min_bytes=0))
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), frame)


def test_excel_cells(tmp_path):
    """Excel text cells and a numeric single-month cell parse like CSV."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "portfolio"
    sheet.append([*MINIMAL, "income_forecast", "inflows"])
    sheet.append([*MINIMAL.values(), "3800;3800;4200", "3:20000;12:5000"])
    sheet.append(["A2", *list(MINIMAL.values())[1:], 4100, None])
    path = tmp_path / "p.xlsx"
    book.save(path)
    frame = read_portfolio(path)
    assert frame["income_forecast"].tolist() == [(3800.0, 3800.0, 4200.0), (4100.0,)]
    assert frame["inflows"].tolist() == [((3, 20000.0), (12, 5000.0)), None]


def test_parquet_list_columns_and_text(tmp_path):
    """Parquet list<double>, list<struct<month, amount>>, list<list> and text all parse."""
    base = {k: [v, v if k != "account_id" else "A2", v if k != "account_id" else "A3"]
            for k, v in MINIMAL.items()}  # fmt: skip
    table = pa.table(
        {
            **base,
            "income_forecast": pa.array([[3800.0, 4200.0], None, [1.0]], pa.list_(pa.float64())),
            "inflows": pa.array([[{"month": 3, "amount": 20000.0}], None, []]),
        }
    )
    path = tmp_path / "p.parquet"
    pq.write_table(table, path)
    frame = read_portfolio(path)
    assert frame["income_forecast"].tolist() == [(3800.0, 4200.0), None, (1.0,)]
    assert frame["inflows"].tolist() == [((3, 20000.0),), None, None]
    pairs = pa.table({**base, "inflows": pa.array([[[3, 5]], None, None])})
    pq.write_table(pairs, path)
    assert read_portfolio(path)["inflows"].tolist() == [((3, 5.0),), None, None]
    text = pa.table({**base, "income_forecast": ["1;2", None, ""], "inflows": ["2:3", "", None]})
    pq.write_table(text, path)
    frame = read_portfolio(path)
    assert frame["income_forecast"].tolist() == [(1.0, 2.0), None, None]
    assert frame["inflows"].tolist() == [((2, 3.0),), None, None]


def test_portfolio_toml_and_json_records(tmp_path):
    """A TOML/JSON portfolio (list of records) takes lists per account."""
    toml = tmp_path / "p.toml"
    toml.write_text(
        '[[accounts]]\naccount_id = "A"\nprincipal = 1000\nannual_rate = 0.1\n'
        "remaining_term = 12\nincome = 5000\nexpenses = 2000\nincome_forecast = [1, 2]\n"
        'inflows = [{month = 4, amount = 9}]\n[[accounts]]\naccount_id = "B"\n'
        "principal = 1000\nannual_rate = 0.1\nremaining_term = 12\nincome = 5000\n"
        "expenses = 2000\n",
        encoding="utf-8",
    )
    frame = read_portfolio(toml)
    assert frame["income_forecast"].tolist() == [(1.0, 2.0), None]
    assert frame["inflows"].tolist() == [((4, 9.0),), None]
    records = [{**MINIMAL, "income_forecast": [5, 6], "inflows": [[1, 2]]}]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    assert by_id(read_portfolio(path)) == {"A1": ((5.0, 6.0), ((1, 2.0),))}


# -- bad cells ----------------------------------------------------------------------------

BAD_FORECASTS = [
    ([], "empty forecast; give at least one month"),
    ([1.0] * (MAX_FORECAST_MONTHS + 1), "601 months, at most 600"),
    ("3800,3800", "separate the items with ';', not ','"),
    ("3800 3800", "separate the items with ';', not spaces"),
    ("3800|3800", "separate the items with ';', not '|'"),
    ("3800；3800", "not '；'"),
    ("3800;;4200", "month 2: empty value"),
    ("3800;", "month 2: empty value"),
    ("3800;abc", "month 2: not a number: <withheld>"),
    ("3800;-1", "month 2: negative amount, must be >= 0, got <withheld>"),
    ([3800, float("inf")], "month 2: infinite value"),
    ([3800, float("nan")], "month 2: missing value"),
    ([3800, None], "month 2: missing value"),
    ([3800, True], "month 2: not a number"),
    ([3800, 2e12], "month 2: implausibly large"),
    ({"a": 1}, "expected a list of monthly amounts"),
    (np.ones((2, 2)), "expected a list of monthly amounts, got an array of shape (2, 2)"),
    (["3800", "4200"], "month 1: expected a number, got the text <withheld>"),
    ([3800, " 4200 "], "month 2: expected a number, got the text <withheld>"),
]
#: Record-only forms (a table cell holding one number is a one-month series instead).
RECORD_ONLY_FORECASTS = [
    (3800, "expected a list of monthly amounts, got the single number <withheld>"),
    (3800.5, "expected a list of monthly amounts, got the single number <withheld>"),
]
BAD_INFLOWS = [
    ("3=20000", "inflow 1: expected MONTH:AMOUNT"),
    ("3:20000,12:5000", "separate the items with ';', not ','"),
    ("3:20000;", "inflow 2: expected MONTH:AMOUNT"),
    ("0:100", "inflow 1: month must be in [1, 600], got 0"),
    ("601:100", "inflow 1: month must be in [1, 600], got 601"),
    ("3.5:100", "inflow 1: month must be a whole number, got 3.5"),
    ("x:100", "inflow 1: month is not a number: 'x'"),
    ("3:-5", "inflow 1 amount: negative amount, must be >= 0, got <withheld>"),
    ("3:abc", "inflow 1: amount is not a number: <withheld>"),
    ("3:inf", "inflow 1 amount: infinite value"),
    ([[1, 2, 3]], "inflow 1: expected {month = M, amount = A} or [M, A]"),
    ([{"month": 1}], "inflow 1: amount is missing"),
    ([{"month": 1, "amount": 2, "note": "x"}], "inflow 1: unknown key 'note'"),
    ([[True, 5]], "inflow 1: month is not a number"),
    (5, "expected MONTH:AMOUNT pairs"),
    ({"month": 3, "amount": 5}, "expected a list of inflows, got a single table"),
    ([{"month": "3", "amount": 5}], "inflow 1: month: expected a number, got the text '3'"),
    ([[3, "5"]], "inflow 1: amount: expected a number, got the text <withheld>"),
    ([[12, 1], ["3", 5]], "inflow 2: month: expected a number, got the text '3'"),
]


@pytest.mark.parametrize(("value", "message"), BAD_FORECASTS + RECORD_ONLY_FORECASTS)
def test_bad_income_forecast(value, message):
    """A bad forecast names the account, the column and what is wrong (value withheld)."""
    lines = problems(Account.from_mapping, {**MINIMAL, "income_forecast": value}, source="a.toml")
    assert len(lines) == 1
    assert lines[0].startswith("a.toml: account_id A1: income_forecast: ") and message in lines[0]


@pytest.mark.parametrize(("value", "message"), BAD_INFLOWS)
def test_bad_inflows(value, message):
    """A bad inflow list names the account, the column, the inflow and what is wrong."""
    lines = problems(Account.from_mapping, {**MINIMAL, "inflows": value}, source="a.toml")
    assert len(lines) == 1
    assert lines[0].startswith("a.toml: account_id A1: inflows: ") and message in lines[0]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [("income_forecast", v, m) for v, m in BAD_FORECASTS if not isinstance(v, dict | np.ndarray)]
    + [("inflows", v, m) for v, m in BAD_INFLOWS],
)
def test_scalar_and_vectorised_messages_agree(column, value, message):
    """validate_portfolio reports the same message, with the row, as Account.from_mapping."""
    raw = pd.DataFrame([{**MINIMAL, column: None}]).astype(object)
    raw.at[0, column] = value
    lines = problems(validate_portfolio, raw, "p.csv")
    assert len(lines) == 1
    assert lines[0].startswith(f"p.csv: row 1 (account_id A1): {column}: ") and message in lines[0]


FORECAST_PART = st.sampled_from(
    ["3800", " 4200.5 ", "0", "1e3", "", "abc", "-1", "nan", "inf", "2e12", "3,800", "7 8"]
)
INFLOW_PART = st.one_of(
    st.builds(lambda m, a: f"{m}:{a}", st.sampled_from(["1", "3", " 12 ", "3", "0", "2.5", "x"]),
              st.sampled_from(["20000", " 5.5", "-1", "", "abc", "1e3"])),
    st.sampled_from(["3=1", "1:2:3", ""]),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(FORECAST_PART, min_size=1, max_size=5), min_size=1, max_size=4),
    st.lists(st.lists(INFLOW_PART, min_size=1, max_size=4), min_size=1, max_size=4),
)
def test_fast_and_scalar_parsers_agree(forecasts, inflows):
    """The vectorised text parser (a CSV's str column) equals the scalar one, cell by cell."""
    k = max(len(forecasts), len(inflows))
    texts_f = [";".join(p) for p in forecasts] + ["3800"] * (k - len(forecasts))
    texts_i = [";".join(p) for p in inflows] + ["1:1"] * (k - len(inflows))
    raw = pd.DataFrame([{**MINIMAL, "account_id": f"A{i}"} for i in range(k)]).astype(object)
    raw["income_forecast"] = pd.Series(texts_f, dtype="str")
    raw["inflows"] = pd.Series(texts_i, dtype="str")
    expected_values, expected_lines = [], []
    for i in range(k):
        record = {**MINIMAL, "account_id": f"A{i}", "income_forecast": texts_f[i]}
        record["inflows"] = texts_i[i]
        try:
            acc = Account.from_mapping(record, source="p.csv")
            expected_values.append((acc.income_forecast, acc.inflows))
        except InputError as exc:
            expected_values.append(None)
            expected_lines += [
                line.replace(f"p.csv: account_id A{i}:", f"p.csv: row {i + 1} (account_id A{i}):")
                for line in exc.problems
            ]
    try:
        frame = validate_portfolio(raw, "p.csv")
    except InputError as exc:
        assert sorted(exc.problems) == sorted(expected_lines)
        return
    assert expected_lines == []
    got = list(zip(frame["income_forecast"], frame["inflows"], strict=True))
    assert got == expected_values


def test_broken_portfolio_file_reports_every_row():
    """portfolio_broken.csv: one problem per row, each naming file, row, account and column."""
    lines = problems(read_portfolio, PORTFOLIO_BROKEN)
    where = [line.split(": ")[1:3] for line in lines]
    assert where == [
        ["row 1 (account_id B001)", "income_forecast"],
        ["row 2 (account_id B002)", "income_forecast"],
        ["row 3 (account_id B003)", "income_forecast"],
        ["row 4 (account_id B004)", "inflows"],
        ["row 5 (account_id B005)", "inflows"],
        ["row 6 (account_id B006)", "income_forecast"],
    ]
    assert all(line.startswith(str(PORTFOLIO_BROKEN)) for line in lines)


def test_verbose_shows_forecast_values(monkeypatch):
    """Forecast amounts are personal: shown only with --verbose (WORKOUT_VERBOSE=1)."""
    monkeypatch.setenv("WORKOUT_VERBOSE", "1")
    lines = problems(Account.from_mapping, {**MINIMAL, "income_forecast": "1;-7"})
    assert "got -7" in lines[0]


# -- the long table (--forecast) ---------------------------------------------------------


def test_long_table_merges_into_portfolio():
    """long.csv replaces the file's forecast/inflows of the accounts it gives, keeps the rest."""
    frame = read_portfolio(PORTFOLIO, forecast=LONG)
    assert by_id(frame) == MERGED
    table = read_forecast(LONG)
    assert table.account_ids == ["F001", "F003"] and table.rows == {"F001": 1, "F003": 5}


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_long_table_other_formats(tmp_path, suffix):
    """The same table as Parquet or Excel (sheet 'forecast') gives the same merge."""
    long = pd.read_csv(LONG)
    path = tmp_path / f"long{suffix}"
    if suffix == ".parquet":
        long.to_parquet(path, index=False)
    else:
        with pd.ExcelWriter(path) as writer:
            pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="notes", index=False)
            long.to_excel(writer, sheet_name="forecast", index=False)
    assert by_id(read_portfolio(PORTFOLIO, forecast=path)) == MERGED


def test_long_table_aliases_and_inflow_only():
    """Headers income_forecast/inflows are accepted; an inflow-only table keeps forecasts."""
    raw = pd.DataFrame({"Account ID": ["F002", "F002"], "Month": [1, 4], "inflows": [5, 6]})
    table = validate_forecast(raw, "t.csv", accounts=["F002"])
    assert table.income_forecast == {} and table.inflows == {"F002": ((1, 5.0), (4, 6.0))}
    frame = table.apply(read_portfolio(PORTFOLIO))
    assert by_id(frame)["F002"] == ((5000.0, 5200.0), ((1, 5.0), (4, 6.0)))


def test_broken_long_table_reports_every_problem():
    """long_broken.csv: gap, duplicate, negative, month 0, fraction, empty row, unknown account."""
    lines = problems(read_portfolio, PORTFOLIO, forecast=LONG_BROKEN)
    src = str(LONG_BROKEN)
    assert lines == [
        f"{src}: row 1 (account_id F001): income: income months must run 1..3 without gaps; "
        "month 2 is missing",
        f"{src}: row 4 (account_id F003): month: month 1 appears twice for this account "
        "(first in row 3)",
        f"{src}: row 5 (account_id F002): income: negative amount, must be >= 0, got <withheld>",
        f"{src}: row 6 (account_id F002): month: must be in [1, 600], got 0",
        f"{src}: row 7 (account_id F002): month: must be a whole number, got 2.5",
        f"{src}: row 8 (account_id F002): income: neither income nor inflow given for this month",
        f"{src}: row 9 (account_id NOPE): account_id: not an account of {PORTFOLIO}",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("account_id,month\nA,1\n", "header: give an income column, an inflow column or both"),
        ("account_id,income\nA,1\n", "header: month: required column is missing"),
        ("month,income\n1,1\n", "header: account_id: required column is missing"),
        ("account_id,month,incme\nA,1,1\n", "header: incme: unknown column"),
        ("account_id,month,income,income\nA,1,1,1\n", "header: income: column appears twice"),
        (
            "account_id,month,income\n,1,1\n",
            "row 1 (account_id missing): account_id: missing value (required)",
        ),
        ("account_id,month,income\nA,,1\n", "row 1 (account_id A): month: missing value"),
        ("account_id,month,income\nA,x,1\n", "row 1 (account_id A): month: not a number: 'x'"),
        ("account_id,month,income\nA,601,1\n", "month: must be in [1, 600], got 601"),
        ("account_id,month,income\nA,1,abc\n", "income: not a number: <withheld>"),
        ("account_id,month,income\nA,1,inf\n", "income: infinite value (inf)"),
        ("account_id,month,income\nA,1,2e12\n", "income: implausibly large"),
        (
            "account_id,month,inflow\nA,1,-3\n",
            "inflow: negative amount, must be >= 0, got <withheld>",
        ),
        ("account_id,month,income\nA,2,5\n", "income months must run 1..2 without gaps; month 1"),
    ],
)
def test_bad_long_tables(tmp_path, text, message):
    """Each broken long table is refused with a message naming the file, row and column."""
    path = tmp_path / "long.csv"
    path.write_text(text, encoding="utf-8")
    lines = problems(read_forecast, path)
    assert any(line.startswith(f"{path}: ") and message in line for line in lines), lines


def test_long_table_unknown_account_and_format(tmp_path):
    """Accounts missing from the book are errors; a TOML forecast table is refused."""
    path = tmp_path / "long.csv"
    path.write_text("account_id,month,income\nF001,1,5\nZZ,1,5\nZZ,2,5\n", encoding="utf-8")
    lines = problems(read_portfolio, PORTFOLIO, forecast=path)
    assert lines == [f"{path}: row 2 (account_id ZZ): account_id: not an account of {PORTFOLIO}"]
    bad = tmp_path / "long.toml"
    bad.write_text("x = 1\n", encoding="utf-8")
    assert "must be .csv, .parquet or .xlsx" in problems(read_forecast, bad)[0]


def test_long_table_on_one_account():
    """read_account(forecast=) sets the account's fields; rows of another account are errors."""
    acc = read_account(ACCOUNT_TOML, forecast=FORECAST / "account_long.csv")
    assert acc.income_forecast == (4500.0,) and acc.inflows == ACCOUNT_INFLOWS
    lines = problems(read_account, ACCOUNT_TOML, forecast=LONG)
    assert (
        lines[0] == f"{LONG}: row 1 (account_id F001): account_id: not an account of {ACCOUNT_TOML}"
    )


def test_streamed_validation_checks_unknown_accounts(tmp_path):
    """iter_portfolio in chunks applies the table per chunk and reports unknown accounts."""
    chunks = list(iter_portfolio(PORTFOLIO, chunk_rows=1, stream_min_bytes=0, forecast=LONG))
    assert by_id(pd.concat(chunks, ignore_index=True)) == MERGED
    path = tmp_path / "long.csv"
    path.write_text("account_id,month,income\nF001,1,5\nZZ,1,5\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 2 \\(account_id ZZ\\): account_id: not an account"):
        list(iter_portfolio(PORTFOLIO, chunk_rows=1, stream_min_bytes=0, forecast=path))


# -- the commands --------------------------------------------------------------------------


def test_validate_with_forecast_cli():
    """`workout validate P --forecast T` exits 0 and counts forecasts; a broken table exits 2."""
    code, out = run_cli(["validate", PORTFOLIO, "--forecast", LONG])
    assert code == 0, out
    assert "income_forecast" in out and "inflows" in out
    code, out = run_cli(["validate", PORTFOLIO, "--forecast", LONG_BROKEN])
    assert code == 2 and "row 9 (account_id NOPE): account_id: not an account" in out
    assert "Traceback" not in out


def test_validate_one_account_shows_forecast():
    """`workout validate account.toml` shows the forecast, the inflows and income_normal = income."""
    code, out = run_cli(["validate", ACCOUNT_TOML])
    assert code == 0
    assert "3800;3800;4200;4200 (4 months)" in out and "3:20000;12:8000 (2 inflows)" in out
    assert "= income (not given)" in out


def test_plan_portfolio_bad_forecast_writes_nothing(tmp_path):
    """plan-portfolio --forecast with a broken table exits 2 and writes no output."""
    out = tmp_path / "plans.csv"
    code, text = run_cli(["plan-portfolio", PORTFOLIO, "--out", out, "--forecast", LONG_BROKEN])
    assert code == 2 and "long_broken.csv: row 1 (account_id F001): income:" in text
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_plan_reads_forecast_option(monkeypatch):
    """`workout plan A --forecast T` hands the account with the table's fields to planning."""
    # `workout plan` plans through solver.officer.documents.plan_result (shared with the
    # service): the stub goes where it looks plan_options up
    import solver.officer.documents

    seen = []

    def stub(account, *args, **kwargs):
        seen.append(account)
        raise InputError("stub: planning not run")

    monkeypatch.setattr(solver.officer.documents, "plan_options", stub)
    code, _ = run_cli(["plan", ACCOUNT_TOML, "--forecast", FORECAST / "account_long.csv"])
    assert code == 2 and seen[0].income_forecast == (4500.0,)
    code, out = run_cli(["plan", ACCOUNT_TOML, "--forecast", LONG])
    assert code == 2 and "account_id F001): account_id: not an account of" in out
    assert len(seen) == 1


def test_plan_portfolio_forecast_reaches_planning(tmp_path, monkeypatch):
    """plan-portfolio (local and partitioned dataset) plans the frame with the merged forecasts."""
    import solver.plans.portfolio

    frames = []
    real = solver.plans.portfolio.plan_portfolio

    def spy(frame, *args, **kwargs):
        frames.append(frame)
        return real(frame, *args, **kwargs)

    monkeypatch.setattr(solver.plans.portfolio, "plan_portfolio", spy)
    code, out = run_cli(
        ["plan-portfolio", PORTFOLIO, "--out", tmp_path / "p.csv", "--forecast", LONG]
    )
    assert code == 0, out
    assert by_id(frames[0]) == MERGED

    dataset = tmp_path / "book"
    dataset.mkdir()
    book = read_portfolio(PORTFOLIO)
    write_table(book.iloc[:2], dataset / "a.parquet")
    write_table(book.iloc[2:], dataset / "b.parquet")
    frames.clear()  # the engine's partitions are planned by the same function, in process
    code, out = run_cli(
        ["plan-portfolio", dataset, "--out", tmp_path / "q.csv", "--forecast", LONG,
         "--partitions", "2"]
    )  # fmt: skip
    assert code == 0, out
    assert len(frames) == 2 and by_id(pd.concat(frames, ignore_index=True)) == MERGED


def test_dataset_partitions_keep_the_object_columns(tmp_path):
    """A Parquet dataset read by partitions (engine) gives the same tuples as read_portfolio."""
    from solver.engines.partitions import concat_partitions, partition_source, prepare_portfolio

    frame = read_portfolio(PORTFOLIO, forecast=LONG)
    dataset = tmp_path / "book"
    dataset.mkdir()
    write_table(frame.iloc[:1], dataset / "a.parquet")
    write_table(frame.iloc[1:], dataset / "b.parquet")
    parts = partition_source(dataset, partitions=3)
    back = concat_partitions([prepare_portfolio(p.read(), p) for p in parts])
    assert by_id(back) == MERGED
    assert back["income_forecast"].dtype == object and back["inflows"].dtype == object


# -- strict forms through the CLI (issue 13 acceptance) -----------------------------------

_TOML_ACCOUNT = ACCOUNT_TOML.read_text(encoding="utf-8").rsplit("income_forecast", 1)[0]
_JSON_ACCOUNT = {
    k: v
    for k, v in json.loads(ACCOUNT_JSON.read_text(encoding="utf-8")).items()
    if k not in ("income_forecast", "inflows")
}
_CSV_HEAD = (
    "account_id,principal,annual_rate,remaining_term,income,expenses,income_forecast,inflows\n"
)
_CSV_ROW = "G001,60000,0.08,24,5000,2600,"

#: (file name, text, the column named, what the message says)
STRICT_FILES = [
    ("a.toml", _TOML_ACCOUNT + "income_forecast = 3800\n", "income_forecast", "single number"),
    ("a.toml", _TOML_ACCOUNT + 'inflows = [{month = "3", amount = 20000}]\n', "inflows",
     "inflow 1: month: expected a number, got the text '3'"),
    ("a.toml", _TOML_ACCOUNT + "inflows = {month = 3, amount = 20000}\n", "inflows",
     "got a single table"),
    ("a.toml", _TOML_ACCOUNT + 'income_forecast = ["3800", 4200]\n', "income_forecast",
     "month 1: expected a number, got the text"),
    ("a.toml", _TOML_ACCOUNT + "income_forecast = []\n", "income_forecast", "empty forecast"),
    ("a.toml", _TOML_ACCOUNT + f"income_forecast = [{', '.join(['1'] * 601)}]\n",
     "income_forecast", "601 months, at most 600"),
    ("a.toml", _TOML_ACCOUNT + "income_forecast = [3800, -1]\n", "income_forecast",
     "month 2: negative amount"),
    ("a.json", json.dumps({**_JSON_ACCOUNT, "income_forecast": 3800}), "income_forecast",
     "single number"),
    ("a.json", json.dumps({**_JSON_ACCOUNT, "inflows": [["3", 20000]]}), "inflows",
     "inflow 1: month: expected a number, got the text '3'"),
    ("a.json", json.dumps([{**_JSON_ACCOUNT, "inflows": [{"month": "3", "amount": 1}]}]),
     "inflows", "inflow 1: month: expected a number"),
    ("a.csv", _CSV_HEAD + _CSV_ROW + "3800;-5,\n", "income_forecast", "month 2: negative amount"),
    ("a.csv", _CSV_HEAD + _CSV_ROW + ",x:100\n", "inflows", "inflow 1: month is not a number"),
    ("a.csv", _CSV_HEAD + _CSV_ROW + ";".join(["1"] * 601) + ",\n", "income_forecast",
     "601 months"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "column", "message"), STRICT_FILES)
def test_plan_refuses_lenient_series_forms(tmp_path, name, text, column, message):
    """`workout plan FILE` exits 2 naming file, row (account_id) and column; writes nothing."""
    path = tmp_path / "in" / name
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out" / "plan.csv"
    out.parent.mkdir()
    code, text_out = run_cli(["plan", path, "--out", out])
    line = next(x for x in text_out.splitlines() if f": {column}: " in x)
    assert code == 2 and str(path) in line and "account_id " in line and message in line
    if name == "a.csv" or text.startswith("["):  # a table row or a record of a list
        assert "row 1 (account_id " in line
    assert list(out.parent.iterdir()) == [] and "Traceback" not in text_out


@pytest.mark.parametrize("records", [False, True])
def test_portfolio_records_refuse_a_single_number(tmp_path, records):
    """A JSON portfolio's record refuses a bare number; the same number in a CSV cell is month 1."""
    if records:
        path = tmp_path / "p.json"
        path.write_text(json.dumps([{**MINIMAL, "income_forecast": 3800}]), encoding="utf-8")
        lines = problems(read_portfolio, path)
        assert lines == [
            f"{path}: row 1 (account_id A1): income_forecast: expected a list of monthly "
            "amounts, got the single number <withheld>; write one amount per month "
            "([3800, 3800, 4200]), or [3800] for month 1 only"
        ]
    else:
        path = tmp_path / "p.csv"
        pd.DataFrame([{**MINIMAL, "income_forecast": 3800}]).to_csv(path, index=False)
        assert read_portfolio(path)["income_forecast"].tolist() == [(3800.0,)]
