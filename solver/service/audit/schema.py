"""The audit trail's tables (SQLAlchemy Core) and the database rules that keep it
append-only.

``audit_records`` holds one row per decision, chained by hashes (:mod:`solver.service.audit.chain`);
``audit_head`` holds the number of rows and the last row's hash, updated in the same
transaction as each append, so that deleting the newest rows is detected too.

On SQLite and PostgreSQL, triggers refuse ``UPDATE`` and ``DELETE`` on ``audit_records``
(and ``TRUNCATE`` on PostgreSQL): the application never changes a record, and someone who
does must first drop the triggers, which the hash chain then catches. The DDL is fixed
text; no SQL is built from values anywhere in the audit code.
"""

from __future__ import annotations

from sqlalchemy import DDL, Column, Integer, MetaData, String, Table, Text, event

metadata = MetaData()

#: Columns covered by a row's hash, in the order they are hashed (``letter_html`` is
#: covered through ``letter_sha256``; ``row_hash`` is the hash).
HASHED_COLUMNS = (
    "seq",
    "recorded_at",
    "officer_id",
    "account_id",
    "action",
    "chosen_option",
    "inputs",
    "policy_hash",
    "policy",
    "model_hash",
    "model",
    "options",
    "letter_sha256",
    "software_version",
    "prev_hash",
)

records = Table(
    "audit_records",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("recorded_at", String(40), nullable=False),
    Column("officer_id", String(64), nullable=False),
    Column("account_id", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("chosen_option", String(64), nullable=False),
    Column("inputs", Text, nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("policy", Text, nullable=False),
    Column("model_hash", String(64), nullable=False),
    Column("model", Text, nullable=False),
    Column("options", Text, nullable=False),
    Column("letter_sha256", String(64), nullable=True),
    Column("letter_html", Text, nullable=True),
    Column("software_version", String(32), nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("row_hash", String(64), nullable=False, unique=True),
)

head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("row_hash", String(64), nullable=False),
)

#: The columns that say who decided what, when (``workout audit list``).
SUMMARY_COLUMNS = (*HASHED_COLUMNS[:6], "letter_sha256", "row_hash")

#: The one row of ``audit_head``.
HEAD_ID = 1

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END""",
    """CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END""",
)
_POSTGRES_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_records is append-only'; END $$""",
    """CREATE TRIGGER audit_records_no_change BEFORE UPDATE OR DELETE ON audit_records
FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()""",
    """CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only()""",
)
for _statement in _SQLITE_TRIGGERS:
    event.listen(records, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in _POSTGRES_TRIGGERS:
    event.listen(records, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
