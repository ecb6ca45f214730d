"""The hash chain of the audit trail: canonical content, row hashes and verification.

Each row's hash is the SHA-256 of the canonical JSON of its :data:`HASHED_COLUMNS`, which
include the previous row's hash (``prev_hash``; the first row follows :data:`GENESIS`).
Editing a row changes its hash; rewriting its hash breaks the next row's link; deleting a
row leaves a gap in ``seq``; deleting the newest rows leaves the head (row count and last
hash) pointing past the end. :func:`verify_rows` names the row of each such problem.

The limit: the head is a row of the same database, so deleting the newest records *and*
setting the head back to the last one kept leaves a shorter chain that verifies. Only a
record kept outside the database shows it: the head a verification printed (``SEQ:HASH``,
:func:`parse_head`) must later still be a record of the trail with that hash (so the head
is it or one of its descendants), and an ``anchor`` hash must still be some record's.

Pure functions over plain mappings: the database code is in :mod:`solver.service.audit.trail`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from solver.service.audit.schema import HASHED_COLUMNS

#: ``prev_hash`` of the first row.
GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON text: sorted keys, no spaces, UTF-8, no NaN.

    Examples
    --------
    >>> canonical_json({"b": 1.5, "a": [1, "x"]})
    '{"a":[1,"x"],"b":1.5}'
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_text(text: str) -> str:
    """The hex SHA-256 of ``text``'s UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(value: Any) -> str:
    """The content hash of a JSON-ready value (a policy's or a model's version)."""
    return sha256_text(canonical_json(value))


def row_hash(row: Mapping[str, Any]) -> str:
    """The hash of a row: SHA-256 of the canonical JSON of its hashed columns."""
    return content_hash({name: row[name] for name in HASHED_COLUMNS})


@dataclass(frozen=True)
class Problem:
    """One way the trail differs from what was appended: the row (``seq``) and what."""

    seq: int | None
    kind: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VerifyReport:
    """The result of verifying a trail: rows read, problems found (none: intact)."""

    rows: int
    head_seq: int | None
    head_hash: str | None
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def head(self) -> str | None:
        """The head verified as ``SEQ:HASH`` (what ``--expect-head`` takes), or ``None``."""
        return None if self.head_seq is None else f"{self.head_seq}:{self.head_hash}"

    def summary(self) -> str:
        if self.ok:
            last = f"; head {self.head}" if self.head_seq else ""
            return f"audit trail intact: {self.rows:,} rows, hash chain verified{last}"
        return (
            f"audit trail altered: {len(self.problems)} problem(s); first: {self.problems[0].text}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "head": self.head,
            "problems": [p.to_dict() for p in self.problems],
        }


