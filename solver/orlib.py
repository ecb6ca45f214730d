"""Read Generalized Assignment Problem instances in OR-Library format and their known values.

Two layouts of the same whitespace-separated token stream (line breaks carry no meaning):

* multi-problem files (OR-Library ``gap1.txt`` … ``gap12.txt``, ``gapa.txt`` … ``gapd.txt``):
  the number of problems ``P``, then ``P`` problems;
* single-problem files (fontanf's ``chu1997/*`` and ``yagiura2004/*``): one problem.

A problem is ``m n``, the ``m × n`` cost (or profit) matrix (one row per agent), the ``m × n``
resource matrix and the ``m`` capacities.

Objective sense (``../shared/data/README.md``): OR-Library ``gap1`` … ``gap12`` are published with
their optima for the **maximisation** form; ``gapa`` … ``gapd`` and every fontanf file are
**minimisation** problems.

Known values come from ``gap/known_values_DERIVED.csv`` (one row per instance: maximisation
optimum, minimisation best known value and best bound), with ``gap/fontanf/data.csv`` and the
optima table in ``gap/orlib/readme.txt`` as fallbacks.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "GapInstance",
    "KnownValue",
    "data_dir",
    "default_instance_paths",
    "instance_family",
    "known_values",
    "load_instances",
    "parse_gap_text",
    "read_gap_file",
]

# Files published as maximisation problems (OR-Library readme); everything else is minimisation.
_MAX_FILES = {f"gap{k}" for k in range(1, 13)}


@dataclass(frozen=True)
class GapInstance:
    """One Generalized Assignment Problem instance (read-only arrays).

    Attributes
    ----------
    name
        Instance name, e.g. ``"c515-1"`` (OR-Library) or ``"d801600"`` (fontanf).
    family
        Benchmark family used for averages, e.g. ``"orlib-gap1"``, ``"chu-D"``, ``"yagiura-E"``.
    cost
        ``m × n`` cost (minimisation) or profit (maximisation) matrix, agent per row.
    resource
        ``m × n`` resource use of job ``j`` on agent ``i``.
    capacity
        ``m`` agent capacities.
    sense
        ``"min"`` or ``"max"``.
    source
        The file the instance came from and, for multi-problem files, its 1-based index.
    """

    name: str
    family: str
    cost: np.ndarray
    resource: np.ndarray
    capacity: np.ndarray
    sense: str
    source: str = ""
    index_in_file: int = 1

    def __post_init__(self) -> None:
        m, n = self.cost.shape
        if self.resource.shape != (m, n):
            raise ValueError(f"resource must be {m}×{n}, got {self.resource.shape}")
        if self.capacity.shape != (m,):
            raise ValueError(f"capacity must have {m} values, got {self.capacity.shape}")
        if self.sense not in ("min", "max"):
            raise ValueError(f"sense must be 'min' or 'max', got {self.sense!r}")
        for arr in (self.cost, self.resource, self.capacity):
            arr.setflags(write=False)

    @property
    def m(self) -> int:
        """Number of agents."""
        return int(self.cost.shape[0])

    @property
    def n(self) -> int:
        """Number of jobs."""
        return int(self.cost.shape[1])


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
    env = os.environ.get("WORKOUT_DATA_DIR")
    if root is not None:
        return Path(root)
    if env:
        return Path(env)
    project_root = Path(__file__).resolve().parent.parent
    return (project_root / ".." / "shared" / "data").resolve()


def parse_gap_text(text: str, *, source: str = "<text>") -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Parse an OR-Library GAP token stream into ``(cost, resource, capacity)`` triples.

    The layout (single problem, or a leading problem count) is recognised from the token
    count, so both OR-Library multi-problem files and fontanf's single files are accepted.

    Raises
    ------
    ValueError
        If the token stream does not match either layout (the message names ``source``).
    """
    tokens = text.split()
    try:
        values = np.array([int(t) for t in tokens], dtype=np.int64)
    except ValueError:
        try:
            values = np.array([float(t) for t in tokens], dtype=np.float64)
        except ValueError as exc:
            raise ValueError(f"{source}: non-numeric token in GAP file ({exc})") from None
    if values.size < 2:
        raise ValueError(f"{source}: too few values for a GAP instance ({values.size})")

    def block_size(pos: int) -> int:
        if pos + 2 > values.size:
            return -1
        m, n = int(values[pos]), int(values[pos + 1])
        if m <= 0 or n <= 0:
            return -1
        return 2 + 2 * m * n + m

    single = block_size(0)
    if single == values.size:
        starts = [0]
    else:
        count = int(values[0])
        starts, pos = [], 1
        for _ in range(max(count, 0)):
            size = block_size(pos)
            if size < 0 or pos + size > values.size:
                raise ValueError(f"{source}: truncated GAP problem {len(starts) + 1} of {count}")
            starts.append(pos)
            pos += size
        if count <= 0 or pos != values.size:
            raise ValueError(
                f"{source}: token count {values.size} matches neither a single problem nor "
                f"a file of {count} problems"
            )
    problems = []
    for pos in starts:
        m, n = int(values[pos]), int(values[pos + 1])
        body = values[pos + 2 : pos + 2 + 2 * m * n + m]
        cost = body[: m * n].reshape(m, n).copy()
        resource = body[m * n : 2 * m * n].reshape(m, n).copy()
        capacity = body[2 * m * n :].copy()
        problems.append((cost, resource, capacity))
    return problems


