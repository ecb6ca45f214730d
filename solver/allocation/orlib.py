"""Read Generalized Assignment Problem instances in OR-Library format.

Two layouts of the same whitespace-separated token stream (line breaks carry no meaning):

* multi-problem files (OR-Library ``gap1.txt`` … ``gap12.txt``, ``gapa.txt`` … ``gapd.txt``):
  the number of problems ``P``, then ``P`` problems;
* single-problem files (fontanf's ``chu1997/*`` and ``yagiura2004/*``): one problem.

A problem is ``m n``, the ``m × n`` cost (or profit) matrix (one row per agent), the ``m × n``
resource matrix and the ``m`` capacities.

Objective sense (``../shared/data/README.md``): OR-Library ``gap1`` … ``gap12`` are published with
their optima for the **maximisation** form; ``gapa`` … ``gapd`` and every fontanf file are
**minimisation** problems. The benchmark set on disk and the instances' known values are in
:mod:`~solver.allocation.orlib_registry`; the benchmark protocol in
:mod:`~solver.allocation.gap_benchmark`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solver.core.files import check_input_file
from solver.errors import InputError

__all__ = [
    "GapInstance",
    "instance_family",
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


def parse_gap_text(
    text: str, *, source: str = "<text>"
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Parse an OR-Library GAP token stream into ``(cost, resource, capacity)`` triples.

    The layout (single problem, or a leading problem count) is recognised from the token
    count, so both OR-Library multi-problem files and fontanf's single files are accepted.

    Raises
    ------
    InputError
        If the token stream does not match either layout (the message names ``source``);
        a subclass of ``ValueError``.
    """
    tokens = text.split()
    try:
        values = np.array([int(t) for t in tokens], dtype=np.int64)
    except ValueError:
        try:
            values = np.array([float(t) for t in tokens], dtype=np.float64)
        except ValueError as exc:
            raise InputError(f"{source}: non-numeric token in GAP file ({exc})") from None
    if values.size < 2:
        raise InputError(f"{source}: too few values for a GAP instance ({values.size})")

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
                raise InputError(f"{source}: truncated GAP problem {len(starts) + 1} of {count}")
            starts.append(pos)
            pos += size
        if count <= 0 or pos != values.size:
            raise InputError(
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
    check_input_file(p, "text")  # missing, empty, binary data: a clear input error
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not a text GAP file ({exc.reason} at byte {exc.start})") from None
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
