"""Tests for reading (solver.core.readers: CSV, Parquet, Excel, TOML, JSON), validation and
writing (solver.core.writers)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from solver.core.readers import read_account, read_portfolio
from solver.core.schema import COLUMNS, InputWarning
from solver.core.tiering import TieringRules
from solver.core.writers import output_format, write_table, write_workbook
from solver.errors import InputError

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "portfolio" / "tiny.csv"
ONE = DATA / "portfolio" / "one_account.toml"
BROKEN = DATA / "broken"

HEADER = "account_id,principal,annual_rate,remaining_term,income,expenses"


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, **kwargs) -> list[str]:
    with pytest.raises(InputError) as info:
        read_portfolio(path, **kwargs)
    return info.value.problems or [str(info.value)]


def test_tiny_portfolio_values_and_derived_tiers():
    """tiny.csv reads with the README's hand-derived tiers, buckets and defaults."""
    frame = read_portfolio(TINY)
    assert len(frame) == 8
    tiers = dict(zip(frame["account_id"], frame["tier"], strict=True))
    assert tiers == {
        "T001": "B", "T002": "C", "T003": "E", "T004": "C",
        "T005": "E", "T006": "B", "T007": "D", "T008": "E",
    }  # fmt: skip
    assert frame["dpd_bucket"].tolist() == ["M1", "M2", "M3", "M1", "M4+", "M0", "M2", "M4+"]
    t4 = frame.set_index("account_id").loc["T004"]
    assert np.isnan(t4["credit_score"]) and t4["income_cv"] == 0.25
    assert t4["preferred_channel"] == "" and bool(t4["hardship"]) is True
    assert np.isnan(frame.set_index("account_id").loc["T006", "income_normal"])  # = income
    assert frame["principal"].sum() == 418_000.00
    assert frame.attrs["tiers_derived"] == 7 and frame.attrs["warnings"] == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_write_read_round_trip(tmp_path, suffix):
    """write_table then read_portfolio gives back the same frame for every format."""
    frame = read_portfolio(TINY)
    out = write_table(frame, tmp_path / f"tiny{suffix}")
    back = read_portfolio(out)
    pd.testing.assert_frame_equal(back, frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"tiny{suffix}"]  # no temp files


