"""Write the deliberately broken input files of this folder (run from anywhere).

    .venv/bin/python tests/data/broken/make_broken.py

Each file holds one kind of problem (a few hold several). The generated files are
committed; ``tests/test_cli_data.py`` lists what ``workout validate`` must say about each
(file, row, column). Every file starts from the same three valid accounts (``GOOD``) so
that only the planted problem is wrong.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parents[2])]  # tests/ (base accounts), the tree

from base_accounts import BASE_HEADER, base_rows, typed_cell  # noqa: E402

HEADER = [*BASE_HEADER, "preferred_channel", "region", "hardship"]
GOOD = base_rows(
    ["B001", "B002", "B003"],
    [["sms", "Guangdong", "false"], ["app", "Beijing", "false"], ["", "Sichuan", "true"]],
)


def rows_with(row: int, column: str, value: str) -> list[list[str]]:
    """The GOOD rows with one cell replaced (row is the 1-based data row)."""
    rows = [list(r) for r in GOOD]
    rows[row - 1][HEADER.index(column)] = value
    return rows


def csv_text(rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write(name: str, text: str | bytes) -> None:
    path = HERE / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)


def make_csv_files() -> None:
    write("empty.csv", b"")
    write("blank_lines.csv", "\n\n   \n")
    write("header_only.csv", ",".join(HEADER) + "\n")
    write("semicolon.csv", csv_text(GOOD, delimiter=";"))
    # GBK bytes for 广东 in the region column of data row 2 (file line 3)
    gbk = csv_text(rows_with(2, "region", "@@REGION@@")).encode("utf-8")
    write("gbk_encoded.csv", gbk.replace(b"@@REGION@@", "广东".encode("gbk")))
    write(
        "missing_column.csv",
        csv_text([r[:2] + r[3:] for r in GOOD], header=HEADER[:2] + HEADER[3:]),
    )
    write("text_in_number.csv", csv_text(rows_with(2, "principal", "twenty thousand")))
    write("blank_required.csv", csv_text(rows_with(3, "annual_rate", "")))
    write("nan_required.csv", csv_text(rows_with(1, "income", "NaN")))
    write("infinite.csv", csv_text(rows_with(2, "principal", "inf")))
    write("negative_money.csv", csv_text(rows_with(1, "arrears", "-100")))
    write("absurd_money.csv", csv_text(rows_with(3, "principal", "5e13")))
    write("rate_too_high.csv", csv_text(rows_with(2, "annual_rate", "0.45")))
    write("rate_in_percent.csv", csv_text(rows_with(1, "annual_rate", "7.2")))
    write("term_fraction.csv", csv_text(rows_with(3, "remaining_term", "12.5")))
    write("term_zero.csv", csv_text(rows_with(1, "remaining_term", "0")))
    write("negative_dpd.csv", csv_text(rows_with(2, "dpd", "-3")))
    write("duplicate_id.csv", csv_text(rows_with(3, "account_id", "B001")))
    write("missing_id.csv", csv_text(rows_with(2, "account_id", "")))
    write("unknown_product.csv", csv_text(rows_with(2, "product", "mortgage")))
    write("unknown_tier.csv", csv_text(rows_with(3, "tier", "F")))
    write("unknown_channel.csv", csv_text(rows_with(1, "preferred_channel", "fax")))
    write("bool_junk.csv", csv_text(rows_with(2, "hardship", "maybe")))
    write("score_out_of_range.csv", csv_text(rows_with(1, "credit_score", "900")))
    write("arrears_exceed_balance.csv", csv_text(rows_with(2, "arrears", "25000")))
    # an unquoted thousands separator splits a value into two fields
    ragged = csv_text(GOOD).splitlines()
    ragged[2] = ragged[2].replace("20000,300", "20,000,300", 1)
    write("ragged_row.csv", "\n".join(ragged) + "\n")
    write(
        "typo_column.csv",
        csv_text(GOOD, header=[("hardshp" if c == "hardship" else c) for c in HEADER]),
    )
    write("no_header.csv", csv_text(GOOD[1:], header=GOOD[0]))
    many = [list(GOOD[0]) for _ in range(60)]
    for i, row in enumerate(many, start=1):
        row[0] = f"M{i:03d}"
        row[HEADER.index("annual_rate")] = "0.5"
    write("many_errors.csv", csv_text(many))
    write("legacy.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)


def make_record_files() -> None:
    write(
        "bad_account.toml",
        'account_id = "T1"\nprincipal = 50000\nannual_rate = 1.5\nremaining_term = 12\n'
        "income = 4000\nexpenses = 2000\nhardshp = true\n",
    )
    write("bad_syntax.json", '{"account_id": "J1", "principal": 1000,\n "annual_rate": }\n')


def make_excel_files() -> None:
    from openpyxl import Workbook

    def workbook(rows: list[list[str]]) -> Workbook:
        book = Workbook()
        sheet = book.active
        sheet.title = "portfolio"
        sheet.append(HEADER)
        for row in rows:
            text = ("account_id", "product", "tier", "preferred_channel", "region")
            sheet.append([typed_cell(c, cell, text) for c, cell in zip(HEADER, row, strict=True)])
        return book

    book = workbook(GOOD)
    book.active["C3"] = "=C2*0.25"  # principal of data row 2 is a formula
    book.save(HERE / "formula.xlsx")

    book = workbook(GOOD)
    book.active.merge_cells("L3:L4")  # income of data rows 2-3 merged
    book.save(HERE / "merged_cells.xlsx")

    book = workbook(rows_with(1, "principal", "-1"))
    book.active["C2"] = "lots"  # text in a number column of data row 1
    book.save(HERE / "text_in_number.xlsx")

    book = Workbook()
    book.active.title = "portfolio"
    book.save(HERE / "empty_sheet.xlsx")


if __name__ == "__main__":
    make_csv_files()
    make_record_files()
    make_excel_files()
    print(f"wrote broken inputs to {HERE}")