def instance_family(path: str | os.PathLike[str]) -> str:
    """Benchmark family of a GAP file: ``orlib-gapK``, ``chu-A`` … ``chu-D``, ``yagiura-C/D/E``."""
    p = Path(path)
    stem = p.stem.lower() if p.suffix == ".txt" else p.name.lower()
    if stem in _MAX_FILES:
        return f"orlib-{stem}"
    if re.fullmatch(r"gap[a-d]", stem):
        return f"chu-{stem[-1].upper()}"
    parent = p.parent.name.lower()
    letter = stem[:1].upper()
    if parent == "chu1997":
        return f"chu-{letter}"
    if parent == "yagiura2004":
        return f"yagiura-{letter}"
    if parent == "cattrysse1994":
        return f"orlib-{stem.split('-')[0]}"
    return parent or "gap"


def _default_sense(path: Path) -> str:
    stem = path.stem.lower() if path.suffix == ".txt" else path.name.lower()
    return "max" if stem in _MAX_FILES else "min"


def read_gap_file(
    path: str | os.PathLike[str], *, sense: str | None = None, names: dict[int, str] | None = None
) -> list[GapInstance]:
    """Read every instance of one OR-Library-format GAP file.

    Parameters
    ----------
    path
        A multi-problem (``orlib/gap7.txt``) or single-problem (``fontanf/yagiura2004/d801600``) file.
    sense
        ``"min"`` or ``"max"``; default from the file name (gap1–gap12 max, all others min).
    names
        Optional instance names by 1-based index in the file (e.g. from :func:`known_values`);
        default ``"<stem>-<k>"`` for multi-problem files and the file name for single ones.
    """
    p = Path(path)
    text = p.read_text()
    problems = parse_gap_text(text, source=str(p))
    sense = sense or _default_sense(p)
    family = instance_family(p)
    out = []
    for k, (cost, resource, capacity) in enumerate(problems, start=1):
        if names and k in names:
            name = names[k]
        elif len(problems) == 1 and p.suffix != ".txt":
            name = p.name
        else:
            name = f"{p.stem}-{k}"
        out.append(
            GapInstance(
                name=name,
                family=family,
                cost=cost,
                resource=resource,
                capacity=capacity,
                sense=sense,
                source=str(p),
                index_in_file=k,
            )
        )
    return out


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
                        KnownValue(float(row["max_opt"]), None, True, "max", ("known_values_DERIVED",)),
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
                bound = row.get("Best known bound") or None
                put(
                    name,
                    "min",
                    KnownValue(
                        float(best),
                        float(bound) if bound else None,
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
