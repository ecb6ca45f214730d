"""The audit trail of the officer's decisions (issue 16): append-only, hash-chained, in any
SQLAlchemy database (SQLite file by default).

* :mod:`~solver.audit.schema` -- the tables and the append-only triggers;
* :mod:`~solver.audit.chain` -- canonical content, row hashes, verification;
* :mod:`~solver.audit.record` -- what a record holds, built from the officer's objects;
* :mod:`~solver.audit.trail` -- :class:`AuditTrail`: append, read, verify, export.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "AuditTrail": "solver.audit.trail",
    "Receipt": "solver.audit.trail",
    "DEFAULT_URL": "solver.audit.trail",
    "DecisionRecord": "solver.audit.record",
    "decision_record": "solver.audit.record",
    "VerifyReport": "solver.audit.chain",
    "verify_rows": "solver.audit.chain",
    "content_hash": "solver.audit.chain",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
