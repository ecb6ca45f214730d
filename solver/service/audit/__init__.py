"""The audit trail of the officer's decisions (issue 16): append-only, hash-chained, in any
SQLAlchemy database (SQLite file by default).

* :mod:`~solver.service.audit.schema` -- the tables and the append-only triggers;
* :mod:`~solver.service.audit.chain` -- canonical content, row hashes, verification;
* :mod:`~solver.service.audit.record` -- what a record holds, built from the officer's objects;
* :mod:`~solver.service.audit.trail` -- :class:`AuditTrail`: append, read, verify, export.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "AuditTrail": "solver.service.audit.trail",
    "Receipt": "solver.service.audit.trail",
    "DEFAULT_URL": "solver.service.audit.trail",
    "DecisionRecord": "solver.service.audit.record",
    "decision_record": "solver.service.audit.record",
    "VerifyReport": "solver.service.audit.chain",
    "verify_rows": "solver.service.audit.chain",
    "content_hash": "solver.service.audit.chain",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
