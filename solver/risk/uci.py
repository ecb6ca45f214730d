"""Adapter for the UCI "default of credit card clients" data (Yeh & Lien 2009).

The file ``credit/UCI_Credit_Card.csv`` under the shared data directory has UCI's raw
header ``ID,X1..X23,Y`` (30,000 Taiwanese card holders, April-September 2005):

====== ============== =====================================================
column name           meaning
====== ============== =====================================================
X1     LIMIT_BAL      credit limit (NT$)
X2-X5  SEX, EDUCATION, MARRIAGE, AGE
X6-X11 PAY_0, PAY_2..PAY_6  repayment status Sep, Aug, ..., Apr: -2 no consumption,
                      -1 paid in full, 0 revolving credit, 1-8 months late
X12-17 BILL_AMT1..6   bill statement Sep, Aug, ..., Apr
X18-23 PAY_AMT1..6    amount paid in Sep, Aug, ..., Apr
Y      default next month (October 2005), 1 = default
====== ============== =====================================================

Two views are built from it:

* :func:`uci_panel` -- the monthly status panel for roll rates (one row per account and
  month, April to September 2005). The delinquency bucket comes from the repayment
  status: ``<= 0`` (no consumption, paid in full, revolving) is current ``M0``; ``1`` is
  one month late ``M1``; ``2`` is ``M2``; ``3`` is ``M3``; ``>= 4`` is ``M4+``.
* :func:`uci_history` -- the same months as a payment history in the long format of
  :mod:`solver.risk.history` (issue 18), so that the generic history features
  (:mod:`solver.risk.history_features`) and every history command work on it: UCI is one
  adapter among others.
* :func:`uci_features` -- the behaviour feature table for the early-warning score:
  credit limit, status history, bills, payments, utilisation, payment-to-bill ratios,
  trends and delinquency counts. Sex, marital status, education and age are left out on
  purpose: the score is built from repayment behaviour only (protected characteristics
  must not drive collection treatment).

The Kaggle copy of the file (named columns, target ``default.payment.next.month``) is
accepted as well.

The shared ``credit/lending_club_sample.csv`` is *not* an input of ``workout risk``
(decision of session 20, issue riskux-6): it has one row per loan with its final status
(``loan_status``) and a few dates, not a month-by-month delinquency status, so it gives
neither roll rates nor the monthly hazards the behaviour model needs; deriving them from
``issue_d``/``last_pymnt_d`` would invent the months in between. The ``risk`` commands
refuse it by name (:func:`lending_club_refusal`) and list :data:`ACCEPTED_LAYOUTS`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from solver.core.data_dir import DATA_DIR_ENV
from solver.core.table_header import read_header
from solver.errors import InputError
from solver.risk._tables import RowProblems, TableSource, read_table, source_label

UCI_RELATIVE_PATH = Path("credit") / "UCI_Credit_Card.csv"

# Named columns in UCI order X1..X23.
UCI_COLUMNS: tuple[str, ...] = (
    "LIMIT_BAL",
    "SEX",
    "EDUCATION",
    "MARRIAGE",
    "AGE",
    "PAY_0",
    "PAY_2",
    "PAY_3",
    "PAY_4",
    "PAY_5",
    "PAY_6",
    *(f"BILL_AMT{k}" for k in range(1, 7)),
    *(f"PAY_AMT{k}" for k in range(1, 7)),
)
STATUS_COLUMNS: tuple[str, ...] = ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")
BILL_COLUMNS: tuple[str, ...] = tuple(f"BILL_AMT{k}" for k in range(1, 7))
PAYMENT_COLUMNS: tuple[str, ...] = tuple(f"PAY_AMT{k}" for k in range(1, 7))
#: Personal data (demographics and money amounts): values withheld from messages unless
#: ``workout --verbose`` (see solver.core.account.PERSONAL_FIELDS).
PERSONAL_COLUMNS: frozenset[str] = frozenset(
    ("LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", *BILL_COLUMNS, *PAYMENT_COLUMNS)
)
TARGET = "default_next_month"
# Months of the status columns, latest first (PAY_0 = September 2005 ... PAY_6 = April).
UCI_MONTHS: tuple[str, ...] = ("2005-09", "2005-08", "2005-07", "2005-06", "2005-05", "2005-04")

_TARGET_ALIASES = ("Y", "default.payment.next.month", "default_payment_next_month", TARGET)
_SEX = {1: "male", 2: "female"}
_EDUCATION = {1: "graduate_school", 2: "university", 3: "high_school"}
_MARRIAGE = {1: "married", 2: "single"}


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The shared data directory: ``data_dir``, else ``$WORKOUT_DATA_DIR``, else ``../shared/data``.

    The default is tried relative to the current directory and then relative to the
    project root (the directory holding ``solver/``); the first that exists wins. The
    returned path may not exist (callers check and skip or raise).
    """
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    project_root = Path(__file__).resolve().parents[2]
    candidates = [Path.cwd() / ".." / "shared" / "data", project_root / ".." / "shared" / "data"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return candidates[0]


def uci_csv_path(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of ``credit/UCI_Credit_Card.csv`` under the data directory (may not exist)."""
    return resolve_data_dir(data_dir) / UCI_RELATIVE_PATH


def require_uci_csv(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the UCI file; :class:`InputError` naming where it was looked for if absent."""
    path = uci_csv_path(data_dir)
    if not path.is_file():
        from solver.core.data_dir import data_not_found

        raise InputError(
            data_not_found(
                "the UCI credit-card data",
                path,
                resolve_data_dir(data_dir),
                option=None if data_dir is None else "--data-dir",
            )
        )
    return path


# What the risk commands read, as the files really are (their error messages quote it).
ACCEPTED_LAYOUTS = (
    "UCI's raw credit-card file (header ID, X1..X23, Y, as credit/UCI_Credit_Card.csv), "
    "the same with named columns (LIMIT_BAL, SEX, ..., PAY_AMT6, target "
    "default.payment.next.month, as the Kaggle copy), or a monthly payment history "
    "(account_id, month, amount_due, amount_paid, dpd, status; docs/history.md)"
)

# Columns that only LendingClub's loan file has together (credit/lending_club_sample.csv).
LENDING_CLUB_COLUMNS = frozenset({"loan_amnt", "loan_status", "int_rate", "issue_d"})


def is_lending_club_table(columns: object) -> bool:
    """True when ``columns`` look like LendingClub's loan file (one row per loan)."""
    names = {str(c).strip() for c in columns}  # type: ignore[attr-defined]
    return LENDING_CLUB_COLUMNS <= names


def lending_club_refusal(source: object) -> str:
    """Why ``source``, a LendingClub loan file, is refused by the risk commands."""
    return (
        f"{source}: a LendingClub loan file is not a supported input of workout risk: it has "
        "one row per loan with its final loan_status, not a month-by-month delinquency status, "
        f"so it gives neither roll rates nor monthly hazards. Accepted: {ACCEPTED_LAYOUTS}"
    )


def refuse_lending_club_file(path: str | os.PathLike[str]) -> None:
    """Raise :class:`InputError` (:func:`lending_club_refusal`) when ``path`` is a CSV whose
    header is LendingClub's loan file: every risk command refuses it by name before reading
    it, rather than listing the columns one command lacks. Only the header is read; a file
    that is not a CSV or cannot be read is left to the command, whose reader names the
    problem with its row."""
    file = Path(path)
    if file.suffix.lower() != ".csv" or not file.is_file():
        return
    try:
        columns = read_header(file)
    except Exception:  # noqa: BLE001 -- the command's reader reports it with the row
        return
    if is_lending_club_table(columns):
        raise InputError(lending_club_refusal(file))


def is_uci_table(columns: object) -> bool:
    """True when ``columns`` look like the UCI file (raw ``X1..X23`` or named header)."""
    names = {str(c) for c in columns}  # type: ignore[attr-defined]
    raw = {f"X{k}" for k in range(1, 24)}
    return raw <= names or set(UCI_COLUMNS) <= names


def normalise_uci(
    frame: pd.DataFrame, source: str = "<frame>", row_offset: int = 0
) -> pd.DataFrame:
    """Rename a UCI table to named columns and validate it.

    ``row_offset`` is the number of rows before ``frame`` in the whole table (a partition
    of a dataset): row numbers in messages and default account ids count from there.

    Returns a frame with ``account_id`` (str), the 23 named columns (float64, statuses
    int64) and, when the input has it, ``default_next_month`` (int64, 0/1).

    Raises
    ------
    InputError
        Listing every problem (missing columns, non-numeric or missing values, statuses
        outside -2..9, non-positive limits, negative payments, targets other than 0/1);
        rows are numbered from 1 after the header.
    """
    df = frame.copy()
    df.columns = [str(c).strip() for c in df.columns]
    display = {name: name for name in UCI_COLUMNS}
    if {f"X{k}" for k in range(1, 24)} <= set(df.columns):
        df = df.rename(columns={f"X{k}": name for k, name in enumerate(UCI_COLUMNS, start=1)})
        display = {name: f"X{k} ({name})" for k, name in enumerate(UCI_COLUMNS, start=1)}
    missing = [c for c in UCI_COLUMNS if c not in df.columns]
    if missing:
        if is_lending_club_table(df.columns):
            raise InputError(lending_club_refusal(source))
        # the raw header with some X columns missing: name those (X8 (PAY_3)), not the
        # named header's 23 (review s24); none of either: say so in both spellings
        raw_missing = [
            f"X{k} ({name})"
            for k, name in enumerate(UCI_COLUMNS, start=1)
            if f"X{k}" not in df.columns
        ]
        if len(raw_missing) < len(missing):
            shown = raw_missing
        elif len(missing) < len(UCI_COLUMNS):
            shown = missing
        else:
            shown = ["LIMIT_BAL..PAY_AMT6, or X1..X23 in the raw header"]
        raise InputError(
            f"{source}: not a UCI credit-card table (missing columns: {', '.join(shown)}). "
            f"Accepted: {ACCEPTED_LAYOUTS}"
        )
    id_column = next((c for c in ("account_id", "ID", "id") if c in df.columns), None)
    target_column = next((c for c in _TARGET_ALIASES if c in df.columns), None)
    account_id = (
        df[id_column].astype(str).str.strip()
        if id_column is not None
        else pd.Series(
            [str(k) for k in range(row_offset + 1, row_offset + len(df) + 1)], index=df.index
        )
    )

    problems = RowProblems(
        source, df, account_id, row_offset=row_offset, labels=display, personal=PERSONAL_COLUMNS
    )
    where = problems.report

    out = pd.DataFrame({"account_id": account_id.to_numpy()})
    for column in UCI_COLUMNS:
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
        where(~np.isfinite(values), column, "not a number")
        out[column] = values
    # Range checks look at the numeric cells only (non-numbers are reported above).
    for column in STATUS_COLUMNS:
        status = out[column].to_numpy()
        finite = np.isfinite(status)
        bad = finite & ((status != np.round(status)) | (status < -2) | (status > 9))
        where(bad, column, "repayment status must be an integer in -2..9")
    where(out["LIMIT_BAL"].to_numpy() <= 0, "LIMIT_BAL", "credit limit must be > 0")
    for column in PAYMENT_COLUMNS:
        where(out[column].to_numpy() < 0, column, "payment must be >= 0")
    if id_column is not None:
        where(account_id.duplicated().to_numpy(), id_column, "duplicate account id")
    if target_column is not None:
        target = pd.to_numeric(df[target_column], errors="coerce").to_numpy(dtype=float)
        where(~np.isin(target, (0.0, 1.0)), target_column, "default flag must be 0 or 1")
        out[TARGET] = np.nan_to_num(target).astype(np.int64)
    problems.raise_any()
    for column in STATUS_COLUMNS:
        out[column] = out[column].astype(np.int64)
    if target_column is not None:  # the file's name of the default flag, for messages
        out.attrs["target_column"] = target_column
    return out


def read_uci(path: TableSource) -> pd.DataFrame:
    """Read and validate a UCI credit-card table (CSV, Parquet or Excel); see :func:`normalise_uci`."""
    return normalise_uci(read_table(path), source=source_label(path))


def status_to_bucket(status: np.ndarray) -> np.ndarray:
    """Delinquency bucket of UCI repayment statuses (vectorised).

    ``<= 0`` -> ``"M0"`` (no consumption, paid in full or revolving: nothing overdue),
    ``1`` -> ``"M1"``, ``2`` -> ``"M2"``, ``3`` -> ``"M3"``, ``>= 4`` -> ``"M4+"``.
    """
    labels = np.array(["M0", "M1", "M2", "M3", "M4+"], dtype=object)
    return labels[np.clip(np.asarray(status, dtype=np.int64), 0, 4)]


def uci_panel(uci: pd.DataFrame) -> pd.DataFrame:
    """Monthly status panel (April-September 2005) from a normalised UCI table.

    Columns: ``account_id``, ``month`` (``"YYYY-MM"``), ``status`` (raw UCI status),
    ``dpd_bucket``, ``balance`` (bill statement of the month), ``payment`` (amount paid
    in the month), ``credit_limit`` and the segments ``sex``, ``education``,
    ``marriage``, ``age_band`` and ``limit_band``. Rows are sorted by account and month.
    """
    n = len(uci)
    n_months = len(UCI_MONTHS)
    # Columns are stored latest-first; reverse them so that months run forward.
    order = slice(None, None, -1)
    status = uci[list(STATUS_COLUMNS)].to_numpy()[:, order]
    bills = uci[list(BILL_COLUMNS)].to_numpy(dtype=float)[:, order]
    paid = uci[list(PAYMENT_COLUMNS)].to_numpy(dtype=float)[:, order]
    months = np.array(UCI_MONTHS[order], dtype=object)
    age = uci["AGE"].to_numpy()
    limit = uci["LIMIT_BAL"].to_numpy(dtype=float)
    segments = {
        "sex": pd.Series(uci["SEX"].map(_SEX)).fillna("other").to_numpy(dtype=object),
        "education": pd.Series(uci["EDUCATION"].map(_EDUCATION))
        .fillna("other")
        .to_numpy(dtype=object),
        "marriage": pd.Series(uci["MARRIAGE"].map(_MARRIAGE))
        .fillna("other")
        .to_numpy(dtype=object),
        "age_band": np.array(["<30", "30-39", "40-49", "50+"], dtype=object)[
            np.digitize(age, [30, 40, 50])
        ],
        "limit_band": np.array(["<50k", "50k-140k", "140k-240k", ">=240k"], dtype=object)[
            np.digitize(limit, [50_000, 140_000, 240_000])
        ],
    }
    panel = pd.DataFrame(
        {
            "account_id": np.repeat(uci["account_id"].to_numpy(dtype=object), n_months),
            "month": np.tile(months, n),
            "status": status.reshape(-1),
            "dpd_bucket": status_to_bucket(status.reshape(-1)),
            "balance": bills.reshape(-1),
            "payment": paid.reshape(-1),
            "credit_limit": np.repeat(limit, n_months),
        }
    )
    for name, values in segments.items():
        panel[name] = np.repeat(values, n_months)
    return panel


def uci_features(uci: pd.DataFrame) -> pd.DataFrame:
    """Behaviour features of the early-warning score from a normalised UCI table.

    Index 0 is the latest month (September 2005). Features: ``credit_limit``; per month
    ``status_k``, ``bill_k``, ``paid_k``, ``utilisation_k`` (bill / limit) and
    ``pay_to_bill_k`` (payment in month k over the bill of month k+1, the statement it
    settles; missing when that bill is not positive); and summaries: months delinquent,
    worst delay, mean status, months paid in full, months without consumption, months
    without a payment, utilisation trend / mean / max, total payment-to-bill ratio,
    available credit share, status trend, mean payment, last payment against the mean,
    bill growth and months since the last delinquency (6 = none).
    """
    limit = uci["LIMIT_BAL"].to_numpy(dtype=float)
    status = uci[list(STATUS_COLUMNS)].to_numpy(dtype=float)
    bills = uci[list(BILL_COLUMNS)].to_numpy(dtype=float)
    paid = uci[list(PAYMENT_COLUMNS)].to_numpy(dtype=float)
    utilisation = bills / limit[:, None]
    n_months = status.shape[1]

    columns: dict[str, np.ndarray] = {"credit_limit": limit}
    for k in range(n_months):
        columns[f"status_{k}"] = status[:, k]
    for k in range(n_months):
        columns[f"bill_{k}"] = bills[:, k]
    for k in range(n_months):
        columns[f"paid_{k}"] = paid[:, k]
    for k in range(n_months):
        columns[f"utilisation_{k}"] = utilisation[:, k]
    for k in range(n_months - 1):
        settled_bill = bills[:, k + 1]
        columns[f"pay_to_bill_{k}"] = np.where(
            settled_bill > 0, paid[:, k] / np.maximum(settled_bill, 1.0), np.nan
        )
    delinquent = status >= 1
    columns["months_delinquent"] = delinquent.sum(axis=1).astype(float)
    columns["max_delay"] = status.max(axis=1)
    columns["mean_status"] = status.mean(axis=1)
    columns["months_paid_in_full"] = (status == -1).sum(axis=1).astype(float)
    columns["months_no_consumption"] = (status == -2).sum(axis=1).astype(float)
    columns["months_no_payment"] = (paid == 0).sum(axis=1).astype(float)
    columns["utilisation_trend"] = utilisation[:, 0] - utilisation[:, -1]
    columns["utilisation_mean"] = utilisation.mean(axis=1)
    columns["utilisation_max"] = utilisation.max(axis=1)
    columns["pay_to_bill_total"] = paid[:, :-1].sum(axis=1) / np.maximum(
        bills[:, 1:].sum(axis=1), 1.0
    )
    columns["available_credit_share"] = (limit - bills[:, 0]) / limit
    columns["status_trend"] = status[:, 0] - status[:, 1:].mean(axis=1)
    columns["payment_mean"] = paid.mean(axis=1)
    columns["payment_last_to_mean"] = paid[:, 0] / np.maximum(paid.mean(axis=1), 1.0)
    columns["bill_growth"] = (bills[:, 0] - bills[:, 1]) / limit
    columns["months_since_delinquent"] = np.where(
        delinquent.any(axis=1), np.argmax(delinquent, axis=1), n_months
    ).astype(float)
    return pd.DataFrame(columns, index=uci.index)


def uci_raw_features(uci: pd.DataFrame) -> pd.DataFrame:
    """The 23 raw UCI columns (the off-the-shelf baseline's inputs), as float64."""
    return uci[list(UCI_COLUMNS)].astype(float)


def uci_history(uci: pd.DataFrame) -> pd.DataFrame:
    """A normalised UCI table as a payment history (long format, April-September 2005).

    Mapping (decisions, documented in docs/history.md): ``amount_due`` of a month is the
    previous month's bill statement (``PAY_AMT`` of month k settles ``BILL_AMT`` of month
    k+1), clipped at 0; April, whose previous bill is not in the file, uses its own bill.
    ``amount_paid`` is the month's ``PAY_AMT``; ``dpd`` is 30 days per month late
    (``max(status, 0) * 30``); ``status`` is ``open`` (the file has no closures);
    ``balance`` is the month's bill and ``credit_limit`` is ``LIMIT_BAL``. UCI's statuses
    -2 (no consumption) and -1 (paid in full) are not columns of the format; they show in
    the amounts (nothing due; paid at least what was due).
    """
    n = len(uci)
    order = slice(None, None, -1)  # columns are latest-first; months run forward
    status = uci[list(STATUS_COLUMNS)].to_numpy()[:, order]
    bills = uci[list(BILL_COLUMNS)].to_numpy(dtype=float)[:, order]
    paid = uci[list(PAYMENT_COLUMNS)].to_numpy(dtype=float)[:, order]
    due = np.clip(np.concatenate([bills[:, :1], bills[:, :-1]], axis=1), 0.0, None)
    n_months = len(UCI_MONTHS)
    return pd.DataFrame(
        {
            "account_id": np.repeat(uci["account_id"].to_numpy(dtype=object), n_months),
            "month": np.tile(np.array(UCI_MONTHS[order], dtype=object), n),
            "amount_due": due.reshape(-1),
            "amount_paid": paid.reshape(-1),
            "dpd": (np.clip(status, 0, None) * 30).reshape(-1).astype(np.int64),
            "status": "open",
            "balance": bills.reshape(-1),
            "credit_limit": np.repeat(uci["LIMIT_BAL"].to_numpy(dtype=float), n_months),
        }
    )