def test_excel_output_is_readable(tmp_path):
    """The .xlsx has a frozen bold header, number formats and a 'columns' schema sheet."""
    from openpyxl import load_workbook

    out = write_table(read_portfolio(TINY), tmp_path / "t.xlsx")
    book = load_workbook(out)
    assert book.sheetnames == ["portfolio", "columns"]
    sheet = book["portfolio"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b
    assert sheet["C2"].number_format == "#,##0.00"  # principal
    assert sheet["G2"].number_format == "0.00%"  # annual_rate
    assert book["columns"]["A2"].value == "account_id"


def test_write_table_rejects_bad_extension_and_writes_nothing(tmp_path):
    """An unsupported output extension raises InputError before anything is written."""
    with pytest.raises(InputError, match="unsupported output file type '.txt'"):
        write_table(read_portfolio(TINY), tmp_path / "out.txt")
    assert list(tmp_path.iterdir()) == []
    assert output_format("x.PARQUET") == "parquet"


def test_write_table_is_atomic_on_failure(tmp_path, monkeypatch):
    """A writer that fails midway leaves neither the target nor a temporary file."""
    frame = read_portfolio(TINY)
    target = tmp_path / "out.parquet"
    target.write_bytes(b"old")

    def boom(self, path, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(OSError, match="disk full"):
        write_table(frame, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_write_workbook_several_sheets(tmp_path):
    """write_workbook writes one sheet per table; text starting with '=' stays text."""
    from openpyxl import load_workbook

    tables = {"a": pd.DataFrame({"x": [1, 2]}), "b": pd.DataFrame({"note": ["=SUM(A1)"]})}
    out = write_workbook(tables, tmp_path / "w.xlsx")
    book = load_workbook(out)
    assert book.sheetnames == ["a", "b"]
    assert book["b"]["A2"].data_type == "s" and book["b"]["A2"].value == "=SUM(A1)"


def test_csv_header_normalisation_bom_and_crlf(tmp_path):
    """A UTF-8 BOM, CRLF line ends and headers like ' Account ID ' are accepted."""
    text = "\ufeff Account ID ,Principal,Annual-Rate,remaining_term,INCOME,expenses\r\n"
    text += "a1,1000,0.1,12,5000,2000\r\n"
    frame = read_portfolio(write_text(tmp_path / "p.csv", text))
    assert frame.loc[0, "account_id"] == "a1" and frame.loc[0, "annual_rate"] == 0.1


def test_account_ids_keep_leading_zeros(tmp_path):
    """account_id is text: '00123' stays '00123' in CSV (not the number 123)."""
    path = write_text(tmp_path / "p.csv", f"{HEADER}\n00123,1000,0.1,12,5000,2000\n")
    assert read_portfolio(path).loc[0, "account_id"] == "00123"


def test_unknown_columns_warn_or_error(tmp_path):
    """Extra columns warn (and are dropped); 'error' makes them problems; dpd_bucket is fine."""
    path = write_text(
        tmp_path / "p.csv", f"{HEADER},branch,dpd_bucket\nA,1000,0.1,12,5000,2000,SZ-01,M4+\n"
    )
    with pytest.warns(InputWarning, match="branch: unknown column ignored"):
        frame = read_portfolio(path)
    assert list(frame.columns) == [*COLUMNS, "dpd_bucket"]
    assert frame.loc[0, "dpd_bucket"] == "M0"  # recomputed from dpd
    assert frame.attrs["warnings"] == [f"{path}: header: branch: unknown column ignored"]
    lines = problems_of(path, unknown_columns="error")
    assert lines == [f"{path}: header: branch: unknown column"]


def test_all_problems_reported_with_row_numbers(tmp_path):
    """Every bad cell of every row is reported, with data-row numbers and account ids."""
    text = (
        f"{HEADER},hardship,product\n"
        "A,1000,0.1,12,5000,2000,no,auto_loan\n"
        "B,abc,0.5,0,5000,-1,maybe,lease\n"
        "A,1e13,0.1,12.5,,2000,yes,auto_loan\n"
    )
    lines = problems_of(write_text(tmp_path / "p.csv", text))
    src = str(tmp_path / "p.csv")
    assert lines == [
        f"{src}: row 2 (account_id B): product: unknown product 'lease' "
        "(allowed: auto_loan, card_instalment)",
        f"{src}: row 2 (account_id B): principal: not a number: 'abc'",
        f"{src}: row 2 (account_id B): annual_rate: must be in [0, 0.36], got 0.5",
        f"{src}: row 2 (account_id B): remaining_term: must be in [1, 600], got 0",
        # expenses is personal: its value is withheld unless --verbose (docs/reliability.md)
        f"{src}: row 2 (account_id B): expenses: negative amount, must be >= 0, got <withheld>",
        f"{src}: row 2 (account_id B): hardship: expected true/false, got 'maybe'",
        f"{src}: row 3 (account_id A): account_id: duplicate account_id 'A' (first in row 1)",
        f"{src}: row 3 (account_id A): principal: implausibly large (> 1e+12 CNY; amounts are "
        "in yuan, not fen), got 10000000000000",
        f"{src}: row 3 (account_id A): remaining_term: must be a whole number, got 12.5",
        f"{src}: row 3 (account_id A): income: missing value (required)",
    ]


def test_ragged_rows_are_reported_and_later_rows_keep_their_numbers(tmp_path):
    """A row with an extra field is reported; rows after it keep their own row numbers."""
    text = f"{HEADER}\nA,1000,0.1,12,5000,2000\nB,1,000,0.1,12,5000,2000\nC,-5,0.1,12,5000,2000\n"
    lines = problems_of(write_text(tmp_path / "p.csv", text))
    assert "row 2: expected 6 comma-separated values, found 7 (line 3" in lines[0]
    assert lines[1].endswith("row 3 (account_id C): principal: must be > 0, got -5")


def test_text_far_down_a_numeric_column(tmp_path):
    """Text after many numeric rows (past pyarrow's first block) is still found and located."""
    rows = [f"A{i},1000,0.1,12,5000,2000" for i in range(150_000)]
    rows[140_000] = "A140000,1000,0.1,twelve,5000,2000"
    path = write_text(tmp_path / "p.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    lines = problems_of(path)
    assert lines == [
        f"{path}: row 140001 (account_id A140000): remaining_term: not a number: 'twelve'"
    ]


def test_wrong_delimiter_message(tmp_path):
    """A semicolon-separated file gets 'expected comma-separated columns; found one column'."""
    path = write_text(tmp_path / "p.csv", HEADER.replace(",", ";") + "\nA;1;0.1;1;1;1\n")
    with pytest.raises(InputError, match="expected comma-separated columns; found one column"):
        read_portfolio(path)


def test_non_utf8_names_the_line(tmp_path):
    """GBK bytes are reported with their line and a hint to re-save as UTF-8."""
    path = tmp_path / "p.csv"
    path.write_bytes(
        (HEADER + ",region\nA,1,0.1,1,1,1,x\nB,1,0.1,1,1,1,").encode() + "广东\n".encode("gbk")
    )
    with pytest.raises(InputError) as info:
        read_portfolio(path)
    assert "GB18030" in str(info.value)
    assert info.value.problems[0].startswith(f"{path}: row 2 (account_id B): region: byte 0x")
    assert info.value.problems[0].endswith("is not valid UTF-8 (line 3, byte 15)")


def test_blank_and_nan_cells(tmp_path):
    """Blank / NA cells take defaults in optional columns and are errors in required ones."""
    text = f"{HEADER},dpd,consent_sms,credit_score\nA,1000,0.1,12,5000,2000,NA,,null\n"
    frame = read_portfolio(write_text(tmp_path / "p.csv", text))
    assert frame.loc[0, "dpd"] == 0 and bool(frame.loc[0, "consent_sms"]) is True
    assert np.isnan(frame.loc[0, "credit_score"])
    lines = problems_of(write_text(tmp_path / "q.csv", f"{HEADER}\nA,NaN,0.1,12,5000,2000\n"))
    assert lines[0].endswith("principal: missing value (required)")


def test_tiering_option_changes_derived_tiers(tmp_path):
    """read_portfolio(tiering=...) uses the given rules for blank tiers only."""
    rules = TieringRules(dpd_downgrade=(0, 0, 0, 0, 0))
    frame = read_portfolio(TINY, tiering=rules)
    tiers = dict(zip(frame["account_id"], frame["tier"], strict=True))
    assert tiers["T005"] == "A" and tiers["T006"] == "B"  # T006's tier is given


def test_parquet_with_wrong_types(tmp_path):
    """Parquet columns of the wrong type are coerced or reported like CSV cells."""
    raw = pd.DataFrame(
        {
            "account_id": [1, 2],
            "principal": ["1000", "x"],
            "annual_rate": [0.1, 0.2],
            "remaining_term": [12.0, 12.0],
            "income": [5000, 5000],
            "expenses": [1, 1],
            "hardship": [1, 0],
        }
    )
    path = tmp_path / "p.parquet"
    raw.to_parquet(path)
    lines = problems_of(path)
    assert lines == [f"{path}: row 2 (account_id 2): principal: not a number: 'x'"]
    raw["principal"] = ["1000", "2000"]
    raw.to_parquet(path)
    frame = read_portfolio(path)
    assert frame["account_id"].tolist() == ["1", "2"] and frame["hardship"].tolist() == [
        True,
        False,
    ]
    assert frame["remaining_term"].dtype == np.int64


def test_excel_cells_with_formulas_merges_and_bools(tmp_path):
    """Excel: formulas and merged cells are named by cell; TRUE/FALSE cells are booleans."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(",") + ["hardship"])
    sheet.append(["A", 1000, 0.1, 12, 5000, 2000, True])
    sheet.append(["B", "=B2*2", 0.1, 12, 5000, 2000, False])
    sheet.append(["C", 1000, 0.1, 12, 5000, 2000, None])
    sheet.append(["D", 1000, 0.1, 12, 5000, 2000, None])
    sheet.merge_cells("E4:E5")
    path = tmp_path / "p.xlsx"
    book.save(path)
    lines = problems_of(path)
    assert lines[0] == (
        f"{path}: row 2 (account_id B): principal: cell B3 holds a formula '=B2*2'; workout "
        "reads values only: replace formulas with values (Paste Special > Values)"
    )
    assert lines[1] == (
        f"{path}: row 3 (account_id C): income: cells E4:E5 are merged; unmerge them and fill "
        "every cell"
    )
    assert len(lines) == 2
    sheet["B3"] = 2000
    sheet.unmerge_cells("E4:E5")
    sheet["E5"] = 5000
    book.save(path)
    frame = read_portfolio(path)
    assert frame["hardship"].tolist() == [True, False, False, False]


def test_excel_merged_cells_found_on_the_chosen_sheet(tmp_path):
    """Merged cells are read from the workbook package (no private openpyxl attributes):
    the portfolio sheet is the second one, with an escaped name in the workbook XML."""
    from openpyxl import Workbook

    book = Workbook()
    notes = book.active
    notes.title = "notes & terms"
    notes.merge_cells("A1:B1")  # merges of another sheet are not this sheet's
    sheet = book.create_sheet("portfolio")
    sheet.append(HEADER.split(","))
    sheet.append(["A", 1000, 0.1, 12, 5000, 2000])
    sheet.append(["B", 1000, 0.1, 12, 5000, 2000])
    sheet.append(["C", 1000, 0.1, 12, 5000, 2000])
    sheet.merge_cells("E3:E4")
    path = tmp_path / "p.xlsx"
    book.save(path)
    assert problems_of(path) == [
        f"{path}: row 2 (account_id B): income: cells E3:E4 are merged; unmerge them and fill "
        "every cell"
    ]


def test_excel_sheet_choice(tmp_path):
    """The 'portfolio' sheet is read when present; --sheet picks another; unknown sheet errors."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "notes"
    book.active.append(["nothing here"])
    for name, ident in (("portfolio", "P"), ("other", "O")):
        sheet = book.create_sheet(name)
        sheet.append(HEADER.split(","))
        sheet.append([ident, 1000, 0.1, 12, 5000, 2000])
    path = tmp_path / "p.xlsx"
    book.save(path)
    assert read_portfolio(path).loc[0, "account_id"] == "P"
    assert read_portfolio(path, sheet="other").loc[0, "account_id"] == "O"
    with pytest.raises(InputError, match="no sheet named 'x'"):
        read_portfolio(path, sheet="x")


def test_json_and_toml_portfolios(tmp_path):
    """JSON lists and TOML [[accounts]] read as portfolios; unknown keys are errors there."""
    records = [
        {"account_id": "J1", "principal": 1000, "annual_rate": 0.1, "remaining_term": 12,
         "income": 5000, "expenses": 2000, "hardship": True},
        {"account_id": "J2", "principal": "2000", "annual_rate": 0.1, "remaining_term": 6,
         "income": 5000, "expenses": 2000},
    ]  # fmt: skip
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"accounts": records}))
    frame = read_portfolio(path)
    assert frame["principal"].tolist() == [1000.0, 2000.0]
    assert frame["hardship"].tolist() == [True, False]
    toml = tmp_path / "p.toml"
    toml.write_text(
        '[[accounts]]\naccount_id = "K1"\nprincipal = 1\nannual_rate = 0.1\nremaining_term = 1\n'
        'income = 1\nexpenses = 1\ncolour = "red"\n'
    )
    assert problems_of(toml) == [f"{toml}: header: colour: unknown column"]


def test_read_account_formats(tmp_path):
    """read_account reads TOML, JSON and a one-row CSV; the tier stays 'derived'."""
    acc = read_account(ONE)
    assert acc.account_id == "ONE001" and acc.tier == "B" and acc.tier_derived
    assert acc.income_normal == 9000 and acc.cease_contact is False and acc.consent_sms is True
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"account": acc.to_dict()}))
    assert read_account(path) == acc
    one_row = tmp_path / "a.csv"
    write_table(pd.DataFrame([acc.to_dict()]).assign(tier=""), one_row)
    from_csv = read_account(one_row)
    assert from_csv == acc and from_csv.tier_derived
    assert from_csv.replace(dpd=95).tier == "E"


