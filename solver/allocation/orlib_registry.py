"""The GAP benchmark set on disk and the known values of its instances.

The shared data directory (:func:`data_dir`) holds OR-Library's ``gap/orlib`` files and
fontanf's ``gap/fontanf`` files (read by :mod:`~solver.allocation.orlib`). Known values come
from ``gap/known_values_DERIVED.csv`` (one row per instance: maximisation optimum,
minimisation best known value and best bound, and the OR-Library instance names), with
``gap/fontanf/data.csv`` and the optima table in ``gap/orlib/readme.txt`` as fallbacks.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from solver.allocation.orlib import GapInstance, read_gap_file
from solver.core.data_dir import DATA_DIR_ENV

__all__ = [
    "KnownValue",
    "data_dir",
    "default_instance_paths",
    "known_values",
    "load_instances",
]


@dataclass(frozen=True)
class KnownValue:
    """Reference values of one instance in its own objective sense.

    Attributes
    ----------
    best_known
        Best known objective value (the optimum when ``proven_optimal``).
    bound
        Best known bound (lower for minimisation, upper for maximisation), or ``None``.
    proven_optimal
        Whether ``best_known`` is a proven optimum.
    sense
        ``"min"`` or ``"max"``.
    """

    best_known: float
    bound: float | None
    proven_optimal: bool
    sense: str
    sources: tuple[str, ...] = field(default=())


def data_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """The shared data directory: ``$WORKOUT_DATA_DIR`` or ``../shared/data`` from the project root."""
    env = os.environ.get(DATA_DIR_ENV)
    if root is not None:
        return Path(root)
    if env:
        return Path(env)
    project_root = Path(__file__).resolve().parents[2]
    return (project_root / ".." / "shared" / "data").resolve()


def _orlib_readme_optima(readme: Path) -> dict[str, float]:
    """Maximisation optima listed in ``orlib/readme.txt`` (``c515-1 336`` pairs)."""
    if not readme.exists():
        return {}
    pairs = re.findall(r"\b(c\d{3,4}-\d)\s+(\d+)", readme.read_text())
    return {name: float(value) for name, value in pairs}


def known_values(root: str | os.PathLike[str] | None = None) -> dict[str, dict[str, KnownValue]]:
    """Reference values of every instance, keyed by instance name, then by sense.

    Returns
    -------
    dict
        ``{name: {"min": KnownValue, "max": KnownValue}}`` (only the senses known). Names are the
        OR-Library names (``c515-1``) for gap1–gap12 and the fontanf file names (``d801600``)
        otherwise; ``gapa`` … ``gapd`` instances carry their Chu–Beasley names (``a05100``).
    """
    base = data_dir(root) / "gap"
    table: dict[str, dict[str, KnownValue]] = {}

    def put(name: str, sense: str, value: KnownValue) -> None:
        table.setdefault(name, {}).setdefault(sense, value)

    derived = base / "known_values_DERIVED.csv"
    if derived.exists():
        with open(derived, newline="") as fh:
            for row in csv.DictReader(fh):
                name = row["orlib_name"] or Path(row["fontanf_path"]).name
                if row.get("max_opt"):
                    put(
                        name,
                        "max",
                        KnownValue(
                            float(row["max_opt"]), None, True, "max", ("known_values_DERIVED",)
                        ),
                    )
                if row.get("min_best_known"):
                    bound = float(row["min_best_bound"]) if row.get("min_best_bound") else None
                    put(
                        name,
                        "min",
                        KnownValue(
                            float(row["min_best_known"]),
                            bound,
                            row.get("min_proven_optimal") == "1",
                            "min",
                            ("known_values_DERIVED",),
                        ),
                    )
    fontanf = base / "fontanf" / "data.csv"
    if fontanf.exists():
        with open(fontanf, newline="") as fh:
            for row in csv.DictReader(fh):
                name = Path(row["Path"]).name
                best = row.get("Best known solution value") or row.get("Optimum")
                if not best:
                    continue
                bound_text = row.get("Best known bound") or None
                put(
                    name,
                    "min",
                    KnownValue(
                        float(best),
                        float(bound_text) if bound_text else None,
                        bool(row.get("Optimum")),
                        "min",
                        ("fontanf/data.csv",),
                    ),
                )
    for name, value in _orlib_readme_optima(base / "orlib" / "readme.txt").items():
        put(name, "max", KnownValue(value, value, True, "max", ("orlib/readme.txt",)))
    return table


def _orlib_names(root: Path) -> dict[tuple[str, int], str]:
    """``(file name, index) -> instance name`` from ``known_values_DERIVED.csv``."""
    derived = root / "gap" / "known_values_DERIVED.csv"
    names: dict[tuple[str, int], str] = {}
    if derived.exists():
        with open(derived, newline="") as fh:
            for row in csv.DictReader(fh):
                if row["orlib_file"]:
                    names[(Path(row["orlib_file"]).name, int(row["index_in_file"]))] = row[
                        "orlib_name"
                    ]
    return names


def default_instance_paths(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """The benchmark set: ``orlib/gap1..12,a..d.txt`` and ``fontanf/yagiura2004/*``.

    ``fontanf/chu1997`` is skipped here because it holds the same instances as ``gapa``–``gapd``.
    """
    base = data_dir(root) / "gap"
    orlib = sorted(
        (base / "orlib").glob("gap*.txt"),
        key=lambda p: (len(p.stem), p.stem),
    )
    yagiura = sorted(p for p in (base / "fontanf" / "yagiura2004").glob("*") if p.is_file())
    return orlib + yagiura


def load_instances(
    paths: list[Path] | Path | str, *, root: str | os.PathLike[str] | None = None
) -> list[GapInstance]:
    """Read GAP instances from files or a directory (searched recursively), with their names.

    Files named ``README*``, ``LICENSE*``, ``*.csv`` and ``readme.txt`` are skipped.
    """
    if isinstance(paths, (str, Path)):
        p = Path(paths)
        if p.is_dir():
            candidates = sorted(q for q in p.rglob("*") if q.is_file())
        else:
            candidates = [p]
    else:
        candidates = list(paths)
    names = _orlib_names(data_dir(root))
    instances: list[GapInstance] = []
    for path in candidates:
        low = path.name.lower()
        if low.startswith(("readme", "license", "bounds")) or low.endswith((".csv", ".md")):
            continue
        by_index = {k: v for (f, k), v in names.items() if f == path.name}
        instances.extend(read_gap_file(path, names=by_index or None))
    return instances