def parse_head(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` (a head as verification prints it) as ``(seq, row hash)``.

    Raises
    ------
    ValueError
        Not a record number ≥ 1, a colon and a 64-digit hex hash.

    Examples
    --------
    >>> parse_head("3:" + "ab" * 32)[0]
    3
    """
    seq, sep, digest = text.strip().partition(":")
    digest = digest.lower()
    if not (sep and seq.isdigit() and int(seq) >= 1 and len(digest) == 64):
        raise ValueError(
            "give SEQ:HASH, the head `audit verify` printed (record number, ':', row hash)"
        )
    if any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("the row hash is 64 hexadecimal digits")
    return int(seq), digest


def _expected_head_problem(
    expect: tuple[int, str], rows: Mapping[int, str], last_seq: int
) -> Problem | None:
    """The problem, if any, with an expected head: record ``seq`` must still be in the
    trail with that hash (``rows``: each row's hash by ``seq``; ``last_seq``: the newest)."""
    seq, digest = expect
    found = rows.get(seq)
    if found == digest:
        return None
    if found is None and seq > last_seq:
        text = (
            f"the expected head, record {seq}, is gone: the trail ends at record {last_seq} "
            "(the newest records were deleted, with the head row)"
        )
    elif found is None:
        text = f"the expected head, record {seq}, is not in the trail"
    else:
        text = (
            f"record {seq} has hash {found}, not the expected head's {digest}: the trail was "
            "rewritten from there on"
        )
    return Problem(seq, "expected-head", text)


def _row_problems(row: Mapping[str, Any]) -> list[Problem]:
    """The problems one row shows on its own (its hash, its letter, its versions)."""
    seq = int(row["seq"])
    out = []
    if row_hash(row) != row["row_hash"]:
        out.append(
            Problem(seq, "edited", f"row {seq} was edited: its content does not match its hash")
        )
    html = row.get("letter_html")
    if html is not None and sha256_text(html) != row["letter_sha256"]:
        out.append(
            Problem(
                seq,
                "letter",
                f"row {seq}: the stored offer letter does not match its recorded hash",
            )
        )
    for name in ("policy", "model"):
        if sha256_text(row[name]) != row[f"{name}_hash"]:
            out.append(
                Problem(seq, "edited", f"row {seq}: the {name} does not match its recorded hash")
            )
    return out


def verify_rows(
    rows: Iterable[Mapping[str, Any]],
    head: Mapping[str, Any] | None,
    anchor: str | None = None,
    expect_head: tuple[int, str] | None = None,
) -> VerifyReport:
    """Verify a trail: ``rows`` in ``seq`` order and the head row (``None``: missing).

    Parameters
    ----------
    anchor
        A row hash kept outside the database (printed when a record was appended): it
        must still be the hash of a row, else the rows up to it were rewritten.
    expect_head
        ``(seq, hash)`` of a head printed by an earlier verification (:func:`parse_head`):
        record ``seq`` must still have that hash, so that the head now is it or a
        descendant (the chain checks the rest). Catches the newest records deleted with
        the head row set back, which the database alone cannot show.
    """
    problems: list[Problem] = []
    expected, previous = 1, None
    count = 0
    anchored = anchor is None
    hashes: dict[int, str] = {}
    for row in rows:
        count += 1
        seq = int(row["seq"])
        if seq > expected:
            gone = f"row {expected}" if seq == expected + 1 else f"rows {expected}–{seq - 1}"
            problems.append(
                Problem(expected, "deleted", f"{gone} deleted: the sequence jumps to {seq}")
            )
        elif previous is not None and row["prev_hash"] != previous["row_hash"]:
            problems.append(
                Problem(
                    seq,
                    "chain",
                    f"row {seq} does not follow row {previous['seq']}: row {previous['seq']} was "
                    "rewritten with a new hash",
                )
            )
        elif previous is None and seq == 1 and row["prev_hash"] != GENESIS:
            problems.append(Problem(seq, "chain", "row 1 does not start the chain"))
        problems.extend(_row_problems(row))
        anchored = anchored or row["row_hash"] == anchor
        if expect_head is not None and seq == expect_head[0]:
            hashes[seq] = str(row["row_hash"])
        expected, previous = seq + 1, row
    head_seq = None if head is None else int(head["seq"])
    head_hash = None if head is None else str(head["row_hash"])
    last_seq = 0 if previous is None else int(previous["seq"])
    if head is None:
        if count:
            problems.append(Problem(None, "head", "the head row (count and last hash) was deleted"))
    elif head_seq is not None and head_seq > last_seq:
        gone = f"row {head_seq}" if head_seq == last_seq + 1 else f"rows {last_seq + 1}–{head_seq}"
        problems.append(
            Problem(last_seq + 1, "deleted", f"{gone} deleted: the head records {head_seq} rows")
        )
    elif previous is not None and (head_seq != last_seq or head_hash != previous["row_hash"]):
        problems.append(
            Problem(last_seq, "head", f"row {last_seq} does not match the head's count and hash")
        )
    if not anchored:
        problems.append(
            Problem(
                None,
                "anchor",
                f"no row has the anchor hash {anchor}: rows were rewritten or deleted",
            )
        )
    if expect_head is not None:
        wrong = _expected_head_problem(expect_head, hashes, last_seq)
        if wrong is not None:
            problems.append(wrong)
    return VerifyReport(count, head_seq, head_hash, tuple(problems))