def test_read_account_errors(tmp_path):
    """read_account rejects several accounts, typos and bad values with file and column."""
    with pytest.raises(InputError, match="expected one account, found 8 rows"):
        read_account(TINY)
    with pytest.raises(InputError) as info:
        read_account(BROKEN / "bad_account.toml")
    text = str(info.value)
    assert "bad_account.toml: hardshp: unknown field (did you mean 'hardship'?)" in text
    assert "bad_account.toml: account_id T1: annual_rate: must be in [0, 0.36], got 1.5" in text
    with pytest.raises(InputError, match="line 2 column 17: not valid JSON"):
        read_account(BROKEN / "bad_syntax.json")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "file is empty (0 bytes)"),
        ("header_only.csv", "header only, no data rows"),
        ("blank_lines.csv", "only blank lines"),
        ("legacy.xls", "(.xls) files are not supported"),
        ("empty_sheet.xlsx", "sheet 'portfolio' is empty"),
    ],
)
def test_file_level_problems(name, message):
    """Files that hold no accounts at all get one clear file-level message."""
    with pytest.raises(InputError) as info:
        read_portfolio(BROKEN / name)
    assert message in str(info.value) and str(BROKEN / name) in str(info.value)


def test_missing_file_and_unknown_type(tmp_path):
    """A missing file or an unsupported extension is an InputError, not a traceback."""
    with pytest.raises(InputError, match="file not found"):
        read_portfolio(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="unsupported file type '.txt'"):
        read_portfolio(write_text(tmp_path / "p.txt", "x"))
