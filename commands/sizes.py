"""Sizes refused up front (issue 15): request sizes a command refuses before any work,
and the memory check that refuses work this machine cannot hold (exit 2, with the largest
size that would fit).
"""

from __future__ import annotations

import contextlib
import os

from solver.core.limits import MAX_ACCOUNTS

# -- sizes refused up front (issue 15) -----------------------------------------------------

#: Most accounts ``generate portfolio --n`` and a scenario's ``portfolio.n`` may ask for
#: (``MAX_PATHS`` and the seed range also come from ``solver.core.limits``).
MAX_GENERATED_ACCOUNTS = MAX_ACCOUNTS
#: Most data rows of an .xlsx sheet (1,048,576 rows, one of them the header).
MAX_XLSX_ROWS = 1_048_575
#: Peak memory of ``generate portfolio`` per account (measured about 1.2 kB; with margin).
GENERATE_BYTES_PER_ACCOUNT = 1_536
#: Peak memory of a scenario run per account, and per account and month of the horizon
#: (measured about 3.4 kB + 220 B x months with restructure off; with margin).
SCENARIO_BYTES_PER_ACCOUNT = 4_096
SCENARIO_BYTES_PER_ACCOUNT_MONTH = 256
#: Memory of the process before the data (interpreter, numpy, pandas, pyarrow).
BASE_BYTES = 300 * 2**20


def available_memory() -> int | None:
    """Bytes of memory this process may still use; ``None`` when unknown.

    ``MemAvailable`` of ``/proc/meminfo`` (or the free physical pages), lowered to what a
    cgroup v2 memory limit leaves.
    """
    available: int | None = None
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    if available is None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    with contextlib.suppress(OSError, ValueError):
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            limit = fh.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current", encoding="ascii") as fh:
                used = int(fh.read().strip())
            room = max(0, int(limit) - used)
            available = room if available is None else min(available, room)
    return available


def _bytes_text(n: float) -> str:
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 2**10:,.0f} kB"


def check_count(key: str, value: int, limit: int, what: str = "") -> None:
    """Refuse ``value`` above ``limit`` (exit 2), naming ``key`` and the limit."""
    if value > limit:
        from solver.errors import InputError

        raise InputError(f"{key} = {value:,}: at most {limit:,}{f' {what}' if what else ''}")


def check_memory(key: str, n: int, bytes_each: float, what: str) -> None:
    """Refuse, before allocating, work whose memory would not fit in this machine (exit 2).

    The estimate is ``BASE_BYTES + n * bytes_each`` (measured peaks with a margin); the
    work is refused when it exceeds the memory available now (:func:`available_memory`),
    with the largest ``n`` that would fit.
    """
    available = available_memory()
    if available is None:
        return
    need = BASE_BYTES + n * bytes_each
    if need <= available:
        return
    from solver.errors import InputError

    most = max(0, int((available - BASE_BYTES) // bytes_each))
    raise InputError(
        f"{key} = {n:,}: {what} needs about {_bytes_text(need)} of memory "
        f"({bytes_each:,.0f} bytes per account) and this machine has {_bytes_text(available)} "
        f"available; at most about {most:,} here (nothing was done)"
    )
