"""The data the risk tests share: the small hand-made files under tests/data/risk and the
UCI credit-card file of ../shared/data (skipped locally, failed in CI, when absent)."""

from __future__ import annotations

from pathlib import Path

from dataset_helpers import needs_shared_data

from solver.risk.uci import uci_csv_path

DATA = Path(__file__).parent / "data" / "risk"
UCI = uci_csv_path()
needs_uci = needs_shared_data(UCI, "the UCI credit-card file")
