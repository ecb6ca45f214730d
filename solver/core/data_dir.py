"""Why shared data were not found: the one wording of every command that reads
``$WORKOUT_DATA_DIR`` (``risk ... --uci``, ``bench gap``).

Until session 24 both said "set WORKOUT_DATA_DIR" whether or not it was set (review s24:
``WORKOUT_DATA_DIR=/nonexistent workout risk rollrates --uci``); :func:`data_not_found`
says where the directory came from and whether it exists.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR_ENV", "data_not_found"]

#: The environment variable naming the shared data directory.
DATA_DIR_ENV = "WORKOUT_DATA_DIR"


def data_not_found(what: str, path: Path, directory: Path, *, option: str | None = None) -> str:
    """The message for ``what`` (e.g. "UCI credit-card data") not found at ``path`` under
    the shared data ``directory``.

    ``option`` is the command-line option that gave ``directory`` (``--data-dir``), if one
    did; otherwise it came from ``$WORKOUT_DATA_DIR`` when that is set, else the default
    ``../shared/data``. A directory that does not exist is said so, with its origin.
    """
    env = os.environ.get(DATA_DIR_ENV)
    if option is not None:
        origin = f"{option} {directory}"
        fix = (
            f"give {option} the shared data directory, or leave it out for "
            f"${DATA_DIR_ENV} or ../shared/data"
        )
    elif env:
        origin = f"{DATA_DIR_ENV}={env}"
        fix = f"set {DATA_DIR_ENV} to the shared data directory, or unset it"
    else:
        origin = f"the default data directory {directory}"
        fix = f"pass the data directory or set {DATA_DIR_ENV} to it"
    if not directory.is_dir():
        return f"{origin}: the directory does not exist, so {what} cannot be read ({fix})"
    return f"{path}: not found ({what}, under {origin}; {fix})"
