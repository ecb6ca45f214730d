"""Test data shared by the engine tests: small partitioned Parquet datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_dataset(root: Path, frame: pd.DataFrame, files: int = 2, row_group: int = 4) -> Path:
    """Write ``frame`` under ``root`` as ``files`` Parquet files with small row groups."""
    root.mkdir()
    cuts = np.linspace(0, len(frame), files + 1).astype(int)
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        frame.iloc[a:b].to_parquet(
            root / f"part{k:02d}.parquet", index=False, row_group_size=row_group
        )
    return root
